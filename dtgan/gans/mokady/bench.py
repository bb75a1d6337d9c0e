"""Time one training iteration on random data: ``python -m dtgan.gans.mokady.bench channels=16 batch_size=8 ...``.

Prints wall and process-CPU milliseconds per iteration and how many iterations fit a time budget, so the CPU
default's ``iterations`` can be chosen (on a busy machine the CPU time is the steadier number).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time

import torch

from dtgan.gans.mokady.config import MokadyConfig
from dtgan.gans.mokady.nets import build_networks
from dtgan.gans.mokady.train import make_optimizers, make_step_fn
from dtgan.gans.shared.data import BatchSampler
from dtgan.gans.shared.training import TrainingState
from dtgan.runtime import setup_logging

log = logging.getLogger(__name__)


def _config(overrides: list[str]) -> MokadyConfig:
    base = MokadyConfig(device="cpu")
    values = {}
    for item in overrides:
        key, _, value = item.partition("=")
        kind = type(getattr(base, key))
        values[key] = (value.lower() in ("1", "true")) if kind is bool else kind(value)
    return dataclasses.replace(base, **values)


def time_iterations(cfg: MokadyConfig, image_size: int, image_channels: int, warmup: int, iterations: int,
                    num_normals: int = 450, num_defects: int = 30) -> tuple[float, float, dict[str, int]]:
    """(wall ms, CPU ms) per iteration after ``warmup`` untimed ones, and the parameter counts."""
    nets = build_networks(cfg, image_size, image_channels, seed=0)
    gen = torch.Generator().manual_seed(0)
    normals = torch.rand(num_normals, image_channels, image_size, image_size, generator=gen) * 2 - 1
    defects = torch.rand(num_defects, image_channels, image_size, image_size, generator=gen) * 2 - 1
    state = TrainingState(modules=nets.as_dict(), optimizers=make_optimizers(cfg, nets),
                          sampler=BatchSampler(num_normals, cfg.batch_size, 0),
                          extra_samplers={"B": BatchSampler(num_defects, cfg.batch_size, 1)})
    step = make_step_fn(cfg, nets, normals, defects, torch.device("cpu"))
    for _ in range(warmup):
        step(state)
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(iterations):
        step(state)
    scale = 1000 / iterations
    return (time.perf_counter() - wall) * scale, (time.process_time() - cpu) * scale, nets.parameter_counts()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("overrides", nargs="*", help="mokady keys as key=value")
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--image-channels", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--budget", type=float, default=50.0, help="seconds one model may train")
    args = parser.parse_args(argv)
    setup_logging()
    torch.set_num_threads(args.threads)
    cfg = _config(args.overrides)
    wall, cpu, counts = time_iterations(cfg, args.image_size, args.image_channels, warmup=5,
                                        iterations=args.iterations)
    log.info("parameters %s (total %d)", counts, sum(counts.values()))
    log.info("batch %d, %d px, %d threads: %.1f ms/iteration wall, %.1f ms CPU; %d iterations fit %.0f s (wall)",
             cfg.batch_size, args.image_size, args.threads, wall, cpu, int(args.budget * 1000 / wall), args.budget)


if __name__ == "__main__":
    main()
