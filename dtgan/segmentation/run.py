"""The library side of the `segment` stage (issue 18): every cell, the paired differences and the outputs."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from dtgan.data.cache import PreparedData, load_prepared
from dtgan.data.split import load_split
from dtgan.errors import DataError
from dtgan.evaluation.synthetic import load_synthetic_set
from dtgan.metrics import pixel
from dtgan.runtime import derive_seed, pick_device, write_csv, write_json, write_text
from dtgan.segmentation import report
from dtgan.segmentation.config import BASELINE, SegmentationConfig
from dtgan.segmentation.data import MaskedImages, real_images, real_training_set, synthetic_pairs
from dtgan.segmentation.removal import dataset_label, require_masks
from dtgan.segmentation.train import predict, train_cell

log = logging.getLogger(__name__)

MAPS_NAME = "test_maps.npz"  # f-AnoGAN's pixel maps of the test split (written by evaluate_anomaly)


def _fanogan_maps(path: Path, test: MaskedImages) -> np.ndarray:
    """f-AnoGAN's maps of the test images, in their order, min-max scaled to [0, 1] (AUROC and AP only use the
    order of the scores)."""
    with np.load(path, allow_pickle=False) as data:
        ids, maps = data["sample_id"], data["maps"]
    where = {sid: k for k, sid in enumerate(ids)}
    missing = [s for s in test.rows["sample_id"] if s not in where]
    if missing:
        msg = f"{path}: no f-AnoGAN map for {len(missing)} test image(s), e.g. {missing[0]}; rerun evaluate_anomaly"
        raise DataError(msg)
    picked = maps[[where[s] for s in test.rows["sample_id"]]].astype(np.float64)
    low, high = picked.min(), picked.max()
    return (picked - low) / (high - low) if high > low else np.zeros_like(picked)


def _training_sets(cfg: SegmentationConfig, prepared: PreparedData, train: pd.DataFrame, synth, product: str
                   ) -> dict[str, MaskedImages]:
    real = real_training_set(prepared, train, product, cfg.normals_per_product,
                             np.random.default_rng(derive_seed("segmentation", product, "normals")))
    sets = {}
    for setting in cfg.settings:
        rng = np.random.default_rng(derive_seed("segmentation", product, setting, "synthetic"))
        sets[setting] = real if setting == BASELINE else real + synthetic_pairs(
            synth, product, setting, cfg.synthetic_per_product, rng)
    return sets


def run_segmentation(cfg: SegmentationConfig, profile: str, prepared_dir: Path, splits_dir: Path, synth_dir: Path,
                     anomaly_maps: Path, out: Path) -> dict:
    """Every (product, setting, seed) cell; writes cells.csv, differences.csv, segmentation.md, metrics.json and
    examples.png to ``out``."""
    prepared = load_prepared(prepared_dir)
    require_masks(prepared, prepared_dir)
    device = pick_device(cfg.device)
    train, test_rows = load_split(splits_dir, "train"), load_split(splits_dir, "test")
    synth = load_synthetic_set(synth_dir, prepared.image_size)
    cells, differences, fanogan, figure = [], [], [], {"images": [], "truth": [], "titles": [], "maps": {}}
    progress = tqdm(total=len(prepared.products) * len(cfg.settings) * len(cfg.seeds), desc="segmentation cells")
    for product in prepared.products:
        test = real_images(prepared, test_rows[test_rows["product"] == product])
        sets = _training_sets(cfg, prepared, train, synth, product)
        rows, counts, first_maps = _product_cells(cfg, sets, test, prepared.channels, product, device, progress)
        cells += rows
        differences += _differences(cfg, product, counts)
        fano = _fanogan_maps(anomaly_maps, test)
        fanogan.append({"product": product, **pixel.summary(pixel.pixel_counts(fano, test.masks, cfg.threshold)),
                        "iou": float("nan")})
        _add_examples(figure, product, test, first_maps, fano, cfg.figure_examples)
    progress.close()
    return _write_outputs(cfg, profile, prepared_dir, out, pd.DataFrame(cells), pd.DataFrame(differences),
                          pd.DataFrame(fanogan), figure, synth.manifest)


def _product_cells(cfg: SegmentationConfig, sets: dict[str, MaskedImages], test: MaskedImages, channels: int,
                   product: str, device, progress: tqdm) -> tuple[list[dict], dict, dict[str, np.ndarray]]:
    """Train and score every (setting, seed) cell of one product: result rows, pixel counts per setting (one per
    seed) and the first seed's probability maps per setting (for the figure)."""
    rows: list[dict] = []
    counts: dict[str, list[pixel.PixelCounts]] = {}
    first_maps: dict[str, np.ndarray] = {}
    for setting, data in sets.items():
        for seed in cfg.seeds:
            # The same init and batch order for every setting of a seed: the cells are paired by seed.
            model = train_cell(data, cfg, channels, derive_seed("segmentation", product, seed), device)
            probs = predict(model, test.images, channels, device)
            counts.setdefault(setting, []).append(pixel.pixel_counts(probs, test.masks, cfg.threshold))
            first_maps.setdefault(setting, probs)
            rows.append({"product": product, "setting": setting, "seed": seed, "n_train": len(data),
                         "n_train_synthetic": int((data.rows["origin"] == "synthetic").sum()),
                         **pixel.summary(counts[setting][-1])})
            progress.update()
    return rows, counts, first_maps


def _differences(cfg: SegmentationConfig, product: str, counts: dict[str, list[pixel.PixelCounts]]) -> list[dict]:
    out = []
    for setting in cfg.settings:
        if setting == BASELINE:
            continue
        diff = pixel.paired_bootstrap(counts[setting], counts[BASELINE], cfg.bootstrap_resamples,
                                      derive_seed(cfg.seed, product, setting))
        row = {"product": product, "setting": setting}
        for metric, (value, low, high) in diff.items():
            row.update({metric: value, f"{metric}_low": low, f"{metric}_high": high})
        out.append(row)
    return out


def _add_examples(figure: dict, product: str, test: MaskedImages, maps: dict[str, np.ndarray], fano: np.ndarray,
                  count: int) -> None:
    defects = np.flatnonzero((test.rows["domain"] != "Normal").to_numpy())
    # every k-th defect, so that both defect domains appear (the rows are sorted by domain)
    chosen = defects[np.linspace(0, len(defects) - 1, count).round().astype(int)] if count and len(defects) else []
    for k in chosen:
        figure["images"].append(test.images[k])
        figure["truth"].append(test.masks[k])
        figure["titles"].append(f"{product} {test.rows['domain'].iloc[k]}")
        figure["maps"].setdefault("f-AnoGAN", []).append(fano[k])
        for setting, stack in maps.items():
            figure["maps"].setdefault(setting, []).append(stack[k])


def _write_outputs(cfg: SegmentationConfig, profile: str, prepared_dir: Path, out: Path, cells: pd.DataFrame,
                   differences: pd.DataFrame, fanogan: pd.DataFrame, figure: dict, manifest: pd.DataFrame) -> dict:
    variants = ", ".join(sorted(set(manifest["variant"])))
    labels = {"dataset": dataset_label(prepared_dir), "profile": profile,
              "model": (f"U-Net width {cfg.width}, depth {cfg.depth}, {cfg.steps} Adam steps (lr {cfg.lr:g}), batch "
                        f"{cfg.batch_size}, BCE + Dice, flips; seeds {list(cfg.seeds)}"),
              "training sets": (f"per product: its train-split real defects with masks + {cfg.normals_per_product} "
                                f"real Normal images; synthetic settings add {cfg.synthetic_per_product} DT-GAN pairs "
                                f"(variant {variants}, binary anchor masks)"),
              "test": "the product's test split (Normal images: all background); IoU at probability "
                      f"{cfg.threshold:g}"}
    write_csv(out / "cells.csv", cells)
    write_csv(out / "differences.csv", differences)
    write_text(out / "segmentation.md", report.segmentation_markdown(cells, differences, fanogan, labels))
    if figure["images"]:
        report.save_examples(out / "examples.png", np.stack(figure["images"]), np.stack(figure["truth"]),
                             {k: np.stack(v) for k, v in figure["maps"].items()}, figure["titles"])
    metrics = _metrics(cells, differences, fanogan)
    write_json(out / "metrics.json", metrics)
    return metrics


def _metrics(cells: pd.DataFrame, differences: pd.DataFrame, fanogan: pd.DataFrame) -> dict:
    out: dict[str, float] = {}
    means = cells.groupby(["product", "setting"], sort=False)[list(report.METRICS)]
    for (product, setting), group in means:
        for m in report.METRICS:
            out[f"segmentation/{product}/{setting}/{m}_mean"] = round(float(group[m].mean()), 4)
            out[f"segmentation/{product}/{setting}/{m}_std"] = round(float(group[m].std(ddof=0)), 4)
    for (setting,), group in cells.groupby(["setting"], sort=False):
        per_product = group.groupby("product")[list(report.METRICS)].mean()
        for m in report.METRICS:
            out[f"segmentation/mean/{setting}/{m}_mean"] = round(float(per_product[m].mean()), 4)
    for r in differences.to_dict("records"):
        for m in report.METRICS:
            for suffix in ("", "_low", "_high"):
                out[f"segmentation/{r['product']}/{r['setting']}_minus_{BASELINE}/{m}{suffix}"] = round(
                    float(r[m + suffix]), 4)
    for r in fanogan.to_dict("records"):
        for m in ("pixel_auroc", "pixel_ap"):
            out[f"segmentation/{r['product']}/fanogan/{m}"] = round(float(r[m]), 4)
    return {k: v for k, v in out.items() if not np.isnan(v)}
