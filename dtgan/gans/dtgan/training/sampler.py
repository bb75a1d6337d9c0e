"""Seeded batch sampling for GAN training (StarGAN v2 data_loader.py, spec §8.4).

Sources are drawn class-balanced over the foreground domains (each domain equally likely, like StarGAN v2's
WeightedRandomSampler), target domains uniformly from all domains, and two references of the target domain from any
product. Augmentation: with probability ``randcrop_prob`` a RandomResizedCrop (scale 0.8-1, ratio 0.9-1.1) resized
back to the image size, then a horizontal flip with probability 0.5; with probability ``dihedral_prob`` (not the
paper: 0 there) also a vertical flip with probability 0.5 and a random multiple of 90-degree turns. Every draw
comes from one local ``torch.Generator`` whose state is part of the checkpoint, so resumed training repeats the
same batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from dtgan.constants import DOMAINS
from dtgan.errors import DataError
from dtgan.runtime import to_device

CROP_SCALE = (0.8, 1.0)  # StarGAN v2 data_loader.py
CROP_RATIO = (0.9, 1.1)


@dataclass
class Batch:
    """One training batch. Images float (B,3,H,W) in [-1,1]; y, y_trg domain indices; p product indices."""

    x: Tensor
    y: Tensor
    p: Tensor
    y_trg: Tensor
    x_ref: Tensor
    x_ref2: Tensor
    z1: Tensor
    z2: Tensor

    def to(self, device: torch.device) -> Batch:
        """On ``device``, image tensors in the networks' channels_last layout (see dtgan.runtime.to_device)."""
        return Batch(**{f.name: to_device(getattr(self, f.name), device) for f in fields(self)})


def crop_box(height: int, width: int, generator: torch.Generator) -> tuple[int, int, int, int]:
    """(top, left, h, w) exactly as torchvision RandomResizedCrop.get_params, but drawn from ``generator``."""
    area = height * width
    log_ratio = (math.log(CROP_RATIO[0]), math.log(CROP_RATIO[1]))
    for _ in range(10):
        u = torch.rand(2, generator=generator, dtype=torch.float64)
        target_area = area * (CROP_SCALE[0] + (CROP_SCALE[1] - CROP_SCALE[0]) * float(u[0]))
        aspect = math.exp(log_ratio[0] + (log_ratio[1] - log_ratio[0]) * float(u[1]))
        w = round(math.sqrt(target_area * aspect))
        h = round(math.sqrt(target_area / aspect))
        if 0 < w <= width and 0 < h <= height:
            top = int(torch.randint(0, height - h + 1, (1,), generator=generator))
            left = int(torch.randint(0, width - w + 1, (1,), generator=generator))
            return top, left, h, w
    # Fallback of torchvision: whole image (the ratio range always contains 1 here).
    return 0, 0, height, width


def augment(images: Tensor, generator: torch.Generator, randcrop_prob: float, dihedral_prob: float = 0.0) -> Tensor:
    """StarGAN v2 training transform on a float batch (B,3,H,W), plus the optional dihedral moves; a new tensor.

    With ``dihedral_prob`` 0 no extra random number is drawn, so the batches are those of the paper's transform.
    """
    height, width = images.shape[-2:]
    out = []
    for image in images:
        if float(torch.rand(1, generator=generator)) < randcrop_prob:
            top, left, h, w = crop_box(height, width, generator)
            patch = image[None, :, top : top + h, left : left + w]
            image = F.interpolate(patch, size=(height, width), mode="bilinear", align_corners=False, antialias=True)[0]
        if float(torch.rand(1, generator=generator)) < 0.5:
            image = image.flip(-1)
        if dihedral_prob > 0 and float(torch.rand(1, generator=generator)) < dihedral_prob:
            if float(torch.rand(1, generator=generator)) < 0.5:
                image = image.flip(-2)
            image = torch.rot90(image, int(torch.randint(0, 4, (1,), generator=generator)), dims=(-2, -1))
        out.append(image)
    return torch.stack(out)


class GanBatchSampler:
    """Endless seeded source of :class:`Batch` from in-memory images (the analogue of StarGAN v2's InputFetcher)."""

    def __init__(
        self,
        images: Tensor,
        domains: np.ndarray,
        products: np.ndarray,
        num_domains: int,
        batch_size: int,
        latent_dim: int,
        randcrop_prob: float,
        seed: int,
        dihedral_prob: float = 0.0,
    ) -> None:
        self.images, self.num_domains, self.batch_size = images, num_domains, batch_size
        self.latent_dim, self.randcrop_prob, self.dihedral_prob = latent_dim, randcrop_prob, dihedral_prob
        self.domains = torch.as_tensor(np.array(domains, dtype=np.int64))
        self.products = torch.as_tensor(np.array(products, dtype=np.int64))
        self._check_inputs()
        counts = torch.bincount(self.domains, minlength=num_domains).double()
        # Class-balanced: weight 1/count(domain), so each present domain is drawn equally often.
        self.source_weights = 1.0 / counts[self.domains]
        self.by_domain = [torch.nonzero(self.domains == k).flatten() for k in range(num_domains)]
        self.generator = torch.Generator().manual_seed(seed)

    def _check_inputs(self) -> None:
        n = self.images.shape[0]
        if self.domains.shape != (n,) or self.products.shape != (n,):
            msg = f"sampler: {n} images but {tuple(self.domains.shape)} domains / {tuple(self.products.shape)} products"
            raise ValueError(msg)
        present = set(self.domains.tolist())
        missing = sorted(set(range(self.num_domains)) - present)
        if missing:
            names = [DOMAINS[k] if k < len(DOMAINS) else str(k) for k in missing]
            msg = f"the GAN training set has no {', '.join(names)} image; every domain needs examples (check the split)"
            raise DataError(msg)

    def _references(self, targets: Tensor) -> Tensor:
        picks = []
        for k in targets.tolist():
            pool = self.by_domain[k]
            picks.append(pool[int(torch.randint(0, len(pool), (1,), generator=self.generator))])
        return torch.stack(picks)

    def next_batch(self) -> Batch:
        g, b = self.generator, self.batch_size
        src = torch.multinomial(self.source_weights, b, replacement=True, generator=g)
        y_trg = torch.randint(0, self.num_domains, (b,), generator=g)
        ref, ref2 = self._references(y_trg), self._references(y_trg)
        z1 = torch.randn(b, self.latent_dim, generator=g)
        z2 = torch.randn(b, self.latent_dim, generator=g)
        return Batch(
            x=augment(self.images[src], g, self.randcrop_prob, self.dihedral_prob),
            y=self.domains[src],
            p=self.products[src],
            y_trg=y_trg,
            x_ref=augment(self.images[ref], g, self.randcrop_prob, self.dihedral_prob),
            x_ref2=augment(self.images[ref2], g, self.randcrop_prob, self.dihedral_prob),
            z1=z1,
            z2=z2,
        )

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
