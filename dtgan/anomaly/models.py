"""f-AnoGAN networks: generator, WGAN-GP critic and izi_f encoder (spec fanogan.md §4, DCGAN-like, scaled down).

All three take plain hyperparameters; only :func:`dtgan.anomaly.train.build_networks` reads the config. Each can be
conditioned on a class (the product) when ``n_classes > 0``: the generator concatenates a learned embedding to z,
the critic and encoder see one extra input channel holding a learned per-class map (the seed blog's cGAN design).
Every ``forward`` takes ``(x_or_z, labels=None)``; ``labels`` is required exactly when the net is conditional.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def num_stages(img_size: int) -> int:
    """n = log2(img_size / 4) resolution stages between 4x4 and the image (4 for 64 px, 5 for 128 px)."""
    n = round(math.log2(img_size / 4)) if img_size >= 8 else 0
    if img_size < 8 or 4 * 2**n != img_size:
        msg = f"img_size must be a power of two >= 8 (e.g. 64 or 128), got {img_size}"
        raise ValueError(msg)
    return n


def _check_labels(labels: Tensor | None, n_classes: int, batch: int, who: str) -> None:
    if n_classes == 0 and labels is not None:
        msg = f"{who} is unconditional (n_classes=0) but was given labels"
        raise ValueError(msg)
    if n_classes > 0 and (labels is None or labels.shape != (batch,)):
        got = None if labels is None else tuple(labels.shape)
        msg = f"{who} is conditional on {n_classes} classes and needs labels of shape ({batch},), got {got}"
        raise ValueError(msg)


class Generator(nn.Module):
    """z (B, z_dim) -> image (B, channels, img_size, img_size) in [-1, 1]."""

    def __init__(self, img_size: int = 64, channels: int = 1, z_dim: int = 128, width: int = 16,
                 n_classes: int = 0, embed_dim: int = 16) -> None:
        super().__init__()
        n = num_stages(img_size)
        self.z_dim, self.n_classes, self.top_channels = z_dim, n_classes, width * 2 ** (n - 1)
        self.embed = nn.Embedding(n_classes, embed_dim) if n_classes > 0 else None
        in_dim = z_dim + (embed_dim if n_classes > 0 else 0)
        self.project = nn.Linear(in_dim, 4 * 4 * self.top_channels)
        blocks = []
        for i in range(n):  # channels halve per stage: 2^(n-1)w -> ... -> w (kept at w for the last stage)
            c_in, c_out = width * 2 ** max(n - 1 - i, 0), width * 2 ** max(n - 2 - i, 0)
            blocks += [nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c_in, c_out, 3, padding=1),
                       nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        self.blocks = nn.Sequential(*blocks)
        self.to_image = nn.Sequential(nn.Conv2d(width, channels, 3, padding=1), nn.Tanh())

    def forward(self, z: Tensor, labels: Tensor | None = None) -> Tensor:
        _check_labels(labels, self.n_classes, z.shape[0], "Generator")
        if self.embed is not None:
            z = torch.cat([z, self.embed(labels)], dim=1)
        h = self.project(z).view(z.shape[0], self.top_channels, 4, 4)  # [B, 2^(n-1)w, 4, 4]
        return self.to_image(self.blocks(h))  # [B, C, S, S]


class _DownTrunk(nn.Module):
    """n x [Conv4x4 stride 2 + norm (none on the first block) + LeakyReLU(0.2)], then flatten: (B, 4*4*2^(n-1)*w)."""

    def __init__(self, img_size: int, in_channels: int, width: int, norm: str) -> None:
        super().__init__()
        n = num_stages(img_size)
        layers: list[nn.Module] = []
        c_in = in_channels
        for i in range(n):
            c_out = width * 2**i
            layers.append(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1))
            if i > 0:
                # Critic: GroupNorm(1, C) = LayerNorm over (C, H, W), per sample, so the per-sample GP stays valid.
                layers.append(nn.GroupNorm(1, c_out) if norm == "layer" else nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.out_features = 4 * 4 * c_in

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x).flatten(1)


class _ClassMap(nn.Module):
    """A learned (img_size x img_size) map per class, appended to the image as an extra channel."""

    def __init__(self, n_classes: int, img_size: int) -> None:
        super().__init__()
        self.img_size = img_size
        self.embed = nn.Embedding(n_classes, img_size * img_size)

    def forward(self, x: Tensor, labels: Tensor) -> Tensor:
        maps = self.embed(labels).view(x.shape[0], 1, self.img_size, self.img_size)
        return torch.cat([x, maps], dim=1)


class Critic(nn.Module):
    """WGAN-GP critic; ``features(x)`` is the flattened 4x4 trunk output f(x) used by A_D. No BatchNorm, no Dropout."""

    def __init__(self, img_size: int = 64, channels: int = 1, width: int = 16, n_classes: int = 0) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.class_map = _ClassMap(n_classes, img_size) if n_classes > 0 else None
        self.trunk = _DownTrunk(img_size, channels + (1 if n_classes > 0 else 0), width, norm="layer")
        self.head = nn.Linear(self.trunk.out_features, 1)

    def features(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        _check_labels(labels, self.n_classes, x.shape[0], "Critic")
        if self.class_map is not None:
            x = self.class_map(x, labels)
        return self.trunk(x)  # [B, 4*4*2^(n-1)*w]

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        return self.head(self.features(x, labels)).squeeze(1)  # [B]


class Encoder(nn.Module):
    """izi_f encoder: the critic's trunk with BatchNorm (as the official code), then Linear -> z, unbounded (no tanh,
    because the prior is N(0, I))."""

    def __init__(self, img_size: int = 64, channels: int = 1, z_dim: int = 128, width: int = 16,
                 n_classes: int = 0) -> None:
        super().__init__()
        self.n_classes = n_classes
        self.class_map = _ClassMap(n_classes, img_size) if n_classes > 0 else None
        self.trunk = _DownTrunk(img_size, channels + (1 if n_classes > 0 else 0), width, norm="batch")
        self.head = nn.Linear(self.trunk.out_features, z_dim)

    def forward(self, x: Tensor, labels: Tensor | None = None) -> Tensor:
        _check_labels(labels, self.n_classes, x.shape[0], "Encoder")
        if self.class_map is not None:
            x = self.class_map(x, labels)
        return self.head(self.trunk(x))  # [B, z_dim]


class Networks(nn.Module):
    """The three f-AnoGAN nets of one model (one product, or all products when conditional)."""

    def __init__(self, generator: nn.Module, critic: nn.Module, encoder: nn.Module) -> None:
        super().__init__()
        self.generator, self.critic, self.encoder = generator, critic, encoder
