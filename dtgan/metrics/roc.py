"""Rank-based AUROC at image and pixel level; defect = positive (1), Normal = negative (0).

A single-class label set has no ROC curve: :func:`auroc` raises :class:`SingleClassError` (a ValueError) and
:func:`auroc_or_none` returns None, which the evaluation reports as "n/a" and leaves out of metrics.json (JSON has no
NaN). Constant scores give 0.5 (every positive/negative pair tied). numpy, not scikit-learn: importing
sklearn.metrics costs ~2 s, paid by every classifier cell of the matrix; equality with sklearn is tested.
"""

from __future__ import annotations

import numpy as np


class SingleClassError(ValueError):
    """AUROC asked for labels that are all positive or all negative."""


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` (higher = more anomalous) against binary ``labels``."""
    labels, scores = np.asarray(labels).ravel(), np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        msg = f"auroc: {labels.size} labels but {scores.size} scores"
        raise ValueError(msg)
    if not np.isin(labels, (0, 1)).all():
        msg = f"auroc: labels must be 0 (normal) or 1 (defect), got values {np.unique(labels)[:10].tolist()}"
        raise ValueError(msg)
    if not np.isfinite(scores).all():
        msg = f"auroc: {int((~np.isfinite(scores)).sum())} scores are NaN or infinite"
        raise ValueError(msg)
    n_pos = int(labels.sum())
    if n_pos == 0 or n_pos == labels.size:
        msg = f"auroc needs both classes, got {n_pos} defect and {labels.size - n_pos} normal samples"
        raise SingleClassError(msg)
    return float(_rank_auroc(labels.astype(bool), scores))


def _rank_auroc(is_positive: np.ndarray, scores: np.ndarray) -> float:
    """Mann-Whitney form of the AUROC with tied scores sharing their mean rank (= sklearn's roc_auc_score).

    numpy rather than sklearn: importing sklearn.metrics costs ~2 s, paid by every classifier cell of the matrix.
    """
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    mean_rank = np.cumsum(counts) - (counts - 1) / 2.0  # 1-based mean rank of each distinct score
    n_pos = int(is_positive.sum())
    n_neg = is_positive.size - n_pos
    rank_sum = float(mean_rank[inverse.ravel()][is_positive].sum())
    return (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def auroc_or_none(labels: np.ndarray, scores: np.ndarray) -> float | None:
    """:func:`auroc`, or None when only one class is present."""
    try:
        return auroc(labels, scores)
    except SingleClassError:
        return None


def pixel_auroc(maps: np.ndarray, masks: np.ndarray) -> float | None:
    """Pixel-level AUROC over all given images: ``maps`` (N, H, W) scores, ``masks`` (N, H, W) uint8 (>127 = defect).

    The caller passes only images whose ground truth is known: defect images with a mask and Normal images
    (all-zero masks). Masks must already be at the map resolution (the data layer resizes them, nearest-neighbour).
    """
    if maps.shape != masks.shape:
        msg = f"pixel_auroc: maps {maps.shape} and masks {masks.shape} differ in shape"
        raise ValueError(msg)
    return auroc_or_none((masks > 127).astype(np.uint8), maps)
