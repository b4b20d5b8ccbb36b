"""Clips and captions from the procedural world, rendered on the fly and deterministic per index."""
import numpy as np
import torch

from training.world import Rng, caption, render_with_truth, sample_scene
from training.world.rng import derive_seed

from .configs import size_for


def scene_at(seed: int, index: int, aspect: str):
    return sample_scene(Rng(derive_seed(seed, "scene", index))).replace(aspect=aspect)


def caption_at(scene, seed: int, index: int) -> str:
    rng = Rng(derive_seed(seed, "caption", index))
    language = "zh" if rng.random() < 0.5 else "en"
    return caption(scene, language, rng)


def batch(config, seed: int, step: int, size: int, frames: int = None, with_scenes: bool = False,
          with_truths: bool = False):
    """A batch of `size` clips of one aspect ratio: video [B, 3, T, H, W] in [-1, 1] and captions
    (then the scenes, to caption again later, with `with_scenes`, and the renderer's ground truth
    with `with_truths`)."""
    frames = frames or config.frames
    aspect = config.aspects[derive_seed(seed, "aspect", step) % len(config.aspects)]
    width, height = size_for(aspect, config.short_side)
    videos, captions, scenes, truths = [], [], [], []
    for b in range(size):
        index = step * size + b
        scene = scene_at(seed, index, aspect)
        clip, truth = render_with_truth(scene, width, height, frames=frames, fps=config.fps)  # uint8 [T, H, W, 3]
        videos.append(torch.from_numpy(np.ascontiguousarray(clip)).permute(3, 0, 1, 2).float() / 127.5 - 1)
        captions.append(caption_at(scene, seed, index))
        scenes.append(scene)
        truths.append(truth)
    return (torch.stack(videos), captions) + ((scenes,) if with_scenes else ()) + ((truths,) if with_truths else ())


def truths_for(config, scenes, frames: int = None):
    """The renderer's ground truth for scenes (at the configured size), for clips kept only as latents."""
    out = []
    for scene in scenes:
        width, height = size_for(scene.aspect, config.short_side)
        out.append(render_with_truth(scene, width, height, frames or config.frames, config.fps)[1])
    return out


def caption_corpus(seed: int, count: int):
    """English and Chinese captions for training the tokenizer."""
    out = []
    for index in range(count):
        scene = sample_scene(Rng(derive_seed(seed, "corpus", index)))
        rng = Rng(derive_seed(seed, "corpus-caption", index))
        out.append(caption(scene, "en", rng))
        out.append(caption(scene, "zh", rng))
    return out
