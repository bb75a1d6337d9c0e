"""Stage evaluate_anomaly: f-AnoGAN scores and AUROCs on the test split the classifiers use.

    python -m stages.evaluate_anomaly --params params.yaml --prepared data/prepared --splits data/splits \
        --model models/anomaly --out reports/anomaly

Writes ``metrics.json`` (keys like ``fanogan/A/auroc_A``), ``scores.csv`` (per image A, A_R, A_D, z_distance),
``auroc.md`` (labelled with dataset, profile, residual and model mode) and ``examples.png``.
"""

from __future__ import annotations

import argparse
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
from dtgan.data import PreparedData, load_prepared, load_split, tensor_to_uint8
from dtgan.params import load_section, read_params
from dtgan.runtime import pick_device, seed_everything, setup_logging, write_csv, write_json, write_text

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--prepared", required=True)
    parser.add_argument("--splits", required=True)
    parser.add_argument("--model", required=True, help="output folder of train_anomaly")
    parser.add_argument("--out", required=True)
    return parser.parse_args(argv)


def run_labels(params_path: str, prepared_dir: str, meta: dict) -> dict[str, str]:
    """What produced the numbers: dataset (prepare's meta.json), profile (top-level params key), residual, mode."""
    prepared_meta = Path(prepared_dir) / "meta.json"
    source = json.loads(prepared_meta.read_text()).get("source", "unknown") if prepared_meta.is_file() else "unknown"
    mode = "one conditional model (product embedding)" if meta["mode"] == "conditional" else "one model per product"
    c = meta["config"]
    return {"dataset": str(source), "profile": str(read_params(params_path).get("profile", "default")),
            "residual": meta["residual"], "kappa": str(meta["kappa"]), "model": mode,
            "nets": f"{meta['image_size']} px, {meta['channels']} channel(s), width {c['width']}, z {c['z_dim']}",
            "training": (f"{c['gan_steps']} generator steps x {c['n_critic']} critic steps, {c['encoder_steps']} "
                         f"encoder steps ({c['encoder_optimizer']}, lr {c['encoder_lr']:g}), batch {c['batch_size']}")}


def to_display_uint8(images: torch.Tensor) -> np.ndarray:
    """(K, C, H, W) in [-1, 1] with C = 1 or 3 -> uint8 (K, H, W, 3)."""
    return tensor_to_uint8(images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging()
    cfg = load_section(AnomalyConfig, args.params, "anomaly")
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    prepared = load_prepared(args.prepared)
    test = load_split(args.splits, "test").reset_index(drop=True)
    meta, nets = load_models(Path(args.model), device)
    frame, scores = score_table(prepared, test, meta, nets, cfg, device)
    masks = np.asarray(prepared.masks[test["cache_index"].to_numpy()])
    metrics = image_metrics(frame)
    if prepared.has_masks:
        metrics.update(pixel_metrics(frame, scores.maps, masks))
    out = Path(args.out)
    write_json(out / "metrics.json", metrics)
    write_csv(out / "scores.csv", frame.assign(has_mask=frame["mask_path"] != "", residual=meta["residual"],
                                               model=meta["mode"]).drop(columns=["mask_path"]))
    labels = run_labels(args.params, args.prepared, meta)
    write_text(out / "auroc.md", auroc_markdown(metrics, sorted(frame["product"].unique()), labels))
    _save_figure(out / "examples.png", test, frame, scores, prepared, masks, cfg.figure_examples)
    log.info("image AUROC(A) per product: %s", {k: round(v, 3) for k, v in metrics.items() if k.endswith("/auroc_A")})


def _save_figure(path: Path, test: pd.DataFrame, frame: pd.DataFrame, scores: Scores, prepared: PreparedData,
                 masks: np.ndarray, per_product: int) -> None:
    """examples.png from a few test images per product (rows of ``frame`` align with ``test``)."""
    idx = pick_examples(frame, per_product)
    images = np.asarray(prepared.images[test["cache_index"].to_numpy()[idx]])
    recon = to_display_uint8(torch.from_numpy(scores.reconstructions[idx]))
    titles = [f"{r.product} {r.domain}\nA={r.A:.3g}" for r in frame.iloc[idx].itertuples()]
    save_examples_figure(path, images, recon, scores.maps[idx], titles, masks[idx] if prepared.has_masks else None)

if __name__ == "__main__":
    main()
