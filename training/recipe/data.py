"""Clips and captions from the procedural world, rendered on the fly and deterministic per index."""
import numpy as np
import torch

from training.world import Rng, caption, render, sample_scene
from training.world.rng import derive_seed

from .configs import size_for


def scene_at(seed: int, index: int, aspect: str):
    return sample_scene(Rng(derive_seed(seed, "scene", index))).replace(aspect=aspect)


def caption_at(scene, seed: int, index: int) -> str:
    rng = Rng(derive_seed(seed, "caption", index))
    language = "zh" if rng.random() < 0.5 else "en"
    return caption(scene, language, rng)


def batch(config, seed: int, step: int, size: int, frames: int = None, with_scenes: bool = False):
    """A batch of `size` clips of one aspect ratio: video [B, 3, T, H, W] in [-1, 1] and captions
    (and the scenes, to caption again later, with `with_scenes`)."""
    frames = frames or config.frames
    aspect = config.aspects[derive_seed(seed, "aspect", step) % len(config.aspects)]
    width, height = size_for(aspect, config.short_side)
    videos, captions, scenes = [], [], []
    for b in range(size):
        index = step * size + b
        scene = scene_at(seed, index, aspect)
        clip = render(scene, width, height, frames=frames, fps=config.fps)  # uint8 [T, H, W, 3]
        videos.append(torch.from_numpy(np.ascontiguousarray(clip)).permute(3, 0, 1, 2).float() / 127.5 - 1)
        captions.append(caption_at(scene, seed, index))
        scenes.append(scene)
    if with_scenes:
        return torch.stack(videos), captions, scenes
    return torch.stack(videos), captions


def caption_corpus(seed: int, count: int):
    """English and Chinese captions for training the tokenizer."""
    out = []
    for index in range(count):
        scene = sample_scene(Rng(derive_seed(seed, "corpus", index)))
        rng = Rng(derive_seed(seed, "corpus-caption", index))
        out.append(caption(scene, "en", rng))
        out.append(caption(scene, "zh", rng))
    return out
