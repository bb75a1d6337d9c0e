"""Stage `train_classifier`: one (scale, setting, augmentation) cell — a classifier per product, every seed.

    python -m stages.train_classifier --params params.yaml --prepared data/prepared \
        --manifest data/assembled/train_mix_N80.csv --val data/assembled/val.csv --test data/assembled/test.csv \
        --augment trad --out results/classifier/mix_N80_trad --metrics reports/classifier/mix_N80_trad.json

``--augment`` overrides ``classifier.augment`` (dvc.yaml's Table 15 matrix varies it); ``--num-seeds n`` keeps the
first n of ``classifier.seeds`` (Table 15 cells pass ``table15_num_seeds``). Writes per-seed test
predictions (with softmax scores) and histories to ``--out`` and the cell's summary to ``--metrics``.

Under ``torchrun --nproc_per_node=N -m stages.train_classifier ...`` the cell's independent (product, seed) runs are
spread over the N processes (each run trained whole by one of them, e.g. one per GPU); rank 0 writes the outputs.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from dtgan.classify.config import AUGMENTS, ClassifierConfig
from dtgan.classify.data import read_training_manifest
from dtgan.classify.run import run_cell
from dtgan.cli import run_stage, stage_parser
from dtgan.distributed import process_group, world_from_env
from dtgan.errors import ParamsError
from dtgan.params import load_section, read_params
from dtgan.runinfo import load_run_info
from dtgan.runtime import pick_device

log = logging.getLogger(__name__)


def first_seeds(seeds: tuple[int, ...], n: int) -> tuple[int, ...]:
    if not 1 <= n <= len(seeds):
        msg = f"--num-seeds must be between 1 and the {len(seeds)} seeds of classifier.seeds {list(seeds)}, got {n}"
        raise ParamsError(msg)
    return seeds[:n]


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", default="data/prepared", type=Path)
    parser.add_argument("--manifest", required=True, type=Path, help="training manifest written by assemble")
    parser.add_argument("--val", default="data/assembled/val.csv", type=Path)
    parser.add_argument("--test", default="data/assembled/test.csv", type=Path)
    parser.add_argument("--augment", choices=AUGMENTS, default=None, help="default: classifier.augment")
    parser.add_argument("--num-seeds", type=int, default=None, help="first n of classifier.seeds (default: all)")
    parser.add_argument("--out", required=True, type=Path, help="folder for predictions and histories")
    parser.add_argument("--metrics", required=True, type=Path, help="summary JSON of the cell")

    def body(args: argparse.Namespace) -> None:
        params = read_params(args.params)
        cfg = load_section(ClassifierConfig, params, "classifier")
        if args.augment:
            cfg = dataclasses.replace(cfg, augment=args.augment)
        if args.num_seeds is not None:
            cfg = dataclasses.replace(cfg, seeds=first_seeds(cfg.seeds, args.num_seeds))
        manifests = {name: read_training_manifest(path)
                     for name, path in (("train", args.manifest), ("val", args.val), ("test", args.test))}
        with process_group(world_from_env(), pick_device(cfg.device)) as world:
            run_cell(cfg, manifests, args.prepared, args.out, args.metrics, profile=load_run_info(params).profile,
                     world=world)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
