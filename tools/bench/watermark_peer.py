"""The peer for `moviola bench watermark`: the `invisible-watermark` package (DWT-DCT, 64 bits per
frame) through the same ffmpeg attacks. A clip counts as recovered when the per-bit majority over
its frames gives the exact 64-bit payload. Prints one JSON line."""
import argparse
import json
import os
import subprocess
import time

import numpy as np
from imwatermark import WatermarkDecoder, WatermarkEncoder


def read(path):
    probe = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height,r_frame_rate",
                            "-of", "csv=p=0", path], capture_output=True, text=True, check=True).stdout.strip().split(",")
    w, h = int(probe[0]), int(probe[1])
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "rawvideo", "-pix_fmt", "bgr24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3), probe[2]


def write(frames, rate, path):
    n, h, w, _ = frames.shape
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", rate, "-i", "-",
                    "-c:v", "libx264", "-crf", "18", "-pix_fmt", "yuv420p", path], input=frames.tobytes(), check=True)


def decode(path, bits, size):
    """Per-bit majority over the frames; frames the package refuses (under 256 px) are first
    scaled back to the marked size, which helps the peer."""
    import cv2
    frames, _ = read(path)
    decoder = WatermarkDecoder("bits", 64)
    votes = np.zeros(64)
    for f in frames:
        if f.shape[0] < 256 or f.shape[1] < 256:
            f = cv2.resize(f, size, interpolation=cv2.INTER_CUBIC)
        votes += np.array(decoder.decode(f, "dwtDct"), dtype=float) * 2 - 1
    return [bool(v > 0) for v in votes] == bits


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--attacks", required=True)
    p.add_argument("--work", required=True)
    p.add_argument("clips", nargs="+")
    a = p.parse_args()
    attacks = json.loads(a.attacks)
    os.makedirs(a.work, exist_ok=True)
    rng = np.random.default_rng(7)
    recovered = {"none (CRF 18 output)": []}
    psnrs = []
    for n, clip in enumerate(a.clips):
        frames, rate = read(clip)
        bits = [bool(b) for b in rng.integers(0, 2, 64)]
        encoder = WatermarkEncoder()
        encoder.set_watermark("bits", bits)
        marked = np.stack([encoder.encode(f, "dwtDct") for f in frames])
        mse = np.mean((marked.astype(float) - frames.astype(float)) ** 2)
        psnrs.append(10 * np.log10(255 ** 2 / max(mse, 1e-9)))
        out = os.path.join(a.work, f"peer{n}.mp4")
        write(marked, rate, out)
        size = (frames.shape[2], frames.shape[1])
        recovered["none (CRF 18 output)"].append(decode(out, bits, size))
        for attack in attacks:
            attacked = os.path.join(a.work, f"peer{n}-{attack['name']}.mp4")
            subprocess.run(["ffmpeg", "-v", "error", "-y", "-nostdin", "-i", out] + attack["args"] + [attacked], check=True)
            recovered.setdefault(attack["name"], []).append(decode(attacked, bits, size))
            os.remove(attacked)
    frame = np.random.default_rng(1).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    encoder = WatermarkEncoder()
    encoder.set_watermark("bits", [True, False] * 32)
    start, count = time.time(), 0
    while time.time() - start < 2:
        encoder.encode(frame, "dwtDct")
        count += 1
    import imwatermark
    print(json.dumps({"recovered": {k: sum(v) / len(v) for k, v in recovered.items()}, "psnr": float(np.mean(psnrs)),
                      "fps720": count / (time.time() - start), "version": getattr(imwatermark, "__version__", "?")}))


if __name__ == "__main__":
    main()
