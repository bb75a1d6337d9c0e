"""Classifier training protocol (protocol.md §4): SGD with momentum, ReduceLROnPlateau on the validation loss, the
checkpoint with the lowest validation loss evaluated once on the test set.

All images stay in memory as uint8 tensors and are augmented batch by batch on the training device; with synthetic
images in the training set the model gets the real-vs-synthetic source head behind a Gradient Reversal Layer and its
cross-entropy is added to the class cross-entropy.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from dtgan.classify.augment import Augmenter, build_augmenter
from dtgan.classify.config import ClassifierConfig, run_record
from dtgan.classify.data import ImageSet
from dtgan.classify.evaluate import predictions_frame, run_metrics
from dtgan.classify.models import DefectClassifier, build_classifier
from dtgan.constants import DOMAINS
from dtgan.runtime import save_torch, seed_everything

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """Everything one (config, seed) training run produced."""

    seed: int
    best_epoch: int  # 1-based epoch whose weights were evaluated on the test set
    best_val_loss: float
    history: list[dict]  # per epoch: epoch, lr, train_loss, train_class_loss, train_source_loss, val_loss, val_error
    predictions: pd.DataFrame  # test set: sample_id, product, label, pred, score_<class>
    metrics: dict  # evaluate.run_metrics of the test predictions
    has_source_head: bool
    train_seconds: float
    train_images_per_second: float
    best_state: dict = field(repr=False, default_factory=dict)  # weights of the best epoch (CPU tensors)


def classification_loss(logits: torch.Tensor, class_targets: torch.Tensor, source_logits: torch.Tensor | None,
                        source_targets: torch.Tensor | None, source_weight: float) -> tuple[torch.Tensor, dict]:
    """Class CE (+ ``source_weight`` × real/synthetic CE when there is a source head); targets are probabilities."""
    class_loss = F.cross_entropy(logits, class_targets)
    total = class_loss
    source_value = 0.0
    if source_logits is not None:
        source_loss = F.cross_entropy(source_logits, source_targets)
        total = total + source_weight * source_loss
        source_value = float(source_loss.detach())
    return total, {"loss": float(total.detach()), "class_loss": float(class_loss.detach()), "source_loss": source_value}


def make_plateau_scheduler(optimizer: torch.optim.Optimizer,
                           cfg: ClassifierConfig) -> torch.optim.lr_scheduler.ReduceLROnPlateau:
    """lr × ``plateau_factor`` once the validation loss has not decreased for ``plateau_patience`` epochs."""
    return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=cfg.plateau_factor,
                                                      patience=cfg.plateau_patience)


def make_optimizer(model: nn.Module, cfg: ClassifierConfig) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def to_uint8_tensor(images: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 array -> (N, 3, H, W) uint8 tensor (kept as uint8 to save memory)."""
    return torch.from_numpy(np.array(images.transpose(0, 3, 1, 2), order="C"))  # a writable copy


def batch_indices(n: int, batch_size: int, generator: torch.Generator | None) -> list[torch.Tensor]:
    """Shuffled (with a generator) or ordered batches; a trailing batch of one is dropped when shuffling because
    BatchNorm cannot train on a single image."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    batches = list(torch.split(order, batch_size))
    if generator is not None and batches and len(batches[-1]) < 2:
        batches.pop()
    return batches


@dataclass
class _Tensors:
    """An ImageSet's arrays as tensors (images stay uint8 on the CPU until batched)."""

    images: torch.Tensor
    labels: torch.Tensor
    sources: torch.Tensor

    @classmethod
    def of(cls, data: ImageSet) -> _Tensors:
        # torch.tensor copies: the arrays may be read-only views (pandas, memory-mapped caches).
        return cls(to_uint8_tensor(data.images), torch.tensor(np.asarray(data.labels), dtype=torch.long),
                   torch.tensor(np.asarray(data.is_synthetic), dtype=torch.long))


def _float_batch(images: torch.Tensor, idx: torch.Tensor, device: torch.device) -> torch.Tensor:
    return images[idx].to(device, non_blocking=True).float().div_(255.0)


def set_train_mode(model: nn.Module, freeze_bn: bool) -> None:
    """Training mode; with ``freeze_bn`` every BatchNorm layer stays in eval mode (running statistics unchanged)."""
    model.train()
    if freeze_bn:
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


def train_one_epoch(model: DefectClassifier, data: _Tensors, augment: Augmenter, optimizer: torch.optim.Optimizer,
                    cfg: ClassifierConfig, generator: torch.Generator, device: torch.device) -> dict:
    """One pass over the shuffled training set; returns the image-weighted mean losses and the image count."""
    set_train_mode(model, freeze_bn=cfg.freeze_bn)
    sums = {"loss": 0.0, "class_loss": 0.0, "source_loss": 0.0}
    seen = 0
    for idx in batch_indices(len(data.labels), cfg.batch_size, generator):
        images = _float_batch(data.images, idx, device)
        images, class_t, source_t = augment(images, data.labels[idx].to(device), data.sources[idx].to(device))
        out = model(images)
        loss, parts = classification_loss(out.logits, class_t, out.source_logits, source_t, cfg.source_loss_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        seen += len(idx)
        for key in sums:
            sums[key] += parts[key] * len(idx)
    means = {f"train_{k}" if k != "loss" else "train_loss": v / max(seen, 1) for k, v in sums.items()}
    return {**means, "images": seen}


@torch.no_grad()
def predict_probs(model: DefectClassifier, images: torch.Tensor, batch_size: int, device: torch.device) -> np.ndarray:
    """Softmax class scores (N, C) in eval mode (BatchNorm running statistics, no dropout)."""
    model.eval()
    chunks = [model(_float_batch(images, idx, device)).logits.float().softmax(dim=1).cpu()
              for idx in batch_indices(len(images), batch_size, None)]
    return torch.cat(chunks).numpy() if chunks else np.zeros((0, len(DOMAINS)), dtype=np.float32)


def validation_loss(probs: np.ndarray, labels: torch.Tensor) -> tuple[float, float]:
    """(mean class cross-entropy, error %) from softmax scores."""
    picked = probs[np.arange(len(labels)), labels.numpy()]
    loss = float(-np.mean(np.log(np.clip(picked, 1e-12, None))))
    return loss, float(100.0 * np.mean(probs.argmax(axis=1) != labels.numpy()))


def run_fingerprint(cfg: ClassifierConfig, seed: int, train: ImageSet, val: ImageSet) -> str:
    """Identifies a run so a checkpoint is only resumed by the same config, seed and data.

    ``epochs`` (and the seed list) are left out so a finished run can be extended to more epochs.
    """
    settings = {k: v for k, v in run_record(cfg).items() if k not in ("epochs", "seeds")}
    h = hashlib.sha256(json.dumps({"cfg": settings, "seed": seed}, sort_keys=True, default=str).encode())
    for data in (train, val):
        h.update(np.ascontiguousarray(data.images[:: max(1, len(data) // 64)]).tobytes())
        h.update(np.asarray(data.labels, dtype=np.int64).tobytes())
        h.update(np.asarray(data.is_synthetic, dtype=np.int64).tobytes())
    return h.hexdigest()


@dataclass
class _TrainState:
    epoch: int = 0  # epochs completed
    history: list[dict] = field(default_factory=list)
    best_val_loss: float = math.inf
    best_epoch: int = 0
    best_state: dict = field(default_factory=dict)
    train_seconds: float = 0.0
    train_images: int = 0


def _save_checkpoint(path: Path, fingerprint: str, model: nn.Module, optimizer: torch.optim.Optimizer,
                     scheduler: object, state: _TrainState, generator: torch.Generator) -> None:
    save_torch(path, {"fingerprint": fingerprint, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                      "scheduler": scheduler.state_dict(), "state": state.__dict__,
                      "generator": generator.get_state(), "torch_rng": torch.get_rng_state()})


def _try_resume(path: Path | None, fingerprint: str, model: nn.Module, optimizer: torch.optim.Optimizer,
                scheduler: object, generator: torch.Generator) -> _TrainState:
    if path is None or not path.is_file():
        return _TrainState()
    ckpt = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain values only
    if ckpt.get("fingerprint") != fingerprint:
        log.warning("checkpoint %s belongs to another config/seed/data; starting this run from scratch", path)
        return _TrainState()
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    scheduler.load_state_dict(ckpt["scheduler"])
    generator.set_state(ckpt["generator"])
    torch.set_rng_state(ckpt["torch_rng"])
    state = _TrainState(**ckpt["state"])
    log.info("resumed classifier training from %s after epoch %d", path, state.epoch)
    return state


def _record_epoch(state: _TrainState, model: nn.Module, train_stats: dict, val_loss: float, val_error: float,
                  lr: float, seconds: float) -> None:
    state.epoch += 1
    state.train_seconds += seconds
    state.train_images += train_stats["images"]
    row = {"epoch": state.epoch, "lr": lr, **{k: v for k, v in train_stats.items() if k != "images"},
           "val_loss": val_loss, "val_error": val_error}
    state.history.append(row)
    if val_loss < state.best_val_loss:  # strict: of equal losses the earliest epoch is kept
        state.best_val_loss, state.best_epoch = val_loss, state.epoch
        state.best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def _fit(model: DefectClassifier, train: _Tensors, val: _Tensors, cfg: ClassifierConfig, seed: int,
         device: torch.device, checkpoint: tuple[Path, str] | None) -> _TrainState:
    augment = build_augmenter(cfg, len(DOMAINS))
    optimizer = make_optimizer(model, cfg)
    scheduler = make_plateau_scheduler(optimizer, cfg)
    generator = torch.Generator().manual_seed(seed)
    path, fingerprint = checkpoint if checkpoint is not None else (None, "")
    state = _try_resume(path, fingerprint, model, optimizer, scheduler, generator)
    bar = tqdm(range(state.epoch, cfg.epochs), desc=f"classifier seed {seed}", leave=False,
               initial=state.epoch, total=cfg.epochs)
    for _ in bar:
        lr = optimizer.param_groups[0]["lr"]  # the lr this epoch trains with
        start = time.perf_counter()
        stats = train_one_epoch(model, train, augment, optimizer, cfg, generator, device)
        seconds = time.perf_counter() - start
        val_loss, val_error = validation_loss(predict_probs(model, val.images, cfg.eval_batch_size, device),
                                              val.labels)
        scheduler.step(val_loss)
        _record_epoch(state, model, stats, val_loss, val_error, lr, seconds)
        bar.set_postfix(train=f"{stats['train_loss']:.3f}", val=f"{val_loss:.3f}", err=f"{val_error:.1f}")
        if path is not None:
            _save_checkpoint(path, fingerprint, model, optimizer, scheduler, state, generator)
    return state


def train_classifier(train: ImageSet, val: ImageSet, test: ImageSet, cfg: ClassifierConfig, seed: int,
                     device: torch.device, checkpoint_path: str | Path | None = None) -> RunResult:
    """Train one classifier (one seed), select the epoch with the lowest validation loss, test it once.

    ``checkpoint_path``: written after every epoch; a later call with the same config, seed and data resumes there.
    """
    for data in (train, val, test):
        if len(data) == 0:
            msg = f"classifier {data.name} set is empty"
            raise ValueError(msg)
    seed_everything(seed)
    model = build_classifier(cfg, len(DOMAINS), with_source_head=train.has_synthetic).to(device)
    log.info("classifier %s (%s) on %d train / %d val / %d test images, source head: %s, seed %d", cfg.backbone,
             cfg.pretrained, len(train), len(val), len(test), model.has_source_head, seed)
    checkpoint = None
    if checkpoint_path is not None:
        checkpoint = (Path(checkpoint_path), run_fingerprint(cfg, seed, train, val))
    state = _fit(model, _Tensors.of(train), _Tensors.of(val), cfg, seed, device, checkpoint)
    model.load_state_dict(state.best_state)
    probs = predict_probs(model, to_uint8_tensor(test.images), cfg.eval_batch_size, device)
    frame = predictions_frame(test.ids(), test.products, np.asarray(test.labels), probs)
    return RunResult(seed=seed, best_epoch=state.best_epoch, best_val_loss=state.best_val_loss,
                     history=copy.deepcopy(state.history), predictions=frame, metrics=run_metrics(frame),
                     has_source_head=model.has_source_head, train_seconds=state.train_seconds,
                     train_images_per_second=state.train_images / max(state.train_seconds, 1e-9),
                     best_state=state.best_state)
