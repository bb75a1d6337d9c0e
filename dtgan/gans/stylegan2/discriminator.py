"""StyleGAN2 residual discriminator with a minibatch-stddev epilogue and StyleGAN2-ADA's projection conditioning."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from dtgan.gans.stylegan2.generator import MappingNetwork, block_resolutions, channels_at
from dtgan.gans.stylegan2.layers import EqualConv2d, EqualLinear, MinibatchStd

RESIDUAL_GAIN = math.sqrt(0.5)  # skip + residual, each scaled so the sum keeps unit variance


class DiscriminatorBlock(nn.Module):
    """[fromRGB] -> conv3x3 -> (pool, conv3x3) with a (pool, 1x1) shortcut: resolution halves."""

    def __init__(self, tmp_channels: int, out_channels: int, image_channels: int, first: bool) -> None:
        super().__init__()
        self.fromrgb = EqualConv2d(image_channels, tmp_channels, 1, activation="lrelu") if first else None
        self.conv0 = EqualConv2d(tmp_channels, tmp_channels, 3, activation="lrelu")
        self.conv1 = EqualConv2d(tmp_channels, out_channels, 3, activation="lrelu", down=True)
        self.skip = EqualConv2d(tmp_channels, out_channels, 1, bias=False, down=True)

    def forward(self, x: Tensor) -> Tensor:
        if self.fromrgb is not None:
            x = self.fromrgb(x)
        shortcut = self.skip(x, gain=RESIDUAL_GAIN)
        return shortcut + self.conv1(self.conv0(x), gain=RESIDUAL_GAIN)


class Discriminator(nn.Module):
    """(image, label) -> one logit per image; the label acts by projection (features . class embedding)."""

    def __init__(
        self,
        num_classes: int,
        image_size: int,
        image_channels: int,
        channel_base: int,
        channel_max: int,
        mbstd_group: int = 4,
        mapping_layers: int = 8,
        mapping_lr_mult: float = 0.01,
    ) -> None:
        super().__init__()
        self.image_size = image_size
        widths = {r: channels_at(r, channel_base, channel_max) for r in block_resolutions(image_size)}
        self.blocks = nn.Sequential(
            *(
                DiscriminatorBlock(widths[r], widths[r // 2], image_channels, first=r == image_size)
                for r in reversed(block_resolutions(image_size)[1:])
            )
        )
        head = widths[4]
        self.cmap_dim = head  # official default: the width of the 4x4 features
        self.mbstd = MinibatchStd(mbstd_group)
        self.conv = EqualConv2d(head + 1, head, 3, activation="lrelu")
        self.fc = EqualLinear(head * 16, head, activation="lrelu")
        self.out = EqualLinear(head, self.cmap_dim)
        # Official D maps the label with a z-less mapping network of the same depth and lr multiplier as G's.
        self.mapping = MappingNetwork(0, num_classes, self.cmap_dim, mapping_layers, mapping_lr_mult)

    def forward(self, images: Tensor, labels: Tensor) -> Tensor:  # (B, C, S, S), (B,) -> (B,)
        if images.shape[-1] != self.image_size or images.shape[-2] != self.image_size:
            msg = f"Discriminator built for {self.image_size}px images, got {tuple(images.shape)}"
            raise ValueError(msg)
        # channels_last: oneDNN's CPU convolutions are many times faster in it at these widths.
        x = self.conv(self.mbstd(self.blocks(images.contiguous(memory_format=torch.channels_last))))  # (B, head, 4, 4)
        features = self.out(self.fc(x.flatten(1)))  # (B, cmap_dim)
        cmap = self.mapping(None, labels)
        return (features * cmap).sum(dim=1) / math.sqrt(self.cmap_dim)
