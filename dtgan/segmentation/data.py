"""Image-mask sets of one product: the training set of each setting and the real test set.

Ground truth comes from the prepared cache (``masks.npy``, 255 = defect); defect images without a mask cannot be
scored or trained on and are left out (counted in the log). Synthetic pairs are DT-GAN images with the binary mask
the synthesize stage wrote from |G(x, s, d) - G(x, s, 0)| (synthesis.mask_threshold).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from dtgan.constants import DEFECT_DOMAINS, NORMAL
from dtgan.data.cache import PreparedData
from dtgan.errors import DataError
from dtgan.evaluation.synthetic import SyntheticSet

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MaskedImages:
    images: np.ndarray  # uint8 (N, H, W, 3)
    masks: np.ndarray  # bool (N, H, W)
    rows: pd.DataFrame  # one row per image: sample_id / synth_id, domain, origin ("real" / "synthetic")

    def __len__(self) -> int:
        return len(self.images)

    def __add__(self, other: MaskedImages) -> MaskedImages:
        return MaskedImages(np.concatenate([self.images, other.images]), np.concatenate([self.masks, other.masks]),
                            pd.concat([self.rows, other.rows], ignore_index=True))


def real_images(prepared: PreparedData, rows: pd.DataFrame) -> MaskedImages:
    """The rows' images and ground-truth masks, without defect images that have no mask."""
    known = (rows["domain"] == NORMAL) | (rows["mask_path"] != "")
    if (~known).any():
        log.info("%d defect image(s) without a ground-truth mask left out", int((~known).sum()))
    rows = rows[known].reset_index(drop=True)
    index = rows["cache_index"].to_numpy()
    return MaskedImages(np.asarray(prepared.images[index]), np.asarray(prepared.masks[index]) > 127,
                        rows[["sample_id", "domain"]].assign(origin="real"))


def real_training_set(prepared: PreparedData, train: pd.DataFrame, product: str, normals: int,
                      rng: np.random.Generator) -> MaskedImages:
    """The product's train-split defects with their masks and ``normals`` random train-split Normal images."""
    rows = train[train["product"] == product]
    defects = rows[rows["domain"] != NORMAL]
    normal_rows = rows[rows["domain"] == NORMAL]
    picked = normal_rows.iloc[np.sort(rng.choice(len(normal_rows), min(normals, len(normal_rows)), replace=False))]
    out = real_images(prepared, pd.concat([defects, picked]))
    if not (out.rows["domain"] != NORMAL).any():
        msg = f"product {product}: no train-split defect image has a ground-truth mask; segmentation needs masks"
        raise DataError(msg)
    return out


def synthetic_pairs(synth: SyntheticSet, product: str, setting: str, count: int,
                    rng: np.random.Generator) -> MaskedImages:
    """``count`` synthetic pairs of ``product``: equal shares per defect domain (and per mode for ``mix``)."""
    if synth.masks is None:
        msg = "the synthetic set has no masks (a family without an anchor output, e.g. variant a, writes none)"
        raise DataError(msg)
    modes = ("latent", "reference") if setting == "mix" else (setting,)
    manifest = synth.manifest
    cells = [(d, m) for d in DEFECT_DOMAINS for m in modes]
    picked = []
    for k, (domain, mode) in enumerate(cells):
        share = count // len(cells) + (k < count % len(cells))
        rows = manifest[(manifest["product"] == product) & (manifest["target_domain"] == domain)
                        & (manifest["mode"] == mode)]["row"].to_numpy()
        if len(rows) < share:
            msg = f"product {product}: {len(rows)} synthetic {mode} {domain} images, segmentation asks for {share}"
            raise DataError(msg)
        picked.append(np.sort(rng.choice(rows, share, replace=False)))
    index = np.concatenate(picked)
    chosen = manifest.iloc[index]
    return MaskedImages(synth.images[index], synth.masks[index],
                        pd.DataFrame({"sample_id": chosen["synth_id"].to_numpy(),
                                      "domain": chosen["target_domain"].to_numpy(), "origin": "synthetic"}))
