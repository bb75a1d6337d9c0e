"""Stage `train_stylegan2`: StyleGAN2 (``--method stylegan2``) or StyleGAN2 + ADA (``stylegan2_ada``) on the real
defect images of the GAN training split, class-conditional on (product, defect domain).

    python -m stages.train_stylegan2 --params params.yaml --prepared data/prepared --splits data/splits \
        --method stylegan2_ada --out models/baselines/stylegan2_ada --reports reports/baselines/stylegan2_ada

Resumes from ``<out>/checkpoint.pt`` when it was written with the same config and data. Data parallel on N
processes (rank 0 writes every output; per-rank batch = stylegan2.batch_size / N):

    torchrun --nproc_per_node=N -m stages.train_stylegan2 --params params.yaml ...
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from dtgan.cli import run_stage, stage_parser
from dtgan.distributed import torchrun_world
from dtgan.gans.methods import get_method
from dtgan.gans.shared.models import train_class_models
from dtgan.gans.stylegan2.config import Stylegan2Config
from dtgan.gans.stylegan2.train import train_model
from dtgan.params import load_section
from dtgan.runtime import pick_device

FAMILY = "stylegan2"


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", required=True, type=Path)
    parser.add_argument("--splits", required=True, type=Path)
    parser.add_argument("--method", required=True, help="stylegan2 or stylegan2_ada (dtgan/gans/methods.py)")
    parser.add_argument("--out", required=True, type=Path, help="model folder: model.pt, config.json, checkpoint.pt")
    parser.add_argument("--reports", required=True, type=Path, help="curves.csv and samples.png")

    def body(args: argparse.Namespace) -> None:
        method = get_method(args.method, FAMILY)
        cfg = load_section(Stylegan2Config, args.params, FAMILY)
        with torchrun_world(pick_device(cfg.device), cfg.batch_size, "stylegan2.batch_size") as world:
            train_one = partial(train_model, cfg, augment=method.augment, world=world)
            train_class_models(train_one, cfg.per_product, args.prepared, args.splits, args.out, args.reports)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
