"""Stage `train_gan`: train one DT-GAN ablation variant; EMA nets, training curves, sample grids, D's accuracy.

    python -m stages.train_gan --params params.yaml --prepared data/prepared --splits data/splits --variant e \
        --out models/gan/e --reports reports/gan/e

Resumes from ``<out>/checkpoint.pt`` when it was written with the same resolved config and data.
Data parallel on N processes (rank 0 writes every output; per-rank batch = gan.batch_size / N):

    torchrun --nproc_per_node=N -m stages.train_gan --params params.yaml ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dtgan.cli import run_stage, stage_parser
from dtgan.distributed import torchrun_world
from dtgan.gans.dtgan.config import GanConfig, LossWeights
from dtgan.gans.dtgan.train import TrainPaths, train_variant
from dtgan.gans.dtgan.variants import VARIANTS
from dtgan.params import load_section, load_top_level, read_params
from dtgan.runtime import pick_device


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", required=True, type=Path, help="output folder of the prepare stage")
    parser.add_argument("--splits", required=True, type=Path, help="output folder of the split stage")
    parser.add_argument("--variant", required=True, choices=VARIANTS, help="ablation variant (a) ... (e)")
    parser.add_argument("--out", required=True, type=Path, help="model folder: ema.pt, config.json, checkpoint.pt")
    parser.add_argument("--reports", required=True, type=Path,
                        help="report folder: curves/ (DVCLive), grid PNGs, discriminator.json")

    def body(args: argparse.Namespace) -> None:
        params = read_params(args.params)
        cfg = load_section(GanConfig, params, "gan")
        weights = load_top_level(LossWeights, params)
        paths = TrainPaths(args.prepared, args.splits, args.out, args.reports)
        with torchrun_world(pick_device(cfg.device), cfg.batch_size, "gan.batch_size") as world:
            train_variant(cfg, args.variant, weights, paths, world)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
