"""Classifier inputs from `assemble` manifests: real rows come from the prepared cache, synthetic rows from PNGs."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from dtgan.classify.train import ImageSet
from dtgan.constants import DOMAIN_INDEX
from dtgan.data.table import DataError


def _load_png(path: str, size: int, sha256: str = "") -> np.ndarray:
    """A synthetic PNG, checked against the sha256 its manifest recorded (the manifest is the DVC dependency)."""
    try:
        data = Path(path).read_bytes()
        if sha256 and hashlib.sha256(data).hexdigest() != sha256:
            msg = (f"synthetic image {path} differs from the sha256 its manifest recorded: the synthetic images "
                   "changed after `assemble` wrote the manifest; rerun `dvc repro`")
            raise DataError(msg)
        with Image.open(io.BytesIO(data)) as img:
            array = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except OSError as exc:
        msg = f"synthetic image {path} could not be read ({exc}); rerun the synthesize stage"
        raise DataError(msg) from None
    if array.shape[:2] != (size, size):
        msg = f"synthetic image {path} is {array.shape[1]}x{array.shape[0]}, expected {size}x{size} (data.image_size)"
        raise DataError(msg)
    return array


def manifest_images(manifest: pd.DataFrame, cache: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, 3) for manifest rows, in order."""
    size = cache.shape[1]
    out = np.empty((len(manifest), size, size, 3), np.uint8)
    hashes = manifest["sha256"].fillna("").astype(str) if "sha256" in manifest else pd.Series("", manifest.index)
    for i, (row, sha256) in enumerate(zip(manifest.itertuples(), hashes, strict=True)):
        out[i] = cache[int(row.cache_index)] if row.source == "real" else _load_png(row.path, size, sha256)
    return out


def image_set(manifest: pd.DataFrame, cache: np.ndarray, name: str) -> ImageSet:
    """An :class:`ImageSet` (labels, real/synthetic flags, products, ids) from manifest rows."""
    unknown = sorted(set(manifest["label"]) - set(DOMAIN_INDEX))
    if unknown:
        msg = f"{name}: unknown label(s) {unknown} in manifest; expected {sorted(DOMAIN_INDEX)}"
        raise DataError(msg)
    return ImageSet(images=manifest_images(manifest, cache),
                    labels=manifest["label"].map(DOMAIN_INDEX).to_numpy(np.int64),
                    is_synthetic=(manifest["source"] == "synthetic").to_numpy(np.int64),
                    products=manifest["product"].to_numpy(str), sample_ids=manifest["sample_id"].to_numpy(str),
                    name=name)
