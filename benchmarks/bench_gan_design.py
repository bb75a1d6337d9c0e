"""Why the CPU default turns off instance norm in G's encoder (gan.encoder_norm): autoencoding capacity.

Trains only the generator of variant (e) to reproduce its input (G(x, s=0, d=0) ~ x, L1) for a few hundred Adam
steps on the GAN training images of the default run, with and without IN in the encoder, and compares the held-out
L1 with the per-image-mean predictor (a flat image of the right colour). The background decoder has no style input,
so whatever the encoder's IN removes (each image's mean colour and contrast) must be rebuilt from the shortcuts.

    python benchmarks/bench_gan_design.py --steps 300   # after `dvc repro prepare split`
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from dtgan.data import images_to_tensor, load_prepared, load_split
from dtgan.models.build import build_nets
from dtgan.params import load_section
from dtgan.training.config import GanConfig


def autoencode(cfg: GanConfig, images: torch.Tensor, held_out: torch.Tensor, steps: int, lr: float) -> float:
    g = build_nets(cfg, images.shape[-1], 3, 3, seed=1).generator
    opt = torch.optim.Adam(g.parameters(), lr=lr, betas=(0.0, 0.99))
    rng = torch.Generator().manual_seed(0)

    def codes(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.zeros(n, cfg.style_dim), torch.zeros(n, cfg.fg_channels, 16, 16)

    for _ in range(steps):
        batch = images[torch.randint(len(images), (cfg.batch_size,), generator=rng)]
        loss = (g(batch, *codes(len(batch))) - batch).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return float((g(held_out, *codes(len(held_out))) - held_out).abs().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--prepared", default="data/prepared")
    parser.add_argument("--splits", default="data/splits")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    prepared = load_prepared(args.prepared)
    train = images_to_tensor(prepared.images[load_split(args.splits, "gan_train")["cache_index"].to_numpy()])
    held = images_to_tensor(prepared.images[load_split(args.splits, "val")["cache_index"].to_numpy()])
    cfg = load_section(GanConfig, args.params, "gan")
    flat = float((held - held.mean((2, 3), keepdim=True)).abs().mean())
    print(f"held-out images: {len(held)}; per-image-mean predictor L1 = {flat:.4f}")
    for norm in (True, False):
        start = time.perf_counter()
        l1 = autoencode(dataclasses.replace(cfg, encoder_norm=norm), train, held, args.steps, args.lr)
        seconds = time.perf_counter() - start
        print(f"encoder_norm={norm!s:5}  {args.steps} steps  held-out L1 = {l1:.4f}  ({seconds:.0f} s)")


if __name__ == "__main__":
    main()
