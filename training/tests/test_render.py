import numpy as np
import pytest

from training.world import ASPECTS, KINDS, Rng, frame_size, render, render_with_truth, sample_scene
from training.world.render import GroundTruth

from .helpers import colour_mask, components, scene

COLOUR_FOR = {  # a colour that contrasts with plain grey for each kind
    "ball": "red", "cube": "orange", "triangle": "yellow", "star": "green", "heart": "blue",
    "ring": "purple", "car": "pink", "fish": "orange", "bird": "red", "tree": "green",
    "house": "yellow", "sun": "yellow", "moon": "yellow", "cloud": "white",
}


@pytest.mark.parametrize("aspect", list(ASPECTS))
def test_aspect_ratios_have_the_right_shape(aspect):
    w, h = frame_size(aspect, 64)
    assert {"16:9": (112, 64), "9:16": (64, 112), "1:1": (64, 64)}[aspect] == (w, h)
    v = render(scene(aspect=aspect, motion="right", camera="zoom_in"), w, h, 17, 16)
    assert v.shape == (17, h, w, 3) and v.dtype == np.uint8
    w2, h2 = frame_size(aspect, 128)
    assert min(w2, h2) == 128
    v = render(scene(aspect=aspect), w2, h2, 1)
    assert v.shape == (1, h2, w2, 3)


def test_default_size_and_frame_counts():
    v = render(scene(aspect="9:16"))
    assert v.shape == (17, 112, 64, 3)
    for frames in (1, 5, 33, 81):
        v = render(scene(motion="bounce", background="rain"), 24, 16, frames, 16)
        assert v.shape == (frames, 16, 24, 3)
    # odd sizes work too
    assert render(scene(), 37, 50, 3).shape == (3, 50, 37, 3)
    with pytest.raises(ValueError):
        render(scene(), 0, 10)


@pytest.mark.parametrize("kind", KINDS)
def test_counts_are_drawn_and_visible(kind):
    colour = COLOUR_FOR[kind]
    for count in (1, 2, 3, 4):
        sc = scene(kind, colour, count, "still", aspect="16:9", seed=count)
        v, truth = render_with_truth(sc, 112, 64, 3)
        assert isinstance(truth, GroundTruth)
        assert truth.center.shape == (3, count, 2)
        assert truth.radius.shape == truth.area.shape == (3, count)
        assert truth.visible.all()
        mask = colour_mask(v[0], colour)
        for i in range(count):
            x, y = truth.center[0, i]
            assert 0 <= x < 112 and 0 <= y < 64
            x0, y0, x1, y1 = truth.bbox[0, i]
            assert x1 > x0 and y1 > y0
            assert mask[y0:y1, x0:x1].sum() >= 4, f"{kind} #{i} not visible in its colour"


@pytest.mark.parametrize("kind", ["star", "heart", "triangle", "ball", "moon", "car", "house"])
def test_counts_match_connected_components(kind):
    for count in (1, 2, 3, 4):
        for aspect, (w, h) in (("16:9", (112, 64)), ("9:16", (64, 112))):
            v = render(scene(kind, COLOUR_FOR[kind], count, "still", aspect=aspect, seed=7 + count), w, h, 1)
            not_background = np.abs(v[0].astype(int) - [150, 150, 156]).max(axis=-1) > 40
            assert components(not_background) == count


def _track(motion, speed="fast", count=1, kind="ball"):
    v, t = render_with_truth(scene(kind, "red", count, motion, speed, seed=3), 112, 64, 17)
    return v, t


def test_motion_direction_in_truth_and_pixels():
    for motion, axis, sign in (("right", 0, 1), ("left", 0, -1), ("down", 1, 1), ("up", 1, -1),
                               ("fall", 1, 1), ("rise", 1, -1), ("zigzag", 0, 1)):
        for count in (1, 3):
            v, t = _track(motion, count=count)
            c = t.center[:, :, axis]
            d = (c[-1] - c[0]) * sign
            assert (d > 5).all(), (motion, c[[0, -1]])
            if motion in ("right", "left", "up", "down"):
                steps = np.diff(c, axis=0) * sign
                assert (steps > 0).all(), motion  # monotonic, constant speed
            if count == 1:  # the pixels agree with the truth (image y grows downward)
                ys, xs = np.nonzero(colour_mask(v[0], "red", 60))
                ye, xe = np.nonzero(colour_mask(v[-1], "red", 60))
                moved = (xe.mean() - xs.mean(), ye.mean() - ys.mean())[axis]
                assert moved * sign > 5, motion


def test_fast_moves_further_than_slow():
    for motion in ("right", "up", "fall"):
        _, slow = render_with_truth(scene("star", "red", 1, motion, "slow", seed=4), 112, 64, 17)
        _, fast = render_with_truth(scene("star", "red", 1, motion, "fast", seed=4), 112, 64, 17)
        travel = lambda t: float(np.abs(t.center[-1, 0] - t.center[0, 0]).sum())
        assert travel(fast) > 1.4 * travel(slow)


def test_in_place_motions():
    _, t = _track("grow")
    assert (np.diff(t.radius[:, 0]) > 0).all() and t.area[-1, 0] > 2 * t.area[0, 0]
    _, t = _track("shrink")
    assert (np.diff(t.radius[:, 0]) < 0).all() and t.area[-1, 0] < 0.5 * t.area[0, 0]
    _, t = _track("rotate", kind="star")
    assert (np.diff(t.angle[:, 0]) > 0).all()  # clockwise on screen
    _, t = _track("still", speed="none")
    assert np.ptp(t.center[:, 0], axis=0).max() == 0
    _, t = _track("bounce", count=2)
    y = t.center[:, :, 1]
    assert (np.ptp(y, axis=0) > 10).all()
    _, t = _track("orbit", count=3)
    centre = t.center.mean(axis=1, keepdims=True)
    dist = np.linalg.norm(t.center - centre, axis=-1)
    assert np.ptp(dist) < 1.0 and dist.min() > 5  # equally spaced on a circle
    assert np.abs(t.center[8] - t.center[0]).max() > 10  # half a turn (fast = one full turn)


def test_camera_moves():
    def run(camera, kind="ball"):
        speed = "none" if camera == "static" else "fast"
        return render_with_truth(scene(kind, "red", 2, "still", camera=camera, camera_speed=speed,
                                       background="grass", seed=5), 112, 64, 17)[1]
    t = run("zoom_in")
    assert (np.diff(t.radius, axis=0) > 0).all() and (t.area[-1] > 1.8 * t.area[0]).all()
    t = run("zoom_out")
    assert (np.diff(t.radius, axis=0) < 0).all() and (t.area[-1] < 0.6 * t.area[0]).all()
    for camera, axis, sign in (("truck_right", 0, -1), ("truck_left", 0, 1), ("pan_right", 0, -1),
                               ("pan_left", 0, 1), ("pedestal_up", 1, 1), ("pedestal_down", 1, -1),
                               ("tilt_up", 1, 1), ("tilt_down", 1, -1)):
        t = run(camera)
        assert ((t.center[-1, :, axis] - t.center[0, :, axis]) * sign > 5).all(), camera
        assert t.visible.all(), camera  # objects stay in view during the move
    t = run("roll_clockwise", kind="house")
    assert (np.diff(t.angle, axis=0) < 0).all()  # the picture turns counter-clockwise
    t = run("static")
    assert np.ptp(t.center, axis=0).max() == 0


def test_truck_has_parallax_pan_does_not():
    # Grass texture (parallax 0.6) moves less than objects (1.0) under a truck, equally under a pan.
    def shift(camera):
        sc = scene("ball", "red", 1, "still", camera=camera, camera_speed="fast", background="grass", seed=8)
        v, t = render_with_truth(sc, 96, 96, 2)
        obj = t.center[-1, 0, 0] - t.center[0, 0, 0]
        g0, g1 = v[0, 70:, :, 1].astype(float), v[1, 70:, :, 1].astype(float)
        errs = [np.abs(np.roll(g0, s, axis=1)[:, 20:-20] - g1[:, 20:-20]).mean() for s in range(-40, 1)]
        return obj, range(-40, 1)[int(np.argmin(errs))]
    obj, ground = shift("truck_right")
    assert ground > obj + 4          # ground moved left by clearly less than the object
    obj, ground = shift("pan_right")
    assert abs(ground - obj) <= 1.5


def test_anti_aliased_edges():
    v = render(scene("triangle", "yellow", 1, "still", background="plain_gray"), 112, 64, 1)[0].astype(float)
    bg = np.array([150, 150, 156], dtype=float)
    fg = np.array([250, 214, 38], dtype=float)
    a = (v - bg) @ (fg - bg) / ((fg - bg) @ (fg - bg))          # coverage estimate per pixel
    recon = bg + a[..., None] * (fg - bg)
    partial = (a > 0.05) & (a < 0.95)
    assert partial.sum() >= 20                                     # smooth edges exist
    assert np.abs(recon - v)[partial].max() < 3                    # and they are bg/fg mixes
    # ... and only on the boundary: every partial pixel touches both an inside and an outside pixel
    inside, outside = a >= 0.95, a <= 0.05
    pad = lambda m: np.pad(m, 1)
    near = lambda m: pad(m)[:-2, 1:-1] | pad(m)[2:, 1:-1] | pad(m)[1:-1, :-2] | pad(m)[1:-1, 2:] | m
    assert (near(inside) | near(outside))[partial].all()


def test_bbox_matches_pixels():
    v, t = render_with_truth(scene("heart", "blue", 1, "right", "slow"), 112, 64, 5)
    for f in range(5):
        ys, xs = np.nonzero(colour_mask(v[f], "blue", 100))
        x0, y0, x1, y1 = t.bbox[f, 0]
        assert abs(xs.min() - x0) <= 1 and abs(xs.max() + 1 - x1) <= 1
        assert abs(ys.min() - y0) <= 1 and abs(ys.max() + 1 - y1) <= 1
        cx, cy = t.center[f, 0]
        assert x0 <= cx <= x1 and y0 <= cy <= y1
    j = t.to_json()
    assert len(j["center"]) == 5 and j["width"] == 112


def test_sampled_scenes_keep_objects_in_view_and_apart():
    rng = Rng(77)
    for _ in range(80):
        s = sample_scene(rng)
        w, h = frame_size(s.aspect, 32)
        _, t = render_with_truth(s, w, h, 5)
        assert t.visible.all(), s
        assert ((t.center >= 0) & (t.center < [w, h])).all(), s
        for a in range(s.count):
            for b in range(a + 1, s.count):
                d = np.linalg.norm(t.center[:, a] - t.center[:, b], axis=-1)
                assert (d >= 0.9 * (t.radius[:, a] + t.radius[:, b])).all(), s
