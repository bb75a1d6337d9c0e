"""Why DT-GAN's fusion layer is a plain 1x1 conv with a small init: reconstruction capacity in a short budget.

Trains G and E of variant (e) to rebuild real images through the translation path, G(x, E_y(x)) ~ x (L1, the
warm-up objective's reconstruction term), for a few hundred Adam steps on the GAN training images of the default
run, once per fusion design, and reports held-out L1 and PSNR beside the per-image-mean predictor (a flat image of
each source's mean colour):
- ``in_lrelu_conv_he``: spec §10's guess, StarGAN v2's to_rgb (IN -> LReLU -> 1x1 conv), He init;
- ``in_lrelu_conv_small``: the same with the conv initialised N(0, 0.02);
- ``conv_he``: the supplement's 1x1 conv alone, He init (StarGAN v2's he_init everywhere);
- ``conv_small``: the 1x1 conv with the N(0, 0.02) init that dtgan uses (dtgan.gans.dtgan.nets.build.init_fusion).

    python -m benchmarks.bench_gan_design --steps 300   # after `dvc repro split`
"""

from __future__ import annotations

import argparse
import logging
import time

import torch
from torch import nn

from dtgan.constants import DOMAIN_INDEX
from dtgan.data.cache import load_prepared
from dtgan.data.split import load_split
from dtgan.data.tensors import images_to_tensor
from dtgan.gans.dtgan.config import GanConfig
from dtgan.gans.dtgan.nets.build import build_nets, he_init, init_fusion
from dtgan.params import load_section
from dtgan.runtime import setup_logging

log = logging.getLogger(__name__)

DESIGNS = ("in_lrelu_conv_he", "in_lrelu_conv_small", "conv_he", "conv_small")


def fusion_layer(design: str, channels: int) -> nn.Module | None:
    """The fusion layer of ``design``; None keeps the one build_nets made (the dtgan default)."""
    if design.startswith("in_lrelu_conv"):
        conv = nn.Conv2d(channels, 3, 1)
        layer: nn.Module = nn.Sequential(nn.InstanceNorm2d(channels, affine=True), nn.LeakyReLU(0.2), conv)
    elif design == "conv_he":
        conv = layer = nn.Conv2d(channels, 3, 1)
    else:
        return None
    layer.apply(he_init)
    if design.endswith("_small"):
        init_fusion(conv)
    return layer


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean PSNR (dB) of [-1, 1] images, on the 0-255 scale."""
    mse = ((a - b) / 2 * 255).pow(2).flatten(1).mean(1)
    return float((10 * torch.log10(255**2 / mse.clamp_min(1e-10))).mean())


def reconstruct(cfg: GanConfig, design: str, data: tuple, held: tuple, steps: int) -> tuple[float, float]:
    nets = build_nets(cfg, "e", data[0].shape[-1], 3, 3, seed=1)
    g, e = nets.generator, nets.encoder
    torch.manual_seed(1)  # he_init of a replacement layer draws from the global RNG
    replacement = fusion_layer(design, g.max_channels)
    if replacement is not None:
        g.fuse = replacement
    opt = torch.optim.Adam([*g.parameters(), *e.parameters()], lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    rng = torch.Generator().manual_seed(0)
    images, domains = data
    for _ in range(steps):
        rows = torch.randint(len(images), (cfg.batch_size,), generator=rng)
        x, y = images[rows], domains[rows]
        loss = (g(x, *e(x, y)) - x).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        x, y = held
        out = g(x, *e(x, y))
        return float((out - x).abs().mean()), psnr(out, x)


def domain_tensor(frame) -> torch.Tensor:
    return torch.as_tensor(frame["domain"].map(DOMAIN_INDEX).to_numpy().copy())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--prepared", default="data/prepared")
    parser.add_argument("--splits", default="data/splits")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    setup_logging()
    prepared = load_prepared(args.prepared)
    train, val = load_split(args.splits, "gan_train"), load_split(args.splits, "val")
    data = (images_to_tensor(prepared.images[train["cache_index"].to_numpy()]), domain_tensor(train))
    held = (images_to_tensor(prepared.images[val["cache_index"].to_numpy()]), domain_tensor(val))
    cfg = load_section(GanConfig, args.params, "gan")
    x = held[0]
    flat = x.mean((2, 3), keepdim=True).expand_as(x)
    log.info("%d held-out images; per-image-mean predictor: L1 %.4f, PSNR %.2f dB", len(x),
             float((flat - x).abs().mean()), psnr(flat, x))
    for design in DESIGNS:
        start = time.perf_counter()
        l1, db = reconstruct(cfg, design, data, held, args.steps)
        log.info("%-17s %d steps: held-out L1 %.4f, PSNR %.2f dB (%.0f s)", design, args.steps, l1, db,
                 time.perf_counter() - start)


if __name__ == "__main__":
    main()
