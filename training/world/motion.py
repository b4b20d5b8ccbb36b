"""Object layout and motion paths.

Motions are defined relative to the clip (progress p = 0..1 over the frames), so a clip of any
length shows the whole motion and objects stay inside the camera's safe rectangle throughout:
slow objects travel about 45% of the free space, fast ones about 90%; periodic motions (bounce,
zigzag, rotate, orbit) do more cycles when fast. Wing flaps and fin wiggles use seconds (fps).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import rng as R
from .camera import progress
from .shapes import FACING_KINDS
from .scene import Scene

BASE_RADIUS = {1: 0.17, 2: 0.14, 3: 0.12, 4: 0.105}   # world units (short side = 1)
MIN_RADIUS = 0.035
REACH = 1.05   # how far (in radii) a shape is considered to extend for spacing

TRAVEL = {"slow": 0.45, "fast": 0.9}
GROW = {"slow": (0.65, 1.25), "fast": (0.5, 1.5)}
ROTATE = {"slow": 2 * math.pi / 3, "fast": 2 * math.pi}   # radians over the clip, clockwise
ORBIT_TURNS = {"slow": 0.5, "fast": 1.0}                   # clockwise
BOUNCES = {"slow": 2.0, "fast": 3.0}
ZIGZAGS = {"slow": 1.5, "fast": 2.5}
FALL_TUMBLE = {"slow": 0.35, "fast": 0.9}

HORIZONTAL = ("left", "right", "zigzag")
VERTICAL = ("up", "down", "fall", "rise", "bounce")
IN_PLACE = ("still", "rotate", "grow", "shrink")


@dataclass
class Track:
    """Per-frame state of one object in world units (object layer)."""

    cx: np.ndarray       # [T] float64
    cy: np.ndarray
    angle: np.ndarray    # [T] radians, clockwise
    radius: np.ndarray   # [T] world units; the shape's local unit
    flip: bool           # mirrored (facing left)
    phase: np.ndarray    # [T] animation phase (wings, fins), radians


def tri(u: np.ndarray) -> np.ndarray:
    """Triangle wave with period 1: 0 at u=0, +1 at 0.25, -1 at 0.75."""
    f = u + 0.25 - np.floor(u + 0.25)
    return 1.0 - 4.0 * np.abs(f - 0.5)


def layout(scene: Scene, frames: int, fps: float, rect: tuple[float, float, float, float], rng: Any) -> list[Track]:
    n = scene.count
    motion = scene.motion
    speed = scene.speed if scene.speed in TRAVEL else "slow"
    p = np.array(progress(frames), dtype=np.float64)
    tsec = np.arange(frames, dtype=np.float64) / float(fps)
    x0, x1, y0, y1 = rect
    W, H = x1 - x0, y1 - y0

    if motion == "grow":
        s0, s1 = GROW[speed]
    elif motion == "shrink":
        s1, s0 = GROW[speed]
    else:
        s0 = s1 = 1.0
    scale = s0 + (s1 - s0) * p
    smax = max(s0, s1)

    r = BASE_RADIUS[n] * R.uniform(rng, 0.9, 1.1)

    def fit(limit: float) -> None:
        nonlocal r
        r = max(MIN_RADIUS, min(r, limit / (smax * REACH)))

    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    angles = [np.zeros_like(p) for _ in range(n)]

    if motion in HORIZONTAL:
        lane = H / n
        fit(0.45 * lane if motion != "zigzag" else lane / 3.2)
        fit(0.3 * W)
        reach = r * smax * REACH
        avail = max(0.0, W - 2 * reach)
        dist = TRAVEL[speed] * avail
        for i in range(n):
            yc = y0 + (i + 0.5) * lane
            if motion != "zigzag":
                yc += R.uniform(rng, -1, 1) * 0.5 * max(0.0, lane / 2 - reach)
            start = R.uniform(rng, 0.0, max(0.0, avail - dist))
            if motion == "left":
                xs.append((x1 - reach - start) - dist * p)
            else:
                xs.append((x0 + reach + start) + dist * p)
            if motion == "zigzag":
                amp = max(0.0, lane / 2 - reach)
                ys.append(yc + amp * tri(ZIGZAGS[speed] * p))
            else:
                ys.append(yc + 0.0 * p)
    elif motion in VERTICAL:
        col = W / n
        fit(0.45 * col)
        fit(0.3 * H)
        reach = r * smax * REACH
        avail = max(0.0, H - 2 * reach)
        frac = {"fall": {"slow": 0.55, "fast": 0.95}, "bounce": {"slow": 0.5, "fast": 0.85}}
        dist = frac[motion][speed] * avail if motion in frac else TRAVEL[speed] * avail
        for i in range(n):
            xc = x0 + (i + 0.5) * col + R.uniform(rng, -1, 1) * 0.5 * max(0.0, col / 2 - reach)
            start = R.uniform(rng, 0.0, max(0.0, avail - dist))
            if motion == "up":
                ys.append((y1 - reach - start) - dist * p)
                xs.append(xc + 0.0 * p)
            elif motion == "down":
                ys.append((y0 + reach + start) + dist * p)
                xs.append(xc + 0.0 * p)
            elif motion == "fall":
                ys.append((y0 + reach + 0.3 * start) + dist * p * p)
                xs.append(xc + 0.0 * p)
                spin = FALL_TUMBLE[speed] * (1 if R.below(rng, 2) else -1)
                angles[i] = spin * p * p
            elif motion == "rise":
                ys.append((y1 - reach - 0.3 * start) - dist * (0.35 * p + 0.65 * p * p))
                sway = min(0.04, max(0.0, col / 2 - reach))
                ph = R.uniform(rng, 0.0, 1.0)
                xs.append(xc + sway * tri(p + ph))
            else:  # bounce: parabolic hops off the bottom of the safe rectangle
                floor = y1 - reach
                ph = R.uniform(rng, 0.0, 0.5)
                u = BOUNCES[speed] * p + ph
                u = u - np.floor(u)
                ys.append(floor - dist * 4.0 * u * (1.0 - u))
                xs.append(xc + 0.0 * p)
    elif motion == "orbit":
        m = min(W, H)
        for _ in range(60):
            reach = r * smax * REACH
            ro = m / 2 - reach
            ok = ro >= 1.5 * reach and (n == 1 or 2 * ro * math.sin(math.pi / n) >= 2.3 * reach)
            if ok or r <= MIN_RADIUS:
                break
            r = max(MIN_RADIUS, r * 0.92)
        reach = r * smax * REACH
        ro = max(0.05, m / 2 - reach)
        cxo = 0.5 * (x0 + x1) + R.uniform(rng, -1, 1) * 0.5 * max(0.0, W / 2 - ro - reach)
        cyo = 0.5 * (y0 + y1) + R.uniform(rng, -1, 1) * 0.5 * max(0.0, H / 2 - ro - reach)
        th0 = R.uniform(rng, 0.0, 2 * math.pi)
        turns = ORBIT_TURNS[speed]
        for i in range(n):
            th = th0 + 2 * math.pi * i / n + 2 * math.pi * turns * p
            xs.append(cxo + ro * np.array([math.cos(v) for v in th]))
            ys.append(cyo + ro * np.array([math.sin(v) for v in th]))
    else:  # in place: a row or a 2x2 grid along the longer side
        long_is_x = W >= H
        longer, shorter = (W, H) if long_is_x else (H, W)
        if n == 4 and longer / shorter < 2.5:
            cols, rows = 2, 2
        else:
            cols, rows = (n, 1) if long_is_x else (1, n)
        cw, ch = W / cols, H / rows
        fit(0.45 * min(cw, ch))
        reach = r * smax * REACH
        spin = ROTATE[speed] if motion == "rotate" else 0.0
        for i in range(n):
            cx = x0 + (i % cols + 0.5) * cw + R.uniform(rng, -1, 1) * 0.6 * max(0.0, cw / 2 - reach)
            cy = y0 + (i // cols + 0.5) * ch + R.uniform(rng, -1, 1) * 0.6 * max(0.0, ch / 2 - reach)
            xs.append(cx + 0.0 * p)
            ys.append(cy + 0.0 * p)
            angles[i] = spin * p

    tracks = []
    facing = scene.kind in FACING_KINDS
    for i in range(n):
        if not facing:
            flip = False
        elif motion == "left":
            flip = True
        elif motion in ("right", "zigzag"):
            flip = False
        else:
            flip = R.below(rng, 2) == 1
        freq = (2.5 if scene.kind == "bird" else 1.5) * (1.4 if speed == "fast" else 1.0)
        phase = 2 * math.pi * freq * tsec + R.uniform(rng, 0.0, 2 * math.pi)
        tracks.append(Track(np.asarray(xs[i], dtype=np.float64), np.asarray(ys[i], dtype=np.float64),
                            np.asarray(angles[i], dtype=np.float64), r * scale, flip, phase))
    return tracks
