"""The one place that reads ``GanConfig`` and turns it into networks (StarGAN v2 ``build_model`` pattern)."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from dtgan.errors import ParamsError
from dtgan.gans.dtgan.config import GanConfig
from dtgan.gans.dtgan.nets.blocks import CODE_SIZE
from dtgan.gans.dtgan.nets.discriminator import Discriminator
from dtgan.gans.dtgan.nets.encoder import StyleDefectEncoder
from dtgan.gans.dtgan.nets.generator import Generator
from dtgan.gans.dtgan.nets.mapping import MappingNetwork
from dtgan.gans.dtgan.variants import variant_flags

MIN_IMAGE_SIZE = 32  # 16x16 code, and E and D pool it down to 4x4 before their 4x4 conv


@dataclass
class GanNets:
    """Plain container of the four networks; ``discriminator`` is None in EMA copies."""

    generator: Generator
    mapping: MappingNetwork
    encoder: StyleDefectEncoder
    discriminator: Discriminator | None

    def ema_copy(self) -> GanNets:
        """Deep copies of generator, mapping and encoder (equal values, separate parameters) for the EMA."""
        return GanNets(
            generator=copy.deepcopy(self.generator),
            mapping=copy.deepcopy(self.mapping),
            encoder=copy.deepcopy(self.encoder),
            discriminator=None,
        )

    def as_dict(self) -> dict[str, nn.Module]:
        """Name -> module for the networks present (for optimisers, checkpoints, .to(device))."""
        names = ("generator", "mapping", "encoder", "discriminator")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    def parameter_counts(self) -> dict[str, int]:
        return {name: sum(p.numel() for p in net.parameters()) for name, net in self.as_dict().items()}


def he_init(module: nn.Module) -> None:
    """StarGAN v2 he_init: kaiming-normal (fan_in, relu) weights and zero biases on every Conv2d and Linear."""
    if isinstance(module, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        if module.bias is not None:
            nn.init.constant_(module.bias, 0)


FUSION_INIT_STD = 0.02


def init_fusion(fuse: nn.Conv2d) -> None:
    """Small-normal init of DT-GAN's fusion layer (its init is not stated), so G starts from a near-flat grey image.

    With He init the 1x1 fusion conv turns the concatenated features into a noise image of std ~1, which the
    reconstruction signals must first undo: training G + E to reconstruct for 300 steps reached held-out PSNR
    22.3 dB from He init, below a flat mean-colour image (24.6 dB), and 31.6 dB from N(0, 0.02)
    (`python -m benchmarks.bench_gan_design`).
    """
    nn.init.normal_(fuse.weight, std=FUSION_INIT_STD)
    if fuse.bias is not None:
        nn.init.zeros_(fuse.bias)


def init_noise_weights(mapping: MappingNetwork, weight: float, max_side: int) -> None:
    """Start M's noise injections on maps of side <= ``max_side`` at ``weight`` and the finer ones at 0."""
    for branch in (mapping.defect_branches or {}).values():
        for side, noise in branch.noise_injections():
            nn.init.constant_(noise.weight, weight if side <= max_side else 0.0)


def build_nets(
    cfg: GanConfig, variant: str, image_size: int, num_domains: int, num_products: int, seed: int | None = None,
    image_channels: int = 3,
) -> GanNets:
    """Build G, M, E, D of ablation ``variant`` with He init. ``seed`` (optional) makes the init reproducible
    without touching torch's global RNG; without it the global RNG is used (seed it with seed_everything).
    ``image_channels`` follows the data: 3, or 1 for grayscale data (MTD), so grey inputs give grey outputs."""
    flags = variant_flags(variant)
    _check_build_args(cfg, flags.style_defect_branches, image_size, num_domains, num_products)
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        nets = GanNets(
            generator=Generator(
                image_size, cfg.style_dim, cfg.max_channels, cfg.fg_channels,
                defect_code=flags.style_defect_branches, separate_decoding=flags.separate_decoding,
                from_rgb_kernel=3 if flags.stargan_v2 else 1, encoder_norm=cfg.encoder_norm,
                fg_relative=cfg.fg_relative, image_channels=image_channels,
            ),
            mapping=MappingNetwork(
                cfg.latent_dim, cfg.style_dim, num_domains, cfg.mapping_hidden, cfg.max_channels, cfg.fg_channels,
                CODE_SIZE, defect_branches=flags.style_defect_branches, anchor_and_noise=flags.anchor_and_noise,
                defect_start_size=cfg.defect_start_size,
            ),
            encoder=StyleDefectEncoder(
                image_size, cfg.style_dim, num_domains, cfg.max_channels, cfg.fg_channels,
                defect_branch=flags.style_defect_branches, anchor=flags.anchor_and_noise, stargan_stem=flags.stargan_v2,
                image_channels=image_channels,
            ),
            discriminator=Discriminator(
                image_size, num_domains, num_products, cfg.max_channels, cfg.fg_channels,
                classifiers=flags.fg_bg_classifiers, stargan_stem=flags.stargan_v2, image_channels=image_channels,
            ),
        )
        for net in nets.as_dict().values():
            net.apply(he_init)
        init_noise_weights(nets.mapping, cfg.noise_init, cfg.noise_init_max_size)
        if flags.separate_decoding:
            init_fusion(nets.generator.fuse)
    return nets


def _check_build_args(cfg: GanConfig, defect_code: bool, image_size: int, num_domains: int,
                      num_products: int) -> None:
    """User errors (params values) as ParamsError; impossible label counts stay ValueErrors (a bug upstream)."""
    if image_size < MIN_IMAGE_SIZE or image_size & (image_size - 1):
        msg = f"data.image_size must be a power of two >= {MIN_IMAGE_SIZE} for the GAN, got {image_size}"
        raise ParamsError(msg)
    if cfg.max_channels % 8:
        msg = f"gan.max_channels must be a multiple of 8 (widths use max/8 .. max), got {cfg.max_channels}"
        raise ParamsError(msg)
    if defect_code and not 0 < cfg.fg_channels < cfg.max_channels:
        msg = f"gan.fg_channels must lie in (0, gan.max_channels={cfg.max_channels}), got {cfg.fg_channels}"
        raise ParamsError(msg)
    if num_domains < 2:
        msg = f"num_domains must be >= 2 (Normal + at least one defect type), got {num_domains}"
        raise ValueError(msg)
    if num_products < 1:
        msg = f"num_products must be >= 1, got {num_products}"
        raise ValueError(msg)
