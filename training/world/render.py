"""Rendering a Scene to uint8 frames [T,H,W,3], with per-frame ground truth."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import rng as R
from . import sdf
from .backgrounds import render_background
from .camera import CameraPath, camera_path, safe_rect
from .motion import Track, layout
from .scene import Scene
from .shapes import EXTENT, rgb, shape_parts
from .vocab import COLOURS, frame_size

DEFAULT_FRAMES = 17
DEFAULT_FPS = 16
DEFAULT_SHORT_SIDE = 64


@dataclass
class GroundTruth:
    """Per-frame, per-object ground truth in pixel coordinates (x right, y down, pixel (i, j)
    covers [i, i+1) x [j, j+1)). N = scene.count objects, T frames."""

    width: int
    height: int
    frames: int
    fps: float
    center: np.ndarray     # [T,N,2] float64: object centre (x, y) in pixels (may lie outside)
    radius: np.ndarray     # [T,N] float64: radius of the object's size circle in pixels
    angle: np.ndarray      # [T,N] float64: on-screen rotation, radians, clockwise
    bbox: np.ndarray       # [T,N,4] int64: x0, y0, x1, y1 (exclusive) of pixels with coverage >= 0.5; 0s if none
    area: np.ndarray       # [T,N] float64: anti-aliased pixel area of the silhouette in the frame (occlusion ignored)
    visible: np.ndarray    # [T,N] bool: area >= 1 pixel
    flipped: list[bool]    # per object: mirrored (car/fish/bird facing left)
    camera: dict[str, list[float]] = field(default_factory=dict)  # offset_x/offset_y (world units), zoom, roll (rad)

    def to_json(self) -> dict[str, Any]:
        def r(a, nd=3):
            return np.round(np.asarray(a, dtype=np.float64), nd).tolist()
        return {
            "width": self.width, "height": self.height, "frames": self.frames, "fps": self.fps,
            "center": r(self.center), "radius": r(self.radius), "angle": r(self.angle, 4),
            "bbox": self.bbox.tolist(), "area": r(self.area, 2), "visible": self.visible.tolist(),
            "flipped": list(self.flipped), "camera": self.camera,
        }


def _check(width: int, height: int, frames: int, fps: float) -> None:
    if int(width) != width or int(height) != height or width < 1 or height < 1:
        raise ValueError(f"width and height must be positive ints, got {width}x{height}")
    if int(frames) != frames or frames < 1:
        raise ValueError(f"frames must be a positive int, got {frames}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")


def _draw_object(img: np.ndarray, scene: Scene, tr: Track, cam: CameraPath, colour: np.ndarray):
    """Composite one object into img in place; returns (area [T], bbox [T,4])."""
    T, H, W, _ = img.shape
    px, py = cam.to_pixels(tr.cx, tr.cy, W, H)
    rad_px = tr.radius * cam.pixels_per_unit(W, H)
    ext = rad_px * EXTENT + 2.0
    x0 = max(0, int(math.floor(float(np.min(px - ext)))))
    x1 = min(W, int(math.ceil(float(np.max(px + ext)))))
    y0 = max(0, int(math.floor(float(np.min(py - ext)))))
    y1 = min(H, int(math.ceil(float(np.max(py + ext)))))
    area = np.zeros(T)
    bbox = np.zeros((T, 4), dtype=np.int64)
    if x1 <= x0 or y1 <= y0:
        return area, bbox
    wx, wy = cam.grid(1.0, W, H, (x0, x1, y0, y1))
    f32 = lambda v: np.asarray(v, dtype=np.float32)[:, None, None]
    inv_r = f32(1.0 / tr.radius)
    dx = (wx - f32(tr.cx)) * inv_r
    dy = (wy - f32(tr.cy)) * inv_r
    ca = f32([math.cos(a) for a in tr.angle])
    sa = f32([math.sin(a) for a in tr.angle])
    lx = dx * ca + dy * sa
    ly = dy * ca - dx * sa
    if tr.flip:
        lx = -lx
    parts = shape_parts(scene.kind, lx, ly, dx, dy, f32(tr.phase), colour)
    px_per_local = f32(rad_px)
    region = img[:, y0:y1, x0:x1]
    union = None
    for d, col in parts:
        a = sdf.coverage(d * px_per_local).astype(np.float32)
        union = a if union is None else np.maximum(union, a)
        region += (np.asarray(col, dtype=np.float32) - region) * a[..., None]
    area[:] = union.sum(axis=(1, 2), dtype=np.float64)
    solid = union >= 0.5
    rows, cols = solid.any(axis=2), solid.any(axis=1)
    for t in range(T):
        if rows[t].any():
            ys, xs = np.flatnonzero(rows[t]), np.flatnonzero(cols[t])
            bbox[t] = (x0 + xs[0], y0 + ys[0], x0 + xs[-1] + 1, y0 + ys[-1] + 1)
    return area, bbox


def render_with_truth(scene: Scene, width: int | None = None, height: int | None = None,
                      frames: int = DEFAULT_FRAMES, fps: float = DEFAULT_FPS) -> tuple[np.ndarray, GroundTruth]:
    """Render `scene` to uint8 [T,H,W,3] and return its ground truth. Width/height default to the
    scene's aspect ratio at a 64-pixel short side; any size works (the scene fills the frame it is
    given: the short side spans one world unit)."""
    if width is None or height is None:
        w, h = frame_size(scene.aspect, DEFAULT_SHORT_SIDE)
        width = w if width is None else width
        height = h if height is None else height
    _check(width, height, frames, fps)
    width, height, frames = int(width), int(height), int(frames)

    cam = camera_path(scene.camera, scene.camera_speed, frames)
    rect = safe_rect(cam, width, height)
    rng = R.Rng(R.derive_seed(scene.seed, "layout"))
    tracks = layout(scene, frames, fps, rect, rng)

    img = render_background(scene.background, cam, width, height, fps, scene.seed)
    colour = rgb(COLOURS[scene.colour])
    n = len(tracks)
    center = np.zeros((frames, n, 2))
    radius = np.zeros((frames, n))
    angle = np.zeros((frames, n))
    area = np.zeros((frames, n))
    bbox = np.zeros((frames, n, 4), dtype=np.int64)
    for i, tr in enumerate(tracks):
        a, b = _draw_object(img, scene, tr, cam, colour)
        px, py = cam.to_pixels(tr.cx, tr.cy, width, height)
        center[:, i, 0], center[:, i, 1] = px, py
        radius[:, i] = tr.radius * cam.pixels_per_unit(width, height)
        angle[:, i] = tr.angle - cam.roll
        area[:, i], bbox[:, i] = a, b

    frames_u8 = (np.clip(img, 0.0, 1.0) * np.float32(255.0) + np.float32(0.5)).astype(np.uint8)
    truth = GroundTruth(width, height, frames, float(fps), center, radius, angle, bbox, area,
                        area >= 1.0, [t.flip for t in tracks], cam.to_json())
    return frames_u8, truth


def render(scene: Scene, width: int | None = None, height: int | None = None,
           frames: int = DEFAULT_FRAMES, fps: float = DEFAULT_FPS) -> np.ndarray:
    """Render `scene` to uint8 [T,H,W,3] (RGB). Same scene and arguments -> identical bytes."""
    return render_with_truth(scene, width, height, frames, fps)[0]
