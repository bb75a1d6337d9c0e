"""Stage `train_eval_classifier`: the real-only classifier that scores target-domain accuracy of synthetic images.

    python -m stages.train_eval_classifier --params params.yaml --prepared data/prepared --splits data/splits \
        --out models/eval_classifier

Uses the ``classifier`` section's backbone and optimiser settings with ``evaluate.eval_classifier_epochs`` epochs,
``evaluate.eval_classifier_class_size`` training images per class, the single seed ``evaluate.seed`` and
``evaluate.device``. Writes ``model.pt`` (state_dict) and
``eval_classifier.json`` (config, val/test error, history).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dtgan.classify.config import ClassifierConfig
from dtgan.cli import run_stage, stage_parser
from dtgan.evaluation.classifier import eval_classifier_config, train_eval_classifier
from dtgan.evaluation.config import EvaluateConfig
from dtgan.params import load_section, read_params


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", default="data/prepared", type=Path)
    parser.add_argument("--splits", default="data/splits", type=Path)
    parser.add_argument("--out", default="models/eval_classifier", type=Path)

    def body(args: argparse.Namespace) -> None:
        params = read_params(args.params)
        evaluate = load_section(EvaluateConfig, params, "evaluate")
        base = load_section(ClassifierConfig, params, "classifier")
        cfg = eval_classifier_config(base, evaluate.eval_classifier_epochs, evaluate.seed, evaluate.device)
        train_eval_classifier(cfg, args.prepared, args.splits, args.out, evaluate.eval_classifier_class_size)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
