"""Data-parallel plumbing for training under ``torchrun`` (one process per device, PyTorch's own process group).

Without torchrun (no ``WORLD_SIZE`` in the environment, or ``WORLD_SIZE=1``) every helper is a no-op, so
``python -m stages.<name>`` runs exactly the single-process code. Under torchrun the backend follows the device:
``nccl`` with CUDA, ``gloo`` on CPU, one code path. The world is passed around as a :class:`World` value, never
kept in a module global.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from dtgan.errors import ParamsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class World:
    """This process's place among the data-parallel processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_rank0(self) -> bool:
        """Rank 0 alone writes checkpoints, grids, logs, curves and every DVC output."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def device(self, device: torch.device) -> torch.device:
        """Each process of a node drives its own GPU (cuda:LOCAL_RANK); CPU processes share the CPU."""
        if device.type == "cuda" and self.distributed:
            return torch.device("cuda", self.local_rank)
        return device


SINGLE = World()


def world_from_env(env: Mapping[str, str] | None = None) -> World:
    """The world torchrun describes in RANK / WORLD_SIZE / LOCAL_RANK (a single process when they are absent)."""
    env = os.environ if env is None else env
    return World(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))


def backend_for(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def _collective_device() -> torch.device:
    """Where a tensor made for a collective must live: nccl reduces GPU tensors only."""
    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


@contextlib.contextmanager
def process_group(world: World, device: torch.device) -> Iterator[World]:
    """Join torchrun's process group for the block (MASTER_ADDR/PORT come from torchrun's environment)."""
    if not world.distributed:
        yield world
        return
    if device.type == "cuda":
        torch.cuda.set_device(world.local_rank)
    dist.init_process_group(backend_for(device), rank=world.rank, world_size=world.world_size)
    if not world.is_rank0:  # one log, not N copies of it; warnings and errors still show from every rank
        logging.getLogger().setLevel(logging.WARNING)
    log.info("process group: %d ranks, backend %s", world.world_size, backend_for(device))
    try:
        yield world
    finally:
        dist.destroy_process_group()


@contextlib.contextmanager
def torchrun_world(device: torch.device, batch_size: int, batch_key: str) -> Iterator[World]:
    """The world of a training stage: torchrun's (joined for the block) or a single process. A batch that does not
    divide over the processes fails here, before any process group exists."""
    world = world_from_env()
    per_rank_batch(batch_size, world, batch_key)
    with process_group(world, device) as joined:
        yield joined


def per_rank_batch(batch_size: int, world: World, key: str = "gan.batch_size") -> int:
    """The global batch split over the ranks: batch_size / world_size, which must be a whole number."""
    if batch_size % world.world_size:
        msg = (f"{key}={batch_size} does not divide over {world.world_size} processes (per-rank batch = "
               f"batch_size / world_size); pick a multiple of {world.world_size} or another --nproc_per_node")
        raise ParamsError(msg)
    return batch_size // world.world_size


def rank_seed(seed: int, world: World, stream: int) -> int:
    """Seed of one random stream on this rank: rank 0 keeps the recorded seed (so a single process draws exactly
    what it always drew); rank r > 0 gets its own stream, reproducibly derived from the same seed."""
    if world.rank == 0:
        return seed
    return (seed * 1_000_003 + world.rank * 7919 + stream) % 2**63


def average_gradients(modules: Iterable[nn.Module], world: World) -> None:
    """Mean of every trainable parameter's gradient over the ranks, one all-reduce per module (one flat buffer).

    Per-rank losses are means over the rank's equal share of the batch, so the mean of the gradients is the gradient
    of the global-batch mean (what one process with the whole batch computes). A parameter can be missing from one
    rank's graph (M's head of a target domain no image of that rank's share has), which leaves its gradient None
    there: it counts as 0 in the mean, and stays None (no optimiser update, as in one process) only when it is None
    on every rank, hence the presence flags reduced in the same buffer."""
    for module in modules:
        average_parameter_gradients(module.parameters(), world)


def average_parameter_gradients(parameters: Iterable[nn.Parameter], world: World) -> None:
    """:func:`average_gradients` for a set of parameters that is not one module (e.g. one optimiser's, spread over
    several modules); parameters with ``requires_grad`` off are left alone."""
    if not world.distributed:
        return
    params = [p for p in parameters if p.requires_grad]
    if params:
        _average_flat(params, world)


def _average_flat(params: list[nn.Parameter], world: World) -> None:
    present = [p.grad is not None for p in params]
    reference = params[0]
    flat = torch.cat([*(p.grad.reshape(-1) if p.grad is not None else torch.zeros_like(p).reshape(-1)
                        for p in params), torch.tensor(present, dtype=reference.dtype, device=reference.device)])
    dist.all_reduce(flat)
    values, flags = flat[:-len(params)] / world.world_size, flat[-len(params):]
    offset = 0
    for p, flag in zip(params, flags.tolist(), strict=True):
        mean = values[offset:offset + p.numel()].view(p.shape)
        offset += p.numel()
        if flag == 0:
            continue
        if p.grad is None:
            p.grad = torch.empty_like(p)
        p.grad.copy_(mean)


def average_floats(values: dict[str, float], world: World) -> dict[str, float]:
    """Logged loss values averaged over the ranks (the same keys on every rank, in the same order)."""
    if not world.distributed or not values:
        return values
    keys = sorted(values)
    flat = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=_collective_device())
    dist.all_reduce(flat)
    return {k: float(v) / world.world_size for k, v in zip(keys, flat.tolist(), strict=True)}


def broadcast_module(module: nn.Module, world: World) -> None:
    """Rank 0's parameters and buffers on every rank (they already agree when built from the same seed; this makes
    it a fact rather than an assumption, e.g. across nodes with different libraries)."""
    if not world.distributed:
        return
    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0)


def broadcast_buffers(module: nn.Module, world: World) -> None:
    """Rank 0's buffers (BatchNorm running statistics) on every rank, as DistributedDataParallel's default
    ``broadcast_buffers=True`` does before each forward: the statistics each rank gathers from its own share of the
    batch would otherwise drift apart, and a resumed run (which loads rank 0's) would not continue the same run."""
    if not world.distributed:
        return
    with torch.no_grad():
        for tensor in module.buffers():
            dist.broadcast(tensor.data, src=0)


def gather_objects(obj: Any, world: World) -> list[Any]:
    """Every rank's ``obj`` (picklable, e.g. RNG states), in rank order, on every rank."""
    if not world.distributed:
        return [obj]
    out: list[Any] = [None] * world.world_size
    dist.all_gather_object(out, obj)
    return out


def barrier(world: World) -> None:
    if world.distributed:
        dist.barrier()
