"""Command-line arguments and loading shared by the benchmarks that probe a trained DT-GAN model on real images."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from dtgan.data.cache import load_prepared
from dtgan.evaluation.classifier import load_eval_classifier
from dtgan.gans.dtgan.synthesize import load_translator


def model_parser(doc: str) -> argparse.ArgumentParser:
    """A parser with --prepared, --splits, --model and --eval-classifier (all required)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name in ("--prepared", "--splits", "--model", "--eval-classifier"):
        parser.add_argument(name, type=Path, required=True)
    return parser


def load_model_inputs(args: argparse.Namespace) -> tuple[Any, Any, torch.nn.Module]:
    """(prepared images, the model's EMA translator, the evaluation classifier), all on the CPU."""
    classifier, _ = load_eval_classifier(args.eval_classifier, torch.device("cpu"))
    return load_prepared(args.prepared), load_translator(args.model, "cpu"), classifier
