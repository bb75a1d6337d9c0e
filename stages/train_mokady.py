"""Stage `train_mokady`: Mokady et al. (ICLR 2020, mask-based content transfer), one model per translation
(Normal -> Scratches, Normal -> Spots), each on the GAN training split's Normal images and that domain's defects
of every product.

    python -m stages.train_mokady --params params.yaml --prepared data/prepared --splits data/splits \
        --out models/baselines/mokady --reports reports/baselines/mokady

Writes ``<out>/<domain>/`` per translation; each resumes from its own checkpoint. Data parallel on N processes
(rank 0 writes every output; per-rank batch = mokady.batch_size / N):

    torchrun --nproc_per_node=N -m stages.train_mokady --params params.yaml ...
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dtgan.cli import run_stage, stage_parser
from dtgan.constants import DEFECT_DOMAINS, NORMAL
from dtgan.data.cache import load_prepared
from dtgan.data.split import load_split
from dtgan.distributed import torchrun_world
from dtgan.gans.mokady.config import MokadyConfig
from dtgan.gans.mokady.train import train_model
from dtgan.gans.shared.data import domain_images
from dtgan.params import load_section
from dtgan.runtime import pick_device


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", required=True, type=Path)
    parser.add_argument("--splits", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path, help="model folder, one sub-folder per translation")
    parser.add_argument("--reports", required=True, type=Path, help="curves.csv and samples.png per translation")

    def body(args: argparse.Namespace) -> None:
        cfg = load_section(MokadyConfig, args.params, "mokady")
        prepared = load_prepared(args.prepared)
        gan_train = load_split(args.splits, "gan_train")
        normals = domain_images(prepared, gan_train, NORMAL)
        with torchrun_world(pick_device(cfg.device), cfg.batch_size, "mokady.batch_size") as world:
            for domain in DEFECT_DOMAINS:
                train_model(cfg, normals, domain_images(prepared, gan_train, domain), args.out / domain,
                            args.reports / domain, translation=domain, world=world)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
