"""Stage `evaluate`: all metrics of one variant's evaluation synthesis set (run by dvc as a matrix over variants).

    python -m stages.evaluate --params params.yaml --prepared data/prepared --splits data/splits \
        --features data/features --eval-classifier models/eval_classifier --synth data/synth_eval/e \
        --out reports/eval/e

Writes ``metrics.json`` (Fréchet distance / KID per mode and product, background PSNR/SSIM, target-domain
accuracy, diversity, memorisation), ``per_cell.csv`` (product, domain, mode, metric, value) and ``nn_grid.png``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dtgan.cli import run_stage, stage_parser
from dtgan.evaluation.config import EvaluateConfig
from dtgan.evaluation.run import evaluate_variant
from dtgan.params import load_section


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", default="data/prepared", type=Path)
    parser.add_argument("--splits", default="data/splits", type=Path,
                        help="checked against the feature store so stale real features are refused")
    parser.add_argument("--features", default="data/features", type=Path)
    parser.add_argument("--eval-classifier", default="models/eval_classifier", type=Path)
    parser.add_argument("--synth", required=True, type=Path, help="evaluation synthesis set, e.g. data/synth_eval/e")
    parser.add_argument("--out", required=True, type=Path, help="report folder, e.g. reports/eval/e")

    def body(args: argparse.Namespace) -> None:
        cfg = load_section(EvaluateConfig, args.params, "evaluate")
        evaluate_variant(cfg, args.prepared, args.splits, args.features, args.eval_classifier, args.synth, args.out)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
