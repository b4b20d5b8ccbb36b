"""The object kinds as layered signed-distance shapes.

Every shape lives in local units: centred on the origin, fitting in a circle of radius about 1,
x to the right, y DOWN (image convention), facing right (car, fish, bird). A shape is a list of
parts drawn in order; each part is (signed distance in local units, colour), where the colour is an
RGB triple in [0, 1] or an array [..., 3] for shaded parts.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from . import sdf
from .vocab import COLOURS

Array = np.ndarray
Part = tuple[Array, object]

# Radius (local units) of a circle that contains every kind's shape; used for crops and layout.
EXTENT = 1.2


def rgb(c: tuple[int, int, int]) -> Array:
    return np.asarray(c, dtype=np.float32) / np.float32(255.0)


def luminance(c: Array) -> float:
    return float(0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2])


def lighter(c: Array, t: float) -> Array:
    return (c + (1.0 - c) * np.float32(t)).astype(np.float32)


def darker(c: Array, f: float) -> Array:
    """A darker shade; for near-black colours a slightly lighter one so faces stay distinct."""
    if luminance(c) < 0.15:
        return lighter(c, 0.12)
    return (c * np.float32(f)).astype(np.float32)


def accent(c: Array) -> Array:
    """A contrasting tint of the same hue (stripes, markings)."""
    return darker(c, 0.7) if luminance(c) > 0.6 else lighter(c, 0.45)


def shaded(c: Array, f: Array, spec: Array | float = 0.0) -> Array:
    """Per-pixel colour c * f + (1 - c) * spec, shape [..., 3]."""
    f = np.asarray(f, dtype=np.float32)[..., None]
    out = c * f
    if not (isinstance(spec, float) and spec == 0.0):
        out = out + (1.0 - c) * np.asarray(spec, dtype=np.float32)[..., None]
    return out


def _light(ux: Array, uy: Array, cx: float = -0.45, cy: float = -0.45, reach: float = 1.7) -> Array:
    """1 at a highlight point, falling linearly to 0 at `reach`."""
    return np.clip(1.0 - sdf.length(ux - cx, uy - cy) / reach, 0.0, 1.0)


WHEEL = rgb((36, 36, 40))
HUB = rgb((196, 196, 202))
WINDOW = rgb((178, 214, 236))
HEADLIGHT = rgb((255, 236, 140))
EYE_WHITE = rgb((250, 250, 250))
PUPIL = rgb((18, 18, 20))
BEAK = rgb((255, 172, 30))
BEAK_ALT = rgb((196, 88, 24))
TRUNK = rgb((112, 72, 38))
TRUNK_DARK = rgb((70, 44, 22))
DOOR = rgb((92, 58, 32))
DOOR_DARK = rgb((58, 36, 20))
LAMP_WINDOW = rgb((252, 236, 150))


def _ball(x, y, ux, uy, phase, c):
    body = sdf.circle(x, y, 0.0, 0.0, 1.0)
    light = _light(ux, uy)
    f = 0.62 + 0.38 * light
    spec = 0.4 * light * light * light
    band = sdf.intersect(body, np.abs(y) - 0.17)
    return [(body, shaded(c, f, spec)), (band, shaded(accent(c), f, spec))]


_CUBE_HEX = [(-0.77, -0.47), (-0.47, -0.77), (0.77, -0.77), (0.77, 0.47), (0.47, 0.77), (-0.77, 0.77)]
_CUBE_TOP = [(-0.77, -0.47), (-0.47, -0.77), (0.77, -0.77), (0.47, -0.47)]
_CUBE_SIDE = [(0.47, -0.47), (0.77, -0.77), (0.77, 0.47), (0.47, 0.77)]


def _cube(x, y, ux, uy, phase, c):
    return [
        (sdf.polygon(x, y, _CUBE_HEX), c),
        (sdf.polygon(x, y, _CUBE_TOP), lighter(c, 0.38)),
        (sdf.polygon(x, y, _CUBE_SIDE), darker(c, 0.62)),
    ]


_TRIANGLE = [(0.0, -1.05), (0.909, 0.525), (-0.909, 0.525)]


def _triangle(x, y, ux, uy, phase, c):
    return [(sdf.polygon(x, y, _TRIANGLE), c)]


def _star_points(outer: float, inner: float) -> list[tuple[float, float]]:
    pts = []
    for i in range(10):
        a = -math.pi / 2 + i * math.pi / 5
        r = outer if i % 2 == 0 else inner
        pts.append((r * math.cos(a), r * math.sin(a) + 0.08))
    return pts


_STAR = _star_points(1.05, 0.44)


def _star(x, y, ux, uy, phase, c):
    return [(sdf.polygon(x, y, _STAR), c)]


def _heart(x, y, ux, uy, phase, c):
    # Inigo Quilez's heart, y up, tip at the origin; mapped so the heart spans about [-1, 1].
    s = 0.6
    px = np.abs(x) * s
    py = -y * s + 0.55
    upper = sdf.length(px - 0.25, py - 0.75) - math.sqrt(2.0) / 4.0
    m = np.maximum(px + py, 0.0) * 0.5
    lower_sq = np.minimum((px - 0.0) ** 2 + (py - 1.0) ** 2, (px - m) ** 2 + (py - m) ** 2)
    lower = np.sqrt(lower_sq) * np.sign(px - py)
    d = np.where(py + px > 1.0, upper, lower) / s
    return [(d, c)]


def _ring(x, y, ux, uy, phase, c):
    return [(np.abs(sdf.length(x, y) - 0.72) - 0.25, c)]


_CABIN = [(-0.56, -0.08), (-0.33, -0.52), (0.22, -0.52), (0.50, -0.08)]
_WINDOW_BACK = [(-0.45, -0.14), (-0.29, -0.45), (-0.07, -0.45), (-0.07, -0.14)]
_WINDOW_FRONT = [(0.0, -0.14), (0.0, -0.45), (0.19, -0.45), (0.39, -0.14)]


def _car(x, y, ux, uy, phase, c):
    body = sdf.union(sdf.box(x, y, 0.0, 0.12, 0.97, 0.27, 0.14), sdf.polygon(x, y, _CABIN))
    return [
        (body, c),
        (sdf.polygon(x, y, _WINDOW_BACK), WINDOW),
        (sdf.polygon(x, y, _WINDOW_FRONT), WINDOW),
        (sdf.circle(x, y, 0.88, 0.03, 0.07), HEADLIGHT),
        (sdf.union(sdf.circle(x, y, -0.55, 0.42, 0.23), sdf.circle(x, y, 0.55, 0.42, 0.23)), WHEEL),
        (sdf.union(sdf.circle(x, y, -0.55, 0.42, 0.09), sdf.circle(x, y, 0.55, 0.42, 0.09)), HUB),
    ]


def _sin(phase):
    """sin of a per-frame phase (float or [T,1,1] array), computed with Python's math so results do
    not depend on NumPy's SIMD transcendental kernels."""
    if isinstance(phase, np.ndarray):
        return np.array([math.sin(float(v)) for v in phase.ravel()], dtype=np.float32).reshape(phase.shape)
    return math.sin(phase)


def _fish(x, y, ux, uy, phase, c):
    wiggle = 0.12 * _sin(phase)
    tail_pts = [(-0.40, 0.0), (-1.0, -0.46 + wiggle), (-0.86, wiggle), (-1.0, 0.46 + wiggle)]
    body = sdf.ellipse(x, y, 0.14, 0.0, 0.70, 0.42)
    tail = sdf.polygon(x, y, tail_pts)
    fin = sdf.polygon(x, y, [(-0.18, -0.30), (0.32, -0.36), (-0.02, -0.64)])
    return [
        (fin, darker(c, 0.65)),
        (sdf.union(body, tail), c),
        (sdf.subtract(tail, body), darker(c, 0.72)),
        (sdf.circle(x, y, 0.50, -0.10, 0.12), EYE_WHITE),
        (sdf.circle(x, y, 0.53, -0.10, 0.06), PUPIL),
    ]


def _bird(x, y, ux, uy, phase, c):
    flap = 0.35 + 0.65 * _sin(phase)
    tip = (-0.18, 0.05 - 0.9 * flap)
    body = sdf.union(sdf.ellipse(x, y, -0.05, 0.12, 0.62, 0.36), sdf.circle(x, y, 0.50, -0.16, 0.30))
    tail = sdf.polygon(x, y, [(-0.50, 0.04), (-1.0, -0.22), (-0.94, 0.36)])
    beak_pts = [(0.74, -0.26), (1.04, -0.13), (0.74, -0.02)]
    beak_col = BEAK_ALT if c is not None and _is_warm(c) else BEAK
    wing = sdf.polygon(x, y, [(-0.40, 0.06), (0.26, 0.06), tip])
    return [
        (sdf.union(body, tail), c),
        (sdf.polygon(x, y, beak_pts), beak_col),
        (wing, darker(c, 0.68)),
        (sdf.circle(x, y, 0.60, -0.21, 0.09), EYE_WHITE),
        (sdf.circle(x, y, 0.62, -0.21, 0.05), PUPIL),
    ]


def _is_warm(c: Array) -> bool:
    return bool(c[0] > 0.85 and c[1] > 0.45 and c[2] < 0.35)  # orange / yellow


def _tree(x, y, ux, uy, phase, c):
    trunk_col = TRUNK_DARK if _close(c, "brown") else TRUNK
    crown = sdf.union(
        sdf.circle(x, y, 0.0, -0.38, 0.56),
        sdf.circle(x, y, -0.40, -0.02, 0.44),
        sdf.circle(x, y, 0.40, -0.02, 0.44),
    )
    light = _light(ux, uy, -0.35, -0.7, 1.8)
    return [
        (sdf.box(x, y, 0.0, 0.58, 0.14, 0.42), trunk_col),
        (crown, shaded(c, 0.78 + 0.22 * light, 0.12 * light * light)),
    ]


def _close(c: Array, name: str) -> bool:
    return bool(np.all(np.abs(c - rgb(COLOURS[name])) < 1e-3))


def _house(x, y, ux, uy, phase, c):
    door_col = DOOR_DARK if _close(c, "brown") else DOOR
    win_col = WINDOW if _close(c, "yellow") else LAMP_WINDOW
    roof_col = darker(c, 0.55) if luminance(c) > 0.15 else rgb((120, 40, 36))
    return [
        (sdf.box(x, y, 0.46, -0.55, 0.09, 0.22), darker(roof_col, 0.8)),
        (sdf.box(x, y, 0.0, 0.36, 0.64, 0.56), c),
        (sdf.polygon(x, y, [(-0.88, -0.12), (0.88, -0.12), (0.0, -0.96)]), roof_col),
        (sdf.box(x, y, 0.0, 0.67, 0.15, 0.25, 0.03), door_col),
        (sdf.union(sdf.box(x, y, -0.38, 0.24, 0.14, 0.13), sdf.box(x, y, 0.38, 0.24, 0.14, 0.13)), win_col),
    ]


_C45 = math.sqrt(0.5)


def _sun(x, y, ux, uy, phase, c):
    ax, ay = np.abs(x), np.abs(y)
    sx, sy = np.maximum(ax, ay), np.minimum(ax, ay)  # fold into the octant 0 <= sy <= sx
    rays = sdf.union(
        sdf.segment(sx, sy, 0.70, 0.0, 0.98, 0.0, 0.08),
        sdf.segment(sx, sy, 0.70 * _C45, 0.70 * _C45, 0.98 * _C45, 0.98 * _C45, 0.08),
    )
    disk = sdf.circle(x, y, 0.0, 0.0, 0.56)
    glow = np.clip(1.0 - sdf.length(ux, uy) / 0.56, 0.0, 1.0)
    return [(rays, c), (disk, shaded(c, np.ones_like(glow), 0.3 * glow))]


def _moon(x, y, ux, uy, phase, c):
    d = sdf.subtract(sdf.circle(x, y, 0.0, 0.0, 0.9), sdf.circle(x, y, 0.42, -0.24, 0.74))
    return [(d, c)]


def _cloud(x, y, ux, uy, phase, c):
    d = sdf.union(
        sdf.circle(x, y, -0.46, 0.12, 0.38),
        sdf.circle(x, y, -0.04, -0.14, 0.50),
        sdf.circle(x, y, 0.44, 0.06, 0.40),
        sdf.box(x, y, 0.0, 0.26, 0.84, 0.22, 0.2),
    )
    f = 1.0 - 0.14 * np.clip(uy + 0.1, 0.0, 1.0)
    return [(d, shaded(c, f))]


SHAPES: dict[str, Callable[..., list[Part]]] = {
    "ball": _ball, "cube": _cube, "triangle": _triangle, "star": _star, "heart": _heart,
    "ring": _ring, "car": _car, "fish": _fish, "bird": _bird, "tree": _tree, "house": _house,
    "sun": _sun, "moon": _moon, "cloud": _cloud,
}

# Kinds that face a direction (drawn facing right; mirrored when moving left).
FACING_KINDS = frozenset({"car", "fish", "bird"})


def shape_parts(kind: str, x: Array, y: Array, ux: Array, uy: Array, phase, colour: Array) -> list[Part]:
    """Parts of `kind` evaluated at local coordinates (x, y) (rotated into the object's frame)
    with (ux, uy) the unrotated local offsets (for lighting that stays put while a shape spins)."""
    return SHAPES[kind](x, y, ux, uy, phase, colour)
