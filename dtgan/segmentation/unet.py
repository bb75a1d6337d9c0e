"""A compact U-Net (Ronneberger et al. 2015) for binary defect segmentation: one logit per pixel."""

from __future__ import annotations

import torch
from torch import nn


def _double_conv(dim_in: int, dim_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(dim_in, dim_out, 3, padding=1, bias=False), nn.BatchNorm2d(dim_out), nn.ReLU(inplace=True),
        nn.Conv2d(dim_out, dim_out, 3, padding=1, bias=False), nn.BatchNorm2d(dim_out), nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """(B, in_channels, H, W) -> (B, 1, H, W) logits; H and W must be divisible by 2**depth."""

    def __init__(self, in_channels: int = 3, width: int = 16, depth: int = 2) -> None:
        super().__init__()
        widths = [width * 2**k for k in range(depth + 1)]
        self.depth = depth
        self.down = nn.ModuleList([_double_conv(in_channels, widths[0])])
        self.down.extend(_double_conv(widths[k], widths[k + 1]) for k in range(depth))
        self.up = nn.ModuleList(nn.ConvTranspose2d(widths[k + 1], widths[k], 2, stride=2) for k in range(depth))
        self.merge = nn.ModuleList(_double_conv(2 * widths[k], widths[k]) for k in range(depth))
        self.head = nn.Conv2d(widths[0], 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 2**self.depth or x.shape[-2] % 2**self.depth:
            msg = f"UNet of depth {self.depth}: image side must be divisible by {2**self.depth}, got {tuple(x.shape)}"
            raise ValueError(msg)
        skips = []
        for k, block in enumerate(self.down):
            x = block(x if k == 0 else nn.functional.max_pool2d(x, 2))
            skips.append(x)
        for k in reversed(range(self.depth)):
            x = self.merge[k](torch.cat([skips[k], self.up[k](x)], dim=1))
        return self.head(x)
