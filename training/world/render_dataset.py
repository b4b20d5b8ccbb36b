"""Write a dataset of rendered clips, or a preview contact sheet.

    python3 -m training.world.render_dataset --out DIR --count N --size 64 --frames 17 --seed S --split train
    python3 -m training.world.render_dataset --preview preview.png --count 8 --size 64

DIR/clips/<split>_<index>.npy holds uint8 [T,H,W,3] RGB frames; DIR/metadata.jsonl has one JSON
object per clip: file, the scene fields, width/height/frames/fps, caption_en, caption_zh, split (and
captions_en/captions_zh lists with --captions-per-clip > 1, truth with --truth). Clip i depends
only on (seed, split, i), so --start/--count shard a dataset and every shard agrees.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from . import rng as R
from .caption import caption
from .png import contact_sheet, write_png
from .render import render_with_truth
from .scene import SPLITS, Scene, sample_scene, split_of
from .vocab import ASPECTS, frame_size


def clip_scene(seed: int, split: str, index: int, aspect: str | None = None) -> Scene:
    """The scene of clip `index` of the dataset (seed, split)."""
    return sample_scene(R.Rng(R.derive_seed(seed, split, index)), split, aspect=aspect)


def clip_captions(scene: Scene, seed: int, split: str, index: int, language: str, k: int) -> list[str]:
    return [caption(scene, language, R.Rng(R.derive_seed(seed, split, index, "caption", language, j)))
            for j in range(k)]


def make_record(args, index: int) -> tuple[dict, np.ndarray, object]:
    aspect = None if args.aspect == "any" else args.aspect
    scene = clip_scene(args.seed, args.split, index, aspect)
    width, height = frame_size(scene.aspect, args.size, args.multiple)
    video, truth = render_with_truth(scene, width, height, args.frames, args.fps)
    en = clip_captions(scene, args.seed, args.split, index, "en", args.captions_per_clip)
    zh = clip_captions(scene, args.seed, args.split, index, "zh", args.captions_per_clip)
    rec = {"file": f"clips/{args.split}_{index:06d}.npy", **scene.to_dict(),
           "width": width, "height": height, "frames": args.frames, "fps": args.fps,
           "caption_en": en[0], "caption_zh": zh[0], "split": split_of(scene)}
    if args.captions_per_clip > 1:
        rec["captions_en"], rec["captions_zh"] = en, zh
    return rec, video, truth


def parse_args(argv=None):
    ap = argparse.ArgumentParser(prog="python3 -m training.world.render_dataset", description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, help="output directory (clips/ and metadata.jsonl)")
    ap.add_argument("--count", type=int, default=16, help="number of clips (default 16)")
    ap.add_argument("--start", type=int, default=0, help="index of the first clip (for sharding)")
    ap.add_argument("--size", type=int, default=64, help="short side in pixels (default 64)")
    ap.add_argument("--multiple", type=int, default=16, help="round the long side to a multiple of this (default 16)")
    ap.add_argument("--frames", type=int, default=17, help="frames per clip (default 17; 4k+1 suits Wan-style VAEs)")
    ap.add_argument("--fps", type=float, default=16.0, help="frames per second (default 16)")
    ap.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    ap.add_argument("--split", choices=SPLITS, default="train")
    ap.add_argument("--aspect", choices=("any",) + tuple(ASPECTS), default="any",
                    help="fix the aspect ratio instead of sampling it")
    ap.add_argument("--captions-per-clip", type=int, default=1, help="paraphrases per language (default 1)")
    ap.add_argument("--truth", action="store_true", help="also write clips/<name>.truth.json ground truth")
    ap.add_argument("--preview", type=Path, help="write a PNG contact sheet of the first clips")
    ap.add_argument("--preview-clips", type=int, default=8, help="clips in the preview (default 8)")
    ap.add_argument("--preview-frames", type=int, default=6, help="frames per preview row (default 6)")
    ap.add_argument("--preview-scale", type=int, default=2, help="preview enlargement (default 2)")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    if args.out is None and args.preview is None:
        ap.error("give --out DIR and/or --preview OUT.png")
    if args.count < 0 or args.start < 0 or args.size < 1 or args.frames < 1 or args.captions_per_clip < 1:
        ap.error("--count/--start must be >= 0; --size, --frames, --captions-per-clip >= 1")
    if not args.fps > 0:
        ap.error("--fps must be positive")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    log = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    preview_n = min(args.preview_clips, args.count) if args.out is not None else args.preview_clips
    preview: list[np.ndarray] = []

    if args.out is not None:
        clips_dir = args.out / "clips"
        clips_dir.mkdir(parents=True, exist_ok=True)
        meta_path = args.out / "metadata.jsonl"
        with open(meta_path, "w", encoding="utf-8") as meta:
            for j in range(args.count):
                index = args.start + j
                rec, video, truth = make_record(args, index)
                np.save(args.out / rec["file"], video, allow_pickle=False)
                if args.truth:
                    tpath = rec["file"][:-4] + ".truth.json"
                    (args.out / tpath).write_text(json.dumps(truth.to_json()), encoding="utf-8")
                    rec["truth"] = tpath
                meta.write(json.dumps(rec, ensure_ascii=False) + "\n")
                if j < preview_n and args.preview is not None:
                    preview.append(video)
                if (j + 1) % 100 == 0 or j + 1 == args.count:
                    log(f"{j + 1}/{args.count} clips -> {args.out}")
        log(f"wrote {meta_path}")

    if args.preview is not None:
        for j in range(len(preview), preview_n):
            rec, video, _ = make_record(args, args.start + j)
            preview.append(video)
            if not args.quiet:
                print(f"[{j}] {rec['caption_en']}\n    {rec['caption_zh']}")
        if preview:
            write_png(args.preview, contact_sheet(preview, args.preview_frames, args.preview_scale))
            log(f"wrote {args.preview}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
