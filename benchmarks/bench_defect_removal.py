"""Defect removal by the anchor code, checked against ground-truth masks (groundwork for issue 18; not a DVC stage yet).

Each real defect image x of the chosen split is translated to Normal with the trained model: G(x, s_Normal, 0), the
anchor domain's all-zero defect code (variant e). Its change map |x - G(x, s, 0)| (the same soft mask the synthetic
sets carry, dtgan.synthesis.masks) is scored against x's ground-truth mask: pixel AUROC over all the split's defect
pixels (beside it, a model-free reference: the residual of a 5x5 median filter, |x - median(x)|, which also
lights up thin high-contrast marks), and IoU of the binary mask (``--rule``, default Otsu per image, as
``synthesis.mask_threshold``), per product and domain. High AUROC means G removes the defect and leaves the rest;
chance is 0.5.

    python -m benchmarks.bench_defect_removal --prepared data/prepared --splits data/splits --model models/gan/e
"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import numpy as np
from scipy.ndimage import median_filter

from dtgan.constants import NORMAL
from dtgan.data.cache import load_prepared
from dtgan.data.split import load_split
from dtgan.data.tensors import images_to_tensor, tensor_to_uint8
from dtgan.gans.dtgan.synthesize import load_translator
from dtgan.metrics.roc import pixel_auroc
from dtgan.runtime import setup_logging
from dtgan.synthesis.masks import binary_masks, soft_masks

log = logging.getLogger(__name__)
BATCH = 64


def removal_maps(translator, images: np.ndarray) -> np.ndarray:
    """Soft change maps (N, H, W) in [0, 1] between each image and its translation to Normal."""
    maps = []
    for start in range(0, len(images), BATCH):
        chunk = images[start:start + BATCH]
        x = images_to_tensor(chunk, translator.image_channels)
        out, _ = translator.latent(x, [NORMAL] * len(chunk), list(range(start, start + len(chunk))))
        maps.append(soft_masks(chunk, tensor_to_uint8(out)))
    return np.concatenate(maps)


def median_residual_maps(images: np.ndarray) -> np.ndarray:
    """|x - 5x5 median(x)| per pixel, mean over channels, in [0, 1]: a defect map that needs no model."""
    x = images.astype(np.float32)
    med = np.stack([median_filter(im, size=(5, 5, 1)) for im in x])
    return np.abs(x - med).mean(axis=-1) / 255.0


def iou(pred: np.ndarray, truth: np.ndarray) -> float:
    union = np.logical_or(pred, truth).sum()
    return float(np.logical_and(pred, truth).sum() / union) if union else float("nan")


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prepared", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--split", default="test")
    parser.add_argument("--rule", default="otsu", help="'otsu' or a fixed 0-1 difference")
    args = parser.parse_args(argv)
    prepared = load_prepared(args.prepared)
    if not prepared.has_masks:
        raise SystemExit(f"{args.prepared}: the dataset has no ground-truth masks")
    rows = load_split(args.splits, args.split)
    rows = rows[rows["domain"] != NORMAL]
    translator = load_translator(args.model, "auto")
    rule = args.rule if args.rule == "otsu" else float(args.rule)
    result = {}
    for (product, domain), group in rows.groupby(["product", "domain"], sort=True):
        index = group["cache_index"].to_numpy()
        maps = removal_maps(translator, prepared.images[index])
        truth = prepared.masks[index]
        pred = binary_masks(maps, rule)
        result[f"{product}/{domain}"] = {"n_images": len(index), "pixel_auroc": round(pixel_auroc(maps, truth), 4),
                                         "pixel_auroc_median_residual": round(
                                             pixel_auroc(median_residual_maps(prepared.images[index]), truth), 4),
                                         "iou": round(iou(pred, truth > 127), 4),
                                         "defect_pixel_fraction": round(float((truth > 127).mean()), 4)}
    print(json.dumps({"model": str(args.model), "split": args.split, "rule": args.rule, "per_cell": result},
                     indent=2))


if __name__ == "__main__":
    main()
