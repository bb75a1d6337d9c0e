"""Stage `evaluate_anomaly`: f-AnoGAN scores and AUROCs on the test split the classifiers use.

    python -m stages.evaluate_anomaly --params params.yaml --prepared data/prepared --splits data/splits \
        --model models/anomaly --out reports/anomaly

Writes ``metrics.json`` (keys like ``fanogan/A/auroc_A``), ``scores.csv`` (per image A, A_R, A_D, z_distance),
``auroc.md`` (labelled with dataset, profile, residual and model mode) and ``examples.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dtgan.anomaly.config import AnomalyConfig
from dtgan.anomaly.evaluate import evaluate_models
from dtgan.cli import run_stage, stage_parser
from dtgan.params import load_section, read_params
from dtgan.runinfo import load_run_info


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", required=True, type=Path)
    parser.add_argument("--splits", required=True, type=Path)
    parser.add_argument("--model", required=True, type=Path, help="output folder of train_anomaly")
    parser.add_argument("--out", required=True, type=Path)

    def body(args: argparse.Namespace) -> None:
        params = read_params(args.params)
        cfg = load_section(AnomalyConfig, params, "anomaly")
        evaluate_models(cfg, load_run_info(params).profile, args.prepared, args.splits, args.model, args.out)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
