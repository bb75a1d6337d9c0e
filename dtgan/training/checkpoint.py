"""Resumable training checkpoints and the EMA-weights artefact used by later stages.

``checkpoint.pt`` holds everything to continue bit-identically: nets, EMA nets, optimisers, step, loss history and
every RNG state (sampler generator, M's noise generator, torch's global RNG). ``ema.pt`` holds only the state_dicts
of the EMA G, M and E (no pickled code); ``config.json`` beside it says how to rebuild them.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dtgan.constants import DOMAINS
from dtgan.params import as_dict, from_mapping
from dtgan.runtime import save_torch, write_json
from dtgan.training.config import GanConfig, LossWeights
from dtgan.training.data import GanData
from dtgan.training.ema import EMA_MODULES
from dtgan.training.loop import MODULES, TrainingRun

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
EMA_NAME = "ema.pt"
CONFIG_NAME = "config.json"
# Settings that do not change the trained weights, so a checkpoint stays valid when only they differ.
NON_RESULT_KEYS = ("device", "checkpoint_every")


@dataclass
class EmaNets:
    """The EMA generator, mapping network and style-defect encoder, in eval mode."""

    generator: nn.Module
    mapping: nn.Module
    encoder: nn.Module


def resolved_config(cfg: GanConfig, weights: LossWeights, data: GanData) -> dict[str, Any]:
    """What config.json records: gan section (incl. variant), loss weights, image size, products, domains, and the
    training data's fingerprint — so a persisted checkpoint from other data (a changed dataset or split) is ignored
    rather than resumed."""
    return {
        "gan": as_dict(cfg),
        "loss_weights": as_dict(weights),
        "variant": cfg.variant,
        "image_size": data.image_size,
        "products": list(data.product_names),
        "domains": list(DOMAINS),
        "data_sha256": data.fingerprint(),
        "num_images": len(data.domains),
    }


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    gan = {k: v for k, v in config["gan"].items() if k not in NON_RESULT_KEYS}
    return {**config, "gan": gan}


def save_checkpoint(path: str | Path, run: TrainingRun, config: dict[str, Any]) -> None:
    """Write the full training state atomically (a killed process never leaves a broken checkpoint)."""
    state = {
        "config": config,
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
    save_torch(path, state)
    log.info("checkpoint at step %d -> %s", run.step, path)


def try_resume(path: str | Path, run: TrainingRun, config: dict[str, Any]) -> bool:
    """Load ``path`` into ``run`` if it exists and was made with the same resolved config; True if resumed."""
    path = Path(path)
    if not path.is_file():
        return False
    state = torch.load(path, map_location=run.device, weights_only=True)
    if _comparable(state.get("config", {})) != _comparable(config):
        log.warning("ignoring %s: it was written with a different config; training from scratch", path)
        return False
    for name in MODULES:
        getattr(run.nets, name).load_state_dict(state["nets"][name])
    for name in EMA_MODULES:
        getattr(run.ema, name).load_state_dict(state["ema"][name])
    for name, optimizer in run.optimizers.items():
        optimizer.load_state_dict(state["optimizers"][name])
    run.sampler.load_state_dict(state["sampler"])
    run.noise_generator.set_state(state["noise_generator"].cpu())
    torch.set_rng_state(state["torch_rng"].cpu())
    run.step, run.history = int(state["step"]), list(state["history"])
    run.pending, run.pending_count = dict(state["pending"]), int(state["pending_count"])
    log.info("resumed from %s at step %d", path, run.step)
    return True


def save_ema(out_dir: str | Path, run: TrainingRun, config: dict[str, Any]) -> None:
    """``ema.pt`` (EMA state_dicts of G, M, E only) and ``config.json`` in ``out_dir``."""
    out_dir = Path(out_dir)
    save_torch(out_dir / EMA_NAME, {name: getattr(run.ema, name).state_dict() for name in EMA_MODULES})
    write_json(out_dir / CONFIG_NAME, config)


def load_ema(out_dir: str | Path, device: str | torch.device = "cpu") -> tuple[EmaNets, dict[str, Any]]:
    """Rebuild the EMA G, M, E written by the train_gan stage; returns (nets in eval mode, config dict)."""
    from dtgan.models.build import build_nets

    out_dir = Path(out_dir)
    for name in (EMA_NAME, CONFIG_NAME):
        if not (out_dir / name).is_file():
            msg = f"{out_dir / name} not found: run the train_gan stage for this variant first"
            raise FileNotFoundError(msg)
    config = json.loads((out_dir / CONFIG_NAME).read_text())
    cfg = from_mapping(GanConfig, config["gan"], f"{out_dir / CONFIG_NAME}:gan")
    nets = build_nets(cfg, config["image_size"], len(config["domains"]), len(config["products"]))
    weights = torch.load(out_dir / EMA_NAME, map_location="cpu", weights_only=True)
    modules = {}
    for name in EMA_MODULES:
        module = getattr(nets, name)
        module.load_state_dict(weights[name])
        modules[name] = module.to(device).eval()
    return EmaNets(**modules), config

