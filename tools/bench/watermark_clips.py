"""Renders world clips (training/world) as near-lossless MP4 sources for `moviola bench watermark`."""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
from training.world import Rng, render, sample_scene  # noqa: E402
from training.world.rng import derive_seed  # noqa: E402

def sizes(short_side):
    """16:9, 9:16 and 1:1 at this short side, even sizes (the shipped model writes 448x256)."""
    long_side = round(short_side * 16 / 9 / 16) * 16
    return [(long_side, short_side), (short_side, long_side), (short_side, short_side)]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--count", type=int, default=6)
    p.add_argument("--frames", type=int, default=81)
    p.add_argument("--fps", type=int, default=16)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--short-side", type=int, default=256)
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for i in range(a.count):
        width, height = sizes(a.short_side)[i % 3]
        scene = sample_scene(Rng(derive_seed(a.seed, "wm-bench", i)))
        clip = render(scene, width, height, frames=a.frames, fps=a.fps)
        path = os.path.join(a.out, f"clip{i:03d}.mp4")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}",
                        "-r", str(a.fps), "-i", "-", "-c:v", "libx264", "-crf", "4", "-pix_fmt", "yuv420p", path],
                       input=clip.tobytes(), check=True)
    print(f"{a.count} clips in {a.out}")


if __name__ == "__main__":
    main()
