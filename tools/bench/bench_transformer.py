#!/usr/bin/env python3
"""Peer for `moviola bench transformer`: one denoising step (prompt and negative-prompt forward
passes) of diffusers' WanTransformer3DModel on the CPU in float32, random weights, the same
shapes Moviola runs. Prints one JSON line with the median seconds per step."""
import argparse
import json
import time

import torch
from diffusers import WanTransformer3DModel


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--heads", type=int, required=True)
    p.add_argument("--head-dim", type=int, required=True)
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--ffn-dim", type=int, required=True)
    p.add_argument("--text-dim", type=int, default=4096)
    p.add_argument("--freq-dim", type=int, default=256)
    p.add_argument("--latent", required=True, help="TxHxW latent size")
    p.add_argument("--text-tokens", type=int, default=512)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    t, h, w = (int(x) for x in a.latent.split("x"))
    model = WanTransformer3DModel(num_attention_heads=a.heads, attention_head_dim=a.head_dim, num_layers=a.layers,
                                  ffn_dim=a.ffn_dim, text_dim=a.text_dim, freq_dim=a.freq_dim, in_channels=16,
                                  out_channels=16).eval()
    latents = torch.randn(1, 16, t, h, w)
    text = torch.randn(1, a.text_tokens, a.text_dim)
    negative = torch.randn(1, a.text_tokens, a.text_dim)
    timestep = torch.tensor([900.0])
    times = []
    with torch.inference_mode():
        for _ in range(a.steps):
            start = time.perf_counter()
            model(hidden_states=latents, timestep=timestep, encoder_hidden_states=text, return_dict=False)
            model(hidden_states=latents, timestep=timestep, encoder_hidden_states=negative, return_dict=False)
            times.append(time.perf_counter() - start)
    times.sort()
    print(json.dumps({"seconds_per_step": times[len(times) // 2], "torch": torch.__version__.split("+")[0]}))


if __name__ == "__main__":
    main()
