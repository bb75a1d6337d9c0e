"""Evaluation of synthesis sets (protocol.md §5, supplement E.5): Fréchet distance / KID per (product, domain,
mode), background preservation, target-domain accuracy with a real-only classifier, diversity and memorisation."""

from dtgan.evaluation.classifier import balance_classes, load_eval_classifier, train_eval_classifier
from dtgan.evaluation.config import EvaluateConfig
from dtgan.evaluation.features import RealFeatures, compute_real_features, load_real_features
from dtgan.evaluation.run import evaluate_variant
from dtgan.evaluation.synthetic import ALL_MODES, MIX, MODES, load_synthetic_set, mix_rows

__all__ = [
    "ALL_MODES", "MIX", "MODES", "EvaluateConfig", "RealFeatures", "balance_classes", "compute_real_features",
    "evaluate_variant", "load_eval_classifier", "load_real_features", "load_synthetic_set", "mix_rows",
    "train_eval_classifier",
]
