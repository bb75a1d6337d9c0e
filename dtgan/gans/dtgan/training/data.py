"""The GAN training set in memory: images as a float tensor plus domain and product indices."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from torch import Tensor

from dtgan.constants import DOMAIN_INDEX, DOMAINS
from dtgan.data.tensors import images_to_tensor
from dtgan.errors import DataError


@dataclass(frozen=True)
class GanData:
    """Images (N,3,H,W) in [-1,1]; ``domains``/``products`` are indices into DOMAINS / ``product_names``."""

    images: Tensor
    domains: np.ndarray
    products: np.ndarray
    product_names: tuple[str, ...]

    @property
    def image_size(self) -> int:
        return int(self.images.shape[-1])

    @property
    def image_channels(self) -> int:
        return int(self.images.shape[1])

    @property
    def num_domains(self) -> int:
        return len(DOMAINS)

    @property
    def num_products(self) -> int:
        return len(self.product_names)

    def fingerprint(self) -> str:
        """sha256 of the pixels, labels and product names: a checkpoint trained on other data must not resume."""
        digest = hashlib.sha256()
        digest.update(self.images.detach().cpu().contiguous().numpy().tobytes())
        digest.update(np.ascontiguousarray(self.domains, dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(self.products, dtype=np.int64).tobytes())
        digest.update("\0".join(self.product_names).encode())
        return digest.hexdigest()


def gan_training_data(prepared: Any, split: pd.DataFrame) -> GanData:
    """Select ``split`` rows (e.g. ``gan_train``); product index = position in ``prepared.products``."""
    unknown_domains = sorted(set(split["domain"]) - set(DOMAINS))
    if unknown_domains:
        msg = f"split has unknown domain(s) {unknown_domains}; expected a subset of {list(DOMAINS)}"
        raise DataError(msg)
    products = tuple(prepared.products)
    unknown_products = sorted(set(split["product"]) - set(products))
    if unknown_products:
        msg = f"split has product(s) {unknown_products} that are not in the prepared data ({list(products)})"
        raise DataError(msg)
    if len(split) == 0:
        msg = "the GAN training split is empty"
        raise DataError(msg)
    rows = split["cache_index"].to_numpy(dtype=np.int64)
    return GanData(
        images=images_to_tensor(prepared.images[rows], prepared.channels),
        domains=split["domain"].map(DOMAIN_INDEX).to_numpy(dtype=np.int64),
        products=split["product"].map({name: i for i, name in enumerate(products)}).to_numpy(dtype=np.int64),
        product_names=products,
    )
