"""Stage `real_features`: feature vectors of the real train (+ val) images for every available extractor.

    python -m stages.real_features --params params.yaml --prepared data/prepared --splits data/splits \
        --out data/features

Writes ``<extractor>.npy`` (one row per row of ``index.csv``: sample_id, product, domain, split) and ``meta.json``
(weights, input size, or why an extractor was not computed). Computed once, shared by every variant's evaluation.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dtgan.cli import run_stage, stage_parser
from dtgan.evaluation.config import EvaluateConfig
from dtgan.evaluation.features import compute_real_features
from dtgan.params import load_section


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", default="data/prepared", type=Path)
    parser.add_argument("--splits", default="data/splits", type=Path)
    parser.add_argument("--out", default="data/features", type=Path)

    def body(args: argparse.Namespace) -> None:
        cfg = load_section(EvaluateConfig, args.params, "evaluate")
        compute_real_features(cfg, args.prepared, args.splits, args.out)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
