"""Glue between the prepared data / splits and the f-AnoGAN library, used by the two stages.

Training uses only Normal images of the ``train`` split; scoring runs on the ``test`` split the classifiers use.
In "conditional" mode one model covers every product (labels = index in ``products``); in "per_product" mode each
product gets its own unconditional model. Each model is one checkpoint file ``model_<unit>.pt`` in the output
folder, described by ``meta.json``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dtgan.anomaly.config import AnomalyConfig
from dtgan.anomaly.models import Networks
from dtgan.anomaly.score import Scores, score_images
from dtgan.anomaly.train import TrainingData, load_checkpoint, network_hparams, networks_from_checkpoint, train_model
from dtgan.constants import NORMAL
from dtgan.data.cache import PreparedData, image_channels, load_prepared
from dtgan.data.split import load_split
from dtgan.data.tensors import images_to_tensor
from dtgan.errors import CheckpointError, DataError
from dtgan.params import as_dict
from dtgan.provenance import code_fingerprint
from dtgan.runtime import pick_device, seed_everything, write_json

log = logging.getLogger(__name__)
CONDITIONAL_UNIT = "conditional"
META_FILE = "meta.json"


def training_units(mode: str, products: tuple[str, ...]) -> list[tuple[str, tuple[str, ...]]]:
    """(unit name, products it covers): one conditional model, or one model per product."""
    if mode == "conditional":
        return [(CONDITIONAL_UNIT, tuple(products))]
    return [(p, (p,)) for p in products]


def model_filename(unit: str) -> str:
    return "model_" + re.sub(r"[^A-Za-z0-9_-]", "_", unit) + ".pt"


def choose_channels(color: str, images: np.ndarray) -> int:
    """1 for grayscale data (every pixel R == G == B, as MTD), 3 otherwise; ``color`` gray/rgb forces it."""
    if color != "auto":
        return 1 if color == "gray" else 3
    return image_channels(images)


def to_model_tensor(images: np.ndarray, channels: int) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, channels, H, W) in [-1, 1]; grayscale keeps the first channel."""
    return images_to_tensor(np.ascontiguousarray(images))[:, :channels].contiguous()


def rows_images(prepared: PreparedData, rows: pd.DataFrame) -> np.ndarray:
    return np.asarray(prepared.images[rows["cache_index"].to_numpy()])


def rows_labels(rows: pd.DataFrame, products: tuple[str, ...], conditional: bool) -> torch.Tensor | None:
    if not conditional:
        return None
    index = {p: i for i, p in enumerate(products)}
    return torch.tensor([index[p] for p in rows["product"]], dtype=torch.long)


# Keys of scoring, figures and logging: they do not change what is trained, so changing them must not throw away
# a checkpoint, and the training record (meta.json) leaves them out.
ANOMALY_ROOT = Path(__file__).resolve().parent  # dtgan/anomaly: the code its checkpoints record
NOT_TRAINED = ("log_every", "eval_batch_size", "figure_examples", "map_sigma")


def fingerprint(cfg: AnomalyConfig, hparams: dict, sample_ids: list[str], pixels: np.ndarray) -> str:
    """Identifies what a checkpoint was trained on and by which code, so resuming never mixes params, data or code.

    The pixels count as well as the ids: a regenerated dataset can reuse the same ids for other images. The code is
    every .py file of this package (:func:`dtgan.provenance.code_fingerprint`): DVC keeps the persisted checkpoint
    when the stage reruns for a code change, and resuming it would hand back the old code's model."""
    trained = as_dict(cfg, exclude=NOT_TRAINED)
    payload = json.dumps({"cfg": trained, "hparams": hparams, "ids": sorted(sample_ids),
                          "code": code_fingerprint(ANOMALY_ROOT)}, sort_keys=True)
    digest = hashlib.sha256(payload.encode())
    digest.update(np.ascontiguousarray(pixels).tobytes())
    return digest.hexdigest()


def train_all(prepared: PreparedData, train_table: pd.DataFrame, cfg: AnomalyConfig, out_dir: Path,
              device: torch.device) -> dict:
    """Train every unit on the Normal images of ``train_table``; returns a JSON-friendly summary."""
    normals = train_table[train_table["domain"] == NORMAL]
    if normals.empty:
        msg = "the train split has no Normal images: f-AnoGAN trains on normal images only"
        raise DataError(msg)
    products = tuple(prepared.products)
    channels = choose_channels(cfg.color, rows_images(prepared, normals))
    conditional = cfg.mode == "conditional"
    summary: dict = {"units": {}}
    for i, (unit, unit_products) in enumerate(training_units(cfg.mode, products)):
        rows = normals[normals["product"].isin(unit_products)]
        if rows.empty:
            msg = f"no Normal training images for product(s) {list(unit_products)} in the train split"
            raise DataError(msg)
        hparams = network_hparams(cfg, prepared.image_size, channels, len(products) if conditional else 0)
        pixels = rows_images(prepared, rows)
        data = TrainingData(to_model_tensor(pixels, channels), rows_labels(rows, products, conditional))
        start = time.perf_counter()
        _, state = train_model(data, cfg, hparams, out_dir / model_filename(unit),
                               fingerprint(cfg, hparams, rows["sample_id"].tolist(), pixels), cfg.seed + i, device,
                               unit)
        summary["units"][unit] = {"products": list(unit_products), "n_train_normals": len(rows),
                                  "seconds_this_run": round(time.perf_counter() - start, 2),
                                  "final": {row["phase"]: row for row in state.history}}  # last row per phase
    meta = {"mode": cfg.mode, "residual": cfg.residual, "kappa": cfg.kappa, "channels": channels,
            "image_size": prepared.image_size, "products": list(products), "config": as_dict(cfg, exclude=NOT_TRAINED),
            "units": {u: {"file": model_filename(u), "products": list(p)}
                      for u, p in training_units(cfg.mode, products)}}
    write_json(out_dir / META_FILE, meta)
    return summary


def train_and_summarise(cfg: AnomalyConfig, prepared_dir: Path, splits_dir: Path, out: Path) -> dict:
    """The train_anomaly stage: train every unit, then score the validation normals (monitoring only) and write
    ``train_summary.json``."""
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    start = time.perf_counter()
    prepared = load_prepared(prepared_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = train_all(prepared, load_split(splits_dir, "train"), cfg, out, device)
    val = load_split(splits_dir, "val")
    val_normals = val[val["domain"] == NORMAL]
    if not val_normals.empty:  # monitoring only: reconstruction quality on unseen normals (maps unused)
        meta, nets = load_models(out, device)
        frame, _ = score_table(prepared, val_normals, meta, nets, cfg.eval_batch_size, 0.0, device)
        summary["val_normal_mean"] = frame.groupby("product")[["A", "A_R", "A_D"]].mean().to_dict(orient="index")
    summary["seconds"] = round(time.perf_counter() - start, 2)
    write_json(out / "train_summary.json", summary)
    log.info("train_anomaly done in %.1f s", summary["seconds"])
    return summary


def load_models(model_dir: Path, device: torch.device) -> tuple[dict, dict[str, Networks]]:
    """``meta.json`` and the nets of every unit it lists."""
    path = model_dir / META_FILE
    if not path.is_file():
        msg = f"{path} not found: run the train_anomaly stage first"
        raise CheckpointError(msg)
    meta = json.loads(path.read_text())
    nets = {}
    for unit, info in meta["units"].items():
        ckpt = load_checkpoint(model_dir / info["file"])
        if ckpt is None:
            msg = f"model file {model_dir / info['file']} listed in {path} is missing; rerun train_anomaly"
            raise CheckpointError(msg)
        nets[unit] = networks_from_checkpoint(ckpt, device)
    return meta, nets



def score_table(prepared: PreparedData, table: pd.DataFrame, meta: dict, nets: dict[str, Networks],
                batch_size: int, map_sigma: float, device: torch.device) -> tuple[pd.DataFrame, Scores]:
    """Per-image scores of ``table`` (label 1 = defect) with the residual/kappa the models were trained with."""
    table = table.reset_index(drop=True)
    unknown = sorted(set(table["product"]) - set(meta["products"]))
    if unknown:
        msg = f"products {unknown} have no trained anomaly model (trained on {meta['products']}); rerun train_anomaly"
        raise CheckpointError(msg)
    parts: list[tuple[np.ndarray, Scores]] = []
    for unit, info in meta["units"].items():
        pos = np.flatnonzero(table["product"].isin(info["products"]).to_numpy())
        if pos.size == 0:
            continue
        rows = table.iloc[pos]
        images = to_model_tensor(rows_images(prepared, rows), meta["channels"])
        labels = rows_labels(rows, tuple(meta["products"]), meta["mode"] == "conditional")
        parts.append((pos, score_images(nets[unit], images, labels, meta["residual"], meta["kappa"],
                                        batch_size, map_sigma, device)))
    if not parts:
        msg = "no test images to score"
        raise ValueError(msg)
    order = np.argsort(np.concatenate([p for p, _ in parts]))
    scores = Scores(*(np.concatenate([getattr(s, f) for _, s in parts])[order]
                      for f in ("a_r", "a_d", "a", "z_distance", "maps", "reconstructions")))
    frame = table[["sample_id", "product", "domain", "mask_path"]].copy()
    frame["label"] = (frame["domain"] != NORMAL).astype(int)
    frame["A"], frame["A_R"], frame["A_D"], frame["z_distance"] = scores.a, scores.a_r, scores.a_d, scores.z_distance
    return frame, scores
