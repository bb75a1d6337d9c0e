"""The evaluation classifier: trained on REAL images only, it judges whether synthetic images show the intended
defect ("target-domain accuracy"). Its own test error is reported beside that accuracy so readers know how far
to trust it.

Training set: the train split of every product, 3 classes, balanced: minority classes oversampled (whole copies plus
a seeded remainder) to the size of the largest class, or, to fit a CPU budget, every class resampled to
``evaluate.eval_classifier_class_size`` images; validation on the val split selects the epoch; the test split
is scored once. Backbone and optimiser come from the ``classifier`` section, epochs and seed from ``evaluate``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dtgan.classify.config import ClassifierConfig, run_record
from dtgan.classify.data import ImageSet, image_set, real_rows
from dtgan.classify.models import build_classifier
from dtgan.classify.train import predict_probs, to_uint8_tensor, train_classifier
from dtgan.constants import DOMAIN_INDEX, DOMAINS
from dtgan.data.cache import load_prepared
from dtgan.data.split import load_split
from dtgan.errors import DataError
from dtgan.params import from_mapping
from dtgan.runtime import pick_device, save_torch, write_json

log = logging.getLogger(__name__)

MODEL_NAME = "model.pt"
INFO_NAME = "eval_classifier.json"
CHECKPOINT_NAME = "train_checkpoint.pt"


def balance_classes(labels: np.ndarray, rng: np.random.Generator, class_size: int = 0) -> np.ndarray:
    """Row indices with every present class appearing ``class_size`` times (0 = as often as the largest class).

    A smaller class is oversampled: each image repeated ``class_size // n`` times and a random ``class_size % n``
    of them once more, so no real image is left out and repeat counts differ by at most one. A larger class (only
    when ``class_size`` is below its count) is subsampled without replacement.
    """
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    if len(classes) == 0:
        msg = "cannot balance an empty label array"
        raise ValueError(msg)
    if class_size < 0:
        msg = f"class_size must be >= 0 (0 = the largest class), got {class_size}"
        raise ValueError(msg)
    target = int(class_size) if class_size > 0 else int(counts.max())
    picked = []
    for cls, n in zip(classes, counts, strict=True):
        rows = np.flatnonzero(labels == cls)
        if n >= target:
            picked.append(rng.choice(rows, target, replace=False))
        else:
            picked += [np.tile(rows, target // n), rng.choice(rows, target % n, replace=False)]
    return np.sort(np.concatenate(picked))


def split_image_set(splits_dir: Path, name: str, images: np.ndarray) -> ImageSet:
    """Real images of a split through the classifier's own data path (a manifest of real rows)."""
    frame = load_split(splits_dir, name)
    if frame.empty:
        msg = f"the {name} split is empty; the evaluation classifier needs images of every split"
        raise DataError(msg)
    return image_set(real_rows(frame), images, f"eval classifier {name}")


def eval_classifier_config(base: ClassifierConfig, epochs: int, seed: int, device: str) -> ClassifierConfig:
    return dataclasses.replace(base, epochs=epochs, seeds=(seed,), device=device)


def class_counts(labels: np.ndarray) -> dict[str, int]:
    return {name: int(np.sum(np.asarray(labels) == i)) for i, name in enumerate(DOMAINS)}


def train_eval_classifier(cfg: ClassifierConfig, prepared_dir: Path, splits_dir: Path, out_dir: Path,
                          class_size: int = 0) -> dict:
    """Train, save ``model.pt`` (state_dict) + ``eval_classifier.json``; returns the JSON content.

    ``class_size``: training images per class after balancing (0 = the largest class's count, pure oversampling).
    """
    seed = cfg.seeds[0]
    images = load_prepared(prepared_dir).images
    sets = {name: split_image_set(splits_dir, name, images) for name in ("train", "val", "test")}
    real = sets["train"]
    rows = balance_classes(real.labels, np.random.default_rng(seed), class_size)
    balanced = ImageSet(images=real.images[rows], labels=real.labels[rows], is_synthetic=real.is_synthetic[rows],
                        products=real.products[rows], sample_ids=real.sample_ids[rows], name=real.name)
    log.info("eval classifier: train %s -> balanced %s", class_counts(real.labels), class_counts(balanced.labels))
    checkpoint = out_dir / CHECKPOINT_NAME
    result = train_classifier(balanced, sets["val"], sets["test"], cfg, seed, pick_device(cfg.device), checkpoint)
    best = result.history[result.best_epoch - 1]
    info = {"config": run_record(cfg), "seed": seed, "best_epoch": result.best_epoch, "val_loss": best["val_loss"],
            "val_error": best["val_error"], "test_error": result.metrics["error"], "test_metrics": result.metrics,
            "train_counts": class_counts(real.labels), "train_counts_balanced": class_counts(balanced.labels),
            "n_val": len(sets["val"]), "n_test": len(sets["test"]), "history": result.history,
            "train_seconds": result.train_seconds}
    save_torch(out_dir / MODEL_NAME, result.best_state)
    write_json(out_dir / INFO_NAME, info)
    checkpoint.unlink(missing_ok=True)  # only needed to resume an interrupted run; the best weights are saved
    log.info("eval classifier: best epoch %d, val error %.2f%%, test error %.2f%%", result.best_epoch,
             info["val_error"], info["test_error"])
    return info


def load_eval_classifier(model_dir: str | Path, device: torch.device) -> tuple[torch.nn.Module, dict]:
    """The trained classifier (eval mode, on ``device``) and its JSON record."""
    model_dir = Path(model_dir)
    info_path, model_path = model_dir / INFO_NAME, model_dir / MODEL_NAME
    for path in (info_path, model_path):
        if not path.is_file():
            msg = f"{path} not found; run the train_eval_classifier stage first"
            raise DataError(msg)
    info = json.loads(info_path.read_text())
    # The weights are replaced by the saved ones, so the ImageNet file is not needed to rebuild the network; the
    # record's augmentation settings play no part in rebuilding it.
    fields = {f.name for f in dataclasses.fields(ClassifierConfig)}
    record = {k: v for k, v in info["config"].items() if k in fields}
    cfg = dataclasses.replace(from_mapping(ClassifierConfig, record, f"{info_path}:config"), pretrained="none")
    model = build_classifier(cfg, len(DOMAINS), with_source_head=False)
    model.load_state_dict(torch.load(model_path, map_location="cpu", weights_only=True))
    return model.to(device).eval(), info


def predict_domains(model: torch.nn.Module, images: np.ndarray, batch_size: int, device: torch.device) -> np.ndarray:
    """Predicted domain index of each uint8 image (N, H, W, 3)."""
    probs = predict_probs(model, to_uint8_tensor(images), batch_size, device)
    return probs.argmax(axis=1)


def target_accuracy(predicted: np.ndarray, target_domains: pd.Series) -> float:
    """Fraction of images classified as their intended domain."""
    wanted = target_domains.map(DOMAIN_INDEX).to_numpy(dtype=int)
    if len(wanted) != len(predicted) or len(wanted) == 0:
        msg = f"need one prediction per image (got {len(predicted)} for {len(wanted)})"
        raise ValueError(msg)
    return float(np.mean(np.asarray(predicted) == wanted))
