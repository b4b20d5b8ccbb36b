"""Tests for eval/faithfulness.py: the analysis scores the world renderer's own clips high and
blank / noise clips low; the prompt set is fixed; the CLI runs end to end with a stub engine."""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

EVAL = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(EVAL))

import faithfulness as F  # noqa: E402

FRAMES, SHORT, FPS = 9, 64, 16


def size_for(aspect: str) -> tuple[int, int]:
    return F.default_size(aspect, SHORT)


@pytest.fixture(scope="module")
def analyzer() -> F.Analyzer:
    an = F.Analyzer(FRAMES, FPS)
    an.calibrate(1, size_for)
    return an


def score_oracle(an: F.Analyzer, prompt: dict) -> dict:
    scene = F.Scene.from_dict(prompt["scene"])
    w, h = size_for(scene.aspect)
    video, truth = F.render_with_truth(scene, w, h, FRAMES, FPS)
    return an.score(an.measure(video, scene, F.truth_step(truth)), scene, F.world_travel(scene, truth))


def test_oracle_clips_score_high(analyzer):
    results = [score_oracle(analyzer, p) for p in F.prompt_set(8)]
    for ins in ("colour", "count", "motion"):
        vals = [r[ins] for r in results if r[ins] is not None]
        assert len(vals) >= 6
        assert np.mean(vals) >= 0.9, (ins, vals)
    assert np.mean([r["temporal"] for r in results]) >= 0.9


@pytest.mark.parametrize("kind", ["noise", "blank"])
def test_noise_and_blank_clips_score_low(analyzer, kind):
    for p in F.prompt_set(4):
        scene = F.Scene.from_dict(p["scene"])
        w, h = size_for(scene.aspect)
        if kind == "noise":
            clip = np.random.default_rng(p["id"]).integers(0, 256, (FRAMES, h, w, 3), dtype=np.uint8)
        else:
            clip = np.full((FRAMES, h, w, 3), 0.5, dtype=np.float32)
        r = analyzer.score(analyzer.measure(clip, scene), scene)
        assert r["colour"] is False and r["count"] is False and r["motion"] is False, r["predicted"]
        assert r["speed"] in (False, None)
        assert r["temporal"] == 0.0


def test_camera_and_motion_helpers():
    assert F.classify_camera(np.array([0.3, 0, 0, 0]), F.MEASURABLE["grass"]) == "zoom_in"
    assert F.classify_camera(np.array([0, -10.0, 0, 0]), F.MEASURABLE["grass"]) == "roll_clockwise"
    assert F.classify_camera(np.array([0, 0, 0.1, 0.01]), F.MEASURABLE["grass"]) == "left"
    assert F.classify_camera(np.array([0, 0, 0, -0.1]), F.MEASURABLE["grass"]) == "down"
    assert F.classify_camera(np.zeros(4), F.MEASURABLE["grass"]) == "static"
    assert F.classify_camera(np.zeros(4), F.MEASURABLE["plain_gray"]) == "unmeasurable"
    assert not F.camera_measurable("sky", "pan_left") and F.camera_measurable("sky", "tilt_up")
    assert F.reversals(np.array([0, 1, 0, 1, 0.0]), 0.5) == 3
    assert F.reversals(np.array([0, 0.1, 0.2, 0.3]), 0.05) == 0
    centre, radius, resid = F.fit_circle(np.array([[np.cos(a), np.sin(a)] for a in np.linspace(0, 3, 9)]) + 2)
    assert np.allclose(centre, [2, 2]) and abs(radius - 1) < 1e-9 and resid < 1e-9


def test_prompt_set_is_fixed_and_balanced():
    a, b = F.prompt_set(6), F.prompt_set(6)
    assert a == b
    assert [p["split"] for p in a] == ["seen", "held-out"] * 3
    assert F.prompt_set(10)[:6] == a        # a longer set extends a shorter one
    for p in a:
        scene = F.Scene.from_dict(p["scene"])
        assert F.split_of(scene) == ("train" if p["split"] == "seen" else "heldout")
        assert p["en"].isascii() and any("\u4e00" <= ch <= "\u9fff" for ch in p["zh"])


def write_safetensors(path: Path, name: str, array: np.ndarray) -> None:
    data = np.ascontiguousarray(array, dtype=np.float32).tobytes()
    header = json.dumps({name: {"dtype": "F32", "shape": list(array.shape), "data_offsets": [0, len(data)]}}).encode()
    header += b" " * (-len(header) % 8)
    path.write_bytes(struct.pack("<Q", len(header)) + header + data)


def test_read_safetensors(tmp_path):
    arr = np.random.default_rng(0).random((3, 4, 5, 3)).astype(np.float32)
    write_safetensors(tmp_path / "a.safetensors", "frames", arr)
    assert np.array_equal(F.read_safetensors(tmp_path / "a.safetensors"), arr)
    st = pytest.importorskip("safetensors.numpy")
    st.save_file({"frames": arr, "other": np.zeros(2, np.float32)}, str(tmp_path / "b.safetensors"))
    assert np.array_equal(F.read_safetensors(tmp_path / "b.safetensors"), arr)


STUB = '''#!{python}
# A stand-in for `moviola generate`: writes grey frames of the requested aspect as --output-raw.
import json, struct, sys
args = sys.argv[1:]
assert args[0] == "generate"
opt = {{args[i]: args[i + 1] for i in range(2, len(args) - 1) if args[i].startswith("-")}}
frames, short = int(opt["--frames"]), int(opt["--resolution"])
long = short * 16 // 9 // 16 * 16
w, h = {{"16:9": (long, short), "9:16": (short, long), "1:1": (short, short)}}[opt["--aspect"]]
data = struct.pack("<%df" % (frames * h * w * 3), *([0.5] * (frames * h * w * 3)))
meta = {{"dtype": "F32", "shape": [frames, h, w, 3], "data_offsets": [0, len(data)]}}
header = json.dumps({{"frames": meta}}).encode()
open(opt["--output-raw"], "wb").write(struct.pack("<Q", len(header)) + header + data)
open(opt["-o"], "wb").write(b"")
with open(opt["-o"] + ".log", "w") as f:
    f.write(args[1])
'''


def test_cli_with_stub_engine(tmp_path, capsys):
    model = tmp_path / "model"
    model.mkdir()
    (model / "moviola.json").write_text(json.dumps({"short_side": 32, "frames": 5, "fps": 16}))
    stub = tmp_path / "moviola"
    stub.write_text(STUB.format(python=sys.executable))
    stub.chmod(0o755)
    out = tmp_path / "report.json"
    work = tmp_path / "work"
    assert F.main(["--model", str(model), "--moviola", str(stub), "--count", "2", "--calibration", "1",
                   "--json", str(out), "--work", str(work), "--quiet"]) == 0
    report = json.loads(out.read_text())
    assert report["config"]["frames"] == 5 and report["config"]["short_side"] == 32
    for row in ("oracle", "oracle seen", "oracle held-out", "model-EN", "model-EN held-out", "model-ZH seen"):
        assert row in report["summary"]
    assert report["summary"]["model-EN"]["colour"]["acc"] == 0.0     # grey frames have no object
    assert set(report["goals"]) >= {"zh_within_3_points_of_en", "count_en>=90", "temporal_zh>=95"}
    assert len(report["clips"]) == 2 and "en_result" in report["clips"][0]
    prompts = sorted(p.read_text() for p in work.glob("*.mp4.log"))
    assert prompts == sorted([c["en"] for c in report["clips"]] + [c["zh"] for c in report["clips"]])
    text = capsys.readouterr().out
    assert "model-ZH held-out" in text and "goals:" in text


def test_cli_oracle_only(tmp_path, capsys):
    out = tmp_path / "oracle.json"
    assert F.main(["--oracle-only", "--count", "2", "--calibration", "1", "--short-side", "32", "--frames", "5",
                   "--json", str(out), "--quiet"]) == 0
    report = json.loads(out.read_text())
    assert "model-EN" not in report["summary"] and "goals" not in report
    assert report["summary"]["oracle"]["n"] == 2
    assert "oracle held-out" in capsys.readouterr().out


def test_vae_ceiling_scores_the_world_through_the_model_vae(tmp_path, capsys):
    pytest.importorskip("diffusers")
    fixture = EVAL.parent / "Tests" / "Fixtures" / "tiny-wan-t2v"     # random weights: a poor autoencoder
    out = tmp_path / "ceiling.json"
    assert F.main(["--oracle-only", "--vae-ceiling", "--model", str(fixture), "--count", "2", "--calibration", "1",
                   "--short-side", "32", "--frames", "5", "--json", str(out), "--quiet"]) == 0
    report = json.loads(out.read_text())
    summary = report["summary"]
    assert summary["oracle+VAE"]["n"] == 2 and "oracle+VAE held-out" in summary
    assert all("vae_ceiling" in clip for clip in report["clips"])
    assert summary["oracle+VAE"]["overall"]["acc"] < summary["oracle"]["overall"]["acc"]
    assert "oracle+VAE" in capsys.readouterr().out
