"""The resumable training loop of the baseline families, their checkpoints, EMA and model artefact.

A family writes one ``step_fn(state) -> dict of floats`` (one full iteration: its D and G updates) and hands it to
:func:`train_steps`, which counts steps, records the loss history, shows a progress bar, and every
``checkpoint_every`` steps writes ``checkpoint.pt`` atomically: every module (live and EMA), optimiser, sampler RNG,
the torch RNG, the history and ``extra`` (e.g. ADA's p). A checkpoint is resumed only when the ``config`` it was
written with equals the current one (hyperparameters and the data fingerprint) and it was written by the same
code (:func:`dtgan.provenance.code_fingerprint` of this package and the family's), so a changed dataset, setting or
training code trains from scratch instead of continuing a different run.

Data parallel under torchrun (dtgan/distributed.py), as DT-GAN's loop: every rank runs the same steps on its own
batch_size / world_size images drawn from its own seeded sampler (rank 0's is the single-process one), a family's
step calls :func:`sync_gradients` between each backward and its optimiser step (the mean gradient over the ranks,
so every rank takes the same step and keeps the same weights and EMA), rank 0's buffers (BatchNorm statistics)
are broadcast before every step as DistributedDataParallel does by default, logged values are averaged over the ranks,
and rank 0 alone writes; the checkpoint holds every rank's sampler and torch RNG states. Without torchrun all of
this is a no-op and the checkpoint has the single-process layout.

The model later stages read is ``model.pt`` (state_dicts only, loaded with ``weights_only=True``) plus
``config.json`` (everything needed to rebuild the networks).
"""

from __future__ import annotations

import copy
import csv
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor, nn
from tqdm import tqdm

from dtgan.data.tensors import tensor_to_uint8
from dtgan.distributed import (
    SINGLE,
    World,
    average_floats,
    average_parameter_gradients,
    barrier,
    broadcast_buffers,
    broadcast_module,
    gather_objects,
    per_rank_batch,
    rank_seed,
)
from dtgan.errors import CheckpointError
from dtgan.gans.shared.data import BatchSampler
from dtgan.provenance import code_fingerprint
from dtgan.runtime import atomic_path, save_torch, write_json

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
MODEL_NAME = "model.pt"
CONFIG_NAME = "config.json"
SHARED_ROOT = Path(__file__).resolve().parent  # dtgan/gans/shared: this loop, its data and artefacts


@dataclass
class TrainingState:
    """Everything a baseline run needs to continue bit-identically."""

    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    sampler: BatchSampler
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    extra: dict[str, float] = field(default_factory=dict)
    extra_samplers: dict[str, BatchSampler] = field(default_factory=dict)
    world: World = SINGLE  # this process among the data-parallel ranks (one process without torchrun)


def rank_sampler(n: int, batch_size: int, seed: int, world: World, key: str, stream: int = 0) -> BatchSampler:
    """The sampler of this rank: batch_size / world_size images per draw (``key`` names the batch size in errors),
    from this rank's own seed (rank 0 keeps ``seed``)."""
    return BatchSampler(n, per_rank_batch(batch_size, world, key), rank_seed(seed, world, stream))


def sync_gradients(state: TrainingState, parameters: Iterable[nn.Parameter]) -> None:
    """Between a backward and its optimiser step (and before any gradient clipping): every gradient becomes its mean
    over the data-parallel ranks. A no-op in one process."""
    average_parameter_gradients(parameters, state.world)


def sync_floats(state: TrainingState, values: dict[str, float]) -> dict[str, float]:
    """Values every rank must agree on (logged losses, ADA's sign statistic) averaged over the ranks."""
    return average_floats(values, state.world)


def with_world(config: dict[str, Any], world: World) -> dict[str, Any]:
    """A run's config with its number of processes when > 1: each rank draws its own batches, so a checkpoint of
    another world size is another run (single-process configs keep their form)."""
    return {**config, "world_size": world.world_size} if world.distributed else config


def broadcast_modules(state: TrainingState) -> None:
    """Rank 0's initial weights on every rank (equal already when built from one seed; this makes it a fact)."""
    for module in state.modules.values():
        broadcast_module(module, state.world)


def _as_json(config: dict[str, Any]) -> dict[str, Any]:
    """The config as JSON would give it back (tuples -> lists), so a stored config compares equal to a fresh one."""
    return json.loads(json.dumps(config))


def _rank_streams(state: TrainingState) -> dict[str, Any]:
    """The random streams that differ between ranks (weights, optimisers, history and ``extra`` do not)."""
    return {"samplers": {"main": state.sampler.state_dict(),
                         **{name: s.state_dict() for name, s in state.extra_samplers.items()}},
            "torch_rng": torch.get_rng_state()}


def _load_rank_streams(state: TrainingState, streams: dict[str, Any]) -> None:
    state.sampler.load_state_dict(streams["samplers"]["main"])
    for name, sampler in state.extra_samplers.items():
        sampler.load_state_dict(streams["samplers"][name])
    torch.set_rng_state(streams["torch_rng"].cpu())


def save_checkpoint(path: Path, state: TrainingState, config: dict[str, Any], code_sha256: str) -> None:
    """Called on every rank (each one's streams are gathered); rank 0 alone writes. ``code_sha256``: the
    fingerprint of the code that trains (:func:`family_code`)."""
    streams = gather_objects(_rank_streams(state), state.world)
    if not state.world.is_rank0:
        return
    payload = {
        "config": _as_json(config),
        "code_sha256": code_sha256,
        "step": state.step,
        "modules": {name: module.state_dict() for name, module in state.modules.items()},
        "optimizers": {name: opt.state_dict() for name, opt in state.optimizers.items()},
        **streams[0],
        "history": state.history,
        "extra": state.extra,
    }
    if state.world.distributed:
        payload["ranks"] = streams
    save_torch(path, payload)
    log.info("checkpoint at step %d -> %s", state.step, path)


def try_resume(path: Path, state: TrainingState, config: dict[str, Any], iterations: int, code_sha256: str) -> bool:
    """Load ``path`` into ``state`` when it exists, was written with ``config`` by the code ``code_sha256`` and has
    not gone past ``iterations`` (a longer run's checkpoint would hand back a model trained for more steps than
    asked); True if resumed."""
    if not path.is_file():
        return False
    payload = torch.load(path, map_location="cpu", weights_only=True)
    if payload.get("config") != _as_json(config):
        log.warning("ignoring %s: it was written with a different config or data; training from scratch", path)
        return False
    if payload.get("code_sha256") != code_sha256:
        log.warning("ignoring %s: it was written by other training code; training from scratch", path)
        return False
    if int(payload["step"]) > iterations:
        log.warning("ignoring %s: it is at step %d, past the %d iterations asked for; training from scratch", path,
                    int(payload["step"]), iterations)
        return False
    for name, module in state.modules.items():
        module.load_state_dict(payload["modules"][name])
    for name, optimizer in state.optimizers.items():
        optimizer.load_state_dict(payload["optimizers"][name])
    _load_rank_streams(state, payload["ranks"][state.world.rank] if state.world.distributed else payload)
    state.step, state.history = int(payload["step"]), list(payload["history"])
    state.extra = dict(payload["extra"])
    log.info("resumed %s at step %d", path, state.step)
    return True


def family_code(family_root: Path) -> str:
    """The fingerprint a family's checkpoints carry: every .py file of this shared package and of the family's."""
    return code_fingerprint(SHARED_ROOT, family_root)


def train_steps(state: TrainingState, step_fn: Callable[[TrainingState], dict[str, float]], *, iterations: int,
                log_every: int, checkpoint_every: int, checkpoint_path: Path, config: dict[str, Any],
                desc: str, family_root: Path) -> None:
    """Run ``step_fn`` until ``state.step == iterations`` (resuming from ``checkpoint_path`` when it matches).
    ``family_root``: the family's package directory, whose code the checkpoint records. Under torchrun every rank
    calls this; the history holds the ranks' mean values."""
    config = with_world(config, state.world)
    code_sha256 = family_code(family_root)
    broadcast_modules(state)
    try_resume(checkpoint_path, state, config, iterations, code_sha256)
    for module in state.modules.values():
        module.train()
    bar = tqdm(range(state.step, iterations), initial=state.step, total=iterations, desc=desc, mininterval=2.0,
               disable=not state.world.is_rank0)
    for _ in bar:
        _share_buffers(state)
        losses = step_fn(state)
        state.step += 1
        if state.step % log_every == 0 or state.step == iterations:
            losses = sync_floats(state, {k: float(v) for k, v in losses.items()})
            state.history.append({"step": state.step, **losses})
            bar.set_postfix({k: f"{v:.3g}" for k, v in list(losses.items())[:4]}, refresh=False)
        if state.step % checkpoint_every == 0 and state.step < iterations:
            _share_buffers(state)
            save_checkpoint(checkpoint_path, state, config, code_sha256)
            barrier(state.world)  # every rank reads this file if the run is resumed: let rank 0 finish writing it
    _share_buffers(state)  # the model and the checkpoint hold rank 0's statistics; so does every rank now
    save_checkpoint(checkpoint_path, state, config, code_sha256)
    barrier(state.world)


def _share_buffers(state: TrainingState) -> None:
    for module in state.modules.values():
        broadcast_buffers(module, state.world)


@torch.no_grad()
def ema_update(ema: nn.Module, live: nn.Module, beta: float) -> None:
    """ema <- beta * ema + (1 - beta) * live for parameters; buffers (BN statistics, spectral-norm vectors) are
    copied from the live net."""
    for p_ema, p in zip(ema.parameters(), live.parameters(), strict=True):
        p_ema.lerp_(p, 1.0 - beta)
    for b_ema, b in zip(ema.buffers(), live.buffers(), strict=True):
        b_ema.copy_(b)


def ema_copy(module: nn.Module) -> nn.Module:
    """A frozen copy of ``module`` to average into (no gradients)."""
    ema = copy.deepcopy(module)
    for p in ema.parameters():
        p.requires_grad_(False)
    return ema


def save_model(out_dir: Path, modules: dict[str, nn.Module], config: dict[str, Any]) -> None:
    """``model.pt`` (state_dicts) and ``config.json`` (what rebuilds the networks), both written atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    save_torch(out_dir / MODEL_NAME, {name: module.state_dict() for name, module in modules.items()})
    write_json(out_dir / CONFIG_NAME, _as_json(config))


def load_model(out_dir: Path, device: torch.device) -> tuple[dict[str, dict[str, Tensor]], dict[str, Any]]:
    """(state_dicts, config) of a model folder written by :func:`save_model`."""
    model_path, config_path = Path(out_dir) / MODEL_NAME, Path(out_dir) / CONFIG_NAME
    for path in (model_path, config_path):
        if not path.is_file():
            msg = f"{path} not found; run the stage that trains this model first"
            raise CheckpointError(msg)
    states = torch.load(model_path, map_location=device, weights_only=True)
    return states, json.loads(config_path.read_text())


def write_history(path: Path, history: list[dict[str, float]]) -> None:
    """The loss history as CSV (one row per logged step; columns = every key that was logged)."""
    keys = sorted({k for row in history for k in row} - {"step"})
    with atomic_path(path) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["step", *keys])
        writer.writeheader()
        writer.writerows(history)


def save_sample_grid(path: Path, images: Tensor, nrow: int, pad: int = 2, min_tile: int = 64) -> None:
    """Images (N, C, H, W) in [-1, 1] as a PNG grid of ``nrow`` images per row, white padding, small images enlarged
    by pixel repetition (whole factors, so every generated pixel shows as it is)."""
    arrays = tensor_to_uint8(images)
    factor = max(1, min_tile // arrays.shape[1])
    arrays = arrays.repeat(factor, axis=1).repeat(factor, axis=2)
    n, h, w = arrays.shape[:3]
    rows = -(-n // nrow)
    canvas = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), 255, dtype=np.uint8)
    for i, tile in enumerate(arrays):
        r, c = divmod(i, nrow)
        canvas[pad + r * (h + pad): pad + r * (h + pad) + h, pad + c * (w + pad): pad + c * (w + pad) + w] = tile
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        Image.fromarray(canvas).save(tmp, format="PNG")
