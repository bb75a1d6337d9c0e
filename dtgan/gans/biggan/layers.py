"""BigGAN's building blocks: spectrally normalised layers, conditional BatchNorm, SA-GAN self-attention and the
up-/down-sampling residual blocks.

Every layer's weight is orthogonally initialised *before* spectral norm is attached, so the parametrisation's
power-iteration vectors start from the initialised weight (spectral norm of an orthogonal matrix is 1: the
normalised weight starts equal to the initialised one).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.parametrizations import spectral_norm

SN_EPS = 1e-6  # BigGAN-PyTorch's launch scripts pass --SN_eps 1e-6
BN_EPS = 1e-5  # --BN_eps 1e-5


def sn(module: nn.Module) -> nn.Module:
    """Orthogonal init of ``module.weight``, then one power iteration per training forward (num_SV_itrs = 1)."""
    nn.init.orthogonal_(module.weight)
    return spectral_norm(module, n_power_iterations=1, eps=SN_EPS)


def sn_conv(in_channels: int, out_channels: int, kernel_size: int = 3, bias: bool = True) -> nn.Module:
    return sn(nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=bias))


def sn_linear(in_features: int, out_features: int, bias: bool = True) -> nn.Module:
    return sn(nn.Linear(in_features, out_features, bias=bias))


class ConditionalBatchNorm(nn.Module):
    """BatchNorm without affine parameters whose per-sample gain (1 + W_g c) and bias (W_b c) are linear in the
    conditioning vector c = [shared class embedding, z chunk]."""

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False, eps=BN_EPS)
        # No bias in the gain/bias projections (BigGAN): the "1 +" centres the gain at the identity.
        self.gain = sn_linear(cond_dim, channels, bias=False)
        self.bias = sn_linear(cond_dim, channels, bias=False)

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        gain = 1.0 + self.gain(cond)[:, :, None, None]
        return self.norm(x) * gain + self.bias(cond)[:, :, None, None]


class SelfAttention(nn.Module):
    """SA-GAN's non-local block as BigGAN uses it: keys and values max-pooled 2x, output scaled by a learnt gamma
    that starts at 0, so the block starts as the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        if channels < 8:
            msg = f"self-attention needs >= 8 channels (queries have channels // 8), got {channels}"
            raise ValueError(msg)
        self.query = sn_conv(channels, channels // 8, 1, bias=False)
        self.key = sn_conv(channels, channels // 8, 1, bias=False)
        self.value = sn_conv(channels, channels // 2, 1, bias=False)
        self.out = sn_conv(channels // 2, channels, 1, bias=False)
        self.gamma = nn.Parameter(torch.zeros(()))

    def forward(self, x: Tensor) -> Tensor:
        n, c, h, w = x.shape
        query = self.query(x).flatten(2)  # (N, C/8, HW)
        key = F.max_pool2d(self.key(x), 2).flatten(2)  # (N, C/8, HW/4)
        value = F.max_pool2d(self.value(x), 2).flatten(2)  # (N, C/2, HW/4)
        attention = torch.softmax(query.transpose(1, 2) @ key, dim=-1)  # (N, HW, HW/4)
        attended = (value @ attention.transpose(1, 2)).view(n, c // 2, h, w)
        return x + self.gamma * self.out(attended)


class GBlock(nn.Module):
    """CBN-ReLU-up-conv-CBN-ReLU-conv, plus a nearest-upsampled 1x1-conv shortcut."""

    def __init__(self, in_channels: int, out_channels: int, cond_dim: int) -> None:
        super().__init__()
        self.bn1 = ConditionalBatchNorm(in_channels, cond_dim)
        self.conv1 = sn_conv(in_channels, out_channels)
        self.bn2 = ConditionalBatchNorm(out_channels, cond_dim)
        self.conv2 = sn_conv(out_channels, out_channels)
        self.shortcut = sn_conv(in_channels, out_channels, 1)  # always learnt: every G block up-samples

    def forward(self, x: Tensor, cond: Tensor) -> Tensor:
        h = F.interpolate(F.relu(self.bn1(x, cond)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.bn2(self.conv1(h), cond)))
        return h + self.shortcut(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class DBlock(nn.Module):
    """(ReLU)-conv-ReLU-conv-(avg-pool), BigGAN's "wide" D block (hidden width = out width), plus a shortcut.

    The first block skips the pre-activation (its input is the image) and pools before its 1x1 shortcut conv; later
    blocks convolve first, as in BigGAN (cheaper where channels grow).
    """

    def __init__(self, in_channels: int, out_channels: int, downsample: bool, preactivation: bool) -> None:
        super().__init__()
        self.conv1 = sn_conv(in_channels, out_channels)
        self.conv2 = sn_conv(out_channels, out_channels)
        self.downsample, self.preactivation = downsample, preactivation
        learnt = in_channels != out_channels or downsample
        self.shortcut = sn_conv(in_channels, out_channels, 1) if learnt else None

    def _pool(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, 2) if self.downsample else x

    def _shortcut(self, x: Tensor) -> Tensor:
        if self.shortcut is None:
            return x
        if self.preactivation:
            return self._pool(self.shortcut(x))
        return self.shortcut(self._pool(x))

    def forward(self, x: Tensor) -> Tensor:
        # Out of place: the shortcut needs the un-rectified input.
        h = F.relu(x) if self.preactivation else x
        h = self._pool(self.conv2(F.relu(self.conv1(h))))
        return h + self._shortcut(x)
