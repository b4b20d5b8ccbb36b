"""Backgrounds: plain colours, sky, grass, water, night, snow, rain.

Each is a function of world coordinates (so camera moves show as parallax) and time in seconds.
Per-pixel work uses IEEE-exact operations only (value noise from integer hashing, a polynomial
periodic wave instead of sin) so frames are bit-identical on every machine.
"""

from __future__ import annotations

import math

import numpy as np

from . import rng as R
from .camera import CameraPath

Array = np.ndarray

FAR, GROUND, WEATHER = 0.25, 0.6, 0.8   # parallax factors

PLAIN = {
    "plain_gray": (150, 150, 156),
    "plain_beige": (234, 224, 198),
    "plain_teal": (32, 104, 112),
}

SKY_TOP, SKY_BOTTOM = (58, 120, 214), (172, 206, 240)
GRASS_NEAR_HORIZON, GRASS_BOTTOM = (122, 182, 82), (48, 118, 42)
WATER_TOP, WATER_BOTTOM = (50, 124, 200), (20, 64, 148)
NIGHT_TOP, NIGHT_BOTTOM = (6, 10, 32), (30, 40, 86)
SNOW_SKY_TOP, SNOW_SKY_BOTTOM = (146, 160, 184), (206, 214, 226)
SNOW_GROUND = (236, 240, 248)
RAIN_TOP, RAIN_BOTTOM = (56, 64, 80), (94, 102, 116)
STAR_COLOUR = (255, 252, 226)
FLAKE_COLOUR = (252, 252, 255)
RAIN_COLOUR = (176, 186, 204)

HORIZON_GRASS = 0.1     # world y of the horizon (ground layer)
HORIZON_SNOW = 0.26


def _c(rgb) -> Array:
    return np.asarray(rgb, dtype=np.float32) / np.float32(255.0)


def gradient(wy: Array, top, bottom, y_top: float, y_bottom: float) -> Array:
    """Vertical colour gradient, [..., 3] float32."""
    t = np.clip((wy - y_top) / (y_bottom - y_top), 0.0, 1.0)[..., None]
    a, b = _c(top), _c(bottom)
    return a + (b - a) * t


def _hash(ix: Array, iy: Array, seed: int) -> Array:
    h = (ix * 374761393 + iy * 668265263 + (seed & 0x7FFFFFFF)) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * 1274126177) & 0xFFFFFFFF
    h = h ^ (h >> 16)
    return (h & 0xFFFFFF).astype(np.float32) * np.float32(1.0 / 16777216.0)


def value_noise(x: Array, y: Array, seed: int) -> Array:
    """Smooth value noise in [0, 1) with unit lattice spacing."""
    fx, fy = np.floor(x), np.floor(y)
    tx, ty = x - fx, y - fy
    ix, iy = fx.astype(np.int64), fy.astype(np.int64)
    sx = tx * tx * (3.0 - 2.0 * tx)
    sy = ty * ty * (3.0 - 2.0 * ty)
    a = _hash(ix, iy, seed)
    b = _hash(ix + 1, iy, seed)
    c = _hash(ix, iy + 1, seed)
    d = _hash(ix + 1, iy + 1, seed)
    top = a + (b - a) * sx
    bot = c + (d - c) * sx
    return top + (bot - top) * sy


def swave(u: Array) -> Array:
    """Smooth periodic wave with period 1 in [-1, 1] (a sine look-alike from exact operations)."""
    f = u - np.floor(u)
    t = 1.0 - 4.0 * np.abs(f - 0.5)          # triangle, -1 at 0, +1 at 0.5
    return t * (1.5 - 0.5 * t * t)


def _edge_coverage(dist: Array, px_per_unit: Array) -> Array:
    """Coverage of the half-plane dist > 0 (dist in world units)."""
    return np.clip(0.5 + dist * px_per_unit, 0.0, 1.0)[..., None]


def _ppu(cam: CameraPath, width: int, height: int) -> Array:
    return cam.pixels_per_unit(width, height).astype(np.float32)[:, None, None]


def splat(canvas: Array, t: Array, px: Array, py: Array, r: Array, alpha: Array) -> None:
    """Max-composite anti-aliased discs (centres px, py, radius r in pixels, opacity alpha) into
    canvas [T,H,W] at frames t. Discs under half a pixel keep their area by fading."""
    T, H, W = canvas.shape
    keep = (px > -r - 2) & (px < W + r + 2) & (py > -r - 2) & (py < H + r + 2)
    t, px, py, r, alpha = t[keep], px[keep], py[keep], r[keep], alpha[keep]
    if t.size == 0:
        return
    reff = np.maximum(r, 0.5)
    alpha = alpha * np.minimum(1.0, (r / 0.5) ** 2)
    reach = int(math.ceil(float(reff.max()) + 0.5))
    ix0, iy0 = np.floor(px).astype(np.int64), np.floor(py).astype(np.int64)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            ix, iy = ix0 + dx, iy0 + dy
            d = np.sqrt((ix + 0.5 - px) ** 2 + (iy + 0.5 - py) ** 2)
            cov = np.clip(reff + 0.5 - d, 0.0, 1.0) * alpha
            m = (cov > 0) & (ix >= 0) & (ix < W) & (iy >= 0) & (iy < H)
            if m.any():
                np.maximum.at(canvas, (t[m], iy[m], ix[m]), cov[m].astype(canvas.dtype))


def _over(img: Array, alpha: Array, colour) -> None:
    img += (_c(colour) - img) * alpha[..., None]


class _Particles:
    """Particles in a square tile (side 2L, centred on the camera's view of the layer) that wraps,
    so there are always particles in view whatever the camera does."""

    def __init__(self, cam: CameraPath, width: int, height: int, parallax: float, density: float, rng):
        P = float(min(width, height))
        hx, hy = width / (2 * P), height / (2 * P)
        self.L = math.hypot(hx, hy) / float(cam.zoom.min()) + 0.1
        self.count = max(1, int(density * (2 * self.L) ** 2))
        self.rng = rng
        self.cam, self.width, self.height, self.parallax = cam, width, height, parallax

    def uniform(self, a: float, b: float) -> Array:
        return np.array([R.uniform(self.rng, a, b) for _ in range(self.count)], dtype=np.float64)

    def project(self, x: Array, y: Array) -> tuple[Array, Array]:
        """x, y: [T, N] layer positions (unwrapped) -> pixel positions after wrapping around the
        view centre."""
        ox, oy = self.cam.offset(self.parallax)
        ox, oy = ox[:, None], oy[:, None]
        L = self.L
        x = np.mod(x - ox + L, 2 * L) - L + ox
        y = np.mod(y - oy + L, 2 * L) - L + oy
        return self.cam.to_pixels(x, y, self.width, self.height, self.parallax)


def render_background(name: str, cam: CameraPath, width: int, height: int, fps: float, seed: int) -> Array:
    """float32 [T,H,W,3] in [0, 1]."""
    T = cam.frames
    tsec = np.arange(T, dtype=np.float64) / float(fps)
    rng = R.Rng(R.derive_seed(seed, "background", name))
    nseed = R.seed32(rng)

    if name in PLAIN:
        img = np.empty((T, height, width, 3), dtype=np.float32)
        img[...] = _c(PLAIN[name])
        return img

    sx, sy = cam.grid(FAR, width, height)
    if name == "sky":
        return gradient(sy, SKY_TOP, SKY_BOTTOM, -0.8, 0.6)

    if name == "grass":
        img = gradient(sy, SKY_TOP, SKY_BOTTOM, -0.8, 0.3)
        gx, gy = cam.grid(GROUND, width, height)
        ground = gradient(gy, GRASS_NEAR_HORIZON, GRASS_BOTTOM, HORIZON_GRASS, HORIZON_GRASS + 0.7)
        tex = 0.86 + 0.18 * value_noise(gx * 7.0, gy * 11.0, nseed) + 0.08 * value_noise(gx * 19.0, gy * 23.0, nseed + 1)
        ground = ground * tex[..., None]
        cov = _edge_coverage(gy - HORIZON_GRASS, _ppu(cam, width, height))
        return img + (ground - img) * cov

    if name == "water":
        gx, gy = cam.grid(GROUND, width, height)
        t = tsec.astype(np.float32)[:, None, None]
        img = gradient(gy, WATER_TOP, WATER_BOTTOM, -0.8, 0.8)
        waves = (0.06 * swave(gy * 7.0 + 0.3 * swave(gx * 1.3 + 0.15 * t) - 1.1 * t)
                 + 0.035 * swave(gy * 13.0 - gx * 2.1 + 1.6 * t))
        img = img * (1.0 + waves)[..., None]
        glint = np.clip((value_noise(gx * 6.0 - 0.25 * t, gy * 17.0, nseed) - 0.74) * 4.0, 0.0, 1.0) * 0.28
        return img + (1.0 - img) * glint[..., None]

    if name == "night":
        img = gradient(sy, NIGHT_TOP, NIGHT_BOTTOM, -0.9, 0.9)
        stars = _Particles(cam, width, height, FAR, 45.0, rng)
        x, y = stars.uniform(-stars.L, stars.L), stars.uniform(-stars.L, stars.L)
        rad = stars.uniform(0.004, 0.009)
        bright = stars.uniform(0.55, 1.0)
        rate = stars.uniform(0.4, 1.2)
        ph = stars.uniform(0.0, 1.0)
        X = np.broadcast_to(x, (T, stars.count))
        Y = np.broadcast_to(y, (T, stars.count))
        px, py = stars.project(X, Y)
        twinkle = bright[None, :] * (0.78 + 0.22 * swave(rate[None, :] * tsec[:, None] + ph[None, :]))
        rpx = rad[None, :] * cam.pixels_per_unit(width, height)[:, None]
        a = np.zeros((T, height, width), dtype=np.float32)
        tt = np.broadcast_to(np.arange(T)[:, None], (T, stars.count))
        splat(a, tt.ravel(), px.ravel(), py.ravel(), rpx.ravel(), twinkle.ravel())
        _over(img, a, STAR_COLOUR)
        return img

    if name == "snow":
        img = gradient(sy, SNOW_SKY_TOP, SNOW_SKY_BOTTOM, -0.8, 0.4)
        gx, gy = cam.grid(GROUND, width, height)
        ground = _c(SNOW_GROUND) * (0.94 + 0.06 * value_noise(gx * 9.0, gy * 14.0, nseed))[..., None]
        cov = _edge_coverage(gy - HORIZON_SNOW, _ppu(cam, width, height))
        img = img + (ground - img) * cov
        flakes = _Particles(cam, width, height, WEATHER, 55.0, rng)
        x, y = flakes.uniform(-flakes.L, flakes.L), flakes.uniform(-flakes.L, flakes.L)
        vy = flakes.uniform(0.10, 0.26)
        sway, rate, ph = flakes.uniform(0.008, 0.03), flakes.uniform(0.3, 0.8), flakes.uniform(0.0, 1.0)
        rad = flakes.uniform(0.006, 0.013)
        X = x[None, :] + sway[None, :] * swave(rate[None, :] * tsec[:, None] + ph[None, :])
        Y = y[None, :] + vy[None, :] * tsec[:, None]
        px, py = flakes.project(X, Y)
        rpx = rad[None, :] * cam.pixels_per_unit(width, height)[:, None]
        a = np.zeros((T, height, width), dtype=np.float32)
        tt = np.broadcast_to(np.arange(T)[:, None], X.shape)
        splat(a, tt.ravel(), px.ravel(), py.ravel(), rpx.ravel(), np.full(px.size, 0.92))
        _over(img, a, FLAKE_COLOUR)
        return img

    if name == "rain":
        img = gradient(sy, RAIN_TOP, RAIN_BOTTOM, -0.8, 0.8)
        drops = _Particles(cam, width, height, WEATHER, 40.0, rng)
        x, y = drops.uniform(-drops.L, drops.L), drops.uniform(-drops.L, drops.L)
        v = drops.uniform(1.5, 2.2)
        length = drops.uniform(0.05, 0.09)
        dirx, diry = 0.18 / math.hypot(0.18, 1.0), 1.0 / math.hypot(0.18, 1.0)
        ppu = cam.pixels_per_unit(width, height)
        k = max(2, int(math.ceil(0.09 * float(ppu.max()) / 0.7)) + 1)
        a = np.zeros((T, height, width), dtype=np.float32)
        tt = np.broadcast_to(np.arange(T)[:, None], (T, drops.count))
        rpx = np.broadcast_to(0.004 * ppu[:, None], (T, drops.count))
        for j in range(k):
            f = j / (k - 1)
            X = x[None, :] + dirx * (v[None, :] * tsec[:, None] - f * length[None, :])
            Y = y[None, :] + diry * (v[None, :] * tsec[:, None] - f * length[None, :])
            px, py = drops.project(X, Y)
            splat(a, tt.ravel(), px.ravel(), py.ravel(), rpx.ravel(), np.full(px.size, 0.5))
        _over(img, a, RAIN_COLOUR)
        return img

    raise ValueError(f"unknown background {name!r}")
