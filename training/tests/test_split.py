from collections import Counter

from training.world import (
    ASPECTS, BACKGROUNDS, CAMERAS, COLOUR_NAMES, COUNTS, HELDOUT_KIND_COLOUR, HELDOUT_KIND_MOTION,
    KINDS, MOTIONS, Rng, sample_heldout_scene, sample_scene, split_of,
)
from training.world.vocab import FORBIDDEN_COLOURS, INVALID_KIND_MOTION, MOVING_MOTIONS

from .helpers import scene


def test_heldout_lists_are_fixed_and_about_ten_percent():
    assert len(HELDOUT_KIND_COLOUR) == 14  # 10% of 14 kinds x 10 colours
    assert sorted(k for k, _ in HELDOUT_KIND_COLOUR) == sorted(KINDS)  # one colour per kind
    assert max(Counter(c for _, c in HELDOUT_KIND_COLOUR).values()) <= 2
    assert len(HELDOUT_KIND_MOTION) == 12
    assert all(k in KINDS and m in MOVING_MOTIONS for k, m in HELDOUT_KIND_MOTION)
    assert not HELDOUT_KIND_MOTION & INVALID_KIND_MOTION


def test_split_of():
    assert split_of(scene("ball", "purple")) == "heldout"
    assert split_of(scene("ball", "red", motion="zigzag")) == "heldout"
    assert split_of(scene("sun", "yellow", motion="right")) == "heldout"
    assert split_of(scene("ball", "red", motion="right")) == "train"
    assert split_of(scene("ball", "purple", motion="right")) == "heldout"


def test_train_sampler_never_emits_heldout_combinations():
    seen = Counter()
    rng = Rng(12345)
    kind_colours, kind_motions = set(), set()
    for _ in range(5000):
        s = sample_scene(rng)
        assert split_of(s) == "train"
        assert (s.kind, s.colour) not in HELDOUT_KIND_COLOUR
        assert (s.kind, s.motion) not in HELDOUT_KIND_MOTION
        assert (s.kind, s.motion) not in INVALID_KIND_MOTION
        assert s.colour not in FORBIDDEN_COLOURS[s.background]
        kind_colours.add((s.kind, s.colour))
        kind_motions.add((s.kind, s.motion))
        for field in ("kind", "colour", "count", "motion", "background", "camera", "aspect", "speed"):
            seen[(field, getattr(s, field))] += 1
    # every value of every attribute is still trained on
    for field, values in (("kind", KINDS), ("colour", COLOUR_NAMES), ("count", COUNTS), ("motion", MOTIONS),
                          ("background", BACKGROUNDS), ("camera", CAMERAS), ("aspect", ASPECTS),
                          ("speed", ("slow", "fast", "none"))):
        for v in values:
            assert seen[(field, v)] > 0, (field, v)
    # and every training pair shows up
    assert len(kind_colours) == 140 - 14
    assert len(kind_motions) == 14 * 13 - 12 - len(INVALID_KIND_MOTION)


def test_heldout_sampler():
    rng = Rng(7)
    pairs = set()
    for _ in range(600):
        s = sample_heldout_scene(rng)
        assert split_of(s) == "heldout"
        if (s.kind, s.colour) in HELDOUT_KIND_COLOUR:
            pairs.add(("c", s.kind, s.colour))
        if (s.kind, s.motion) in HELDOUT_KIND_MOTION:
            pairs.add(("m", s.kind, s.motion))
    assert len(pairs) == 26  # every held-out pair gets evaluated
    assert sample_scene(Rng(3), "heldout") == sample_heldout_scene(Rng(3))


def test_fixed_aspect():
    assert {sample_scene(Rng(i), aspect="9:16").aspect for i in range(50)} == {"9:16"}
