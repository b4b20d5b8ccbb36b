"""The world's vocabulary: object kinds, colours, motions, speeds, backgrounds, cameras, aspects."""

from __future__ import annotations

KINDS: tuple[str, ...] = (
    "ball", "cube", "triangle", "star", "heart", "ring", "car",
    "fish", "bird", "tree", "house", "sun", "moon", "cloud",
)

# sRGB, 0..255. Chosen to be distinct from each other and, via FORBIDDEN_COLOURS below, from the
# background they are drawn on.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (222, 38, 38),
    "orange": (246, 138, 28),
    "yellow": (250, 214, 38),
    "green": (46, 168, 58),
    "blue": (38, 88, 222),
    "purple": (138, 58, 192),
    "pink": (246, 118, 182),
    "white": (246, 246, 246),
    "black": (24, 24, 28),
    "brown": (128, 78, 38),
}
COLOUR_NAMES: tuple[str, ...] = tuple(COLOURS)

COUNTS: tuple[int, ...] = (1, 2, 3, 4)

MOVING_MOTIONS: tuple[str, ...] = (
    "left", "right", "up", "down", "bounce", "fall",
    "rise", "rotate", "grow", "shrink", "orbit", "zigzag",
)
MOTIONS: tuple[str, ...] = ("still",) + MOVING_MOTIONS

SPEEDS: tuple[str, ...] = ("slow", "fast")
NO_SPEED = "none"  # the speed of a "still" motion / "static" camera

BACKGROUNDS: tuple[str, ...] = (
    "plain_gray", "plain_beige", "plain_teal",
    "sky", "grass", "water", "night", "snow", "rain",
)

# Object colours that would not stand out against a background; the sampler never pairs them.
FORBIDDEN_COLOURS: dict[str, frozenset[str]] = {
    "plain_gray": frozenset(),
    "plain_beige": frozenset({"white", "yellow"}),
    "plain_teal": frozenset({"blue", "black", "green"}),
    "sky": frozenset({"blue", "white"}),
    "grass": frozenset({"green", "blue"}),
    "water": frozenset({"blue", "purple"}),
    "night": frozenset({"black", "blue", "purple", "brown"}),
    "snow": frozenset({"white"}),
    "rain": frozenset({"black", "brown"}),
}

# Camera moves, named as a camera operator would (and mapped to Kling's camera_control axes by
# `kling_camera_control`). truck = sideways translation (parallax), pedestal = vertical translation
# (parallax), pan/tilt = rotation about the vertical/horizontal axis (the whole picture shifts, no
# parallax), roll = rotation about the lens axis, zoom = focal length.
CAMERAS: tuple[str, ...] = (
    "static",
    "truck_left", "truck_right",
    "pedestal_up", "pedestal_down",
    "pan_left", "pan_right",
    "tilt_up", "tilt_down",
    "roll_clockwise", "roll_counterclockwise",
    "zoom_in", "zoom_out",
)
MOVING_CAMERAS: tuple[str, ...] = CAMERAS[1:]

ASPECTS: dict[str, tuple[int, int]] = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}

# Combinations that are never generated: the ring is rotationally symmetric, so "rotate" would not
# be visible.
INVALID_KIND_MOTION: frozenset[tuple[str, str]] = frozenset({("ring", "rotate")})


def frame_size(aspect: str, short_side: int = 64, multiple: int = 16) -> tuple[int, int]:
    """(width, height) for an aspect ratio: the short side is `short_side` exactly and the long side
    is rounded to the nearest multiple of `multiple` (16 keeps latent/patch grids whole; pass 1 for
    plain rounding). 16:9 at 64 -> (112, 64); 9:16 at 128 -> (128, 224); 1:1 at 64 -> (64, 64)."""
    if aspect not in ASPECTS:
        raise ValueError(f"unknown aspect {aspect!r}; expected one of {list(ASPECTS)}")
    if short_side < 1 or multiple < 1:
        raise ValueError("short_side and multiple must be positive")
    aw, ah = ASPECTS[aspect]
    ratio = max(aw, ah) / min(aw, ah)
    long_side = max(multiple, int(round(short_side * ratio / multiple)) * multiple)
    if aw == ah:
        long_side = short_side
    return (long_side, short_side) if aw >= ah else (short_side, long_side)


# Kling camera_control (per the Kling API docs): horizontal +right/-left, vertical +up/-down,
# pan = rotation in the vertical plane (+up/-down), tilt = rotation in the horizontal plane
# (+right/-left), roll +clockwise/-counterclockwise, zoom -narrower field of view (zoom in)/+wider.
# Kling's "pan"/"tilt" are therefore our tilt/pan.
_KLING_AXIS: dict[str, tuple[str, int]] = {
    "truck_left": ("horizontal", -1), "truck_right": ("horizontal", 1),
    "pedestal_up": ("vertical", 1), "pedestal_down": ("vertical", -1),
    "pan_left": ("tilt", -1), "pan_right": ("tilt", 1),
    "tilt_up": ("pan", 1), "tilt_down": ("pan", -1),
    "roll_clockwise": ("roll", 1), "roll_counterclockwise": ("roll", -1),
    "zoom_in": ("zoom", -1), "zoom_out": ("zoom", 1),
}


def kling_camera_control(camera: str, camera_speed: str) -> dict[str, float]:
    """The Kling `camera_control.config` equivalent of a camera move (slow = 3, fast = 7)."""
    config = {k: 0.0 for k in ("horizontal", "vertical", "pan", "tilt", "roll", "zoom")}
    if camera != "static":
        axis, sign = _KLING_AXIS[camera]
        config[axis] = float(sign * (3 if camera_speed == "slow" else 7))
    return config
