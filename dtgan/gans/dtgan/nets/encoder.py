"""Style-defect encoder E (spec dtgan.md §2.3, supplement Table 13) and the image trunk it shares with D.

Trunk (no normalisation, as StarGAN v2's StyleEncoder/Discriminator):
  stem conv 3 -> stem_channels at full resolution;
  shared ResBlk+AvgPool x (log2(image) - 4) -> the 16x16 code map (paper x3: 64x64x256, 32x32x512, 16x16x512);
  style-branch ResBlk+AvgPool x2 -> 4x4 (paper 8x8x512, 4x4x512); LReLU; 4x4 valid conv -> 1x1;
  LReLU -> a max_channels vector.
Widths after the stem are ``min(max, max/2 * 2**i)`` = 256, 512, 512, ... in both forms:
- DT-GAN (variants b-e, Table 13): stem = 1x1 conv to max/8 (64 at paper scale, so the first block goes 64 -> 256);
- StarGAN v2 (variant a): stem = 3x3 conv to max/4 (128 = 2**14 / 128 at 128 px, identical to StarGAN v2 there;
  StarGAN v2 widens its stem for smaller images, we keep it tied to max_channels).

E heads: K Linear style heads on the vector (select head y); (b)+ a defect head on the 16x16 map:
LReLU -> 1x1 conv (trunk.shared_channels -> fg*K; 512 -> 64*K at paper scale), select the y-th fg slice; in (e)
the slice is zero wherever y is Normal.
"""

from __future__ import annotations

import torch
from torch import nn

from dtgan.gans.dtgan.nets.blocks import (
    CODE_SIZE,
    LRELU_SLOPE,
    ResBlk,
    check_domain_labels,
    check_image_batch,
    downsamples_to_code,
    select_by_domain,
    zero_anchor_rows,
)

HEAD_SIZE = 4  # the style/logit branch pools to 4x4, then a 4x4 valid conv


def trunk_widths(max_channels: int, num_blocks: int) -> list[int]:
    """Output widths of the downsampling ResBlks after the stem: [max/2, max, max, ...]."""
    return [min(max_channels, (max_channels // 2) * 2**i) for i in range(num_blocks)]


class ImageTrunk(nn.Module):
    """Stem + shared downsampling blocks (-> 16x16 map) + style-branch blocks (-> max_channels vector)."""

    def __init__(self, image_size: int, max_channels: int, stem_channels: int, stem_kernel: int,
                 image_channels: int = 3) -> None:
        super().__init__()
        shared = downsamples_to_code(image_size)
        if max_channels < 8 or max_channels % 8:
            msg = f"max_channels must be a multiple of 8 (widths use max/8 .. max), got {max_channels}"
            raise ValueError(msg)
        self.image_size = image_size
        self.image_channels = image_channels
        self.code_size = CODE_SIZE
        num_blocks = shared + 2  # down to 4x4, as StarGAN v2 (log2(img_size) - 2)
        widths = trunk_widths(max_channels, num_blocks)
        ins = [stem_channels, *widths[:-1]]
        self.shared_channels = widths[shared - 1]  # width of the 16x16 map (max at 128 px, max/2 at 32 px)
        blocks = [ResBlk(i, o, downsample=True) for i, o in zip(ins, widths, strict=True)]
        self.stem = nn.Conv2d(image_channels, stem_channels, stem_kernel, 1, stem_kernel // 2)
        self.shared = nn.ModuleList(blocks[:shared])
        self.head = nn.ModuleList(blocks[shared:])
        self.head_conv = nn.Conv2d(max_channels, max_channels, HEAD_SIZE, 1, 0)

    def shared_features(self, x: torch.Tensor, where: str) -> torch.Tensor:
        """(B, 3, H, W) -> (B, max_channels, 16, 16)."""
        check_image_batch(x, self.image_size, where, self.image_channels)
        h = self.stem(x)
        for block in self.shared:
            h = block(h)
        return h

    def pooled(self, features: torch.Tensor) -> torch.Tensor:
        """(B, max_channels, 16, 16) -> (B, max_channels) after the 4x4 valid conv and LReLUs."""
        for block in self.head:
            features = block(features)
        h = nn.functional.leaky_relu(features, LRELU_SLOPE)
        h = nn.functional.leaky_relu(self.head_conv(h), LRELU_SLOPE)
        return h.flatten(1)


def defect_head(max_channels: int, out_channels: int) -> nn.Sequential:
    """LReLU -> 1x1 conv on the 16x16 map (Table 13 defect branch)."""
    return nn.Sequential(nn.LeakyReLU(LRELU_SLOPE), nn.Conv2d(max_channels, out_channels, 1, 1, 0))


def stem_shape(max_channels: int, stargan_stem: bool) -> tuple[int, int]:
    """(channels, kernel) of the first conv: StarGAN v2 3x3 to max/4, DT-GAN Table 13 1x1 to max/8."""
    return (max_channels // 4, 3) if stargan_stem else (max_channels // 8, 1)


class StyleDefectEncoder(nn.Module):
    """x, y -> (style (B, style_dim), defect (B, fg, h, h) or None in variant a)."""

    def __init__(
        self,
        image_size: int = 128,  # input side in pixels (power of two, >= 32)
        style_dim: int = 64,  # style code length
        num_domains: int = 3,  # K foreground domains, index 0 = Normal
        max_channels: int = 512,  # widest conv
        fg_channels: int = 64,  # defect code channels per domain
        defect_branch: bool = True,  # (b)+
        anchor: bool = False,  # (e): Normal's defect code is all zeros
        stargan_stem: bool = False,  # (a): StarGAN v2's 3x3 stem to max/4
        image_channels: int = 3,  # 3 (RGB) or 1 (grayscale data)
    ) -> None:
        super().__init__()
        self.num_domains = num_domains
        self.fg_channels = fg_channels
        self.anchor = anchor
        self.trunk = ImageTrunk(image_size, max_channels, *stem_shape(max_channels, stargan_stem), image_channels)
        self.unshared = nn.ModuleList([nn.Linear(max_channels, style_dim) for _ in range(num_domains)])
        self.defect = defect_head(self.trunk.shared_channels, fg_channels * num_domains) if defect_branch else None

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        check_domain_labels(y, x.size(0), self.num_domains, "StyleDefectEncoder")
        features = self.trunk.shared_features(x, "StyleDefectEncoder")
        vector = self.trunk.pooled(features)
        style = select_by_domain(torch.stack([head(vector) for head in self.unshared], dim=1), y)
        if self.defect is None:
            return style, None
        codes = self.defect(features)
        codes = codes.view(codes.size(0), self.num_domains, self.fg_channels, *codes.shape[2:])
        defect = select_by_domain(codes, y)
        return style, zero_anchor_rows(defect, y) if self.anchor else defect
