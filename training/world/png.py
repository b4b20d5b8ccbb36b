"""Minimal PNG writer (8-bit RGB, zlib + struct) and a contact-sheet helper; no Pillow."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Sequence

import numpy as np


def encode_png(rgb: np.ndarray) -> bytes:
    """PNG bytes for a uint8 [H,W,3] image (filter type 0 on every row)."""
    a = np.ascontiguousarray(rgb)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected uint8 [H,W,3], got {a.dtype} {a.shape}")
    h, w, _ = a.shape
    raw = np.zeros((h, 1 + 3 * w), dtype=np.uint8)
    raw[:, 1:] = a.reshape(h, 3 * w)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
            + chunk(b"IEND", b""))


def write_png(path: str | Path, rgb: np.ndarray) -> None:
    Path(path).write_bytes(encode_png(rgb))


def decode_png(data: bytes) -> np.ndarray:
    """Decode PNGs written by encode_png (8-bit RGB, filter 0 only); used by tests."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    w = h = 0
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        tag, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF, "bad CRC"
        if tag == b"IHDR":
            w, h, depth, ctype, _, _, _ = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and ctype == 2
        elif tag == b"IDAT":
            idat += body
        pos += 12 + n
    raw = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(h, 1 + 3 * w)
    assert np.all(raw[:, 0] == 0), "only filter type 0 is supported"
    return raw[:, 1:].reshape(h, w, 3).copy()


def contact_sheet(clips: Sequence[np.ndarray], columns: int = 6, scale: int = 2, gap: int = 4,
                  background: tuple[int, int, int] = (24, 24, 24)) -> np.ndarray:
    """One row per clip showing `columns` evenly spaced frames (first and last included), each
    enlarged `scale` times (nearest neighbour). Rows of different sizes are left-aligned."""
    tiles = []
    for clip in clips:
        T = clip.shape[0]
        k = min(columns, T)
        idx = [round(i * (T - 1) / (k - 1)) if k > 1 else 0 for i in range(k)]
        tiles.append([np.repeat(np.repeat(clip[i], scale, axis=0), scale, axis=1) for i in idx])
    row_h = [t[0].shape[0] for t in tiles]
    row_w = [sum(f.shape[1] for f in t) + gap * (len(t) - 1) for t in tiles]
    H = sum(row_h) + gap * (len(tiles) + 1)
    W = max(row_w) + 2 * gap
    sheet = np.empty((H, W, 3), dtype=np.uint8)
    sheet[...] = background
    y = gap
    for t, h in zip(tiles, row_h):
        x = gap
        for f in t:
            sheet[y:y + f.shape[0], x:x + f.shape[1]] = f
            x += f.shape[1] + gap
        y += h + gap
    return sheet
