"""Fréchet distance and KID of two feature sets, under keys that name the feature extractor."""

from __future__ import annotations

import numpy as np

from dtgan.metrics.frechet import frechet_distance_features
from dtgan.metrics.kid import KID_SUBSET_SIZE, KID_SUBSETS, kernel_distance
from dtgan.metrics.values import NotComputed, frechet_key, kid_key


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
