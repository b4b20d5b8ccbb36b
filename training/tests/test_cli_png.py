import json

import numpy as np

from training.world.png import contact_sheet, decode_png, encode_png
from training.world.render_dataset import main
from training.world import Scene, split_of


def test_png_roundtrip():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(7, 5, 3), dtype=np.uint8)
    data = encode_png(img)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert np.array_equal(decode_png(data), img)


def test_contact_sheet_shape():
    clips = [np.zeros((9, 16, 28, 3), np.uint8), np.full((9, 28, 16, 3), 255, np.uint8)]
    sheet = contact_sheet(clips, columns=4, scale=2, gap=3)
    assert sheet.shape == (3 + 32 + 3 + 56 + 3, 3 + 4 * 56 + 3 * 3 + 3, 3)


def test_cli_writes_clips_metadata_truth_and_preview(tmp_path):
    out, png = tmp_path / "ds", tmp_path / "sheet.png"
    assert main(["--out", str(out), "--count", "4", "--size", "32", "--frames", "9", "--seed", "5",
                 "--split", "heldout", "--truth", "--captions-per-clip", "2", "--preview", str(png), "--quiet"]) == 0
    lines = (out / "metadata.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    for line in lines:
        rec = json.loads(line)
        scene = Scene.from_dict(rec)
        assert rec["split"] == "heldout" == split_of(scene)
        v = np.load(out / rec["file"])
        assert v.dtype == np.uint8 and v.shape == (9, rec["height"], rec["width"], 3)
        assert min(rec["width"], rec["height"]) == 32
        assert rec["caption_en"] and rec["caption_zh"] and len(rec["captions_zh"]) == 2
        truth = json.loads((out / rec["truth"]).read_text())
        assert len(truth["center"]) == 9 and len(truth["center"][0]) == rec["count"]
    sheet = decode_png(png.read_bytes())
    assert sheet.shape[0] > 4 * 32 and sheet.dtype == np.uint8


def test_cli_preview_only(tmp_path, capsys):
    png = tmp_path / "p.png"
    assert main(["--preview", str(png), "--preview-clips", "2", "--size", "24", "--frames", "5"]) == 0
    assert decode_png(png.read_bytes()).shape[2] == 3
    assert "[1]" in capsys.readouterr().out
