"""Signed distance functions on NumPy arrays (negative inside).

Only IEEE-exact operations (+ - * / sqrt min max abs floor) are applied per pixel, so results are
bit-identical across CPUs and NumPy builds; trigonometry happens on per-frame scalars in Python.
Parameters may be Python floats or arrays that broadcast against the coordinates (e.g. [T,1,1]
for shapes animated per frame).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

Array = np.ndarray


def length(x: Array, y: Array) -> Array:
    return np.sqrt(x * x + y * y)


def circle(x: Array, y: Array, cx: float, cy: float, r: float) -> Array:
    return length(x - cx, y - cy) - r


def box(x: Array, y: Array, cx: float, cy: float, hx: float, hy: float, radius: float = 0.0) -> Array:
    """Axis-aligned box with half extents (hx, hy), corners rounded by `radius`."""
    qx = np.abs(x - cx) - (hx - radius)
    qy = np.abs(y - cy) - (hy - radius)
    outside = length(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    inside = np.minimum(np.maximum(qx, qy), 0.0)
    return outside + inside - radius


def segment(x: Array, y: Array, ax, ay, bx, by, r: float) -> Array:
    """Capsule of radius r around the segment a-b."""
    pax, pay = x - ax, y - ay
    bax, bay = bx - ax, by - ay
    h = np.clip((pax * bax + pay * bay) / (bax * bax + bay * bay), 0.0, 1.0)
    return length(pax - bax * h, pay - bay * h) - r


def polygon(x: Array, y: Array, pts: Sequence[tuple]) -> Array:
    """Exact distance to a simple (possibly concave) polygon (Inigo Quilez's sdPolygon)."""
    n = len(pts)
    v0x, v0y = pts[0]
    d = (x - v0x) * (x - v0x) + (y - v0y) * (y - v0y)
    sign = np.ones(np.broadcast_shapes(np.shape(x), np.shape(d)), dtype=np.float32)
    j = n - 1
    for i in range(n):
        vix, viy = pts[i]
        vjx, vjy = pts[j]
        ex, ey = vjx - vix, vjy - viy
        wx, wy = x - vix, y - viy
        h = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
        bx, by = wx - ex * h, wy - ey * h
        d = np.minimum(d, bx * bx + by * by)
        c1 = y >= viy
        c2 = y < vjy
        c3 = ex * wy > ey * wx
        flip = (c1 & c2 & c3) | (~c1 & ~c2 & ~c3)
        sign = np.where(flip, -sign, sign)
        j = i
    return sign * np.sqrt(d)


def ellipse(x: Array, y: Array, cx: float, cy: float, a: float, b: float) -> Array:
    """First-order distance estimate to an ellipse with semi-axes a, b: exact at the boundary to
    first order, which is all anti-aliased coverage needs."""
    qx = (x - cx) / a
    qy = (y - cy) / b
    k = length(qx, qy)
    g = length(qx / a, qy / b)
    safe = np.maximum(g, 1e-12)
    ratio = np.where(g > 1e-12, k / safe, min(a, b))
    return (k - 1.0) * ratio


def union(*ds: Array) -> Array:
    out = ds[0]
    for d in ds[1:]:
        out = np.minimum(out, d)
    return out


def subtract(d: Array, cut: Array) -> Array:
    return np.maximum(d, -cut)


def intersect(a: Array, b: Array) -> Array:
    return np.maximum(a, b)


def coverage(d_px: Array) -> Array:
    """Anti-aliased pixel coverage from a signed distance measured in pixels (box filter)."""
    return np.clip(0.5 - d_px, 0.0, 1.0)
