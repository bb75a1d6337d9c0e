"""Evaluation metrics: Fréchet distances (fd_effnet_lite0 headline, FID when verified weights exist), KID,
PSNR / SSIM / diversity, and the nearest-neighbour memorisation check.

Metric keys carry the feature extractor in their name (``fd_effnet_lite0``, ``kid_effnet_lite0``) so a number can
never be mistaken for the paper's Inception FID; ``fid`` / ``kid`` are used only for the verified FID Inception.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtgan.metrics.features import (
    EFFNET_LITE0,
    INCEPTION_FID,
    FeatureExtractor,
    NotComputed,
    WeightsResolution,
    available_extractors,
    build_extractor,
    extract_features,
    resolve_fid_weights,
)
from dtgan.metrics.frechet import FeatureStats, feature_stats, frechet_distance, frechet_distance_features
from dtgan.metrics.kid import KID_SUBSET_SIZE, KID_SUBSETS, KidResult, kernel_distance
from dtgan.metrics.memorisation import memorisation_table, nearest_neighbours, save_nearest_neighbour_grid
from dtgan.metrics.quality import diversity_l1, outside_defect_mask, psnr, ssim
from dtgan.params import field_spec

HEADLINE_METRIC = f"fd_{EFFNET_LITE0}"

__all__ = [
    "EFFNET_LITE0", "HEADLINE_METRIC", "INCEPTION_FID", "FeatureExtractor", "FeatureStats", "KidResult",
    "MetricSettings", "NotComputed", "WeightsResolution", "available_extractors", "build_extractor",
    "distribution_metrics", "diversity_l1", "extract_features", "feature_stats", "frechet_distance",
    "frechet_distance_features", "frechet_key", "kernel_distance", "kid_key", "memorisation_table",
    "metric_json_value", "nearest_neighbours", "not_computed_metrics", "outside_defect_mask", "psnr",
    "resolve_fid_weights", "save_nearest_neighbour_grid", "ssim",
]


@dataclass(frozen=True)
class MetricSettings:
    """Metric keys meant for the ``evaluate`` params section (the evaluate stage owns that section)."""

    # Path of pt_inception-2015-12-05-6726825d.pth; null = look in the torch hub cache; never downloaded.
    fid_weights: str | None = None
    feature_batch_size: int = field_spec(50, low=1)
    # KID defaults of Bińkowski et al. / torch-fidelity: 100 subsets of 1000 (shrunk to the smaller set).
    kid_subsets: int = field_spec(KID_SUBSETS, low=1)
    kid_subset_size: int = field_spec(KID_SUBSET_SIZE, low=2)
    # Unknown in the paper (project choice): background PSNR/SSIM ignore pixels within 3 px of a defect.
    background_dilation_px: int = field_spec(3, low=0)
    nn_grid_rows: int = field_spec(8, low=1)


def frechet_key(extractor_name: str) -> str:
    return "fid" if extractor_name == INCEPTION_FID else f"fd_{extractor_name}"


def kid_key(extractor_name: str) -> str:
    return "kid" if extractor_name == INCEPTION_FID else f"kid_{extractor_name}"


def distribution_metrics(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    extractor_name: str,
    kid_subsets: int = KID_SUBSETS,
    kid_subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
) -> dict[str, float | int]:
    """Fréchet distance and KID (mean, std, subset size) between two feature sets, keyed by extractor."""
    kid = kernel_distance(real_features, fake_features, kid_subsets, kid_subset_size, seed=seed)
    fd, kk = frechet_key(extractor_name), kid_key(extractor_name)
    return {
        fd: frechet_distance_features(real_features, fake_features),
        kk: kid.mean,
        f"{kk}_std": kid.std,
        f"{kk}_subset_size": kid.subset_size,
        "n_real": int(len(real_features)),
        "n_fake": int(len(fake_features)),
    }


def not_computed_metrics(extractor_name: str, reason: NotComputed) -> dict[str, NotComputed]:
    """The same keys as :func:`distribution_metrics` for an extractor that could not be used."""
    fd, kk = frechet_key(extractor_name), kid_key(extractor_name)
    return {fd: reason, kk: reason, f"{kk}_std": reason}


def metric_json_value(value: object) -> object:
    """JSON-ready value: ``NotComputed`` becomes its 'not computed: <reason>' string, numbers pass through."""
    if isinstance(value, NotComputed):
        return value.to_json()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value
