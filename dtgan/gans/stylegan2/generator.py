"""StyleGAN2 generator: conditional mapping network and skip-architecture synthesis network.

Simplifications against the official network: one w for every layer
(no style mixing, as the official ``cifar`` preset), bilinear 2x upsampling instead of the [1,3,3,1] FIR filter and
transposed convolution, no tracked w average (no truncation trick), float32 throughout.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dtgan.gans.stylegan2.layers import EqualLinear, activate, modulated_conv2d, normalize_2nd_moment


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
    """Official width rule: min(channel_base // resolution, channel_max), at least 1."""
    return max(1, min(channel_base // resolution, channel_max))


def block_resolutions(image_size: int) -> list[int]:
    """4, 8, ..., image_size; ``image_size`` must be a power of two >= 8."""
    if image_size < 8 or image_size & (image_size - 1):
        msg = f"image_size must be a power of two >= 8, got {image_size}"
        raise ValueError(msg)
    return [2**i for i in range(2, int(math.log2(image_size)) + 1)]


class MappingNetwork(nn.Module):
    """z (normalised) ++ label embedding (normalised) -> MLP -> w, as StyleGAN2-ADA's conditional mapping.

    With ``z_dim=0`` it maps the label alone: the discriminator's class embedding for the projection head.
    """

    def __init__(self, z_dim: int, num_classes: int, w_dim: int, num_layers: int = 8, lr_mult: float = 0.01) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.num_classes = num_classes
        # The label embedding is a (non-lr-multiplied) linear map of the one-hot label, width w_dim (official).
        self.embed = EqualLinear(num_classes, w_dim)
        widths = [z_dim + w_dim] + [w_dim] * num_layers
        self.layers = nn.Sequential(
            *(
                EqualLinear(a, b, lr_mult=lr_mult, activation="lrelu")
                for a, b in zip(widths[:-1], widths[1:], strict=True)
            )
        )

    def forward(self, z: Tensor | None, labels: Tensor) -> Tensor:  # (B, z_dim), (B,) int64 -> (B, w_dim)
        onehot = F.one_hot(labels, self.num_classes).to(torch.float32)
        x = normalize_2nd_moment(self.embed(onehot))
        if self.z_dim > 0:
            if z is None or z.shape != (labels.shape[0], self.z_dim):
                msg = f"MappingNetwork expects z of shape ({labels.shape[0]}, {self.z_dim})"
                raise ValueError(msg)
            x = torch.cat([normalize_2nd_moment(z), x], dim=1)
        return self.layers(x)


class SynthesisLayer(nn.Module):
    """[bilinear 2x up] -> modulated/demodulated 3x3 conv -> + strength * noise -> + bias -> leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, up: bool = False) -> None:
        super().__init__()
        self.up = up
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)  # styles start at 1: an unmodulated conv
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, 3, 3))
        self.noise_strength = nn.Parameter(torch.zeros(()))  # official init 0: noise is learned into use
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: Tensor, w: Tensor, noise: Tensor) -> Tensor:  # noise: (B, 1, H_out, W_out)
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = modulated_conv2d(x, self.weight, self.affine(w))
        x = x + noise * self.noise_strength + self.bias[None, :, None, None]
        return activate(x, "lrelu")


class ToRGB(nn.Module):
    """Modulated 1x1 conv to the image channels, not demodulated (the output's scale is the image's)."""

    def __init__(self, in_channels: int, image_channels: int, w_dim: int) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(image_channels, in_channels, 1, 1))
        self.bias = nn.Parameter(torch.zeros(image_channels))
        self.weight_gain = 1.0 / math.sqrt(in_channels)  # equalised lr, folded into the styles

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        styles = self.affine(w) * self.weight_gain
        return modulated_conv2d(x, self.weight, styles, demodulate=False) + self.bias[None, :, None, None]


class SynthesisBlock(nn.Module):
    """One resolution: (learned 4x4 constant | upsampling conv) -> conv -> toRGB added to the upsampled image."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int, image_channels: int) -> None:
        super().__init__()
        self.resolution = resolution
        self.first = in_channels == 0
        if self.first:
            self.const = nn.Parameter(torch.randn(out_channels, resolution, resolution))
        else:
            self.conv0 = SynthesisLayer(in_channels, out_channels, w_dim, up=True)
        self.conv1 = SynthesisLayer(out_channels, out_channels, w_dim)
        self.torgb = ToRGB(out_channels, image_channels, w_dim)

    @property
    def num_noise(self) -> int:
        return 1 if self.first else 2

    def forward(self, x: Tensor | None, image: Tensor | None, w: Tensor, noise: list[Tensor]) -> tuple[Tensor, Tensor]:
        if self.first:
            # channels_last end to end: oneDNN's CPU convolutions are many times faster in it at these widths.
            x = self.const.unsqueeze(0).expand(w.shape[0], -1, -1, -1).contiguous(memory_format=torch.channels_last)
        else:
            x = self.conv0(x, w, noise[0])
        x = self.conv1(x, w, noise[-1])
        rgb = self.torgb(x, w)
        if image is not None:  # skip architecture: every block adds its own RGB to the upsampled running image
            rgb = rgb + F.interpolate(image, scale_factor=2, mode="bilinear", align_corners=False)
        return x, rgb


class SynthesisNetwork(nn.Module):
    """w -> image through blocks at 4, 8, ..., image_size."""

    def __init__(self, w_dim: int, image_size: int, image_channels: int, channel_base: int, channel_max: int) -> None:
        super().__init__()
        self.resolutions = block_resolutions(image_size)
        blocks = []
        for res in self.resolutions:
            in_ch = 0 if res == 4 else channels_at(res // 2, channel_base, channel_max)
            blocks.append(
                SynthesisBlock(in_ch, channels_at(res, channel_base, channel_max), w_dim, res, image_channels)
            )
        self.blocks = nn.ModuleList(blocks)

    def noise_resolutions(self) -> list[int]:
        """Side of each noise input, in the order ``forward`` consumes them."""
        return [block.resolution for block in self.blocks for _ in range(block.num_noise)]

    def forward(self, w: Tensor, noise: list[Tensor]) -> Tensor:  # (B, w_dim) -> (B, C, S, S)
        if len(noise) != len(self.noise_resolutions()):
            msg = f"SynthesisNetwork needs {len(self.noise_resolutions())} noise maps, got {len(noise)}"
            raise ValueError(msg)
        x = image = None
        start = 0
        for block in self.blocks:
            x, image = block(x, image, w, noise[start : start + block.num_noise])
            start += block.num_noise
        return image


class Generator(nn.Module):
    """Class-conditional StyleGAN2 generator: (z, label, noise maps) -> image (unbounded; about [-1, 1])."""

    def __init__(
        self,
        z_dim: int,
        w_dim: int,
        num_classes: int,
        image_size: int,
        image_channels: int,
        channel_base: int,
        channel_max: int,
        mapping_layers: int = 8,
        mapping_lr_mult: float = 0.01,
    ) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.num_classes = num_classes
        self.image_size = image_size
        self.image_channels = image_channels
        self.mapping = MappingNetwork(z_dim, num_classes, w_dim, mapping_layers, mapping_lr_mult)
        self.synthesis = SynthesisNetwork(w_dim, image_size, image_channels, channel_base, channel_max)

    def draw_inputs(self, batch: int, generator: torch.Generator) -> tuple[Tensor, list[Tensor]]:
        """z (B, z_dim) then every noise map (B, 1, r, r), all drawn from ``generator`` on the CPU, in this order.

        Drawing on the CPU keeps a seed's images identical on every device; the caller moves them.
        """
        z = torch.randn(batch, self.z_dim, generator=generator)
        noise = [torch.randn(batch, 1, r, r, generator=generator) for r in self.synthesis.noise_resolutions()]
        return z, noise

    def forward(self, z: Tensor, labels: Tensor, noise: list[Tensor]) -> Tensor:
        return self.synthesis(self.mapping(z, labels), noise)
