"""Equalised-learning-rate layers, the modulated convolution and the minibatch-stddev layer of StyleGAN2.

Equalised learning rate (ProGAN, kept by StyleGAN2): every weight is stored as N(0, 1) / lr_mult and multiplied at
run time by ``lr_mult / sqrt(fan_in)``. The forward pass is then He-initialised, while Adam's step, which is about
``lr`` in parameter space whatever the gradient's scale, moves every layer's effective weights at the same relative
speed (times ``lr_mult``: 0.01 makes the mapping MLPs learn 100x slower).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

LRELU_SLOPE = 0.2
LRELU_GAIN = math.sqrt(2.0)  # keeps the second moment of a leaky-ReLU output equal to its input's
ACTIVATIONS = ("linear", "lrelu")


def normalize_2nd_moment(x: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """Scale each vector to unit root-mean-square along ``dim`` (z and the label embedding enter the MLP this way)."""
    return x * (x.square().mean(dim=dim, keepdim=True) + eps).rsqrt()


def activate(x: Tensor, activation: str, gain: float = 1.0) -> Tensor:
    """``linear`` or gain-corrected leaky ReLU, times an extra ``gain`` (sqrt(0.5) in residual branches)."""
    if activation == "lrelu":
        return F.leaky_relu(x, LRELU_SLOPE) * (LRELU_GAIN * gain)
    return x * gain if gain != 1.0 else x


def _check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        msg = f"activation must be one of {ACTIVATIONS}, got {activation!r}"
        raise ValueError(msg)


class EqualLinear(nn.Module):
    """Fully connected layer with equalised learning rate and an optional lr multiplier."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        bias_init: float = 0.0,
        lr_mult: float = 1.0,
        activation: str = "linear",
    ) -> None:
        super().__init__()
        _check_activation(activation)
        self.activation = activation
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mult)
        # Stored as bias_init / lr_mult so the effective initial bias is bias_init (the runtime gain is lr_mult).
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_mult)) if bias else None
        self.weight_gain = lr_mult / math.sqrt(in_features)
        self.bias_gain = lr_mult

    def forward(self, x: Tensor) -> Tensor:  # (B, in) -> (B, out)
        bias = None if self.bias is None else self.bias * self.bias_gain
        return activate(F.linear(x, self.weight * self.weight_gain, bias), self.activation)


class EqualConv2d(nn.Module):
    """Square same-padded convolution with equalised learning rate.

    ``down=True`` halves the resolution by 2x2 average pooling BEFORE the convolution: a cheap stand-in for the
    official [1,3,3,1] low-pass filter followed by a stride-2 convolution (no custom CUDA kernels here).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        bias: bool = True,
        activation: str = "linear",
        down: bool = False,
    ) -> None:
        super().__init__()
        _check_activation(activation)
        self.activation = activation
        self.down = down
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain = 1.0 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: Tensor, gain: float = 1.0) -> Tensor:  # (B, in, H, W) -> (B, out, H', W')
        if self.down:
            x = F.avg_pool2d(x, 2)
        x = F.conv2d(x, self.weight * self.weight_gain, self.bias, padding=self.padding)
        return activate(x, self.activation, gain)


def modulated_conv2d(x: Tensor, weight: Tensor, styles: Tensor, *, demodulate: bool = True) -> Tensor:
    """StyleGAN2's modulated convolution, computed without per-sample weights.

    Mathematically ``conv(x, w'_b)`` with ``w'_b[o, i] = weight[o, i] * styles[b, i]``, divided by
    ``||w'_b[o]||`` when ``demodulate``. Scaling the input channels by the style, running ONE shared convolution
    and scaling the output channels by the demodulation coefficient gives the same result, and on a CPU it is far
    cheaper than the grouped convolution over per-sample weights (the official "fused" path is meant for GPUs).

    Args:
        x: (B, I, H, W) activations.
        weight: (O, I, k, k) raw weight (its scale cancels under demodulation).
        styles: (B, I) per-sample input-channel scales.
        demodulate: divide every output channel by the norm of its modulated weights (unit-variance outputs
            for unit-variance inputs).
    """
    batch, in_channels = styles.shape
    if x.shape[:2] != (batch, in_channels) or weight.shape[1] != in_channels:
        msg = f"modulated_conv2d: x {tuple(x.shape)}, weight {tuple(weight.shape)}, styles {tuple(styles.shape)}"
        raise ValueError(msg)
    out = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] // 2)
    if demodulate:
        # ||w'_b[o]||^2 = sum_i styles[b, i]^2 * sum_kk weight[o, i]^2, a (B, I) x (I, O) product.
        norm_sq = styles.square() @ weight.square().sum(dim=(2, 3)).t()
        out = out * (norm_sq + 1e-8).rsqrt()[:, :, None, None]
    return out


class MinibatchStd(nn.Module):
    """Appends the mean standard deviation of the features over groups of ``group_size`` images as one channel.

    It lets D see the variety of a batch, which penalises a collapsed G. The group size is the largest divisor of
    the batch that is <= ``group_size`` (the official layer requires the batch to be divisible by it).
    """

    def __init__(self, group_size: int) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: Tensor) -> Tensor:  # (N, C, H, W) -> (N, C + 1, H, W)
        n, c, h, w = x.shape
        group = next(g for g in range(min(self.group_size, n), 0, -1) if n % g == 0)
        y = x.reshape(group, n // group, c, h, w)  # image j of group k is x[j * (n // group) + k]
        y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt()  # (n/G, C, H, W)
        y = y.mean(dim=(1, 2, 3))  # (n/G,)
        y = y.repeat(group)[:, None, None, None].expand(n, 1, h, w)
        return torch.cat([x, y], dim=1).contiguous(memory_format=torch.channels_last)  # cat drops the layout
