"""Defect classifiers trained on real (+ synthetic) images: the downstream test of DT-GAN (protocol.md §4)."""

from dtgan.classify.config import AUGMENTS, BACKBONES, ClassifierConfig
from dtgan.classify.evaluate import format_mean_std, run_metrics, summarize_seeds
from dtgan.classify.grl import GradientReversal, reverse_gradient
from dtgan.classify.models import DefectClassifier, build_classifier
from dtgan.classify.train import ImageSet, RunResult, train_classifier

__all__ = [
    "AUGMENTS",
    "BACKBONES",
    "ClassifierConfig",
    "DefectClassifier",
    "GradientReversal",
    "ImageSet",
    "RunResult",
    "build_classifier",
    "format_mean_std",
    "reverse_gradient",
    "run_metrics",
    "summarize_seeds",
    "train_classifier",
]
