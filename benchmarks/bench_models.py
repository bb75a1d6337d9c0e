"""Benchmark the DT-GAN networks per variant: parameter counts, FLOPs of one forward, forward and
forward+backward wall time, at the default (params.yaml) and paper (profiles/paper.yaml) configurations.

python -m benchmarks.bench_models                                  # both profiles, variants a-e
python -m benchmarks.bench_models --profiles default --variants e --repeats 5
python -m benchmarks.bench_models --profiles paper --variants a e --repeats 0   # counts and FLOPs only

Batch = gan.batch_size of the profile; random inputs (cost does not depend on pixel values). FLOPs are counted with
torch.utils.flop_counter.FlopCounterMode on one forward of each network (M: z -> codes; E, D: one image batch;
G: one translation given codes). "fwd_bwd" times one G forward + D on the fake + backward of their sum, the core
of a generator step.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections.abc import Callable

import torch
from torch.utils.flop_counter import FlopCounterMode

from dtgan.constants import DOMAINS
from dtgan.gans.dtgan.config import GanConfig
from dtgan.gans.dtgan.nets.build import GanNets, build_nets
from dtgan.params import load_section
from dtgan.profiles import profile_params
from dtgan.runtime import setup_logging, write_json

log = logging.getLogger(__name__)

NUM_PRODUCTS = 3  # the embedded data set and SDI both have products A, B, C


def time_ms(fn: Callable[[], object], repeats: int) -> float:
    """Median wall time in ms after one warm-up call."""
    fn()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        samples.append(1000 * (time.perf_counter() - start))
    return statistics.median(samples)


def count_flops(fn: Callable[[], object]) -> int:
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        fn()
    return counter.get_total_flops()


def forward_calls(nets: GanNets, cfg: GanConfig, image_size: int) -> dict[str, Callable[[], object]]:
    """One forward of each network on a random batch."""
    gen = torch.Generator().manual_seed(0)
    batch = cfg.batch_size
    x = torch.rand((batch, 3, image_size, image_size), generator=gen) * 2 - 1
    z = torch.randn((batch, cfg.latent_dim), generator=gen)
    y = torch.arange(batch) % len(DOMAINS)
    with torch.no_grad():
        style, defect = nets.mapping(z, y)
    return {
        "mapping": lambda: nets.mapping(z, y),
        "encoder": lambda: nets.encoder(x, y),
        "generator": lambda: nets.generator(x, style, defect),
        "discriminator": lambda: nets.discriminator(x, y),
        "fwd_bwd": lambda: _generator_step(nets, x, z, y),
    }


def _generator_step(nets: GanNets, x: torch.Tensor, z: torch.Tensor, y: torch.Tensor) -> None:
    style, defect = nets.mapping(z, y)
    out = nets.discriminator(nets.generator(x, style, defect), y)
    total = out.logit.sum()
    if out.fg_logits is not None:
        total = total + out.fg_logits.sum() + out.bg_logits.sum()
    total.backward()


def bench_variant(cfg: GanConfig, variant: str, image_size: int, repeats: int) -> dict:
    nets = build_nets(cfg, variant, image_size, len(DOMAINS), NUM_PRODUCTS, seed=0)
    calls = forward_calls(nets, cfg, image_size)
    result: dict = {"variant": variant, "parameters": nets.parameter_counts()}
    result["parameters"]["total"] = sum(result["parameters"].values())
    result["gflop_forward"] = {name: count_flops(fn) / 1e9 for name, fn in calls.items() if name != "fwd_bwd"}
    if repeats == 0:  # counts only (the paper configuration takes minutes per variant on 2 CPU cores)
        return result
    with torch.no_grad():
        result["ms_forward"] = {name: time_ms(fn, repeats) for name, fn in calls.items() if name != "fwd_bwd"}
    result["ms_fwd_bwd_generator_step"] = time_ms(calls["fwd_bwd"], repeats)
    return result


def profile_config(profile: str, params_path: str) -> tuple[GanConfig, int]:
    params = profile_params(profile, params_path)
    return load_section(GanConfig, params, "gan"), int(params["data"]["image_size"])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--profiles", nargs="+", default=["default", "paper"])
    parser.add_argument("--variants", nargs="+", default=list("abcde"))
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per measurement; 0 = counts only")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--out", default=None, help="optional JSON output path")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    args = parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    results = []
    for profile in args.profiles:
        base, image_size = profile_config(profile, args.params)
        for variant in args.variants:
            cfg = base
            log.info("profile %s, variant %s, %d px, batch %d", profile, variant, image_size, cfg.batch_size)
            row = bench_variant(cfg, variant, image_size, args.repeats)
            row.update(profile=profile, image_size=image_size, batch_size=cfg.batch_size,
                       max_channels=cfg.max_channels, threads=torch.get_num_threads())
            log.info("%s", json.dumps(row))
            results.append(row)
    if args.out:
        write_json(args.out, results)


if __name__ == "__main__":
    main()
