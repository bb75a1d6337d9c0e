"""The one place that reads :class:`Stylegan2Config` and turns it into networks."""

from __future__ import annotations

import copy

import torch
from torch import nn

from dtgan.gans.stylegan2.config import Stylegan2Config
from dtgan.gans.stylegan2.discriminator import Discriminator
from dtgan.gans.stylegan2.generator import Generator, block_resolutions


def generator_kwargs(cfg: Stylegan2Config, image_size: int, image_channels: int, num_classes: int) -> dict:
    """Everything needed to rebuild the generator; stored in the model's config.json."""
    return {
        "z_dim": cfg.z_dim,
        "w_dim": cfg.w_dim,
        "num_classes": num_classes,
        "image_size": image_size,
        "image_channels": image_channels,
        "channel_base": cfg.channel_base,
        "channel_max": cfg.channel_max,
        "mapping_layers": cfg.mapping_layers,
        "mapping_lr_mult": cfg.mapping_lr_mult,
    }


def parameter_count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def discriminator_kwargs(cfg: Stylegan2Config, image_size: int, image_channels: int, num_classes: int) -> dict:
    return {
        "num_classes": num_classes,
        "image_size": image_size,
        "image_channels": image_channels,
        "channel_base": cfg.channel_base,
        "channel_max": cfg.channel_max,
        "mbstd_group": cfg.mbstd_group,
        "mapping_layers": cfg.mapping_layers,
        "mapping_lr_mult": cfg.mapping_lr_mult,
    }


def build_networks(
    cfg: Stylegan2Config, image_size: int, image_channels: int, num_classes: int, seed: int
) -> dict[str, nn.Module]:
    """``{"generator", "discriminator", "generator_ema"}``, initialised from ``seed`` without touching torch's
    global RNG state. The EMA generator starts as an exact copy of the generator and never receives gradients.
    """
    block_resolutions(image_size)  # raises a clear error for sizes the networks cannot build
    if image_channels not in (1, 3):
        msg = f"image_channels must be 1 or 3, got {image_channels}"
        raise ValueError(msg)
    if num_classes < 1:
        msg = f"num_classes must be >= 1, got {num_classes}"
        raise ValueError(msg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = Generator(**generator_kwargs(cfg, image_size, image_channels, num_classes))
        discriminator = Discriminator(**discriminator_kwargs(cfg, image_size, image_channels, num_classes))
    ema = copy.deepcopy(generator).requires_grad_(False)
    return {"generator": generator, "discriminator": discriminator, "generator_ema": ema}
