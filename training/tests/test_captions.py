import re

import pytest

from training.world import CAMERAS, KINDS, Rng, caption, count_phrases_zh, measure_words, sample_scene
from training.world.caption import KIND_EN, TEMPLATES_EN, TEMPLATES_ZH

from .helpers import scene

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_many_templates():
    assert len(TEMPLATES_EN) >= 15 and len(TEMPLATES_ZH) >= 15


def test_captions_non_empty_and_clean():
    rng = Rng(99)
    for i in range(400):
        s = sample_scene(rng)
        en, zh = caption(s, "en", rng), caption(s, "zh", rng)
        assert len(en) > 20 and en.isascii() and (en[0].isupper() or en[0].isdigit()) and en[-1] == "."
        assert len(CJK.findall(zh)) >= 8 and zh.endswith("。")
        for c in "{}[]|":
            assert c not in en and c not in zh
        assert "  " not in en and " ," not in en


def test_measure_words():
    expected = {"car": {"辆"}, "fish": {"条"}, "bird": {"只"}, "tree": {"棵"}, "cloud": {"朵", "片"},
                "ball": {"个"}, "star": {"颗", "个"}, "house": {"座", "栋", "间"}, "sun": {"轮", "个"},
                "moon": {"轮", "弯", "个"}}
    for kind, mws in expected.items():
        assert set(measure_words(kind)) == mws
    assert count_phrases_zh("car", 2) == ["两辆", "2辆"]


@pytest.mark.parametrize("kind", KINDS)
def test_chinese_numeral_and_measure_word(kind):
    for count in (2, 3):
        for seed in range(12):
            s = scene(kind, "red", count, "right", "fast", seed=seed)
            zh = caption(s, "zh", Rng(seed))
            assert any(p in zh for p in count_phrases_zh(kind, count)), zh
    assert "两" in "".join(caption(scene(kind, "red", 2), "zh", Rng(i)) for i in range(12))
    assert "三" in "".join(caption(scene(kind, "red", 3), "zh", Rng(i)) for i in range(12))


def test_english_count_colour_kind():
    words = {1: ("a ", "an ", "one ", "a single "), 2: ("2 ", "two "), 3: ("3 ", "three "), 4: ("4 ", "four ")}
    forms = set()
    for kind in KINDS:
        for count in (1, 2, 3, 4):
            for seed in range(6):
                en = caption(scene(kind, "orange", count, "up", "slow", seed=seed), "en", Rng(seed)).lower()
                assert any(w in en for w in words[count]), en
                assert "orange" in en and " a orange" not in " " + en
                nouns = [n for _, sg, pl in KIND_EN[kind] for n in (sg, pl)]
                assert any(n in en for n in nouns), en
                forms.add(next(w for w in words[count] if w in en))
    assert {"3 ", "three "} <= forms  # digits and words both used


def test_motion_speed_background_camera_are_expressed():
    checks_en = {"left": "left", "right": "right", "up": ("up", "bottom to top"), "down": ("down", "top to bottom"),
                 "zigzag": "zigzag", "orbit": ("circl", "orbit"), "rotate": ("spin", "rotat", "turn"),
                 "grow": ("grow", "bigger", "expand"), "shrink": ("shrink", "smaller", "contract")}
    checks_zh = {"left": "左", "right": "右", "up": "上", "down": "下", "zigzag": ("之字", "Z字"), "rotate": "转",
                 "grow": ("大", "膨胀"), "shrink": ("小", "缩"), "orbit": ("圈", "圆")}
    for motion, want in checks_en.items():
        for seed in range(8):
            s = scene("star", "red", 2, motion, "slow", seed=seed)
            en, zh = caption(s, "en", Rng(seed)).lower(), caption(s, "zh", Rng(seed))
            assert any(w in en for w in ((want,) if isinstance(want, str) else want)), en
            w = checks_zh[motion]
            assert any(x in zh for x in ((w,) if isinstance(w, str) else w)), zh
            assert any(a in en for a in ("slow", "gently", "unhurriedly")), en
            assert any(a in zh for a in ("缓", "慢")), zh
    cam_en = {"zoom_in": "zoom", "zoom_out": "zoom", "pan_left": ("pan", "turns to the left"), "tilt_up": "tilt", "truck_right": ("truck", "slides", "sideways", "tracking"),
              "pedestal_up": ("rises", "up"), "roll_clockwise": ("clockwise", "roll")}
    cam_zh = {"zoom_in": ("拉近", "推近", "放大", "推进"), "zoom_out": ("拉远", "拉开", "缩小"), "pan_left": "左",
              "tilt_up": "上", "truck_right": "右", "pedestal_up": ("上", "升"), "roll_clockwise": "顺时针"}
    for cam in CAMERAS[1:]:
        for seed in range(6):
            s = scene("car", "blue", 1, "right", "fast", camera=cam, camera_speed="fast", background="snow", seed=seed)
            en, zh = caption(s, "en", Rng(seed)).lower(), caption(s, "zh", Rng(seed))
            assert "snow" in en and "雪" in zh
            assert any(a in en for a in ("quick", "rapid", "swift", "fast", "high speed")), en
            if cam in cam_en:
                w = cam_en[cam]
                assert any(x in en for x in ((w,) if isinstance(w, str) else w)), en
                w = cam_zh[cam]
                assert any(x in zh for x in ((w,) if isinstance(w, str) else w)), zh
    zh = caption(scene("ball", "red", 1, "still", camera="zoom_in", camera_speed="slow"), "zh", Rng(1))
    assert "镜头" in zh or "摄像机" in zh


def test_paraphrase_variety():
    s = scene("fish", "green", 3, "left", "fast", "water", "zoom_out", "slow", seed=3)
    en = {caption(s, "en", Rng(i)) for i in range(200)}
    zh = {caption(s, "zh", Rng(i)) for i in range(200)}
    assert len(en) > 150 and len(zh) > 150
    with pytest.raises(ValueError):
        caption(s, "fr", Rng(0))
