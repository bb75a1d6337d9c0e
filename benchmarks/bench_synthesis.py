"""Synthesis throughput (images/s) of the EMA generator + mapping network, default and paper configurations.

    python -m benchmarks.bench_synthesis [--repeats 3] [--params params.yaml]

Random weights stand in for trained ones (the cost does not depend on their values). Latent-guided: one mapping
network call and one generator call per batch, as in dtgan/gans/dtgan/synthesize.py (which calls M per image).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from dtgan.gans.dtgan.config import GanConfig
from dtgan.gans.dtgan.nets.build import build_nets
from dtgan.params import load_section, read_params

PAPER = (GanConfig(), 128, 4)  # the gan defaults are the paper's (supplement Tables 11-13), batch 4 at 128 px


def default_config(params_path: str) -> tuple[GanConfig, int, int]:
    """The committed default: gan section, data.image_size and synthesis.batch_size of params.yaml."""
    params = read_params(params_path)
    return (load_section(GanConfig, params, "gan"), int(params["data"]["image_size"]),
            int(params["synthesis"]["batch_size"]))


@torch.no_grad()
def images_per_second(cfg: GanConfig, image_size: int, batch: int, repeats: int) -> float:
    nets = build_nets(cfg, "e", image_size, 3, 3, seed=0)
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
    parser.add_argument("--params", default="params.yaml")
    args = parser.parse_args()
    configs = {"default": default_config(args.params), "paper": PAPER}
    result = {name: round(images_per_second(cfg, size, batch, args.repeats), 2)
              for name, (cfg, size, batch) in configs.items()}
    print(json.dumps({"synthesis_images_per_second": result, "threads": torch.get_num_threads()}, indent=2))


if __name__ == "__main__":
    main()
