"""Building blocks shared by the DT-GAN networks.

``ResBlk``, ``AdaIN`` and ``AdainResBlk`` follow StarGAN v2 core/model.py (spec dtgan.md §8.1): pre-activation,
LeakyReLU 0.2, a bias-free 1x1 shortcut only when the width changes, and the sum divided by sqrt(2) to keep unit
variance. ``UpResBlk`` is the plain instance-norm twin of ``AdainResBlk`` used where the spec asks for upsampling
IN ResBlks without style (background decoder of G, defect branch of M). ``NoiseInjection`` is StyleGAN's per-pixel
noise (spec §3.3, §10).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LRELU_SLOPE = 0.2
CODE_SIZE = 16  # side of G's bottleneck and of every defect code (Table 11: 16x16 at 128 px)


def downsamples_to_code(image_size: int) -> int:
    """Number of x2 downsamplings from the image to the 16x16 code: log2(image_size) - 4.

    StarGAN v2 does the same (``repeat_num = log2(img_size) - 4``): its bottleneck is 16x16 at every resolution,
    3 downsamplings at the paper's 128 px. A fixed /8 would leave a 4x4 bottleneck at 32 px, far too small to
    carry a background (24 channels x 16 values for 3,072 pixel values), so backgrounds could not be preserved.
    """
    log_size = log2_exact(image_size, "image_size")
    if log_size < 5:
        msg = f"image_size must be a power of two >= 32 (16x16 code, 4x4 discriminator head), got {image_size}"
        raise ValueError(msg)
    return log_size - 4


class InstanceNorm(nn.GroupNorm):
    """Instance normalisation (per sample and channel over H x W, eps 1e-5, optional per-channel affine): exactly
    ``nn.InstanceNorm2d`` without running statistics, computed as a GroupNorm with one group per channel.

    Why not InstanceNorm2d: on the CPU it reshapes its input to (1, B*C, H, W), which returns a contiguous NCHW tensor
    and breaks the channels_last layout the convolutions are fastest in (oneDNN); GroupNorm keeps the layout.
    Same state_dict keys (``weight``, ``bias``) as InstanceNorm2d(affine=True).
    """

    def __init__(self, num_features: int, affine: bool = False) -> None:
        super().__init__(num_features, num_features, eps=1e-5, affine=affine)


class NoiseInjection(nn.Module):
    """StyleGAN noise: ``x + w_c * n`` with ``n ~ N(0, 1)`` of shape (B, 1, H, W), ``w_c`` learned per channel.

    ``w_c`` starts at 0 (spec §10), so at initialisation the block is the identity. ``generator`` (a
    ``torch.Generator`` on ``x.device``) makes the draw reproducible; ``None`` uses torch's global RNG.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        batch, _, height, width = x.shape
        noise = torch.randn((batch, 1, height, width), generator=generator, device=x.device, dtype=x.dtype)
        return x + self.weight * noise


class ResBlk(nn.Module):
    """StarGAN v2 pre-activation residual block: [IN] LReLU conv3x3 [avgpool] [IN] LReLU conv3x3."""

    def __init__(self, dim_in: int, dim_out: int, normalize: bool = False, downsample: bool = False) -> None:
        super().__init__()
        self.normalize = normalize
        self.downsample = downsample
        self.learned_sc = dim_in != dim_out
        self.conv1 = nn.Conv2d(dim_in, dim_in, 3, 1, 1)
        self.conv2 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        if normalize:
            self.norm1 = InstanceNorm(dim_in, affine=True)
            self.norm2 = InstanceNorm(dim_in, affine=True)
        if self.learned_sc:
            self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False)

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.learned_sc:
            x = self.conv1x1(x)
        if self.downsample:
            x = F.avg_pool2d(x, 2)
        return x

    def _residual(self, x: torch.Tensor) -> torch.Tensor:
        if self.normalize:
            x = self.norm1(x)
        x = self.conv1(F.leaky_relu(x, LRELU_SLOPE))
        if self.downsample:
            x = F.avg_pool2d(x, 2)
        if self.normalize:
            x = self.norm2(x)
        return self.conv2(F.leaky_relu(x, LRELU_SLOPE))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self._shortcut(x) + self._residual(x)) / math.sqrt(2)  # unit variance


class AdaIN(nn.Module):
    """Adaptive instance norm: ``(1 + gamma) * IN(x) + beta`` with (gamma, beta) = Linear(style)."""

    def __init__(self, style_dim: int, num_features: int) -> None:
        super().__init__()
        self.norm = InstanceNorm(num_features, affine=False)
        self.fc = nn.Linear(style_dim, num_features * 2)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        h = self.fc(style).view(style.size(0), -1, 1, 1)
        gamma, beta = torch.chunk(h, chunks=2, dim=1)
        return (1 + gamma) * self.norm(x) + beta


class AdainResBlk(nn.Module):
    """StarGAN v2 AdaIN residual block with w_hpf = 0 (residual + shortcut, /sqrt 2; no high-pass path)."""

    def __init__(self, dim_in: int, dim_out: int, style_dim: int, upsample: bool = False) -> None:
        super().__init__()
        self.upsample = upsample
        self.learned_sc = dim_in != dim_out
        self.conv1 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(dim_out, dim_out, 3, 1, 1)
        self.norm1 = AdaIN(style_dim, dim_in)
        self.norm2 = AdaIN(style_dim, dim_out)
        if self.learned_sc:
            self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False)

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.learned_sc:
            x = self.conv1x1(x)
        return x

    def _residual(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.norm1(x, style), LRELU_SLOPE)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.conv1(x)
        x = F.leaky_relu(self.norm2(x, style), LRELU_SLOPE)
        return self.conv2(x)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        return (self._residual(x, style) + self._shortcut(x)) / math.sqrt(2)


class UpResBlk(nn.Module):
    """``AdainResBlk`` with affine IN instead of AdaIN (no style), optional x2 upsampling and noise injection.

    ``normalize_input=False`` skips the first IN: the first block of M's defect branch receives a 1x1 map, and
    instance-normalising a single pixel would erase it (and is an error in training mode).
    With ``noise=True`` a :class:`NoiseInjection` follows each 3x3 conv (spec §10, StyleGAN placement).
    """

    def __init__(
        self, dim_in: int, dim_out: int, upsample: bool = True, noise: bool = False, normalize_input: bool = True
    ) -> None:
        super().__init__()
        self.upsample = upsample
        self.learned_sc = dim_in != dim_out
        self.norm1 = InstanceNorm(dim_in, affine=True) if normalize_input else None
        self.conv1 = nn.Conv2d(dim_in, dim_out, 3, 1, 1)
        self.norm2 = InstanceNorm(dim_out, affine=True)
        self.conv2 = nn.Conv2d(dim_out, dim_out, 3, 1, 1)
        self.noise1 = NoiseInjection(dim_out) if noise else None
        self.noise2 = NoiseInjection(dim_out) if noise else None
        if self.learned_sc:
            self.conv1x1 = nn.Conv2d(dim_in, dim_out, 1, 1, 0, bias=False)

    def _shortcut(self, x: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.learned_sc:
            x = self.conv1x1(x)
        return x

    def _residual(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        if self.norm1 is not None:
            x = self.norm1(x)
        x = F.leaky_relu(x, LRELU_SLOPE)
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = self.conv1(x)
        if self.noise1 is not None:
            x = self.noise1(x, generator)
        x = self.conv2(F.leaky_relu(self.norm2(x), LRELU_SLOPE))
        if self.noise2 is not None:
            x = self.noise2(x, generator)
        return x

    def forward(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return (self._residual(x, generator) + self._shortcut(x)) / math.sqrt(2)


def select_by_domain(stacked: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Pick ``stacked[i, y[i]]`` from a (B, K, ...) tensor, as StarGAN v2 indexes its per-domain heads."""
    return stacked[torch.arange(y.size(0), device=y.device), y]


def zero_anchor_rows(code: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Anchor rule (spec §3.2): rows whose domain is Normal (index 0) become exact zeros.

    ``torch.where`` rather than a multiply: the discarded rows get no gradient at all (not even 0 * NaN).
    """
    keep = (y != 0).view(-1, *([1] * (code.dim() - 1)))
    return torch.where(keep, code, torch.zeros_like(code))


def check_domain_labels(y: torch.Tensor, batch: int, num_domains: int, where: str) -> None:
    """Clear errors for a wrong domain-label tensor (shape, dtype, range)."""
    if y.dtype != torch.long or y.shape != (batch,):
        msg = f"{where}: y must be a LongTensor of shape ({batch},), got dtype {y.dtype} shape {tuple(y.shape)}"
        raise ValueError(msg)
    if batch and (int(y.min()) < 0 or int(y.max()) >= num_domains):
        msg = f"{where}: domain labels must lie in [0, {num_domains}), got {y.tolist()}"
        raise ValueError(msg)


def check_image_batch(x: torch.Tensor, image_size: int, where: str, channels: int = 3) -> None:
    """Clear error unless ``x`` is a float (B, channels, image_size, image_size) batch."""
    if x.dim() != 4 or x.shape[1:] != (channels, image_size, image_size) or not x.is_floating_point():
        expected = f"(B, {channels}, {image_size}, {image_size})"
        msg = f"{where}: expected a float image batch {expected}, got {tuple(x.shape)} {x.dtype}"
        raise ValueError(msg)


def log2_exact(value: int, name: str) -> int:
    """log2 of a power of two, with a clear error otherwise."""
    if value < 1 or value & (value - 1):
        msg = f"{name} must be a power of two, got {value}"
        raise ValueError(msg)
    return value.bit_length() - 1
