"""Training images with one class label each, and the seeded batch sampler every baseline family draws from."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from dtgan.constants import DEFECT_DOMAINS
from dtgan.data.tensors import images_to_tensor
from dtgan.errors import DataError


def class_name(product: str, domain: str) -> str:
    """The one spelling of a (product, defect domain) class: ``"A/Scratches"``."""
    return f"{product}/{domain}"


@dataclass(frozen=True)
class LabelledImages:
    """Images (N, C, H, W) in [-1, 1] with a class index each; ``class_names[i]`` names class i."""

    images: Tensor
    labels: Tensor
    class_names: tuple[str, ...]

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    @property
    def image_channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def fingerprint(self) -> str:
        """sha256 of pixels, labels and class names: a checkpoint trained on other data must not resume."""
        digest = hashlib.sha256()
        digest.update(self.images.detach().cpu().contiguous().numpy().tobytes())
        digest.update(self.labels.detach().cpu().to(torch.int64).numpy().tobytes())
        digest.update("\0".join(self.class_names).encode())
        return digest.hexdigest()


def defect_classes(prepared: Any, split: pd.DataFrame, products: tuple[str, ...] | None = None) -> LabelledImages:
    """The defect images of ``split`` (e.g. ``gan_train``), one class per (product, defect domain) present, in
    sorted product order and DEFECT_DOMAINS order; ``products`` restricts them (one model per product)."""
    rows = split[split["domain"].isin(DEFECT_DOMAINS)]
    if products is not None:
        rows = rows[rows["product"].isin(products)]
    if rows.empty:
        msg = f"the GAN training split has no defect images{'' if products is None else f' of {list(products)}'}"
        raise DataError(msg)
    names = [class_name(p, d) for p in sorted(set(rows["product"])) for d in DEFECT_DOMAINS
             if ((rows["product"] == p) & (rows["domain"] == d)).any()]
    rows = rows.sort_values("sample_id")
    labels = [names.index(class_name(p, d)) for p, d in zip(rows["product"], rows["domain"], strict=True)]
    images = images_to_tensor(prepared.images[rows["cache_index"].to_numpy(dtype=np.int64)], prepared.channels)
    return LabelledImages(images, torch.tensor(labels, dtype=torch.int64), tuple(names))


def domain_images(prepared: Any, split: pd.DataFrame, domain: str) -> Tensor:
    """All images of one domain of ``split`` (every product), in sample-id order, as (N, C, H, W) in [-1, 1]."""
    rows = split[split["domain"] == domain].sort_values("sample_id")
    if rows.empty:
        msg = f"the GAN training split has no {domain} images"
        raise DataError(msg)
    return images_to_tensor(prepared.images[rows["cache_index"].to_numpy(dtype=np.int64)], prepared.channels)


class BatchSampler:
    """Uniform random minibatches of indices into ``n`` items, with replacement across batches (each batch without
    replacement when ``n`` allows). ``generator`` is the run's one seeded RNG: families draw z, noise and
    augmentation parameters from it too, so a run is reproducible and resumes bit-identically."""

    def __init__(self, n: int, batch_size: int, seed: int) -> None:
        if n < 1 or batch_size < 1:
            msg = f"BatchSampler needs n >= 1 and batch_size >= 1, got n={n}, batch_size={batch_size}"
            raise ValueError(msg)
        self.n, self.batch_size = n, batch_size
        self.generator = torch.Generator().manual_seed(int(seed))

    def next(self) -> Tensor:
        if self.batch_size <= self.n:
            return torch.randperm(self.n, generator=self.generator)[: self.batch_size]
        return torch.randint(self.n, (self.batch_size,), generator=self.generator)

    def state_dict(self) -> dict[str, Tensor]:
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        self.generator.set_state(state["generator"].cpu())
