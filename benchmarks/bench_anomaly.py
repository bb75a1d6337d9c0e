"""Benchmark of the f-AnoGAN baseline: ms per critic / generator / encoder step and total stage time.

    .venv/bin/python -m benchmarks.bench_anomaly                # step timings + library-level stage run
    .venv/bin/python -m benchmarks.bench_anomaly --prepared data/prepared --splits data/splits  # the real stages

Step timings use the ``anomaly`` section of --params (or, if it has none, CPU_DEFAULTS below, the proposed default
profile) at 64 px, RGB, 3 products.
Without --prepared, the "stage" timing trains and scores on random-texture arrays shaped like the default embedded
dataset (3 x 420 normals, 3 x 35 x 3 test images) through the same library calls the stages make.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from dtgan.anomaly.config import AnomalyConfig
from dtgan.anomaly.score import score_images
from dtgan.anomaly.train import (
    TrainingData,
    build_networks,
    critic_step,
    encoder_step,
    freeze,
    generator_step,
    make_optimizers,
    network_hparams,
    train_model,
)
from dtgan.params import from_mapping, load_section, read_params

log = logging.getLogger(__name__)

# The proposed default (CPU) profile of the `anomaly` section, used when params.yaml has no such section yet.
CPU_DEFAULTS = {"mode": "conditional", "z_dim": 64, "width": 8, "gan_steps": 300, "batch_size": 32,
                "encoder_steps": 400, "encoder_optimizer": "adam", "encoder_lr": 1e-4, "checkpoint_every": 100,
                "log_every": 50}


def default_config(params_path: str) -> AnomalyConfig:
    params = read_params(params_path) if Path(params_path).is_file() else {}
    if "anomaly" in params:
        return load_section(AnomalyConfig, params, "anomaly")
    return from_mapping(AnomalyConfig, CPU_DEFAULTS, "anomaly")


def time_steps(cfg: AnomalyConfig, img_size: int, channels: int, n_classes: int, repeats: int) -> dict[str, float]:
    """Median ms of one critic, generator and encoder step on random data."""
    gen = torch.Generator().manual_seed(0)
    n = 256
    labels = torch.randint(0, n_classes, (n,), generator=gen) if n_classes else None
    data = TrainingData(torch.rand(n, channels, img_size, img_size, generator=gen) * 2 - 1, labels)
    nets = build_networks(network_hparams(cfg, img_size, channels, n_classes))
    opts = make_optimizers(nets, cfg)
    out = {}
    for name, step in (("critic_step_ms", critic_step), ("generator_step_ms", generator_step)):
        out[name] = _median_ms(lambda s=step, k=("critic" if step is critic_step else "generator"):
                               s(nets, opts[k], data, cfg, gen), repeats)
    freeze(nets.generator)
    freeze(nets.critic)
    out["encoder_step_ms"] = _median_ms(lambda: encoder_step(nets, opts["encoder"], data, cfg, gen), repeats)
    out["gan_iteration_ms"] = cfg.n_critic * out["critic_step_ms"] + out["generator_step_ms"]
    return out


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(1000 * float(np.median(times)), 2)


def library_stage_time(cfg: AnomalyConfig, img_size: int, n_normals: int, n_test: int) -> dict[str, float]:
    """Train (GAN + encoder) and score at ``cfg`` on random textures, as the stages would in conditional mode."""
    gen = torch.Generator().manual_seed(1)
    n_classes = 3 if cfg.mode == "conditional" else 0
    units = 1 if cfg.mode == "conditional" else 3
    per_unit = 3 * n_normals // units
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for u in range(units):
            labels = torch.arange(per_unit) % 3 if n_classes else None
            data = TrainingData(torch.rand(per_unit, 3, img_size, img_size, generator=gen) * 2 - 1, labels)
            hparams = network_hparams(cfg, img_size, 3, n_classes)
            nets, _ = train_model(data, cfg, hparams, Path(tmp) / f"m{u}.pt", "bench", cfg.seed, torch.device("cpu"))
            test_labels = torch.arange(n_test * 3 // units) % 3 if n_classes else None
            test = torch.rand(n_test * 3 // units, 3, img_size, img_size, generator=gen) * 2 - 1
            score_images(nets, test, test_labels, cfg.residual, cfg.kappa, cfg.eval_batch_size)
    return {f"{cfg.mode}_train_and_score_s": round(time.perf_counter() - start, 1)}


def real_stage_time(params: str, prepared: str, splits: str, keep: str = "") -> dict[str, float]:
    """Wall time of the two real stages on a prepared dataset (outputs to ``keep``, or a temporary folder)."""
    from stages import evaluate_anomaly, train_anomaly

    with tempfile.TemporaryDirectory() as tmp:
        tmp = keep or tmp
        start = time.perf_counter()
        train_anomaly.main(["--params", params, "--prepared", prepared, "--splits", splits, "--out", f"{tmp}/m"])
        mid = time.perf_counter()
        evaluate_anomaly.main(["--params", params, "--prepared", prepared, "--splits", splits,
                               "--model", f"{tmp}/m", "--out", f"{tmp}/r"])
        end = time.perf_counter()
        metrics = json.loads(Path(f"{tmp}/r/metrics.json").read_text())
    return {"train_anomaly_s": round(mid - start, 1), "evaluate_anomaly_s": round(end - mid, 1),
            "auroc_A_mean": metrics.get("fanogan/mean/auroc_A")}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--prepared", default="")
    parser.add_argument("--splits", default="")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--keep", default="", help="keep the real stages' outputs in this folder (must not exist)")
    parser.add_argument("--skip-stage", action="store_true", help="only the per-step timings")
    parser.add_argument("--per-product", action="store_true", help="also time mode=per_product")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    cfg = default_config(args.params)
    result = {"threads": torch.get_num_threads(), "config": dataclasses.asdict(cfg)}
    result.update(time_steps(cfg, 64, 3, 3, args.repeats))
    if not args.skip_stage:
        if args.prepared:
            result.update(real_stage_time(args.params, args.prepared, args.splits, args.keep))
        else:
            result.update(library_stage_time(cfg, 64, n_normals=420 - 50, n_test=105))
            if args.per_product:
                result.update(library_stage_time(dataclasses.replace(cfg, mode="per_product"), 64, 370, 105))
    print(json.dumps(result, indent=2))  # noqa: T201 - the benchmark's output is its report


if __name__ == "__main__":
    main()
