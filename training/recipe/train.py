"""Trains Moviola's bundled model and exports it as a diffusers Wan pipeline folder.

  python3 -m training.recipe.train --config mini --out runs/mini            # everything
  python3 -m training.recipe.train --config smoke --out /tmp/smoke --stage all

Stages (each resumes from the previous stage's files in --out): `tokenizer` (SentencePiece
unigram on generated English and Chinese captions, saved as spiece.model and tokenizer.json),
`vae` (AutoencoderKLWan, reconstruction + KL), `dit` (UMT5 text encoder and Wan transformer
trained jointly with flow matching; captions dropped for guidance; some batches conditioned on a
clean first frame at timestep 0, Wan 2.2 TI2V style), `export` (the pipeline folder, loadable by
diffusers' WanPipeline and by `moviola generate`). Everything is seeded; on a GPU pass --device cuda.
"""
import argparse
import hashlib
import json
import math
import os
import shutil
import time

import torch

from .configs import CONFIGS
from .data import batch, caption_at, caption_corpus, scene_at, truths_for
from .vocabulary import ATTRIBUTES, vocabulary


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def optimizer_step(optimizer, loss, parameters):
    """One update: gradients of `loss`, clipped to norm 1 over `parameters`, applied."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, 1.0)
    optimizer.step()


def train_tokenizer(config, out, seed):
    import sentencepiece as spm
    from transformers.convert_slow_tokenizer import T5Converter
    folder = os.path.join(out, "tokenizer")
    os.makedirs(folder, exist_ok=True)
    corpus = os.path.join(out, "captions.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        f.write("\n".join(caption_corpus(seed, config.tokenizer_captions)))
    prefix = os.path.join(folder, "spiece")
    spm.SentencePieceTrainer.train(input=corpus, model_prefix=prefix, vocab_size=config.vocab_size, model_type="unigram",
                                   character_coverage=1.0, pad_id=0, eos_id=1, unk_id=2, bos_id=-1,
                                   normalization_rule_name="nmt_nfkc", minloglevel=2, num_threads=1,
                                   hard_vocab_limit=False)
    os.remove(prefix + ".vocab")

    class SlowTokenizerShim:  # what T5Converter reads from a slow tokenizer
        vocab_file = prefix + ".model"
        add_prefix_space = True
        _extra_ids = 0

        def convert_tokens_to_ids(self, token):
            return 1

    T5Converter(SlowTokenizerShim()).converted().save(os.path.join(folder, "tokenizer.json"))
    log(f"tokenizer: trained on {2 * config.tokenizer_captions} captions")


def load_tokenizer(out):
    from transformers import PreTrainedTokenizerFast
    return PreTrainedTokenizerFast(tokenizer_file=os.path.join(out, "tokenizer", "tokenizer.json"),
                                   pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


KL_WEIGHT = 1e-6


def kl_penalty(posterior, video):
    """The VAE's KL term, per element of the clip like the reconstruction error (a mean), so that
    KL_WEIGHT means what it does in the usual recipes (a sum over latents against a sum over pixels).
    The first VAEs took diffusers' `kl()` (summed over channels, frames and rows) averaged over the
    batch and the latent columns: 12 × frames × height times the intended weight (about 4 000 on
    5-frame clips, 30 000 on 41). They learned a posterior noise (std 0.5-1.0 per channel) as large
    as their latents' spread (0.2-1.3), so the encoder kept only what survives that noise."""
    return KL_WEIGHT * posterior.kl().sum() / video.numel()


def vae_phase(vae, config, steps, frames, lr, seed, device, save_to=None, save_every=0, crops=False):
    """One run of VAE training: reconstruction + tiny KL, on `frames`-frame clips (object-centred
    crops of them with `crops`, see `object_crops`); saved to `save_to` every `save_every` steps, so an
    interrupted run keeps its progress (the latent statistics in those saves are the previous ones
    until the stage ends)."""
    optimizer = torch.optim.AdamW(vae.parameters(), lr=lr, weight_decay=0.0)
    name = "vae crops" if crops else "vae"
    start = time.time()
    for step in range(steps):
        if crops:
            (video, weights), truths = object_crops(config, seed, step, frames), None
        else:
            (video, _, truths), weights = batch(config, seed + 1, step, config.vae_batch, frames=frames or None,
                                                with_truths=True), None
        video = video.to(device)
        posterior = vae.encode(video).latent_dist
        reconstruction = vae.decode(posterior.sample()).sample
        loss = reconstruction_error(config, reconstruction, video, truths, weights) + kl_penalty(posterior, video)
        optimizer_step(optimizer, loss, vae.parameters())
        if step % 50 == 0 or step == steps - 1:
            log(f"{name} step {step + 1}/{steps} ({frames or config.frames} frames) loss {loss.item():.4f} ({time.time() - start:.0f} s)")
        if save_to and save_every and (step + 1) % save_every == 0 and step + 1 < steps:
            vae.save_pretrained(save_to, safe_serialization=True)
            log(f"{name}: saved after step {step + 1} of this phase to {save_to}")


def train_vae(config, out, seed, device, resume=False, checkpoint_every=0, resume_crop_phases=()):
    """Object-centred crops first (`vae_crop_phases`), then short clips (cheap), then longer ones so
    the causal cache learns to carry across chunks (`vae_long_*`); `resume` runs, on the saved VAE,
    only `resume_crop_phases` and then the long phase."""
    from diffusers import AutoencoderKLWan
    torch.manual_seed(seed)
    start = time.time()
    if resume:
        vae = AutoencoderKLWan.from_pretrained(os.path.join(out, "vae")).to(device).train()
        log(f"vae: continuing from {os.path.join(out, 'vae')}")
        for phase, (steps, frames) in enumerate(resume_crop_phases):
            vae_phase(vae, config, steps, frames, config.vae_lr, seed + 300 + phase, device,
                      save_to=os.path.join(out, "vae"), save_every=checkpoint_every, crops=True)
    else:
        vae = AutoencoderKLWan(**config.vae).to(device).train()
        for phase, (steps, frames) in enumerate(config.vae_crop_phases):
            vae_phase(vae, config, steps, frames, config.vae_lr, seed + 200 + phase, device,
                      save_to=os.path.join(out, "vae"), save_every=checkpoint_every, crops=True)
        vae_phase(vae, config, config.vae_steps, config.vae_frames, config.vae_lr, seed, device)
    if config.vae_long_steps:
        vae_phase(vae, config, config.vae_long_steps, config.vae_long_frames, config.vae_long_lr, seed + 100, device,
                  save_to=os.path.join(out, "vae") if resume else None, save_every=checkpoint_every)
    vae.eval()
    psnr = reconstruction_psnr(vae, config, seed, device)
    with open(os.path.join(out, "vae_progress.json"), "w") as f:
        json.dump({"crop_phases": [list(p) for p in config.vae_crop_phases], "steps": config.vae_steps,
                   "long_steps": config.vae_long_steps, "seconds": round(time.time() - start),
                   "psnr_db": psnr["all"], "object_psnr_db": psnr["objects"], "background_psnr_db": psnr["background"]}, f)
    log(f"vae: reconstruction PSNR {psnr['all']:.1f} dB on fresh clips (objects {psnr['objects']:.1f}, "
        f"background {psnr['background']:.1f})")
    # The diffusion model sees (z - mean) / std per channel: measure them on fresh clips.
    total = torch.zeros(vae.config.z_dim, dtype=torch.float64)
    squares = torch.zeros_like(total)
    count = 0
    with torch.no_grad():
        for i in range(config.latent_statistics_clips):
            z = vae.encode(batch(config, seed + 2, i, 1)[0].to(device)).latent_dist.mode().double().cpu()
            total += z.sum(dim=[0, 2, 3, 4])
            squares += (z ** 2).sum(dim=[0, 2, 3, 4])
            count += z.numel() // z.shape[1]
    mean = total / count
    std = (squares / count - mean ** 2).clamp(min=1e-6).sqrt()
    vae.register_to_config(latents_mean=mean.float().tolist(), latents_std=std.float().tolist())
    vae.save_pretrained(os.path.join(out, "vae"), safe_serialization=True)
    log("vae: saved with latent statistics")


def encode_prompts(tokenizer, text_encoder, captions, max_length, device, with_lengths=False):
    """As WanPipeline: real tokens through UMT5, trimmed, zero-padded to max_length (and the number
    of real tokens per caption, with `with_lengths`)."""
    inputs = tokenizer(captions, padding="max_length", max_length=max_length, truncation=True, add_special_tokens=True,
                       return_attention_mask=True, return_tensors="pt")
    ids, mask = inputs.input_ids.to(device), inputs.attention_mask.to(device)
    lengths = mask.sum(dim=1)
    longest = int(lengths.max())
    hidden = text_encoder(ids[:, :longest], mask[:, :longest]).last_hidden_state
    padded = torch.zeros(len(captions), max_length, hidden.shape[-1], device=device)
    for i, n in enumerate(lengths.tolist()):
        padded[i, :n] = hidden[i, :n]
    return (padded, lengths) if with_lengths else padded


class AttributeHeads(torch.nn.Module):
    """Linear read-outs of a scene's attributes (kind, colour, count, motion, ...) from the mean of
    the text encoder's outputs over a caption's real tokens. Trained with the encoder (`--stage
    text`, and as an auxiliary loss in the transformer stage), they make the encoder say what a
    caption asks for in features a cross-attention can pick up, the same in English and Chinese.
    Jointly trained from scratch with only the transformer's gradient, the encoder carried little
    of it: a linear probe read the object kind from 24 % (EN) / 34 % (ZH) of captions, and the
    transformer's prediction barely changed with the caption. Real Wan models get this from a
    pretrained umT5; this is the bundled model's way to it."""

    def __init__(self, width):
        super().__init__()
        self.attributes = ATTRIBUTES
        self.heads = torch.nn.ModuleDict({name: torch.nn.Linear(width, len(values)) for name, values in ATTRIBUTES.items()})

    def loss(self, context, lengths, scenes):
        """Summed cross-entropy over the attributes, and each attribute's accuracy, for the captions
        of `scenes` (rows with no real text, i.e. dropped captions, are skipped)."""
        keep = [i for i, scene in enumerate(scenes) if scene is not None]
        if not keep:
            return context.sum() * 0, {}
        pooled = context[keep].sum(dim=1) / lengths[keep].view(-1, 1).to(context.dtype)
        total, accuracy = 0, {}
        for name, head in self.heads.items():
            values = self.attributes[name]
            target = torch.tensor([values.index(getattr(scenes[i], name)) for i in keep], device=context.device)
            logits = head(pooled)
            total = total + torch.nn.functional.cross_entropy(logits, target)
            accuracy[name] = (logits.argmax(dim=1) == target).float().mean().item()
        return total, accuracy


def train_text_encoder(config, out, seed, device, checkpoint_every=0):
    """Teaches the UMT5 encoder (new, or the one in --out) to carry what a caption asks for: attribute
    heads on its pooled output, trained on fresh English and Chinese captions of training scenes.
    The heads are kept (OUT/text_heads.pt) for the transformer stage's auxiliary loss."""
    from transformers import UMT5Config, UMT5EncoderModel
    torch.manual_seed(seed)
    tokenizer = load_tokenizer(out)
    folder = os.path.join(out, "text_encoder")
    if os.path.isdir(folder):
        text_encoder = UMT5EncoderModel.from_pretrained(folder).to(device).train()
        log(f"text: continuing from {folder}")
    else:
        text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=len(tokenizer.get_vocab()), **config.text_encoder)).to(device).train()
    heads = load_attribute_heads(out, text_encoder.config.d_model, device)
    parameters = list(text_encoder.parameters()) + list(heads.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=config.text_lr, weight_decay=0.01)
    start = time.time()
    for step in range(config.text_steps):
        scenes, captions = caption_batch(config, seed + 11, step)
        context, lengths = encode_prompts(tokenizer, text_encoder, captions, config.max_sequence_length, device, True)
        loss, accuracy = heads.loss(context, lengths, scenes)
        optimizer_step(optimizer, loss, parameters)
        if step % 50 == 0 or step == config.text_steps - 1:
            log(f"text step {step + 1}/{config.text_steps} loss {loss.item():.3f} accuracy "
                + " ".join(f"{name} {value:.2f}" for name, value in accuracy.items()) + f" ({time.time() - start:.0f} s)")
        if (checkpoint_every and (step + 1) % checkpoint_every == 0) or step == config.text_steps - 1:
            text_encoder.save_pretrained(folder, safe_serialization=True)
            torch.save(heads.state_dict(), heads_path(out))
    log(f"text: saved the encoder and its attribute heads after {config.text_steps} steps")


def caption_batch(config, seed, step):
    """`config.text_batch` fresh training scenes and one caption of each (English or Chinese, any
    paraphrase), the `step`-th such batch of `seed`."""
    scenes = [scene_at(seed, step * config.text_batch + i, "16:9") for i in range(config.text_batch)]
    return scenes, [caption_at(scene, seed + 1, step * config.text_batch + i) for i, scene in enumerate(scenes)]


def heads_path(out):
    return os.path.join(out, "text_heads.pt")


def load_attribute_heads(out, width, device):
    heads = AttributeHeads(width).to(device)
    if os.path.exists(heads_path(out)):
        heads.load_state_dict(torch.load(heads_path(out)))
    return heads


def fit_attribute_heads(config, heads, tokenizer, text_encoder, seed, device, steps):
    """Trains new attribute heads on a trained encoder that stays frozen, and returns their last
    loss. An exported pipeline carries no heads, so a transformer stage that goes on from one
    (`--import-pipeline`) would otherwise start its auxiliary loss from random heads: a summed
    cross-entropy near 18 whose gradient reshapes the encoder towards them before they learn."""
    optimizer = torch.optim.AdamW(heads.parameters(), lr=config.text_lr * 3, weight_decay=0.01)
    was_training = text_encoder.training
    text_encoder.eval()
    loss = None
    for step in range(steps):
        scenes, captions = caption_batch(config, seed + 13, step)
        with torch.no_grad():
            context, lengths = encode_prompts(tokenizer, text_encoder, captions, config.max_sequence_length, device, True)
        loss, accuracy = heads.loss(context, lengths, scenes)
        optimizer_step(optimizer, loss, list(heads.parameters()))
        if step % 100 == 0 or step == steps - 1:
            log(f"heads step {step + 1}/{steps} loss {loss.item():.3f} accuracy "
                + " ".join(f"{name} {value:.2f}" for name, value in accuracy.items()))
    text_encoder.train(was_training)
    return loss.item()


def encoder_digest(vae):
    """SHA-256 of the weights that make latents (the encoder side and the latent statistics), so a
    decoder fine-tune keeps the latent cache."""
    digest = hashlib.sha256()
    for name, tensor in sorted(vae.state_dict().items()):
        if name.startswith(("encoder.", "quant_conv.")):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digest.update(json.dumps([vae.config.latents_mean, vae.config.latents_std]).encode())
    return digest.hexdigest()


def train_vae_decoder(config, out, seed, device, checkpoint_every=0):
    """Fine-tunes only the VAE's decoder on full-length clips, with the encoder (and so the latents
    the transformer learns) unchanged. The causal decoder carries a cache from chunk to chunk; trained
    on short clips only, it drifted after a few chunks (backgrounds changed mid-clip, colours faded)."""
    from diffusers import AutoencoderKLWan
    torch.manual_seed(seed)
    vae = AutoencoderKLWan.from_pretrained(os.path.join(out, "vae")).to(device)
    vae.requires_grad_(False)
    trainable = list(vae.decoder.parameters()) + list(vae.post_quant_conv.parameters())
    for parameter in trainable:
        parameter.requires_grad_(True)
    vae.train()
    optimizer = torch.optim.AdamW(trainable, lr=config.vae_decoder_lr, weight_decay=0.0)
    start = time.time()
    for step in range(config.vae_decoder_steps):
        video, _, truths = batch(config, seed + 7, step, config.vae_decoder_batch, with_truths=True)
        video = video.to(device)
        with torch.no_grad():
            latents = vae.encode(video).latent_dist.mode()
        loss = reconstruction_error(config, vae.decode(latents).sample, video, truths)
        optimizer_step(optimizer, loss, trainable)
        if step % 10 == 0 or step == config.vae_decoder_steps - 1:
            log(f"vae decoder step {step + 1}/{config.vae_decoder_steps} ({config.frames} frames) loss {loss.item():.4f} "
                f"({time.time() - start:.0f} s)")
        if (step + 1) % (checkpoint_every or 50) == 0 or step == config.vae_decoder_steps - 1:
            vae.save_pretrained(os.path.join(out, "vae"), safe_serialization=True)
    vae.eval()
    psnr = reconstruction_psnr(vae, config, seed, device)
    progress_file = os.path.join(out, "vae_progress.json")
    progress = json.load(open(progress_file)) if os.path.exists(progress_file) else {}
    progress.update({"decoder_steps": config.vae_decoder_steps, "decoder_seconds": round(time.time() - start),
                     "psnr_db": psnr["all"], "object_psnr_db": psnr["objects"], "background_psnr_db": psnr["background"]})
    with open(progress_file, "w") as f:
        json.dump(progress, f)
    log(f"vae decoder: reconstruction PSNR {psnr['all']:.1f} dB on fresh clips (objects {psnr['objects']:.1f}, "
        f"background {psnr['background']:.1f})")


def reconstruction_psnr(vae, config, seed, device, clips=4):
    """PSNR (dB) of encode → decode on fresh full-length clips, for the model card: overall, inside
    the renderer's object boxes, and outside them (objects are where the first VAEs failed)."""
    totals = {"all": [0.0, 0], "objects": [0.0, 0], "background": [0.0, 0]}
    with torch.no_grad():
        for i in range(clips):
            clip, _, truths = batch(config, seed + 4, i, 1, with_truths=True)
            clip = clip.to(device)
            recon = vae.decode(vae.encode(clip).latent_dist.mode()).sample.clamp(-1, 1)
            error = ((recon - clip) ** 2).mean(dim=1, keepdim=True).cpu()
            inside = object_weights(config, truths, clip.shape, 1, 1) > 1
            for name, mask in [("all", torch.ones_like(inside)), ("objects", inside), ("background", ~inside)]:
                totals[name][0] += error[mask].sum().item()
                totals[name][1] += mask.sum().item()
    # Pixels span [-1, 1]: a peak-to-peak of 2, so the peak's square is 4.
    return {name: round(10 * math.log10(4 / max(total / max(count, 1), 1e-12)), 2)
            for name, (total, count) in totals.items()}


def reconstruction_error(config, reconstruction, video, truths, weights=None):
    """Mean squared error, with object pixels weighted up when `vae_object_weights` is set: small
    objects are what captions name, and unweighted the VAE learned backgrounds and let objects'
    colours drift (orange balls decoded dark, red hearts blue). `weights` [B, 1, T, H, W], where
    given, replace the ones made from `truths`."""
    if not config.vae_object_weights:
        return torch.nn.functional.mse_loss(reconstruction, video)
    if weights is None:
        weights = object_weights(config, truths, video.shape, 1, 1)
    weights = weights.to(video.device)
    return (((reconstruction - video) ** 2) * weights).sum() / (weights.sum() * video.shape[1])


def object_crops(config, seed, step, frames):
    """`vae_crop_batch` crops of `vae_crop_size` px square (every frame of a `frames`-frame clip),
    each centred near an object of the clip's first frame (jittered by up to a quarter of the crop),
    and their loss weights [B, 1, T, S, S] (1, and 1 + object_loss_weight on object pixels)."""
    import random
    rng = random.Random(seed * 1_000_003 + step)
    videos, weights = [], []
    attempt = 0
    while len(videos) < config.vae_crop_batch:
        video, _, truths = batch(config, seed, step * 1000 + attempt, 8, frames=frames, with_truths=True)
        attempt += 1
        _, _, _, height, width = video.shape
        size = min(config.vae_crop_size, config.short_side)  # one size for every aspect ratio, so the crops stack
        weight = object_weights(config, truths, video.shape, 1, 1)
        for i, truth in enumerate(truths):
            boxes = [b for b in truth.bbox[0] if b[2] > b[0] and b[3] > b[1]]
            if not boxes and attempt < 4:
                continue
            x0, y0, x1, y1 = rng.choice(boxes) if boxes else (0, 0, width, height)
            jitter = size // 4
            left = min(max((x0 + x1) // 2 - size // 2 + rng.randint(-jitter, jitter), 0), width - size)
            top = min(max((y0 + y1) // 2 - size // 2 + rng.randint(-jitter, jitter), 0), height - size)
            videos.append(video[i, :, :, top:top + size, left:left + size])
            weights.append(weight[i, :, :, top:top + size, left:left + size])
    count = config.vae_crop_batch
    return torch.stack(videos[:count]), torch.stack(weights[:count])


def flow_loss_mask(x0, weights, conditioned, first_frame_weight=1.0):
    """The flow-matching loss mask [B, C, T, H, W]: the object weights (or ones), latent frame 0 times
    `first_frame_weight` (a number, or per-channel weights [1, C, 1, 1]), and nothing on frame 0 of the
    conditioned samples (it is given, not predicted).
    Frame 0 is the first video frame encoded alone, so its latents spread less than the others': an error
    the size of the other frames' is a visible one there, hence a weight of its own."""
    mask = torch.ones_like(x0) if weights is None else weights.expand_as(x0).clone()
    mask[:, :, 0] *= first_frame_weight
    mask[conditioned.to(mask.device), :, 0] = 0
    return mask


def first_frame_channel_weights(latents, cap):
    """Per-channel loss weights [C] for latent frame 0: each channel's variance over the later frames
    divided by its variance in frame 0, between 1 and `cap`. The first video frame is encoded alone,
    and some channels barely vary there; an error that is small against the later frames' spread is
    then large against frame 0's own, and the decoder turns it into grain (see the model card)."""
    first = torch.cat([x[:, :, 0].transpose(0, 1).reshape(x.shape[1], -1) for x in latents], dim=1)
    later = torch.cat([x[:, :, 1:].transpose(0, 1).reshape(x.shape[1], -1) for x in latents], dim=1)
    return (later.var(dim=1) / first.var(dim=1).clamp(min=1e-8)).clamp(1.0, cap)


def object_weights(config, truths, latent_shape, spatial, temporal):
    """Loss weights [B, 1, T', H', W'] from the renderer's ground truth: 1, plus `object_loss_weight`
    on the latent cells an object covers. Objects are a few percent of the frame, yet they carry
    everything the caption says beyond the background (kind, colour, count, motion); weighted
    equally, the text barely moved the loss."""
    _, _, t_latent, h_latent, w_latent = latent_shape
    weights = torch.ones(len(truths), 1, t_latent, h_latent, w_latent)
    for i, truth in enumerate(truths):
        for frame in range(truth.frames):
            t = 0 if frame == 0 else (frame - 1) // temporal + 1
            for x0, y0, x1, y1 in truth.bbox[frame]:
                if x1 > x0 and y1 > y0:
                    weights[i, 0, t, y0 // spatial:(y1 - 1) // spatial + 1, x0 // spatial:(x1 - 1) // spatial + 1] = \
                        1 + config.object_loss_weight
    return weights


def encode_latents(vae, video, mean, std, device, clips_at_once=1):
    """Clips as the transformer sees them: the VAE's most likely latents, normalised by the latent
    statistics in its config. One clip at a time by default, so a batch never needs more memory than
    a clip; on a GPU, where one clip leaves it idle, the whole batch at once."""
    with torch.no_grad():
        latents = torch.cat([vae.encode(video[j:j + clips_at_once].to(device)).latent_dist.mode()
                             for j in range(0, len(video), clips_at_once)])
    return (latents - mean) / std


def latent_cache(config, vae, mean, std, seed, device, out=None):
    """Clips encoded once (the VAE is frozen here), as batches of one aspect ratio each, with their
    scenes so that every visit captions them afresh (another language, another paraphrase).
    Kept in OUT/latent_cache.pt, keyed by the VAE weights, so a resumed run (or a larger cache)
    re-encodes only what it has not seen."""
    count = config.latent_cache_clips // config.dit_batch
    key = None
    batches = []
    cache_file = os.path.join(out, "latent_cache.pt") if out else None
    if cache_file:
        key = (encoder_digest(vae), seed, config.dit_batch)
        if os.path.exists(cache_file):
            saved = torch.load(cache_file, weights_only=False)
            if saved.get("key") == key:
                batches = saved["batches"][:count]
                log(f"dit: {len(batches) * config.dit_batch} cached clips loaded from {cache_file}")
    started = time.time()
    with torch.no_grad():
        for i in range(len(batches), count):
            video, _, scenes = batch(config, seed + 3, i, config.dit_batch, with_scenes=True)
            batches.append((encode_latents(vae, video, mean, std, device).cpu(), scenes))
            if i % 10 == 0:
                log(f"dit: encoded {(i + 1) * config.dit_batch}/{count * config.dit_batch} clips ({time.time() - started:.0f} s)")
                if cache_file:  # saved as it grows, so an interrupted run keeps what it encoded
                    torch.save({"key": key, "batches": batches}, cache_file)
    if cache_file:
        torch.save({"key": key, "batches": batches}, cache_file)
    return [(latents.to(device), scenes) for latents, scenes in batches]


def _as_is(item):
    return item


def _one_thread(_worker):
    torch.set_num_threads(1)  # a worker per core: more threads each would only contend


class RenderedBatches(torch.utils.data.Dataset):
    """Batch `step` of the uncached transformer stage, exactly as the serial loop renders it (so
    `--data-workers` changes the speed, never the result), with its object loss weights. Rendering is
    NumPy on the CPU; on a GPU machine, worker processes keep the accelerator fed."""

    def __init__(self, config, seed, first_step, last_step, spatial, temporal):
        self.config, self.seed, self.first_step, self.last_step = config, seed, first_step, last_step
        self.spatial, self.temporal = spatial, temporal

    def __len__(self):
        return max(0, self.last_step - self.first_step)

    def __getitem__(self, i):
        step = self.first_step + i
        video, captions, scenes, truths = batch(self.config, self.seed, step, self.config.dit_batch,
                                                with_scenes=True, with_truths=True)
        weights = None
        if self.config.object_loss_weight:
            b, _, t, h, w = video.shape
            latent_shape = (b, 1, (t - 1) // self.temporal + 1, h // self.spatial, w // self.spatial)
            weights = object_weights(self.config, truths, latent_shape, self.spatial, self.temporal)
        return video, captions, scenes, weights


def rendered_batches(config, seed, first_step, last_step, spatial, temporal, workers):
    """Iterator over the uncached stage's batches: rendered here (workers 0) or by `workers` processes."""
    dataset = RenderedBatches(config, seed, first_step, last_step, spatial, temporal)
    if not workers:
        return (dataset[i] for i in range(len(dataset)))
    return iter(torch.utils.data.DataLoader(dataset, batch_size=None, num_workers=workers, collate_fn=_as_is,
                                            worker_init_fn=_one_thread, prefetch_factor=4))


def train_dit(config, out, seed, device, checkpoint_every=0, resume=False, data_workers=0, time_budget=0):
    from diffusers import AutoencoderKLWan, WanTransformer3DModel
    from transformers import UMT5Config, UMT5EncoderModel
    torch.manual_seed(seed)
    tokenizer = load_tokenizer(out)
    vae = AutoencoderKLWan.from_pretrained(os.path.join(out, "vae")).to(device).eval().requires_grad_(False)
    mean = torch.tensor(vae.config.latents_mean, device=device).view(1, -1, 1, 1, 1)
    std = torch.tensor(vae.config.latents_std, device=device).view(1, -1, 1, 1, 1)
    z = vae.config.z_dim
    progress_file = os.path.join(out, "dit_progress.json")
    first_step, previous_seconds = 0, 0
    if resume and os.path.exists(progress_file):
        with open(progress_file) as f:
            progress = json.load(f)
        first_step, previous_seconds = progress["steps"], progress["seconds"]
        text_encoder = UMT5EncoderModel.from_pretrained(os.path.join(out, "text_encoder")).to(device).train()
        transformer = WanTransformer3DModel.from_pretrained(os.path.join(out, "transformer")).to(device).train()
        log(f"dit: resuming after step {first_step}")
    else:
        text_encoder = UMT5EncoderModel(UMT5Config(vocab_size=len(tokenizer.get_vocab()), **config.text_encoder)).to(device).train()
        transformer = WanTransformer3DModel(in_channels=z, out_channels=z, text_dim=config.text_encoder["d_model"],
                                            **config.transformer).to(device).train()
    parameters = list(text_encoder.parameters()) + list(transformer.parameters())
    optimizer = torch.optim.AdamW(parameters, lr=config.dit_lr, weight_decay=0.01)
    optimizer_file = os.path.join(out, "dit_optimizer.pt")
    if first_step and os.path.exists(optimizer_file):
        optimizer.load_state_dict(torch.load(optimizer_file))
        for group in optimizer.param_groups:  # the configured rate, not the one saved with the state
            group["lr"] = config.dit_lr
    heads, heads_optimizer = None, None
    if config.text_aux_weight:  # keeps the encoder saying what captions ask for (see AttributeHeads)
        heads = load_attribute_heads(out, text_encoder.config.d_model, device)
        if first_step and not os.path.exists(heads_path(out)):
            log("dit: no attribute heads for this encoder (an imported pipeline): fitting them on it, frozen, first")
            fit_attribute_heads(config, heads, tokenizer, text_encoder, seed, device, config.head_fit_steps)
            torch.save(heads.state_dict(), heads_path(out))
        heads_optimizer = torch.optim.AdamW(heads.parameters(), lr=config.dit_lr, weight_decay=0.01)
    cache = latent_cache(config, vae, mean, std, seed, device, out) if config.latent_cache_clips else None
    frame_zero_weight = config.first_frame_loss_weight
    if config.first_frame_balance:
        samples = [x for x, _ in cache] if cache else \
            [encode_latents(vae, batch(config, seed + 2, i, config.dit_batch)[0], mean, std, device)
             for i in range(max(1, config.latent_statistics_clips // config.dit_batch))]
        balance = first_frame_channel_weights(samples, config.first_frame_balance)
        log("dit: latent frame 0 channel weights " + " ".join(f"{w:.1f}" for w in balance.tolist()))
        frame_zero_weight = balance.to(device).view(1, -1, 1, 1) * config.first_frame_loss_weight
    spatial = 2 ** (len(vae.config.dim_mult) - 1)
    temporal = 2 ** sum(vae.config.temperal_downsample[:len(vae.config.dim_mult) - 1])
    weight_cache = {}
    generator = torch.Generator(device="cpu").manual_seed(seed)
    patch = transformer.config.patch_size

    def save(step):
        # Saved in place, so an interrupted run still leaves the latest weights to export.
        text_encoder.save_pretrained(os.path.join(out, "text_encoder"), safe_serialization=True)
        transformer.save_pretrained(os.path.join(out, "transformer"), safe_serialization=True)
        torch.save(optimizer.state_dict(), optimizer_file)
        if heads is not None:
            torch.save(heads.state_dict(), heads_path(out))
        with open(progress_file, "w") as f:
            json.dump({"steps": step, "seconds": previous_seconds + round(time.time() - start),
                       "max_sequence_length": config.max_sequence_length, "flow_shift": config.flow_shift}, f)
        log(f"dit: saved text encoder and transformer after {step} steps")

    start = time.time()
    generator.manual_seed(seed + first_step)
    rendered = None if cache else rendered_batches(config, seed + 3, first_step, config.dit_steps, spatial, temporal,
                                                   data_workers)
    # With a time budget, the run's last step is fitted to it once the first steps are timed, so the
    # rate still decays to zero at the end (`--dit-decay-steps`) and the saved step count is the real one.
    final_step = config.dit_steps
    timing_steps, timed_from = 20, None
    for step in range(first_step, config.dit_steps):
        if step >= final_step:
            break
        if time_budget:
            if step == first_step + 5:
                timed_from = time.time()  # the first steps include warm-up (kernels, workers starting)
            elif step == first_step + 5 + timing_steps:
                per_step = (time.time() - timed_from) / timing_steps
                final_step = min(config.dit_steps, step + max(1, int((time_budget - (time.time() - start)) / per_step)))
                log(f"dit: {per_step:.3f} s a step; {final_step - first_step} steps fit the {time_budget:.0f} s budget"
                    f" (ending after step {final_step})")
            elif time.time() - start > time_budget * 1.1:
                log(f"dit: past the time budget; stopping after step {step}")
                final_step = step
                break
        if cache:
            x0, scenes = cache[step % len(cache)]
            captions = [caption_at(scene, seed + 5 + step, i) for i, scene in enumerate(scenes)]
            if config.object_loss_weight and step % len(cache) not in weight_cache:
                weight_cache[step % len(cache)] = object_weights(config, truths_for(config, scenes), x0.shape,
                                                                 spatial, temporal).to(device)
            weights = weight_cache.get(step % len(cache))
        else:
            video, captions, scenes, weights = next(rendered)
            x0 = encode_latents(vae, video, mean, std, device, 1 if device == "cpu" else len(video))
            weights = weights.to(device) if weights is not None else None
        dropped = [torch.rand((), generator=generator).item() < config.caption_dropout for _ in captions]
        captions = ["" if drop else c for c, drop in zip(captions, dropped)]
        b, _, t, h, w = x0.shape
        u = torch.rand(b, generator=generator)
        sigma = (config.flow_shift * u / (1 + (config.flow_shift - 1) * u)).to(device)
        noise = torch.randn(x0.shape, generator=generator).to(device)
        s = sigma.view(b, 1, 1, 1, 1)
        xt = (1 - s) * x0 + s * noise
        target = noise - x0
        # Per-token timesteps: a clean first latent frame at timestep 0 for the conditioned samples.
        conditioned = torch.rand(b, generator=generator) < config.first_frame_probability
        frame_tokens = (h // patch[1]) * (w // patch[2])
        timesteps = (sigma * 1000).view(b, 1).repeat(1, t * frame_tokens)
        for i in torch.nonzero(conditioned).flatten().tolist():
            xt[i, :, 0] = x0[i, :, 0]
            timesteps[i, :frame_tokens] = 0
        loss_mask = flow_loss_mask(x0, weights, conditioned, frame_zero_weight)
        if config.dit_decay_steps:
            # Over the last N steps, or the whole run where it is shorter (a time budget's may be).
            left = final_step - step
            for group in optimizer.param_groups:
                group["lr"] = config.dit_lr * min(1.0, left / min(config.dit_decay_steps, final_step - first_step))
        context, lengths = encode_prompts(tokenizer, text_encoder, captions, config.max_sequence_length, device, True)
        prediction = transformer(hidden_states=xt, timestep=timesteps, encoder_hidden_states=context, return_dict=False)[0]
        loss = (((prediction - target) ** 2) * loss_mask).sum() / loss_mask.sum()
        text_note = ""
        if heads is not None:
            text_loss, accuracy = heads.loss(context, lengths, [None if drop else scene for scene, drop in zip(scenes, dropped)])
            loss = loss + config.text_aux_weight * text_loss
            text_note = f" text {text_loss.item():.3f} (kind {accuracy.get('kind', 0):.2f})"
            heads_optimizer.zero_grad(set_to_none=True)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        if heads is not None:
            heads_optimizer.step()
        if step % 50 == 0 or step == final_step - 1:
            log(f"dit step {step + 1}/{final_step} loss {loss.item():.4f}{text_note} ({time.time() - start:.0f} s)")
        if checkpoint_every and (step + 1) % checkpoint_every == 0 and step + 1 < final_step:
            save(step + 1)
    save(max(first_step, final_step))


def export(config, out, destination):
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import UMT5EncoderModel
    # The shift the transformer last trained with (see --flow-shift), for the sampler's steps.
    progress_file = os.path.join(out, "dit_progress.json")
    progress = {}
    if os.path.exists(progress_file):
        with open(progress_file) as f:
            progress = json.load(f)
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True,
                                        flow_shift=progress.get("flow_shift", config.flow_shift),
                                        solver_order=2, solver_type="bh2", lower_order_final=True, final_sigmas_type="zero")
    transformer = WanTransformer3DModel.from_pretrained(os.path.join(out, "transformer"))
    # diffusers' per-token timestep expansion (Wan 2.2 TI2V) assumes 2x2 patches; with other patches
    # the folder asks for one timestep per step, which is the same thing for text-to-video.
    expand = tuple(transformer.config.patch_size[1:]) == (2, 2)
    vae = AutoencoderKLWan.from_pretrained(os.path.join(out, "vae"))
    # WanPipeline sizes its latents by these (diffusers' defaults are Wan 2.1's 8x and 4x); the `cpu`
    # VAE compresses 4x in space, and with the default diffusers made latents for the wrong size.
    levels = len(vae.config.dim_mult) - 1
    vae.register_to_config(scale_factor_spatial=2 ** levels,
                           scale_factor_temporal=2 ** sum(vae.config.temperal_downsample[:levels]))
    pipe = WanPipeline(tokenizer=load_tokenizer(out),
                       text_encoder=UMT5EncoderModel.from_pretrained(os.path.join(out, "text_encoder")),
                       vae=vae,
                       transformer=transformer, scheduler=scheduler, expand_timesteps=expand)
    card_file = os.path.join(destination, "moviola.json")
    # A folder exported over keeps its `limits` sentences (English and Chinese, written by hand after
    # benchmarking) until the new model is benchmarked and they are rewritten: better a stale warning than none.
    previous = json.load(open(card_file)) if os.path.exists(card_file) else {}
    limits = {key: previous[key] for key in ("limits", "limits_zh") if previous.get(key)}
    if os.path.exists(destination):
        shutil.rmtree(destination)
    pipe.save_pretrained(destination, safe_serialization=True)
    shutil.copy(os.path.join(out, "tokenizer", "spiece.model"), os.path.join(destination, "tokenizer", "spiece.model"))
    # The text length the transformer last trained with: it only behaves with the padding it learned.
    max_sequence_length = progress.get("max_sequence_length", config.max_sequence_length)
    transformer_steps = progress.get("steps")
    with open(card_file, "w") as f:
        json.dump({"config": config.name, "short_side": config.short_side, "frames": config.frames, "fps": config.fps,
                   "output_short_side": config.output_short_side or config.short_side,
                   "output_fps": config.output_fps or config.fps,
                   "steps": 20, "aspects": list(config.aspects), "max_sequence_length": max_sequence_length,
                   "transformer_steps": transformer_steps, "vocabulary": vocabulary(),
                   **limits}, f, indent=1, ensure_ascii=False)
    log(f"exported {destination}")


def import_pipeline(source, out, transformer_steps=None):
    """Starts the working folder `out` from an exported pipeline folder (such as models/moviola-mini),
    so the later stages (`--stage dit --resume`, `--stage vae-decoder`) go on training that model.
    The optimizer's state is not in an export: a resumed run starts it afresh."""
    card_file = os.path.join(source, "moviola.json")
    if not os.path.isfile(card_file) or not os.path.isfile(os.path.join(source, "model_index.json")):
        raise SystemExit(f"{source} is not an exported pipeline folder (no model_index.json and moviola.json)")
    with open(card_file) as f:
        card = json.load(f)
    steps = transformer_steps if transformer_steps is not None else card.get("transformer_steps")
    if steps is None:
        raise SystemExit(f"{card_file} does not say how many steps its transformer trained: pass --import-steps N")
    parts = ("tokenizer", "vae", "text_encoder", "transformer")
    missing = [part for part in parts if not os.path.isdir(os.path.join(source, part))]
    if missing:  # checked before copying anything, so a refused import leaves `out` as it was
        raise SystemExit(f"{source} has no {', '.join(part + '/' for part in missing)} folder")
    for part in parts:
        target = os.path.join(out, part)
        if os.path.exists(target):
            shutil.rmtree(target)
        shutil.copytree(os.path.join(source, part), target)
    # The optimizer's moments belong to other weights; a latent cache is keyed by its VAE and stays.
    if os.path.exists(os.path.join(out, "dit_optimizer.pt")):
        os.remove(os.path.join(out, "dit_optimizer.pt"))
    with open(os.path.join(out, "dit_progress.json"), "w") as f:
        progress = {"steps": steps, "seconds": 0, "max_sequence_length": card.get("max_sequence_length")}
        scheduler_file = os.path.join(source, "scheduler", "scheduler_config.json")
        if os.path.isfile(scheduler_file):
            with open(scheduler_file) as g:
                progress["flow_shift"] = json.load(g).get("flow_shift")
        json.dump({k: v for k, v in progress.items() if v is not None}, f)
    log(f"imported {source} into {out} (transformer trained {steps} steps)")


def crop_phases(text):
    """`3000x1,600x5` → ((3000, 1), (600, 5)); `none` → ()."""
    if text.strip().lower() in ("", "none"):
        return ()
    phases = []
    for part in text.split(","):
        steps, _, frames = part.strip().partition("x")
        if not (steps.isdigit() and frames.isdigit()) or int(frames) % 4 != 1:
            raise argparse.ArgumentTypeError(f"'{part}' is not STEPSxFRAMES with FRAMES of the form 4k+1 (1, 5, 9, …)")
        phases.append((int(steps), int(frames)))
    return tuple(phases)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", choices=sorted(CONFIGS), default="mini")
    p.add_argument("--out", required=True, help="working folder for the stages")
    p.add_argument("--export", help="pipeline folder to write (default OUT/pipeline)")
    p.add_argument("--stage", choices=["all", "tokenizer", "vae", "vae-decoder", "text", "dit", "export"], default="all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--vae-steps", type=int)
    p.add_argument("--text-steps", type=int, help="steps of the text encoder's attribute pretraining (--stage text)")
    p.add_argument("--text-aux-weight", type=float,
                   help="transformer stage: weight of the text encoder's attribute loss added to flow matching")
    p.add_argument("--dit-steps", type=int)
    p.add_argument("--dit-batch", type=int, help="clips in a transformer step")
    p.add_argument("--latent-cache-clips", type=int)
    p.add_argument("--data-workers", type=int, default=0,
                   help="transformer stage without a latent cache: render the clips in N worker processes (for a GPU "
                        "machine's cores; the batches are the same as with 0)")
    p.add_argument("--time-budget", type=float, metavar="SECONDS",
                   help="transformer stage: fit the run's last step to this many seconds of training, timed on its "
                        "first steps (the rate still decays to zero at the end with --dit-decay-steps)")
    p.add_argument("--max-sequence-length", type=int, help="text tokens the transformer sees (prompts are zero-padded to it)")
    p.add_argument("--dit-lr", type=float)
    p.add_argument("--flow-shift", type=float,
                   help="transformer stage: the shift of its noise levels (higher: more steps near pure noise, where "
                        "a clip's content is decided); the export's sampler uses the one trained last")
    p.add_argument("--dit-decay-steps", type=int, help="lower the transformer's rate linearly to zero over its last N steps")
    p.add_argument("--object-loss-weight", type=float, help="extra loss weight on latent cells covered by objects")
    p.add_argument("--first-frame-loss-weight", type=float,
                   help="transformer stage: the loss weight of latent frame 0 (the first video frame, encoded alone)")
    p.add_argument("--first-frame-balance", type=float, metavar="CAP",
                   help="transformer stage: weight each channel of latent frame 0 by its spread in later frames over "
                        "its spread in frame 0, capped at CAP (0: off)")
    p.add_argument("--vae-object-weights", action="store_true", default=None,
                   help="weight the VAE's reconstruction loss on object pixels too")
    p.add_argument("--vae-frames", type=int, help="clip length for VAE training")
    p.add_argument("--vae-lr", type=float)
    p.add_argument("--vae-long-steps", type=int, help="steps of the second VAE phase, on --vae-long-frames clips")
    p.add_argument("--vae-long-frames", type=int)
    p.add_argument("--vae-decoder-steps", type=int, help="steps of the decoder-only fine-tune on full-length clips")
    p.add_argument("--vae-crop-phases", type=crop_phases, metavar="STEPSxFRAMES,...",
                   help="VAE phases on object-centred crops, e.g. 3000x1,600x5 ('none': no crop phase); with "
                        "--resume-vae they run on the saved VAE before the long phase")
    p.add_argument("--resume-vae", action="store_true", help="go on training the VAE saved in --out: the crop phases given with --vae-crop-phases, then the long phase")
    p.add_argument("--resume", action="store_true", help="continue the transformer stage from its last checkpoint in --out")
    p.add_argument("--import-pipeline", metavar="DIR",
                   help="first fill --out from an exported pipeline folder (e.g. models/moviola-mini), to go on training it "
                        "with a later --stage; with --stage all (the default) it only imports")
    p.add_argument("--import-steps", type=int, help="with --import-pipeline: the steps its transformer trained, where its moviola.json does not say")
    p.add_argument("--checkpoint-every", type=int, default=200, help="save progress every N steps: the text encoder and transformer, a VAE fine-tune (--resume-vae), the VAE decoder")
    a = p.parse_args(argv)
    config = CONFIGS[a.config]
    overrides = {k: v for k, v in {"vae_steps": a.vae_steps, "dit_steps": a.dit_steps, "dit_batch": a.dit_batch,
                                      "text_steps": a.text_steps, "text_aux_weight": a.text_aux_weight,
                                      "latent_cache_clips": a.latent_cache_clips, "vae_frames": a.vae_frames,
                                      "max_sequence_length": a.max_sequence_length, "dit_lr": a.dit_lr, "flow_shift": a.flow_shift,
                                      "dit_decay_steps": a.dit_decay_steps, "object_loss_weight": a.object_loss_weight,
                                      "first_frame_loss_weight": a.first_frame_loss_weight,
                                      "first_frame_balance": a.first_frame_balance,
                                      "vae_object_weights": a.vae_object_weights,
                                      "vae_lr": a.vae_lr, "vae_long_steps": a.vae_long_steps,
                                      "vae_long_frames": a.vae_long_frames,
                                      "vae_decoder_steps": a.vae_decoder_steps,
                                      "vae_crop_phases": a.vae_crop_phases}.items() if v is not None}
    if overrides:
        config = config.__class__(**{**config.__dict__, **overrides})
    if a.threads:
        torch.set_num_threads(a.threads)
    os.makedirs(a.out, exist_ok=True)
    started = time.time()
    if a.import_pipeline:
        import_pipeline(a.import_pipeline, a.out, a.import_steps)
        if a.stage == "all":
            return
    if a.stage in ("all", "tokenizer"):
        train_tokenizer(config, a.out, a.seed)
    if a.stage in ("all", "vae"):
        train_vae(config, a.out, a.seed, a.device, a.resume_vae, a.checkpoint_every, a.vae_crop_phases or ())
    if a.stage in ("all", "vae-decoder") and config.vae_decoder_steps:
        train_vae_decoder(config, a.out, a.seed, a.device, a.checkpoint_every)
    if a.stage in ("all", "text") and config.text_steps:
        train_text_encoder(config, a.out, a.seed, a.device, a.checkpoint_every)
    if a.stage in ("all", "dit"):
        train_dit(config, a.out, a.seed, a.device, a.checkpoint_every, a.resume, a.data_workers, a.time_budget or 0)
    if a.stage in ("all", "export"):
        export(config, a.out, a.export or os.path.join(a.out, "pipeline"))
    log(f"done in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
