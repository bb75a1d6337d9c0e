"""f-AnoGAN scores and AUROCs on the test split the classifiers use (the library side of `evaluate_anomaly`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dtgan.anomaly.config import AnomalyConfig
from dtgan.anomaly.figures import pick_examples, save_examples_figure
from dtgan.anomaly.metrics import auroc_markdown, image_metrics, pixel_metrics
from dtgan.anomaly.run import load_models, score_table
from dtgan.anomaly.score import Scores
from dtgan.data.cache import PreparedData, load_prepared
from dtgan.data.split import load_split
from dtgan.data.tensors import tensor_to_uint8
from dtgan.runtime import atomic_path, pick_device, seed_everything, write_csv, write_json, write_text

log = logging.getLogger(__name__)


def run_labels(profile: str, prepared_dir: Path, meta: dict) -> dict[str, str]:
    """What produced the numbers: dataset (prepare's meta.json), profile, residual, model mode, nets, training."""
    prepared_meta = prepared_dir / "meta.json"
    source = json.loads(prepared_meta.read_text()).get("source", "unknown") if prepared_meta.is_file() else "unknown"
    mode = "one conditional model (product embedding)" if meta["mode"] == "conditional" else "one model per product"
    c = meta["config"]
    return {"dataset": str(source), "profile": profile,
            "residual": meta["residual"], "kappa": str(meta["kappa"]), "model": mode,
            "nets": f"{meta['image_size']} px, {meta['channels']} channel(s), width {c['width']}, z {c['z_dim']}",
            "training": (f"{c['gan_steps']} generator steps x {c['n_critic']} critic steps, {c['encoder_steps']} "
                         f"encoder steps ({c['encoder_optimizer']}, lr {c['encoder_lr']:g}), batch {c['batch_size']}")}


def to_display_uint8(images: torch.Tensor) -> np.ndarray:
    """(K, C, H, W) in [-1, 1] with C = 1 or 3 -> uint8 (K, H, W, 3)."""
    return tensor_to_uint8(images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images)


def evaluate_models(cfg: AnomalyConfig, profile: str, prepared_dir: Path, splits_dir: Path, model_dir: Path,
                    out: Path, maps_out: Path | None = None) -> dict:
    """Score the test split; writes metrics.json, scores.csv, auroc.md and examples.png to ``out`` and, with
    ``maps_out``, the pixel maps (npz: sample_id, maps float32 (N, H, W)) that the segmentation table compares."""
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    prepared = load_prepared(prepared_dir)
    test = load_split(splits_dir, "test").reset_index(drop=True)
    meta, nets = load_models(model_dir, device)
    frame, scores = score_table(prepared, test, meta, nets, cfg.eval_batch_size, cfg.map_sigma, device)
    masks = np.asarray(prepared.masks[test["cache_index"].to_numpy()])
    metrics = image_metrics(frame)
    if prepared.has_masks:
        metrics.update(pixel_metrics(frame, scores.maps, masks))
    write_json(out / "metrics.json", metrics)
    if maps_out is not None:
        save_maps(maps_out, frame["sample_id"].to_numpy(dtype=str), scores.maps)
    write_csv(out / "scores.csv", frame.assign(has_mask=frame["mask_path"] != "", residual=meta["residual"],
                                               model=meta["mode"]).drop(columns=["mask_path"]))
    labels = run_labels(profile, prepared_dir, meta)
    write_text(out / "auroc.md", auroc_markdown(metrics, sorted(frame["product"].unique()), labels))
    _save_figure(out / "examples.png", test, frame, scores, prepared, masks, cfg.figure_examples)
    log.info("image AUROC(A) per product: %s", {k: round(v, 3) for k, v in metrics.items() if k.endswith("/auroc_A")})
    return metrics


def save_maps(path: Path, sample_ids: np.ndarray, maps: np.ndarray) -> None:
    """The test split's pixel maps, keyed by sample id (written atomically)."""
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, sample_id=sample_ids, maps=maps.astype(np.float32))


def _save_figure(path: Path, test: pd.DataFrame, frame: pd.DataFrame, scores: Scores, prepared: PreparedData,
                 masks: np.ndarray, per_product: int) -> None:
    """examples.png from a few test images per product (rows of ``frame`` align with ``test``)."""
    idx = pick_examples(frame, per_product)
    images = np.asarray(prepared.images[test["cache_index"].to_numpy()[idx]])
    recon = to_display_uint8(torch.from_numpy(scores.reconstructions[idx]))
    titles = [f"{r.product} {r.domain}\nA={r.A:.3g}" for r in frame.iloc[idx].itertuples()]
    save_examples_figure(path, images, recon, scores.maps[idx], titles, masks[idx] if prepared.has_masks else None)
