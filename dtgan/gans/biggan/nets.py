"""BigGAN's generator and projection discriminator, and the one builder that reads the config.

Channel plans follow BigGAN-PyTorch's architecture tables: at 64 and 128 px the ImageNet ladders (G widths
ch x 16, 16, 8, 4, 2, 1 from 4x4 up; D widths ch x 1, 2, 4, 8, 16 down to 4x4 plus one non-down-sampling block
at ch x 16), at 32 px the CIFAR architecture (every width 4 ch; D down-samples twice, then two blocks at 8x8).
16 px, which BigGAN has no table for, uses the CIFAR plan with one G block fewer.
"""

from __future__ import annotations

import logging
import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dtgan.gans.biggan.config import BigganConfig
from dtgan.gans.biggan.layers import BN_EPS, DBlock, GBlock, SelfAttention, sn, sn_conv, sn_linear

log = logging.getLogger(__name__)

BOTTOM_WIDTH = 4  # G's linear layer outputs a 4x4 map; D ends at 4x4 (64/128 px) or 8x8 (16/32 px)
IMAGENET_G = (16, 16, 8, 4, 2, 1)
IMAGENET_D = (1, 2, 4, 8, 16)
CIFAR_WIDTH = 4  # every width is 4 ch in BigGAN's 32 px (CIFAR) architecture


def _check_size(image_size: int) -> int:
    """log2 of the image size; only powers of two from 16 to 128 have a channel plan."""
    if image_size not in (16, 32, 64, 128):
        msg = f"BigGAN supports image sizes 16, 32, 64 and 128 (powers of two), got {image_size}"
        raise ValueError(msg)
    return int(math.log2(image_size))


def generator_plan(channels: int, image_size: int) -> list[tuple[int, int]]:
    """(in, out) widths of G's up-sampling blocks, from 4x4 to ``image_size``."""
    num_blocks = _check_size(image_size) - 2
    if image_size <= 32:
        return [(CIFAR_WIDTH * channels, CIFAR_WIDTH * channels)] * num_blocks
    ladder = [channels * m for m in IMAGENET_G[: num_blocks + 1]]
    return list(zip(ladder[:-1], ladder[1:], strict=True))


def discriminator_plan(channels: int, image_size: int, image_channels: int) -> list[tuple[int, int, bool]]:
    """(in, out, downsample) of D's residual blocks."""
    num_down = _check_size(image_size) - 2
    if image_size <= 32:
        widths, downs = [CIFAR_WIDTH * channels] * 4, [True, True, False, False]
    else:
        widths = [channels * m for m in IMAGENET_D[:num_down]] + [channels * IMAGENET_D[-1]]
        downs = [True] * num_down + [False]
    ins = [image_channels, *widths[:-1]]
    return list(zip(ins, widths, downs, strict=True))


def _attention_index(resolutions: list[int], attention_resolution: int, net: str) -> int:
    """Index of the first block whose output has ``attention_resolution``; -1 when attention is off.

    G has a block at every resolution from 8 to the image size, so a resolution G lacks is an error. D's blocks
    start at half the image size: like BigGAN-PyTorch's tables, D simply has no attention at a resolution it lacks
    (e.g. 64 in a 64 px model).
    """
    if attention_resolution == 0:
        return -1
    if attention_resolution in resolutions:
        return resolutions.index(attention_resolution)
    if net == "G":
        msg = f"G has no block at attention_resolution {attention_resolution} (its blocks output {resolutions})"
        raise ValueError(msg)
    log.info("D has no block at attention_resolution %d (its blocks output %s): no attention in D",
             attention_resolution, resolutions)
    return -1


class Generator(nn.Module):
    """G(z, y): hierarchical z (one chunk for the 4x4 linear layer, one per block) and a shared class embedding;
    each block's conditional BatchNorms see [embedding(y), its z chunk]. Output in [-1, 1] (tanh)."""

    def __init__(self, image_size: int = 128, image_channels: int = 3, num_classes: int = 1, channels: int = 96,
                 z_dim: int = 120, shared_dim: int = 128, attention_resolution: int = 0) -> None:
        super().__init__()
        plan = generator_plan(channels, image_size)
        self.num_chunks = len(plan) + 1
        self.chunk = z_dim // self.num_chunks
        if self.chunk < 1:
            msg = f"z_dim {z_dim} is too small to split into {self.num_chunks} chunks (one per G block + 1)"
            raise ValueError(msg)
        # As BigGAN: z_dim is rounded down to a multiple of the chunk count (120 splits evenly at every size).
        self.z_dim = self.chunk * self.num_chunks
        self.image_channels, self.image_size, self.num_classes = image_channels, image_size, num_classes
        # Not spectrally normalised: BigGAN found that SN on G's embedding cripples G.
        self.shared = nn.Embedding(num_classes, shared_dim)
        nn.init.orthogonal_(self.shared.weight)
        self.linear = sn_linear(self.chunk, plan[0][0] * BOTTOM_WIDTH**2)
        self.blocks = nn.ModuleList(GBlock(i, o, shared_dim + self.chunk) for i, o in plan)
        resolutions = [BOTTOM_WIDTH * 2 ** (k + 1) for k in range(len(plan))]
        self.attention_index = _attention_index(resolutions, attention_resolution, "G")
        out = plan[self.attention_index][1] if self.attention_index >= 0 else 0
        self.attention = SelfAttention(out) if self.attention_index >= 0 else None
        self.out_norm = nn.BatchNorm2d(plan[-1][1], eps=BN_EPS)
        self.out_conv = sn_conv(plan[-1][1], image_channels)

    def forward(self, z: Tensor, labels: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != self.z_dim or labels.shape != (z.shape[0],):
            msg = f"G expects z (N, {self.z_dim}) and labels (N,), got {tuple(z.shape)} and {tuple(labels.shape)}"
            raise ValueError(msg)
        chunks = z.split(self.chunk, dim=1)
        embedding = self.shared(labels)  # (N, shared_dim)
        h = self.linear(chunks[0]).view(z.shape[0], -1, BOTTOM_WIDTH, BOTTOM_WIDTH)
        for k, block in enumerate(self.blocks):
            h = block(h, torch.cat([embedding, chunks[k + 1]], dim=1))
            if k == self.attention_index:
                h = self.attention(h)
        return torch.tanh(self.out_conv(F.relu(self.out_norm(h))))  # (N, C, H, W)


class Discriminator(nn.Module):
    """D(x, y) = w . phi(x) + embed(y) . phi(x), phi = ReLU then sum pooling of the last block (projection D)."""

    def __init__(self, image_size: int = 128, image_channels: int = 3, num_classes: int = 1, channels: int = 96,
                 attention_resolution: int = 0) -> None:
        super().__init__()
        plan = discriminator_plan(channels, image_size, image_channels)
        self.blocks = nn.ModuleList(DBlock(i, o, down, preactivation=k > 0) for k, (i, o, down) in enumerate(plan))
        resolutions, res = [], image_size
        for _, _, down in plan:
            res //= 2 if down else 1
            resolutions.append(res)
        self.attention_index = _attention_index(resolutions, attention_resolution, "D")
        out = plan[self.attention_index][1] if self.attention_index >= 0 else 0
        self.attention = SelfAttention(out) if self.attention_index >= 0 else None
        features = plan[-1][1]
        self.linear = sn_linear(features, 1)
        self.embed = sn(nn.Embedding(num_classes, features))

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        if x.dim() != 4 or labels.shape != (x.shape[0],):
            msg = f"D expects x (N, C, H, W) and labels (N,), got {tuple(x.shape)} and {tuple(labels.shape)}"
            raise ValueError(msg)
        h = x
        for k, block in enumerate(self.blocks):
            h = block(h)
            if k == self.attention_index:
                h = self.attention(h)
        features = F.relu(h).sum(dim=(2, 3))  # (N, F): sum pooling as in SN-GAN / BigGAN
        return self.linear(features).squeeze(1) + (self.embed(labels) * features).sum(dim=1)  # (N,)


class BigganNetworks(NamedTuple):
    generator: Generator
    discriminator: Discriminator


def generator_kwargs(cfg: BigganConfig, image_size: int, image_channels: int, num_classes: int) -> dict[str, int]:
    """The Generator's constructor arguments (stored in the model's config.json to rebuild it)."""
    return {"image_size": image_size, "image_channels": image_channels, "num_classes": num_classes,
            "channels": cfg.channels, "z_dim": cfg.z_dim, "shared_dim": cfg.shared_dim,
            "attention_resolution": cfg.attention_resolution}


def discriminator_kwargs(cfg: BigganConfig, image_size: int, image_channels: int, num_classes: int) -> dict[str, int]:
    return {"image_size": image_size, "image_channels": image_channels, "num_classes": num_classes,
            "channels": cfg.channels, "attention_resolution": cfg.attention_resolution}


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_networks(cfg: BigganConfig, image_size: int, image_channels: int, num_classes: int,
                   seed: int) -> BigganNetworks:
    """G and D, initialised from ``seed`` without touching the global torch RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = Generator(**generator_kwargs(cfg, image_size, image_channels, num_classes))
        discriminator = Discriminator(**discriminator_kwargs(cfg, image_size, image_channels, num_classes))
    log.info("BigGAN %dpx x%d, %d classes: G %d parameters, D %d parameters", image_size, image_channels,
             num_classes, count_parameters(generator), count_parameters(discriminator))
    return BigganNetworks(generator, discriminator)
