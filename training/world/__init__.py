"""A deterministic procedural world of short captioned video clips (training data for the bundled
tiny text-to-video model). NumPy only.

    from training.world import Rng, sample_scene, render, render_with_truth, caption, split_of
    scene = sample_scene(Rng(7))                  # training split
    video = render(scene, 112, 64, frames=17)     # uint8 [17, 64, 112, 3]
    text = caption(scene, "zh", Rng(1))
"""

from .caption import caption, count_phrases_zh, measure_words
from .png import contact_sheet, encode_png, write_png
from .render import GroundTruth, render, render_with_truth
from .rng import Rng, derive_seed
from .scene import (
    HELDOUT_KIND_COLOUR, HELDOUT_KIND_MOTION, Scene, sample_heldout_scene, sample_scene, split_of,
)
from .vocab import (
    ASPECTS, BACKGROUNDS, CAMERAS, COLOURS, COLOUR_NAMES, COUNTS, KINDS, MOTIONS, SPEEDS,
    frame_size, kling_camera_control,
)

__all__ = [
    "ASPECTS", "BACKGROUNDS", "CAMERAS", "COLOURS", "COLOUR_NAMES", "COUNTS", "GroundTruth",
    "HELDOUT_KIND_COLOUR", "HELDOUT_KIND_MOTION", "KINDS", "MOTIONS", "Rng", "SPEEDS", "Scene",
    "caption", "contact_sheet", "count_phrases_zh", "derive_seed", "encode_png", "frame_size",
    "kling_camera_control", "measure_words", "render", "render_with_truth", "sample_heldout_scene",
    "sample_scene", "split_of", "write_png",
]
