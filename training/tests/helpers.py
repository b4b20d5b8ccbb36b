"""Small helpers shared by the tests."""

from __future__ import annotations

import numpy as np

from training.world import COLOURS, Scene


def scene(kind="ball", colour="red", count=1, motion="still", speed=None, background="plain_gray",
          camera="static", camera_speed=None, aspect="16:9", seed=1) -> Scene:
    if speed is None:
        speed = "none" if motion == "still" else "slow"
    if camera_speed is None:
        camera_speed = "none" if camera == "static" else "slow"
    return Scene(kind, colour, count, motion, speed, background, camera, camera_speed, aspect, seed)


def colour_mask(frame: np.ndarray, colour: str, tol: int = 40) -> np.ndarray:
    """Pixels within `tol` (max channel difference) of the named object colour."""
    c = np.asarray(COLOURS[colour], dtype=np.int16)
    return np.max(np.abs(frame.astype(np.int16) - c), axis=-1) <= tol


def components(mask: np.ndarray) -> int:
    """Number of 8-connected components in a boolean mask."""
    seen = np.zeros_like(mask, dtype=bool)
    h, w = mask.shape
    n = 0
    for y0 in range(h):
        for x0 in range(w):
            if mask[y0, x0] and not seen[y0, x0]:
                n += 1
                stack = [(y0, x0)]
                seen[y0, x0] = True
                while stack:
                    y, x = stack.pop()
                    for dy in (-1, 0, 1):
                        for dx in (-1, 0, 1):
                            yy, xx = y + dy, x + dx
                            if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not seen[yy, xx]:
                                seen[yy, xx] = True
                                stack.append((yy, xx))
    return n
