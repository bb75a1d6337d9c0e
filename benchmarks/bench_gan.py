"""Benchmark one DT-GAN training iteration (2 D steps + 2 G steps + EMA): ms/iteration, FLOP/s, peak memory.

python -m benchmarks.bench_gan --profile default --params params.yaml   # gan section, image size, loss weights
python -m benchmarks.bench_gan --profile paper                             # batch 4, 128 px, max_channels 512
python -m benchmarks.bench_gan --image-size 64 --max-channels 64 --batch-size 8 --iters 5

Random images stand in for data (the cost of a step does not depend on pixel values). FLOPs are counted with
torch.utils.flop_counter on one iteration and set against a measured fp32 matmul peak.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import resource
import time

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode, _FlopCounterMode

from dtgan.gans.dtgan.config import GanConfig, LossWeights
from dtgan.gans.dtgan.training.data import GanData
from dtgan.gans.dtgan.training.loop import build_run, train_iteration
from dtgan.params import load_section, load_top_level, read_params
from dtgan.runtime import setup_logging

log = logging.getLogger(__name__)

PAPER = {"batch_size": 4, "max_channels": 512, "fg_channels": 64, "style_dim": 64, "mapping_hidden": 512}
PAPER_IMAGE_SIZE = 128


def matmul_peak_gflops(n: int = 2048, repeats: int = 5, device: torch.device = torch.device("cpu"),
                       dtype: torch.dtype = torch.float32) -> float:
    """Best-of GEMM throughput of ``device`` in ``dtype`` (2n^3 FLOP per n x n product)."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b  # warm-up
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


def random_data(image_size: int, per_domain: int = 16, num_products: int = 3, seed: int = 0) -> GanData:
    rng = np.random.default_rng(seed)
    n = 3 * per_domain
    return GanData(
        images=torch.from_numpy(rng.uniform(-1, 1, (n, 3, image_size, image_size)).astype(np.float32)),
        domains=np.repeat(np.arange(3), per_domain),
        products=rng.integers(0, num_products, n),
        product_names=tuple("ABCDEFG"[:num_products]),
    )


def count_iteration_flops(run: object, cfg: GanConfig, weights: LossWeights) -> int:
    """FLOPs of one iteration. FlopCounterMode's module tracker breaks autograd.grad on a leaf input (R1), so only
    its operator-counting dispatch mode is entered (every op is then attributed to "Global")."""
    counter = FlopCounterMode(display=False)
    with _FlopCounterMode(counter):
        train_iteration(run, cfg, weights)
    return counter.get_total_flops()


def bench(cfg: GanConfig, variant: str, image_size: int, iters: int,
          device: torch.device = torch.device("cpu"), weights: LossWeights | None = None) -> dict:
    """``weights``: the loss weights (the non-paper terms change the cost of a step); default the paper's."""
    from dtgan.gans.dtgan.nets.build import build_nets

    data = random_data(image_size)
    nets = build_nets(cfg, variant, image_size, data.num_domains, data.num_products, seed=cfg.seed)
    params = sum(p.numel() for n in ("generator", "mapping", "encoder", "discriminator")
                 for p in getattr(nets, n).parameters())
    weights = weights or LossWeights()
    gan_cfg = dataclasses.replace(cfg, warmup_iters=0)  # a GAN iteration, never a (much cheaper) warm-up step
    run = build_run(gan_cfg, data, nets, device)
    flops = count_iteration_flops(run, gan_cfg, weights)  # also the warm-up iteration of the timing
    seconds = _seconds_per_step(run, gan_cfg, weights, iters)
    result = {
        "variant": variant, "image_size": image_size, "batch_size": cfg.batch_size,
        "max_channels": cfg.max_channels, "imle_samples": cfg.imle_samples,
        "loss_weights": dataclasses.asdict(weights), "parameters": params, "ms_per_iteration": 1000 * seconds,
        "gflop_per_iteration": flops / 1e9, "achieved_gflops": flops / seconds / 1e9,
    }
    if cfg.warmup_iters > iters:  # a fresh run is in its warm-up phase; one untimed step, then `iters` timed ones
        warmup_run = build_run(cfg, data, nets, device)
        train_iteration(warmup_run, cfg, weights)
        result["ms_per_warmup_step"] = 1000 * _seconds_per_step(warmup_run, cfg, weights, iters)
    result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    result["threads"] = torch.get_num_threads()
    return result


def _seconds_per_step(run, cfg: GanConfig, weights: LossWeights, steps: int) -> float:
    """Mean wall time of the next ``steps`` training steps of ``run`` (GAN iterations or warm-up steps)."""
    synchronize(run.device)
    start = time.perf_counter()
    for _ in range(steps):
        train_iteration(run, cfg, weights)
    synchronize(run.device)
    return (time.perf_counter() - start) / steps


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU kernels, so wall time covers the work (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", choices=("default", "paper", "custom"), default="custom")
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--image-size", type=int, default=None,
                        help="default: data.image_size of --params for --profile default, 64 for custom")
    parser.add_argument("--max-channels", type=int, default=None)
    parser.add_argument("--fg-channels", type=int, default=None)
    parser.add_argument("--mapping-hidden", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--imle-samples", type=int, default=None)
    parser.add_argument("--variant", default="e")
    parser.add_argument("--iters", type=int, default=5)
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> tuple[GanConfig, int]:
    if args.profile == "paper":
        return dataclasses.replace(GanConfig(), **PAPER), PAPER_IMAGE_SIZE
    if args.profile == "default":
        cfg = load_section(GanConfig, args.params, "gan")
        image_size = args.image_size or int(read_params(args.params)["data"]["image_size"])
    else:
        cfg, image_size = GanConfig(), args.image_size or 64
    overrides = {"max_channels": args.max_channels, "fg_channels": args.fg_channels,
                 "batch_size": args.batch_size, "mapping_hidden": args.mapping_hidden,
                 "imle_samples": args.imle_samples}
    return dataclasses.replace(cfg, **{k: v for k, v in overrides.items() if v is not None}), image_size


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    args = parse_args(argv)
    cfg, image_size = config_from_args(args)
    # The default profile times the params file's loss weights (lambda_imle, lambda_src ... cost time); the paper's
    # and the custom profile the paper's weights.
    weights = load_top_level(LossWeights, args.params) if args.profile == "default" else LossWeights()
    result = bench(cfg, args.variant, image_size, args.iters, weights=weights)
    result["matmul_peak_gflops"] = matmul_peak_gflops()
    result["fraction_of_peak"] = result["achieved_gflops"] / result["matmul_peak_gflops"]
    log.info("%s", json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
