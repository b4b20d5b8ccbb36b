"""Smoke test of the training recipe: every stage runs a few steps on tiny data, and the exported
folder loads in diffusers' WanPipeline and in `moviola generate`."""
import json
import os
import subprocess

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the training recipe needs PyTorch (training/requirements.txt)")

from training.recipe import train  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("smoke")
    train.main(["--config", "smoke", "--out", str(out), "--threads", "2"])
    return out / "pipeline"


def test_stages_write_a_diffusers_pipeline(exported):
    index = json.loads((exported / "model_index.json").read_text())
    assert index["_class_name"] == "WanPipeline"
    assert index["expand_timesteps"] is True
    for part in ["tokenizer/tokenizer.json", "tokenizer/spiece.model", "text_encoder/model.safetensors",
                 "transformer/diffusion_pytorch_model.safetensors", "vae/diffusion_pytorch_model.safetensors",
                 "scheduler/scheduler_config.json", "moviola.json"]:
        assert (exported / part).is_file(), part
    vae = json.loads((exported / "vae" / "config.json").read_text())
    assert len(vae["latents_mean"]) == vae["z_dim"] and all(s > 0 for s in vae["latents_std"])
    assert vae["scale_factor_spatial"] == 2 ** (len(vae["dim_mult"]) - 1)  # what WanPipeline sizes latents by
    scheduler = json.loads((exported / "scheduler" / "scheduler_config.json").read_text())
    assert scheduler["flow_shift"] == 3.0  # the smoke configuration's, recorded by the transformer stage


def test_diffusers_loads_and_runs_the_export(exported):
    from diffusers import WanPipeline
    pipe = WanPipeline.from_pretrained(str(exported))
    card = json.loads((exported / "moviola.json").read_text())
    assert card["max_sequence_length"] == 32  # the smoke configuration's, recorded by the transformer stage
    frames = pipe(prompt="三颗黄色的星星在夜空中缓慢旋转", num_inference_steps=1, height=32, width=32, num_frames=5,
                  max_sequence_length=card["max_sequence_length"],
                  output_type="np", generator=torch.Generator().manual_seed(0)).frames[0]
    assert frames.shape == (5, 32, 32, 3)
    assert np.isfinite(frames).all()


def test_moviola_generates_from_the_export(exported, tmp_path):
    binary = os.path.join(ROOT, ".build", "debug", "moviola")
    if not os.path.exists(binary):
        pytest.skip("build moviola first (make test does)")
    out = tmp_path / "clip.mp4"
    subprocess.run([binary, "generate", "a red ball bounces", "--model", str(exported), "-o", str(out),
                    "--frames", "5", "--size", "32x32", "--steps", "2", "--quiet"], check=True,
                   env={**os.environ, "MOVIOLA_DATA": str(tmp_path / "data")})  # its signing CA, not in the checkout
    assert out.stat().st_size > 0


def test_training_is_seeded(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        train.main(["--config", "smoke", "--out", str(out), "--stage", "tokenizer"])
        train.main(["--config", "smoke", "--out", str(out), "--stage", "vae"])
    assert (a / "vae" / "diffusion_pytorch_model.safetensors").read_bytes() == (b / "vae" / "diffusion_pytorch_model.safetensors").read_bytes()


def test_an_export_imports_and_training_goes_on(exported, tmp_path):
    card = json.loads((exported / "moviola.json").read_text())
    assert card["transformer_steps"] == 3  # the smoke configuration's dit_steps
    out = tmp_path / "again"
    train.main(["--config", "smoke", "--out", str(out), "--import-pipeline", str(exported)])
    progress = json.loads((out / "dit_progress.json").read_text())
    assert progress["steps"] == 3 and progress["max_sequence_length"] == 32 and progress["flow_shift"] == 3.0
    before = (out / "transformer" / "diffusion_pytorch_model.safetensors").read_bytes()
    assert before == (exported / "transformer" / "diffusion_pytorch_model.safetensors").read_bytes()
    train.main(["--config", "smoke", "--out", str(out), "--stage", "dit", "--resume", "--dit-steps", "4", "--flow-shift", "5",
                "--first-frame-balance", "20"])
    assert json.loads((out / "dit_progress.json").read_text())["steps"] == 4
    assert (out / "text_heads.pt").is_file()  # an export has none: fitted on the imported encoder first
    assert (out / "transformer" / "diffusion_pytorch_model.safetensors").read_bytes() != before
    train.main(["--config", "smoke", "--out", str(out), "--stage", "export", "--export", str(tmp_path / "export")])
    assert json.loads((tmp_path / "export" / "scheduler" / "scheduler_config.json").read_text())["flow_shift"] == 5.0
    assert "limits" not in json.loads((tmp_path / "export" / "moviola.json").read_text())
    # A benchmarked folder's `limits` sentence survives an export over it.
    card = json.loads((tmp_path / "export" / "moviola.json").read_text())
    (tmp_path / "export" / "moviola.json").write_text(json.dumps({**card, "limits": "draws blobs", "limits_zh": "画出色块"}))
    train.main(["--config", "smoke", "--out", str(out), "--stage", "export", "--export", str(tmp_path / "export")])
    again = json.loads((tmp_path / "export" / "moviola.json").read_text())
    assert again["limits"] == "draws blobs" and again["limits_zh"] == "画出色块" and again["transformer_steps"] == 4


def test_import_refuses_a_folder_that_is_not_an_export(tmp_path):
    with pytest.raises(SystemExit, match="not an exported pipeline folder"):
        train.main(["--config", "smoke", "--out", str(tmp_path / "out"), "--import-pipeline", str(tmp_path)])


def test_the_text_stage_teaches_the_encoder_what_captions_ask_for(tmp_path):
    """--stage text lowers the attribute heads' loss on fresh captions (English and Chinese, of scenes
    it never trained on), and a second run goes on from the saved encoder and heads."""
    from transformers import UMT5EncoderModel
    from training.recipe.data import caption_at, scene_at
    scenes = [scene_at(999, i, "1:1") for i in range(128)]
    captions = [caption_at(scene, 998, i) for i, scene in enumerate(scenes)]

    def held_out_loss():
        tokenizer = train.load_tokenizer(str(tmp_path))
        encoder = UMT5EncoderModel.from_pretrained(str(tmp_path / "text_encoder")).eval()
        heads = train.load_attribute_heads(str(tmp_path), encoder.config.d_model, "cpu")
        with torch.no_grad():
            context, lengths = train.encode_prompts(tokenizer, encoder, captions, 32, "cpu", with_lengths=True)
            return heads.loss(context, lengths, scenes)[0].item()

    train.main(["--config", "smoke", "--out", str(tmp_path), "--stage", "tokenizer"])
    train.main(["--config", "smoke", "--out", str(tmp_path), "--stage", "text", "--text-steps", "1"])
    assert (tmp_path / "text_heads.pt").is_file()
    before = held_out_loss()
    train.main(["--config", "smoke", "--out", str(tmp_path), "--stage", "text", "--text-steps", "150", "--threads", "2"])
    after = held_out_loss()
    assert after < before - 1.0, (before, after)  # a sum of 8 cross-entropies: 15.9 at chance


def test_heads_fitted_on_a_frozen_encoder_learn_and_leave_it_unchanged(tmp_path):
    """What a transformer stage on an imported pipeline does first: new heads learn to read the
    encoder (their loss falls well below chance), and the encoder's weights do not move."""
    from transformers import UMT5Config, UMT5EncoderModel
    config = train.CONFIGS["smoke"]
    train.main(["--config", "smoke", "--out", str(tmp_path), "--stage", "tokenizer"])
    tokenizer = train.load_tokenizer(str(tmp_path))
    torch.manual_seed(0)
    # Untrained, but wider than the smoke configuration's, so its pooled output still says which words came.
    encoder = UMT5EncoderModel(UMT5Config(vocab_size=len(tokenizer.get_vocab()), d_model=64, d_kv=16, num_heads=4,
                                          d_ff=128, num_layers=1)).train()
    before = {name: tensor.clone() for name, tensor in encoder.state_dict().items()}
    heads = train.AttributeHeads(64)
    first = train.fit_attribute_heads(config, heads, tokenizer, encoder, 0, "cpu", steps=1)
    last = train.fit_attribute_heads(config, heads, tokenizer, encoder, 0, "cpu", steps=150)
    assert last < first - 2.0, (first, last)  # a sum of 8 cross-entropies: 15.9 at chance
    assert encoder.training  # handed back as it came
    assert all(torch.equal(tensor, before[name]) for name, tensor in encoder.state_dict().items())


def test_attribute_loss_skips_dropped_captions():
    heads = train.AttributeHeads(8)
    from training.recipe.data import scene_at
    context, lengths = torch.randn(2, 4, 8), torch.tensor([3, 1])
    loss, accuracy = heads.loss(context, lengths, [None, None])
    assert loss.item() == 0 and accuracy == {}
    loss, accuracy = heads.loss(context, lengths, [scene_at(0, 0, "1:1"), None])
    assert loss.item() > 0 and set(accuracy) == set(train.AttributeHeads(8).heads)


def test_the_vae_kl_term_is_per_element_like_the_reconstruction_error():
    from diffusers.models.autoencoders.vae import DiagonalGaussianDistribution
    # A posterior with std 0.7 and means of spread 0.7 (what the first VAE learned): per latent
    # element its KL is about 0.35 nats, so with weight 1e-6 the penalty must be about 3.5e-7 of a
    # reconstruction error that is a mean over pixels, whatever the clip's size.
    for frames, height in [(5, 16), (41, 64)]:
        video = torch.zeros(2, 3, frames, height, height)
        latent_shape = (2, 4, (frames - 1) // 4 + 1, height // 4, height // 4)
        mean = torch.full(latent_shape, 0.7)
        logvar = torch.full(latent_shape, 2 * np.log(0.7))
        posterior = DiagonalGaussianDistribution(torch.cat([mean, logvar], dim=1))
        per_latent = 0.5 * (0.49 + 0.49 - 1 - 2 * np.log(0.7))
        latents_per_pixel = np.prod(latent_shape) / video.numel()
        expected = train.KL_WEIGHT * per_latent * latents_per_pixel
        assert train.kl_penalty(posterior, video).item() == pytest.approx(expected, rel=1e-4)
        assert train.kl_penalty(posterior, video).item() < 1e-6


def test_vae_crops_are_centred_on_objects_and_carry_their_weights():
    import dataclasses
    from training.recipe.configs import CONFIGS
    config = dataclasses.replace(CONFIGS["cpu"], vae_object_weights=True, vae_crop_batch=12, vae_crop_size=32)
    video, weights = train.object_crops(config, seed=3, step=0, frames=5)
    assert video.shape == (12, 3, 5, 32, 32) and weights.shape == (12, 1, 5, 32, 32)
    assert video.min() >= -1 and video.max() <= 1
    # Every crop holds object pixels in its first frame (the crop is centred near one, jittered by
    # at most a quarter of its size, and objects are wider than a few pixels).
    first_frame_objects = (weights[:, 0, 0] > 1).flatten(1).sum(1)
    assert (first_frame_objects > 0).all(), first_frame_objects
    # Objects are a few percent of a whole frame; in a crop centred on one, much more.
    assert (weights[:, :, 0] > 1).float().mean() > 0.15
    again, _ = train.object_crops(config, seed=3, step=0, frames=5)
    assert torch.equal(video, again)
    other, _ = train.object_crops(config, seed=3, step=1, frames=5)
    assert not torch.equal(video, other)
    # A crop larger than the short side shrinks to it, the same for every aspect ratio drawn.
    wide = dataclasses.replace(config, vae_crop_size=128, vae_crop_batch=20)
    assert train.object_crops(wide, seed=3, step=0, frames=1)[0].shape == (20, 3, 1, 64, 64)


def test_crop_phases_parse_and_refuse_bad_lengths():
    assert train.crop_phases("3000x1, 600x5") == ((3000, 1), (600, 5))
    assert train.crop_phases("none") == ()
    for bad in ["3000", "3000x4", "x1", "ax1"]:
        with pytest.raises(Exception, match="STEPSxFRAMES"):
            train.crop_phases(bad)


def test_flow_loss_mask_weighs_frame_zero_and_skips_it_when_given():
    torch = pytest.importorskip("torch")
    x0 = torch.zeros(3, 2, 4, 2, 2)
    weights = torch.ones(3, 1, 4, 2, 2)
    weights[:, :, :, 0, 0] = 5                      # an object cell in every frame
    conditioned = torch.tensor([False, True, False])
    mask = train.flow_loss_mask(x0, weights, conditioned, first_frame_weight=4.0)
    assert mask.shape == x0.shape
    assert mask[0, :, 0, 0, 0].tolist() == [20.0, 20.0] and mask[0, :, 0, 1, 1].tolist() == [4.0, 4.0]
    assert mask[0, :, 1, 0, 0].tolist() == [5.0, 5.0] and mask[2, :, 3, 1, 1].tolist() == [1.0, 1.0]
    assert mask[1, :, 0].abs().sum() == 0 and mask[1, :, 1:].equal(mask[0, :, 1:])
    assert weights[0, 0, 0, 0, 0] == 5              # the object weights are not changed in place
    plain = train.flow_loss_mask(x0, None, torch.tensor([False, False, False]))
    assert plain.equal(torch.ones_like(x0))


def test_first_frame_channel_weights_balance_frame_zero_against_later_frames():
    torch = pytest.importorskip("torch")
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(6, 3, 5, 4, 4, generator=generator)
    x[:, 0, 0] *= 0.1      # channel 0 barely varies in frame 0: weight about 100, capped
    x[:, 1, 0] *= 0.5      # channel 1: about 4
    x[:, 2, 0] *= 2.0      # channel 2 varies more in frame 0: never below 1
    weights = train.first_frame_channel_weights([x[:3], x[3:]], cap=20.0)
    assert weights.shape == (3,)
    assert weights[0] == 20.0 and 2.5 < weights[1] < 6.5 and weights[2] == 1.0
    mask = train.flow_loss_mask(torch.zeros_like(x), None, torch.zeros(6, dtype=torch.bool), weights.view(1, -1, 1, 1))
    assert mask[:, 0, 0].eq(20.0).all() and mask[:, 2, 0].eq(1.0).all() and mask[:, :, 1:].eq(1.0).all()


def test_encode_latents_normalises_each_clip_with_the_vae_statistics():
    torch = pytest.importorskip("torch")
    diffusers = pytest.importorskip("diffusers")
    torch.manual_seed(0)
    vae = diffusers.AutoencoderKLWan(base_dim=8, z_dim=4, dim_mult=[1, 2], num_res_blocks=1,
                                     temperal_downsample=[True]).eval()
    video = torch.rand(2, 3, 5, 16, 16) * 2 - 1
    mean = torch.tensor([0.1, -0.2, 0.3, 0.0]).view(1, -1, 1, 1, 1)
    std = torch.tensor([0.5, 2.0, 1.0, 0.25]).view(1, -1, 1, 1, 1)
    latents = train.encode_latents(vae, video, mean, std, "cpu")
    with torch.no_grad():
        expected = [(vae.encode(video[j:j + 1]).latent_dist.mode() - mean) / std for j in range(2)]
    assert latents.shape == (2, 4, 3, 8, 8)  # 1 + (5 - 1) / 2 frames, 16 / 2 pixels
    assert not latents.requires_grad
    torch.testing.assert_close(latents, torch.cat(expected), rtol=1e-5, atol=1e-6)
    together = train.encode_latents(vae, video, mean, std, "cpu", clips_at_once=2)  # what a GPU run does
    torch.testing.assert_close(together, latents, rtol=1e-4, atol=1e-5)


def test_worker_processes_render_the_same_batches_as_the_serial_loop():
    config = train.CONFIGS["smoke"]
    serial = list(train.rendered_batches(config, 3, 5, 7, spatial=8, temporal=4, workers=0))
    parallel = list(train.rendered_batches(config, 3, 5, 7, spatial=8, temporal=4, workers=2))
    assert len(serial) == len(parallel) == 2
    for (video, captions, scenes, weights), (video2, captions2, scenes2, weights2) in zip(serial, parallel):
        assert torch.equal(video, video2) and captions == captions2 and scenes == scenes2
        assert torch.equal(weights, weights2)
        # Shaped like the smoke VAE's latents (5 frames → 2, 8 px → 1 cell), and objects weighed.
        height, width = video.shape[-2:]
        assert weights.shape == (config.dit_batch, 1, 2, height // 8, width // 8)
        assert weights.max() == 1 + config.object_loss_weight
    first, *_ = next(train.rendered_batches(config, 3, 5, 6, 8, 4, 0))
    assert torch.equal(first, train.batch(config, 3, 5, config.dit_batch)[0])  # what the loop rendered before


def test_a_time_budget_fits_the_run_to_it(exported, tmp_path):
    import time
    out = tmp_path / "timed"
    train.main(["--config", "smoke", "--out", str(out), "--import-pipeline", str(exported)])
    started = time.time()
    train.main(["--config", "smoke", "--out", str(out), "--stage", "dit", "--resume", "--dit-steps", "100000",
                "--dit-decay-steps", "20", "--time-budget", "4", "--data-workers", "2", "--checkpoint-every", "0"])
    took = time.time() - started
    steps = json.loads((out / "dit_progress.json").read_text())["steps"]
    assert 3 + 25 < steps < 100000, steps   # timed on its first 25 steps, then fitted to the budget
    assert took < 40, took                  # not the 100 000 steps asked for


def test_the_gpu_scripts_pack_a_timed_run_and_unpack_it(exported, tmp_path):
    """training/device/train.sh (here on the CPU, with the smoke configuration) trains for its budget
    and packs the weights in parts; unpack.sh checks and joins them into a folder the recipe exports."""
    out, run, again = tmp_path / "OUT", tmp_path / "run", tmp_path / "again"
    env = {**os.environ, "OUT": str(out), "RUN": str(run), "MODEL": str(exported), "CONFIG": "smoke",
           "DEVICE": "cpu", "BUDGET": "3", "BATCH": "2", "WORKERS": "1", "WHEELS": str(tmp_path / "none")}
    subprocess.run([os.path.join(ROOT, "training/device/train.sh"), "--threads", "2"], cwd=ROOT, env=env, check=True)
    parts = sorted(p.name for p in out.iterdir())
    assert "weights.tar.part-aa" in parts and "train.log" in parts and "progress.json" in parts
    assert all(p.stat().st_size <= 15 * 2 ** 20 for p in out.iterdir())
    steps = json.loads((out / "progress.json").read_text())["steps"]
    assert steps > 3 + 25  # the export's 3, then at least the steps it timed the budget on
    subprocess.run([os.path.join(ROOT, "training/device/unpack.sh"), str(out), str(again), str(exported)],
                   cwd=ROOT, check=True)
    for part in ("transformer/diffusion_pytorch_model.safetensors", "text_encoder/model.safetensors", "dit_progress.json"):
        assert (again / part).read_bytes() == (run / part).read_bytes(), part
    assert (again / "vae").is_dir() and (again / "tokenizer" / "spiece.model").is_file()  # from the model
    train.main(["--config", "smoke", "--out", str(again), "--stage", "export", "--export", str(tmp_path / "export")])
    assert json.loads((tmp_path / "export" / "moviola.json").read_text())["transformer_steps"] == steps
    # A part lost or damaged on the way is refused, not unpacked.
    (out / "weights.tar.part-aa").write_bytes(b"damaged")
    refused = subprocess.run([os.path.join(ROOT, "training/device/unpack.sh"), str(out), str(tmp_path / "bad"),
                              str(exported)], cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode != 0 and "do not add up" in refused.stderr
    assert not (tmp_path / "bad").exists()
