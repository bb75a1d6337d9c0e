"""The classifier's data path: classifier manifests (real rows from the prepared cache, synthetic rows from PNGs of a
synthetic set) and the in-memory :class:`ImageSet` a classifier trains or is tested on.

``assemble`` writes the manifests; the classifier cells and the evaluation classifier read them through
:func:`image_set`, so both see images exactly the same way (synthetic PNGs checked against their sha256).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dtgan.constants import DOMAIN_INDEX, DOMAINS
from dtgan.errors import DataError
from dtgan.synthesis.manifest import read_image

# A classifier manifest (training, val or test set): real rows point into the prepared cache, synthetic rows to a
# PNG of a synthetic set with its sha256 (empty for real rows), so the manifest changes whenever its images do.
TRAINING_COLUMNS = ("source", "cache_index", "path", "label", "product", "sample_id", "mode", "sha256")


def real_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Manifest rows for real images (from a split table)."""
    return pd.DataFrame({"source": "real", "cache_index": frame["cache_index"].astype(int).to_numpy(), "path": "",
                         "label": frame["domain"].to_numpy(), "product": frame["product"].to_numpy(),
                         "sample_id": frame["sample_id"].to_numpy(), "mode": "", "sha256": ""},
                        columns=list(TRAINING_COLUMNS))


def synthetic_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """Manifest rows for synthetic images (rows of a synthetic set, :mod:`dtgan.synthesis.manifest`)."""
    mode = np.where(frame["mode"] == "latent", "latent", "reference_" + frame["reference_set"].astype(str))
    return pd.DataFrame({"source": "synthetic", "cache_index": -1, "path": frame["path"].to_numpy(),
                         "label": frame["target_domain"].to_numpy(), "product": frame["product"].to_numpy(),
                         "sample_id": frame["synth_id"].to_numpy(), "mode": mode,
                         "sha256": frame["sha256"].to_numpy()},
                        columns=list(TRAINING_COLUMNS))


def read_training_manifest(path: str | Path) -> pd.DataFrame:
    """A classifier manifest written by ``assemble`` (training, val or test set), its columns checked."""
    path = Path(path)
    if not path.is_file():
        msg = f"classifier manifest {path} not found; run the assemble stage first"
        raise DataError(msg)
    frame = pd.read_csv(path, keep_default_na=False)
    missing = sorted(set(TRAINING_COLUMNS) - set(frame.columns))
    if missing:
        msg = f"classifier manifest {path} lacks column(s) {missing}; expected {list(TRAINING_COLUMNS)}"
        raise DataError(msg)
    return frame


@dataclass(frozen=True)
class ImageSet:
    """Images with class labels (0 Normal, 1 Scratches, 2 Spots), real(0)/synthetic(1) flags and products."""

    images: np.ndarray  # uint8 (N, H, W, 3) RGB
    labels: np.ndarray  # int (N,)
    is_synthetic: np.ndarray  # 0/1 (N,)
    products: np.ndarray  # str (N,)
    sample_ids: np.ndarray | None = None  # str (N,); defaults to the row numbers
    name: str = "images"  # used in error messages

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.dtype != np.uint8 or self.images.ndim != 4 or self.images.shape[-1] != 3:
            msg = f"{self.name}: images must be uint8 (N, H, W, 3), got {self.images.dtype} {self.images.shape}"
            raise ValueError(msg)
        for label, array in (("labels", self.labels), ("is_synthetic", self.is_synthetic),
                             ("products", self.products), ("sample_ids", self.sample_ids)):
            if array is not None and len(array) != n:
                msg = f"{self.name}: {label} has {len(array)} entries for {n} images"
                raise ValueError(msg)
        if n and (np.min(self.labels) < 0 or np.max(self.labels) >= len(DOMAINS)):
            msg = f"{self.name}: labels must be in 0..{len(DOMAINS) - 1} ({', '.join(DOMAINS)}), got {set(self.labels)}"
            raise ValueError(msg)
        if n and not np.isin(self.is_synthetic, (0, 1)).all():
            msg = f"{self.name}: is_synthetic must be 0 or 1, got {sorted(set(np.asarray(self.is_synthetic)))}"
            raise ValueError(msg)

    def __len__(self) -> int:
        return len(self.images)

    @property
    def has_synthetic(self) -> bool:
        return bool(np.any(self.is_synthetic))

    def ids(self) -> np.ndarray:
        return self.sample_ids if self.sample_ids is not None else np.array([str(i) for i in range(len(self))])


def manifest_images(manifest: pd.DataFrame, cache: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W, 3) for manifest rows, in order."""
    size = cache.shape[1]
    out = np.empty((len(manifest), size, size, 3), np.uint8)
    for i, row in enumerate(manifest.itertuples()):
        out[i] = cache[int(row.cache_index)] if row.source == "real" else read_image(row.path, row.sha256, size)
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
