"""Discriminator D with the foreground (defect-type) and background (product) classifiers (spec dtgan.md §2.4).

Same trunk as E (see encoder.py). Heads:
- real/fake: Linear max -> K on the pooled vector, logit of domain y (StarGAN v2 uses a 1x1 conv on the 1x1 map,
  which is the same map with the same parameters);
- (c)+ BG_cls: Linear max -> P on the same vector, parallel to the real/fake layer (spec §10);
- (c)+ FG_cls: on the defect-branch output (LReLU -> 1x1 conv max -> fg*K at 16x16), 4 pre-activation
  ResBlks without norm, each with AvgPool 2 (paper 4 blocks, 16 -> 1), LReLU, Linear -> K (spec §10 default).
  The FG_cls blocks keep the fg*K width (not stated in the paper; the smallest choice).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from dtgan.gans.dtgan.nets.blocks import LRELU_SLOPE, ResBlk, check_domain_labels, log2_exact
from dtgan.gans.dtgan.nets.encoder import ImageTrunk, defect_head, stem_shape


class DiscOutput(NamedTuple):
    logit: torch.Tensor  # (B,) real/fake logit of each sample's domain y
    fg_logits: torch.Tensor | None  # (B, K) defect-type logits; None in variants (a), (b)
    bg_logits: torch.Tensor | None  # (B, P) product logits; None in variants (a), (b)


class FgClassifier(nn.Module):
    """(B, C, h, h) -> (B, K): log2(h) downsampling ResBlks (no norm) to 1x1, LReLU, Linear."""

    def __init__(self, channels: int, code_size: int, num_classes: int) -> None:
        super().__init__()
        num_blocks = log2_exact(code_size, "FG classifier input size")
        self.blocks = nn.Sequential(*[ResBlk(channels, channels, downsample=True) for _ in range(num_blocks)])
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = nn.functional.leaky_relu(self.blocks(x), LRELU_SLOPE)
        return self.fc(h.flatten(1))


class Discriminator(nn.Module):
    """x, y -> DiscOutput(logit (B,), fg_logits (B,K) or None, bg_logits (B,P) or None)."""

    def __init__(
        self,
        image_size: int = 128,  # input side in pixels (power of two, >= 32)
        num_domains: int = 3,  # K foreground domains
        num_products: int = 3,  # P background domains (products)
        max_channels: int = 512,  # widest conv
        fg_channels: int = 64,  # defect channels per domain in the defect branch
        classifiers: bool = True,  # (c)+: FG_cls and BG_cls
        stargan_stem: bool = False,  # (a): StarGAN v2's 3x3 stem to max/4
        image_channels: int = 3,  # 3 (RGB) or 1 (grayscale data)
    ) -> None:
        super().__init__()
        self.num_domains = num_domains
        self.trunk = ImageTrunk(image_size, max_channels, *stem_shape(max_channels, stargan_stem), image_channels)
        self.logits = nn.Linear(max_channels, num_domains)
        self.bg_cls: nn.Linear | None = None
        self.defect: nn.Sequential | None = None
        self.fg_cls: FgClassifier | None = None
        if classifiers:
            if num_products < 1:
                msg = f"Discriminator num_products must be >= 1 for the BG classifier, got {num_products}"
                raise ValueError(msg)
            self.bg_cls = nn.Linear(max_channels, num_products)
            self.defect = defect_head(self.trunk.shared_channels, fg_channels * num_domains)
            self.fg_cls = FgClassifier(fg_channels * num_domains, self.trunk.code_size, num_domains)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> DiscOutput:
        check_domain_labels(y, x.size(0), self.num_domains, "Discriminator")
        features = self.trunk.shared_features(x, "Discriminator")
        vector = self.trunk.pooled(features)
        logit = self.logits(vector)[torch.arange(y.size(0), device=y.device), y]
        if self.fg_cls is None:
            return DiscOutput(logit, None, None)
        return DiscOutput(logit, self.fg_cls(self.defect(features)), self.bg_cls(vector))
