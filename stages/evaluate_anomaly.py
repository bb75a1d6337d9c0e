"""Stage `evaluate_anomaly`: f-AnoGAN scores and AUROCs on the test split the classifiers use.

    python -m stages.evaluate_anomaly --params params.yaml --prepared data/prepared --splits data/splits \
        --model models/anomaly --out reports/anomaly \
        --maps results/anomaly/test_maps.npz

Writes ``metrics.json`` (keys like ``fanogan/A/auroc_A``), ``scores.csv`` (per image A, A_R, A_D, z_distance),
``auroc.md`` (labelled with dataset, profile, residual and model mode), ``examples.png`` and, with ``--maps``, the
pixel maps of the test images (npz), which the segmentation table shows beside the supervised models.
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
    parser.add_argument("--maps", type=Path, help="also write the test split's pixel maps here (npz)")

    def body(args: argparse.Namespace) -> None:
        params = read_params(args.params)
        cfg = load_section(AnomalyConfig, params, "anomaly")
        evaluate_models(cfg, load_run_info(params).profile, args.prepared, args.splits, args.model, args.out,
                        args.maps)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
