"""Stage `train_anomaly`: f-AnoGAN (WGAN-GP, then the izi_f encoder) on the Normal images of the train split.

    python -m stages.train_anomaly --params params.yaml --prepared data/prepared --splits data/splits \
        --out models/anomaly

Resumes from the checkpoints in ``--out`` when they match the params and data (keep the out ``persist: true``).
Writes ``meta.json``, ``model_<unit>.pt`` per model and ``train_summary.json`` (incl. validation-normal scores,
used only for monitoring).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dtgan.anomaly.config import AnomalyConfig
from dtgan.anomaly.run import train_and_summarise
from dtgan.cli import run_stage, stage_parser
from dtgan.params import load_section


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", required=True, type=Path, help="output folder of the prepare stage")
    parser.add_argument("--splits", required=True, type=Path, help="output folder of the split stage")
    parser.add_argument("--out", required=True, type=Path, help="model folder (checkpoints live here too)")

    def body(args: argparse.Namespace) -> None:
        train_and_summarise(load_section(AnomalyConfig, args.params, "anomaly"), args.prepared, args.splits, args.out)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
