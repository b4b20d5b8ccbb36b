#!/usr/bin/env python3
"""Peer for `moviola bench pipeline`: builds (once) a random-weight Wan pipeline of a small but
real configuration in the diffusers folder layout, and times diffusers' WanPipeline on it on the
CPU in float32: text encoding, one denoising step, VAE decode, end to end, and peak memory.
Moviola loads the very same folder, so both run identical weights.

  python3 tools/bench/bench_pipeline.py --make DIR         # write the pipeline folder
  python3 tools/bench/bench_pipeline.py --run DIR [...]    # time diffusers, print one JSON line
"""
import argparse
import json
import os
import resource
import time

import torch

CONFIG = {
    "text_encoder": dict(vocab_size=240, d_model=256, d_kv=64, num_heads=4, d_ff=512, num_layers=4),
    "transformer": dict(num_attention_heads=6, attention_head_dim=64, num_layers=8, ffn_dim=1536, in_channels=16,
                        out_channels=16, text_dim=256, freq_dim=256, patch_size=(1, 2, 2)),
    "vae": dict(base_dim=32, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=2, temperal_downsample=[False, True, True]),
}


def make(folder, tokenizer_json):
    from diffusers import AutoencoderKLWan, UniPCMultistepScheduler, WanPipeline, WanTransformer3DModel
    from transformers import PreTrainedTokenizerFast, UMT5Config, UMT5EncoderModel
    torch.manual_seed(0)
    tokenizer = PreTrainedTokenizerFast(tokenizer_file=tokenizer_json, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    text_encoder = UMT5EncoderModel(UMT5Config(**CONFIG["text_encoder"])).eval()
    transformer = WanTransformer3DModel(**CONFIG["transformer"]).eval()
    vae = AutoencoderKLWan(**CONFIG["vae"]).eval()
    scheduler = UniPCMultistepScheduler(prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0)
    WanPipeline(tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, scheduler=scheduler,
                transformer=transformer).save_pretrained(folder, safe_serialization=True)


def run(folder, frames, width, height, steps, threads, prompt):
    from diffusers import WanPipeline
    torch.set_num_threads(threads)
    pipe = WanPipeline.from_pretrained(folder, torch_dtype=torch.float32)
    generator = torch.Generator().manual_seed(0)
    result = {}
    with torch.inference_mode():
        start = time.perf_counter()
        prompt_embeds, negative_embeds = pipe.encode_prompt(prompt=prompt, negative_prompt="", do_classifier_free_guidance=True)
        result["text_encoding"] = time.perf_counter() - start
        shape = (1, 16, (frames - 1) // 4 + 1, height // 8, width // 8)
        latents = torch.randn(shape, generator=generator)
        start = time.perf_counter()
        latents = pipe(prompt_embeds=prompt_embeds, negative_prompt_embeds=negative_embeds, latents=latents,
                       num_inference_steps=steps, guidance_scale=5.0, height=height, width=width, num_frames=frames,
                       output_type="latent", return_dict=False)[0]
        result["per_step"] = (time.perf_counter() - start) / steps
        start = time.perf_counter()
        mean = torch.tensor(pipe.vae.config.latents_mean).view(1, 16, 1, 1, 1)
        std = 1.0 / torch.tensor(pipe.vae.config.latents_std).view(1, 16, 1, 1, 1)
        pipe.vae.decode(latents / std + mean, return_dict=False)
        result["vae_decode"] = time.perf_counter() - start
    result["end_to_end"] = result["text_encoding"] + steps * result["per_step"] + result["vae_decode"]
    result["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["torch"] = torch.__version__.split("+")[0]
    print(json.dumps(result))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--make")
    p.add_argument("--tokenizer", default=os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures", "tokenizer", "tokenizer.json"))
    p.add_argument("--run")
    p.add_argument("--frames", type=int, default=33)
    p.add_argument("--size", default="256x256")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--prompt", default="a red ball bounces on the grass")
    a = p.parse_args()
    if a.make:
        make(a.make, a.tokenizer)
    if a.run:
        w, h = (int(x) for x in a.size.split("x"))
        run(a.run, a.frames, w, h, a.steps, a.threads, a.prompt)


if __name__ == "__main__":
    main()
