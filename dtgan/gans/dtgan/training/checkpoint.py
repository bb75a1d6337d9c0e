"""Resumable training checkpoints of DT-GAN.

``checkpoint.pt`` holds everything to continue bit-identically: nets, EMA nets, optimisers, step, loss history and
every RNG state (sampler generator, M's noise generator, torch's global RNG), plus the resolved config it was
written with (:func:`resolved_config`) and the fingerprint of the code that wrote it
(:func:`dtgan.provenance.code_fingerprint` of this family's package): a checkpoint of another config, other data or
other DT-GAN code is ignored, not resumed.
The trained model later stages read is :mod:`dtgan.gans.dtgan.artefact`.

Under torchrun rank 0 writes the one checkpoint; it also holds every rank's RNG states (``ranks``), since each rank
draws its own batches, and every rank resumes from the same file (``out`` on a filesystem all ranks see).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from dtgan.constants import DOMAINS
from dtgan.distributed import gather_objects
from dtgan.gans.dtgan.artefact import EMA_MODULES
from dtgan.gans.dtgan.config import GanConfig, LossWeights
from dtgan.gans.dtgan.training.data import GanData
from dtgan.gans.dtgan.training.loop import MODULES, TrainingRun, start_gan_phase
from dtgan.params import as_dict
from dtgan.provenance import code_fingerprint
from dtgan.runtime import save_torch

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
FAMILY_ROOT = Path(__file__).resolve().parents[1]  # dtgan/gans/dtgan


def resolved_config(cfg: GanConfig, variant: str, weights: LossWeights, data: GanData,
                    world_size: int = 1) -> dict[str, Any]:
    """What config.json records: the gan section's result keys, variant, loss weights, image size, products, domains
    and the training data's fingerprint — so a persisted checkpoint from other data (a changed dataset or split) is
    ignored rather than resumed, while one that differs only in non-result keys (device, checkpoint interval)
    resumes. ``world_size`` (recorded when > 1) is a result: each rank draws its own batch_size / world_size images
    from its own streams, so another number of processes trains on other batches. ``gan.amp`` is recorded when it
    is not "none": fp32 runs keep the config.json they had before mixed precision existed (same weights, same file),
    while a bf16 / fp16 run is told apart and never resumes an fp32 checkpoint; ``gan.compile`` likewise."""
    config = {
        "gan": as_dict(cfg, exclude=("amp", "compile")),
        "loss_weights": as_dict(weights),
        "variant": variant,
        "image_size": data.image_size,
        "image_channels": data.image_channels,
        "products": list(data.product_names),
        "domains": list(DOMAINS),
        "data_sha256": data.fingerprint(),
        "num_images": len(data.domains),
    }
    if cfg.amp != "none":
        config["amp"] = cfg.amp
    if cfg.compile != "none":
        config["compile"] = cfg.compile
    if world_size > 1:
        config["world_size"] = world_size
    return config


def _rank_state(run: TrainingRun) -> dict[str, Any]:
    """The random streams that differ between ranks (the weights, optimisers and EMA do not)."""
    return {"sampler": run.sampler.state_dict(), "noise_generator": run.noise_generator.get_state(),
            "torch_rng": torch.get_rng_state()}


def _load_rank_state(run: TrainingRun, state: dict[str, Any]) -> None:
    run.sampler.load_state_dict(state["sampler"])
    run.noise_generator.set_state(state["noise_generator"].cpu())
    torch.set_rng_state(state["torch_rng"].cpu())


def family_code() -> str:
    """The code fingerprint a DT-GAN checkpoint records: every .py file of this family's package (computed once
    per training by its caller)."""
    return code_fingerprint(FAMILY_ROOT)


def save_checkpoint(path: str | Path, run: TrainingRun, config: dict[str, Any], code_sha256: str) -> None:
    """Write the full training state atomically (a killed process never leaves a broken checkpoint), recording
    ``code_sha256`` (:func:`family_code`) as the code that wrote it.

    Called on every rank (the RNG states are gathered from all of them); rank 0 alone writes."""
    rank_states = gather_objects(_rank_state(run), run.world)
    if not run.world.is_rank0:
        return
    state = {
        "config": config,
        "code_sha256": code_sha256,
        "step": run.step,
        "nets": {name: getattr(run.nets, name).state_dict() for name in MODULES},
        "ema": {name: getattr(run.ema, name).state_dict() for name in EMA_MODULES},
        "optimizers": {name: opt.state_dict() for name, opt in run.optimizers.items()},
        "sampler": run.sampler.state_dict(),
        "noise_generator": run.noise_generator.get_state(),
        "torch_rng": torch.get_rng_state(),
        "history": run.history,
        "pending": run.pending,
        "pending_count": run.pending_count,
    }
    if run.world.distributed:
        state["ranks"] = rank_states
    if run.scaler is not None:
        state["scaler"] = run.scaler.state_dict()
    save_torch(path, state)
    log.info("checkpoint at step %d -> %s", run.step, path)


def try_resume(path: str | Path, run: TrainingRun, config: dict[str, Any], cfg: GanConfig, code_sha256: str) -> bool:
    """Load ``path`` into ``run`` if it exists and was made with the same resolved config by the code
    ``code_sha256`` (:func:`family_code`); True if resumed.

    A checkpoint written after the warm-up holds the GAN phase's optimisers, whose Adam groups can differ from the
    warm-up's (gan.background_lr): the run enters the GAN phase first so that their shapes match."""
    path = Path(path)
    if not path.is_file():
        return False
    state = torch.load(path, map_location=run.device, weights_only=True)
    if state.get("config") != config:
        log.warning("ignoring %s: it was written with a different config; training from scratch", path)
        return False
    if state.get("code_sha256") != code_sha256:
        log.warning("ignoring %s: it was written by other DT-GAN code (%s); training from scratch", path, FAMILY_ROOT)
        return False
    for name in MODULES:
        getattr(run.nets, name).load_state_dict(state["nets"][name])
    for name in EMA_MODULES:
        getattr(run.ema, name).load_state_dict(state["ema"][name])
    if int(state["step"]) > cfg.warmup_iters > 0:
        start_gan_phase(run, cfg)
    for name, optimizer in run.optimizers.items():
        optimizer.load_state_dict(state["optimizers"][name])
    _load_rank_state(run, state["ranks"][run.world.rank] if run.world.distributed else state)
    if run.scaler is not None:
        run.scaler.load_state_dict(state["scaler"])
    run.step, run.history = int(state["step"]), list(state["history"])
    run.pending, run.pending_count = dict(state["pending"]), int(state["pending_count"])
    log.info("resumed from %s at step %d", path, run.step)
    return True
