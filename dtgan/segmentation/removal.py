"""Defect removal by DT-GAN's anchor code, checked against ground-truth masks (issue 18; the supplement's Fig. 9).

Each real defect image x is translated to Normal: G(x, s_Normal, 0), the anchor domain's all-zero defect code. The
change map |x - G(x, s, 0)| is the same soft mask the synthetic sets carry (:mod:`dtgan.synthesis.masks`); scored
against x's ground-truth mask it measures both how well G removes the defect and how well such maps localise one.
Beside it a model-free reference: |x - 5x5 median(x)|, which also lights up thin high-contrast marks.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.ndimage import median_filter
from tqdm import tqdm

from dtgan.constants import NORMAL
from dtgan.data.cache import PreparedData, load_prepared
from dtgan.data.split import load_split
from dtgan.data.tensors import images_to_tensor, tensor_to_uint8
from dtgan.errors import DataError
from dtgan.gans.dtgan.synthesize import DtganTranslator, load_translator
from dtgan.metrics.pixel import iou_from_counts
from dtgan.metrics.roc import pixel_auroc
from dtgan.runtime import write_csv, write_json, write_text
from dtgan.segmentation import report
from dtgan.synthesis.masks import binary_masks, soft_masks

BATCH = 64

log = logging.getLogger(__name__)


def removal_maps(translator: DtganTranslator, images: np.ndarray, seed: int) -> np.ndarray:
    """Soft change maps (N, H, W) in [0, 1] between each image and its translation to Normal (z seeded per
    image; the Normal code is zero whatever z, so z only picks the style)."""
    maps = []
    for start in range(0, len(images), BATCH):
        chunk = images[start:start + BATCH]
        x = images_to_tensor(chunk, translator.image_channels)
        seeds = [seed + start + k for k in range(len(chunk))]
        out, _ = translator.latent(x, [NORMAL] * len(chunk), seeds)
        maps.append(soft_masks(chunk, tensor_to_uint8(out)))
    return np.concatenate(maps)


def median_residual_maps(images: np.ndarray) -> np.ndarray:
    """|x - 5x5 median(x)| per pixel, mean over channels, in [0, 1]: a defect map that needs no model."""
    x = images.astype(np.float32)
    med = np.stack([median_filter(im, size=(5, 5, 1)) for im in x])
    return np.abs(x - med).mean(axis=-1) / 255.0


def removal_table(translator: DtganTranslator, prepared: PreparedData, rows: pd.DataFrame, rule: float | str,
                  seed: int) -> pd.DataFrame:
    """One row per (product, defect domain) of ``rows`` (defect images with masks): pixel AUROC of the removal map
    and of the median residual, IoU of the binary mask (``rule``: 'otsu' per image or a fixed difference)."""
    rows = rows[(rows["domain"] != NORMAL) & (rows["mask_path"] != "")]
    out = []
    groups = rows.groupby(["product", "domain"], sort=True)
    for (product, domain), group in tqdm(groups, total=groups.ngroups, desc="defect removal", leave=False):
        index = group["cache_index"].to_numpy()
        images, truth = np.asarray(prepared.images[index]), np.asarray(prepared.masks[index])
        maps = removal_maps(translator, images, seed)
        out.append({"product": product, "domain": domain, "n_images": len(index),
                    "pixel_auroc": pixel_auroc(maps, truth),
                    "pixel_auroc_median_residual": pixel_auroc(median_residual_maps(images), truth),
                    "iou": _iou(binary_masks(maps, rule), truth > 127),
                    "defect_pixel_fraction": float((truth > 127).mean())})
    return pd.DataFrame(out)


def _iou(pred: np.ndarray, truth: np.ndarray) -> float:
    """IoU of all the images' pixels at once, as the segmentation table computes it (dtgan.metrics.pixel)."""
    return iou_from_counts(np.logical_and(pred, truth).sum(), np.logical_or(pred, truth).sum())


def dataset_label(prepared_dir: Path) -> str:
    meta = prepared_dir / "meta.json"
    return str(json.loads(meta.read_text()).get("source", "unknown")) if meta.is_file() else "unknown"


def require_masks(prepared: PreparedData, prepared_dir: Path) -> None:
    if not prepared.has_masks:
        msg = f"{prepared_dir}: the dataset has no ground-truth masks; the mask check and segmentation need them"
        raise DataError(msg)


def run_mask_check(rule: float | str, seed: int, device: str, profile: str, prepared_dir: Path, splits_dir: Path,
                   model_dir: Path, out: Path) -> pd.DataFrame:
    """Defect removal on the test split's real defects; writes defect_removal.{csv,md} and metrics.json."""
    prepared = load_prepared(prepared_dir)
    require_masks(prepared, prepared_dir)
    translator = load_translator(model_dir, device)
    if translator.variant != "e":
        msg = f"{model_dir}: variant {translator.variant} has no anchor domain; the mask check needs variant e"
        raise DataError(msg)
    table = removal_table(translator, prepared, load_split(splits_dir, "test"), rule, seed)
    labels = {"dataset": dataset_label(prepared_dir), "profile": profile, "model": f"{model_dir} (variant e, EMA)",
              "images": "real defect images of the test split with ground-truth masks",
              "binary mask rule": f"synthesis.mask_threshold = {rule}"}
    write_csv(out / "defect_removal.csv", table)
    write_text(out / "defect_removal.md", report.removal_markdown(table, labels))
    metrics = {f"masks/{r.product}/{r.domain}/{m}": round(float(getattr(r, m)), 4)
               for r in table.itertuples() for m in ("pixel_auroc", "pixel_auroc_median_residual", "iou")}
    write_json(out / "metrics.json", metrics)
    log.info("defect removal pixel AUROC: %s", table.set_index(["product", "domain"])["pixel_auroc"].round(3).to_dict())
    return table
