"""The camera: a per-frame view transform applied to the whole scene.

World units: the frame's short side is 1 unit at zoom 1; the origin is the frame centre at frame 0;
x to the right, y DOWN. A layer with parallax factor f (objects 1, far sky 0.25, ground 0.6) sees
the camera offset  o = f * truck_offset + pan_offset  (pan/tilt rotate the camera, which shifts
every layer alike; truck/pedestal translate it, which shifts near layers more than far ones).

    screen = zoom * rot(-roll) (world - o)         (world units relative to the frame centre)
    pixel  = screen * P + (W/2, H/2)               (P = pixels per unit = short side in pixels)

rot(a) turns clockwise on screen for a > 0 (y is down). A camera rolling clockwise (roll > 0)
makes the picture turn counter-clockwise. Camera moves are linear in time over the clip (zoom is
geometric), reaching the amounts below at the last frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TRANSLATE = {"slow": 0.14, "fast": 0.32}              # world units over the clip
ZOOM = {"slow": 1.25, "fast": 1.6}                    # final zoom factor (zoom out: 1 / this)
ROLL = {"slow": math.radians(12.0), "fast": math.radians(28.0)}


def progress(frames: int) -> list[float]:
    """Clip progress 0..1 per frame (exact rationals rounded once)."""
    if frames < 1:
        raise ValueError("frames must be >= 1")
    if frames == 1:
        return [0.0]
    return [i / (frames - 1) for i in range(frames)]


@dataclass
class CameraPath:
    truck_x: np.ndarray   # [T] float64, camera translation (parallax-scaled)
    truck_y: np.ndarray
    pan_x: np.ndarray     # [T] camera rotation expressed as a uniform picture shift
    pan_y: np.ndarray
    zoom: np.ndarray      # [T]
    roll: np.ndarray      # [T] radians, clockwise camera roll

    @property
    def frames(self) -> int:
        return int(self.zoom.shape[0])

    def offset(self, parallax: float) -> tuple[np.ndarray, np.ndarray]:
        return parallax * self.truck_x + self.pan_x, parallax * self.truck_y + self.pan_y

    def grid(self, parallax: float, width: int, height: int, region=None) -> tuple[np.ndarray, np.ndarray]:
        """World coordinates (float32 [T,h,w] each) of pixel centres for a layer, optionally only
        for the pixel region (x0, x1, y0, y1)."""
        x0, x1, y0, y1 = region if region is not None else (0, width, 0, height)
        P = float(min(width, height))
        sx = ((np.arange(x0, x1, dtype=np.float64) + 0.5 - width / 2.0) / P).astype(np.float32)
        sy = ((np.arange(y0, y1, dtype=np.float64) + 0.5 - height / 2.0) / P).astype(np.float32)
        ox, oy = self.offset(parallax)
        a = np.array([math.cos(r) / z for r, z in zip(self.roll, self.zoom)], dtype=np.float32)
        b = np.array([math.sin(r) / z for r, z in zip(self.roll, self.zoom)], dtype=np.float32)
        a, b = a[:, None, None], b[:, None, None]
        ox = ox.astype(np.float32)[:, None, None]
        oy = oy.astype(np.float32)[:, None, None]
        sx, sy = sx[None, None, :], sy[None, :, None]
        wx = ox + (sx * a - sy * b)
        wy = oy + (sx * b + sy * a)
        return wx, wy

    def to_pixels(self, wx: np.ndarray, wy: np.ndarray, width: int, height: int,
                  parallax: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Project world points ([T] or [T,N] float64 arrays) to pixel coordinates."""
        P = float(min(width, height))
        ox, oy = self.offset(parallax)
        c = np.array([math.cos(r) for r in self.roll])
        s = np.array([math.sin(r) for r in self.roll])
        shape = (-1,) + (1,) * (np.ndim(wx) - 1)
        ox, oy, c, s, z = (v.reshape(shape) for v in (ox, oy, c, s, self.zoom))
        dx, dy = wx - ox, wy - oy
        px = z * (dx * c + dy * s) * P + width / 2.0
        py = z * (-dx * s + dy * c) * P + height / 2.0
        return px, py

    def pixels_per_unit(self, width: int, height: int) -> np.ndarray:
        return self.zoom * float(min(width, height))

    def to_json(self) -> dict:
        ox, oy = self.offset(1.0)
        return {
            "offset_x": [round(float(v), 6) for v in ox],
            "offset_y": [round(float(v), 6) for v in oy],
            "zoom": [round(float(v), 6) for v in self.zoom],
            "roll": [round(float(v), 6) for v in self.roll],
        }


def camera_path(camera: str, camera_speed: str, frames: int) -> CameraPath:
    p = np.array(progress(frames), dtype=np.float64)
    zero = np.zeros_like(p)
    tx, ty, px, py, roll = zero.copy(), zero.copy(), zero.copy(), zero.copy(), zero.copy()
    zoom = np.ones_like(p)
    if camera == "static":
        pass
    else:
        d = TRANSLATE[camera_speed] * p
        if camera == "truck_left":
            tx = -d
        elif camera == "truck_right":
            tx = d
        elif camera == "pedestal_up":
            ty = -d
        elif camera == "pedestal_down":
            ty = d
        elif camera == "pan_left":
            px = -d
        elif camera == "pan_right":
            px = d
        elif camera == "tilt_up":
            py = -d
        elif camera == "tilt_down":
            py = d
        elif camera == "roll_clockwise":
            roll = ROLL[camera_speed] * p
        elif camera == "roll_counterclockwise":
            roll = -ROLL[camera_speed] * p
        elif camera == "zoom_in":
            zoom = np.array([ZOOM[camera_speed] ** v for v in p])
        elif camera == "zoom_out":
            zoom = np.array([(1.0 / ZOOM[camera_speed]) ** v for v in p])
        else:
            raise ValueError(f"unknown camera {camera!r}")
    return CameraPath(tx, ty, px, py, zoom, roll)


def safe_rect(cam: CameraPath, width: int, height: int, margin: float = 0.02) -> tuple[float, float, float, float]:
    """The axis-aligned world rectangle (object layer) that stays in view in every frame:
    (x0, x1, y0, y1). Objects laid out inside it are never cut off by the camera move."""
    P = float(min(width, height))
    hx, hy = width / (2 * P), height / (2 * P)
    ox, oy = cam.offset(1.0)
    x0, y0, x1, y1 = -1e9, -1e9, 1e9, 1e9
    for t in range(cam.frames):
        z = float(cam.zoom[t])
        c, s = abs(math.cos(cam.roll[t])), abs(math.sin(cam.roll[t]))
        # largest rectangle of the frame's proportions inside the rolled view
        k = min(hx / (hx * c + hy * s), hy / (hx * s + hy * c))
        ex, ey = k * hx / z, k * hy / z
        x0, x1 = max(x0, ox[t] - ex), min(x1, ox[t] + ex)
        y0, y1 = max(y0, oy[t] - ey), min(y1, oy[t] + ey)
    x0, x1, y0, y1 = x0 + margin, x1 - margin, y0 + margin, y1 - margin
    if x1 - x0 < 0.1:
        mid = 0.5 * (x0 + x1)
        x0, x1 = mid - 0.05, mid + 0.05
    if y1 - y0 < 0.1:
        mid = 0.5 * (y0 + y1)
        y0, y1 = mid - 0.05, mid + 0.05
    return float(x0), float(x1), float(y0), float(y1)
