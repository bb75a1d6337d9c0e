"""Synthesis throughput (images/s) of the EMA generator + mapping network, default and paper configurations.

    python -m benchmarks.bench_synthesis [--repeats 3]

Random weights stand in for trained ones (the cost does not depend on their values). Latent-guided: one mapping
network call and one generator call per batch, as in dtgan/synthesis/translate.py (which calls M per image).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from dtgan.models.build import build_nets
from dtgan.training.config import GanConfig

CONFIGS = {
    "default": (GanConfig(max_channels=32, fg_channels=8, style_dim=16, mapping_hidden=64), 32, 64),
    "paper": (GanConfig(), 128, 4),
}


@torch.no_grad()
def images_per_second(cfg: GanConfig, image_size: int, batch: int, repeats: int) -> float:
    nets = build_nets(cfg, image_size, 3, 3, seed=0)
    generator, mapping = nets.generator.eval(), nets.mapping.eval()
    x = torch.rand(batch, 3, image_size, image_size) * 2 - 1
    y = torch.ones(batch, dtype=torch.long)
    best = float("inf")
    for _ in range(repeats + 1):  # the first call warms up
        start = time.perf_counter()
        style, defect = mapping(torch.randn(batch, cfg.latent_dim), y)
        generator(x, style, defect)
        best = min(best, time.perf_counter() - start)
    return batch / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    result = {name: round(images_per_second(cfg, size, batch, args.repeats), 2)
              for name, (cfg, size, batch) in CONFIGS.items()}
    print(json.dumps({"synthesis_images_per_second": result, "threads": torch.get_num_threads()}, indent=2))


if __name__ == "__main__":
    main()
