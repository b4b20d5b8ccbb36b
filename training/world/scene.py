"""Scene specification, the train / held-out split, and deterministic samplers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from . import rng as R
from .vocab import (
    ASPECTS, BACKGROUNDS, CAMERAS, COLOUR_NAMES, COUNTS, FORBIDDEN_COLOURS, INVALID_KIND_MOTION,
    KINDS, MOTIONS, MOVING_CAMERAS, MOVING_MOTIONS, NO_SPEED, SPEEDS,
)


@dataclass(frozen=True)
class Scene:
    """Everything that determines a clip. `seed` drives layout jitter and background detail;
    rendering at a given size / frame count / fps is a pure function of the scene."""

    kind: str
    colour: str
    count: int
    motion: str
    speed: str           # "slow" | "fast"; "none" exactly when motion == "still"
    background: str
    camera: str
    camera_speed: str    # "slow" | "fast"; "none" exactly when camera == "static"
    aspect: str
    seed: int

    def __post_init__(self) -> None:
        problems = validate(self)
        if problems:
            raise ValueError("invalid scene: " + "; ".join(problems))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> "Scene":
        names = [f.name for f in dataclasses.fields(Scene)]
        return Scene(**{k: d[k] for k in names})

    def replace(self, **changes: Any) -> "Scene":
        return dataclasses.replace(self, **changes)


def validate(s: Scene) -> list[str]:
    p: list[str] = []
    if s.kind not in KINDS:
        p.append(f"kind {s.kind!r} not in {KINDS}")
    if s.colour not in COLOUR_NAMES:
        p.append(f"colour {s.colour!r} not in {COLOUR_NAMES}")
    if s.count not in COUNTS or isinstance(s.count, bool):
        p.append(f"count {s.count!r} not in {COUNTS}")
    if s.motion not in MOTIONS:
        p.append(f"motion {s.motion!r} not in {MOTIONS}")
    elif s.motion == "still":
        if s.speed != NO_SPEED:
            p.append('a "still" scene has speed "none"')
    elif s.speed not in SPEEDS:
        p.append(f"speed {s.speed!r} not in {SPEEDS}")
    if s.background not in BACKGROUNDS:
        p.append(f"background {s.background!r} not in {BACKGROUNDS}")
    if s.camera not in CAMERAS:
        p.append(f"camera {s.camera!r} not in {CAMERAS}")
    elif s.camera == "static":
        if s.camera_speed != NO_SPEED:
            p.append('a "static" camera has camera_speed "none"')
    elif s.camera_speed not in SPEEDS:
        p.append(f"camera_speed {s.camera_speed!r} not in {SPEEDS}")
    if s.aspect not in ASPECTS:
        p.append(f"aspect {s.aspect!r} not in {tuple(ASPECTS)}")
    if not isinstance(s.seed, int) or isinstance(s.seed, bool) or s.seed < 0:
        p.append("seed must be a non-negative int")
    if (s.kind, s.motion) in INVALID_KIND_MOTION:
        p.append(f"{s.kind} with motion {s.motion} is not generated (not visible)")
    return p


# ---------------------------------------------------------------------------------------------
# Held-out split. Fixed lists (documented in training/README.md): each kind has exactly one
# held-out colour (14 of the 140 (kind, colour) pairs, 10%; every colour is held out for one or two
# kinds) and 12 of the 168 (kind, moving motion) pairs (7%) are held out. A scene is "heldout" when
# it contains any of these pairs; the training sampler never produces one.

HELDOUT_KIND_COLOUR: frozenset[tuple[str, str]] = frozenset({
    ("ball", "purple"), ("cube", "yellow"), ("triangle", "pink"), ("star", "green"),
    ("heart", "blue"), ("ring", "orange"), ("car", "white"), ("fish", "red"),
    ("bird", "brown"), ("tree", "black"), ("house", "green"), ("sun", "purple"),
    ("moon", "red"), ("cloud", "blue"),
})

HELDOUT_KIND_MOTION: frozenset[tuple[str, str]] = frozenset({
    ("ball", "zigzag"), ("cube", "fall"), ("triangle", "orbit"), ("star", "shrink"),
    ("heart", "rise"), ("ring", "left"), ("car", "bounce"), ("fish", "down"),
    ("bird", "grow"), ("tree", "rotate"), ("house", "up"), ("sun", "right"),
})

SPLITS = ("train", "heldout")


def split_of(scene: Scene) -> str:
    """"heldout" if the scene contains a held-out (kind, colour) or (kind, motion) pair."""
    if (scene.kind, scene.colour) in HELDOUT_KIND_COLOUR:
        return "heldout"
    if (scene.kind, scene.motion) in HELDOUT_KIND_MOTION:
        return "heldout"
    return "train"


# ---------------------------------------------------------------------------------------------
# Samplers

ASPECT_WEIGHTS = {"16:9": 0.4, "9:16": 0.3, "1:1": 0.3}
STATIC_CAMERA_PROB = 0.4
STILL_PROB = 0.05


def _sample_motion(rng: Any, kind: str) -> str:
    if rng.random() < STILL_PROB:
        return "still"
    options = [m for m in MOVING_MOTIONS if (kind, m) not in INVALID_KIND_MOTION]
    return R.choice(rng, options)


def _sample_rest(rng: Any, kind: str, colour: str, motion: str, aspect: str | None) -> Scene:
    count = R.choice(rng, COUNTS)
    speed = NO_SPEED if motion == "still" else R.choice(rng, SPEEDS)
    backgrounds = [b for b in BACKGROUNDS if colour not in FORBIDDEN_COLOURS[b]]
    background = R.choice(rng, backgrounds)
    if rng.random() < STATIC_CAMERA_PROB:
        camera, camera_speed = "static", NO_SPEED
    else:
        camera, camera_speed = R.choice(rng, MOVING_CAMERAS), R.choice(rng, SPEEDS)
    if aspect is None:
        aspect = R.weighted_choice(rng, list(ASPECT_WEIGHTS), list(ASPECT_WEIGHTS.values()))
    seed = R.seed32(rng)
    return Scene(kind, colour, count, motion, speed, background, camera, camera_speed, aspect, seed)


def sample_scene(rng: Any, split: str = "train", aspect: str | None = None) -> Scene:
    """Draw a scene. `rng` is a seed or anything with `random()` (see rng.py).

    split="train" never returns a held-out combination (rejection sampling over uniform kinds,
    colours, motions); split="heldout" returns a scene that contains at least one held-out pair
    (the pair is drawn uniformly from the 26 held-out pairs, everything else as in training).
    `aspect` fixes the aspect ratio instead of sampling it."""
    rng = R.as_rng(rng)
    if split == "train":
        for _ in range(10000):
            kind = R.choice(rng, KINDS)
            colour = R.choice(rng, COLOUR_NAMES)
            motion = _sample_motion(rng, kind)
            if (kind, colour) in HELDOUT_KIND_COLOUR or (kind, motion) in HELDOUT_KIND_MOTION:
                continue
            return _sample_rest(rng, kind, colour, motion, aspect)
        raise RuntimeError("train sampler failed to find a training combination")  # unreachable
    if split == "heldout":
        return sample_heldout_scene(rng, aspect=aspect)
    raise ValueError(f"split must be one of {SPLITS}, got {split!r}")


_HELDOUT_PAIRS: tuple[tuple[str, str, str], ...] = tuple(
    [("colour", k, c) for k, c in sorted(HELDOUT_KIND_COLOUR)]
    + [("motion", k, m) for k, m in sorted(HELDOUT_KIND_MOTION)]
)


def sample_heldout_scene(rng: Any, aspect: str | None = None) -> Scene:
    """Evaluation sampler: every scene contains at least one held-out pair."""
    rng = R.as_rng(rng)
    what, kind, value = R.choice(rng, _HELDOUT_PAIRS)
    if what == "colour":
        colour, motion = value, _sample_motion(rng, kind)
    else:
        colour, motion = R.choice(rng, COLOUR_NAMES), value
    scene = _sample_rest(rng, kind, colour, motion, aspect)
    assert split_of(scene) == "heldout"
    return scene
