"""Pixel-level segmentation metrics from per-image score histograms: AUROC, average precision and IoU.

Scores in [0, 1] are binned into ``bins`` equal bins per image (positives and negatives counted apart). A set of
images is then the sum of its histograms, so a bootstrap over test images costs a matrix product instead of a sort
of every resampled pixel. Within a bin, scores tie (AUROC counts a tied pair as half; AP treats a bin as one
threshold): with 1024 bins both agree with the exact rank-based values to ~1e-3 (tested against scikit-learn).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BINS = 1024


@dataclass(frozen=True)
class PixelCounts:
    """Per image: histograms of defect / background pixel scores, and intersection / union at a threshold."""

    positive: np.ndarray  # (N, bins) defect-pixel counts per score bin
    negative: np.ndarray  # (N, bins) background-pixel counts per score bin
    intersection: np.ndarray  # (N,) |pred & truth| at the IoU threshold
    union: np.ndarray  # (N,) |pred | truth|

    def __len__(self) -> int:
        return len(self.positive)


def pixel_counts(maps: np.ndarray, truth: np.ndarray, threshold: float = 0.5,
                 bins: int = DEFAULT_BINS) -> PixelCounts:
    """``maps`` (N, H, W) scores in [0, 1] (probabilities, or any map rescaled to [0, 1]); ``truth`` (N, H, W) bool."""
    maps = np.asarray(maps, dtype=np.float64)
    truth = np.asarray(truth, dtype=bool)
    if maps.shape != truth.shape or maps.ndim != 3:
        msg = f"pixel_counts: maps {maps.shape} and truth {truth.shape} must both be (N, H, W)"
        raise ValueError(msg)
    if not np.isfinite(maps).all() or maps.min() < 0 or maps.max() > 1:
        msg = "pixel_counts: scores must be finite and lie in [0, 1]"
        raise ValueError(msg)
    index = np.minimum((maps * bins).astype(np.int64), bins - 1).reshape(len(maps), -1)
    flat_truth = truth.reshape(len(maps), -1)
    offsets = np.arange(len(maps))[:, None] * bins
    total = np.bincount((index + offsets).ravel(), minlength=len(maps) * bins).reshape(len(maps), bins)
    positive = np.bincount((index + offsets)[flat_truth], minlength=len(maps) * bins).reshape(len(maps), bins)
    pred = maps >= threshold
    return PixelCounts(positive=positive, negative=total - positive,
                       intersection=(pred & truth).reshape(len(maps), -1).sum(1),
                       union=(pred | truth).reshape(len(maps), -1).sum(1))


def auroc_from_histogram(positive: np.ndarray, negative: np.ndarray) -> float:
    """AUROC of summed histograms (1-D, or (R, bins) for R resamples at once); NaN without both classes."""
    pos, neg = np.atleast_2d(positive).astype(np.float64), np.atleast_2d(negative).astype(np.float64)
    neg_below = np.cumsum(neg, axis=1) - neg  # negatives in strictly lower bins
    wins = (pos * (neg_below + 0.5 * neg)).sum(1)
    pairs = pos.sum(1) * neg.sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(pairs > 0, wins / pairs, np.nan)
    return out if np.ndim(positive) > 1 else float(out[0])


def average_precision_from_histogram(positive: np.ndarray, negative: np.ndarray) -> float:
    """AP = sum over thresholds (high to low) of precision x recall gain, one threshold per bin; NaN without
    defect pixels."""
    pos, neg = np.atleast_2d(positive).astype(np.float64), np.atleast_2d(negative).astype(np.float64)
    tp = np.cumsum(pos[:, ::-1], axis=1)
    fp = np.cumsum(neg[:, ::-1], axis=1)
    n_pos = tp[:, -1:]
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(tp + fp > 0, tp / (tp + fp), 1.0)
        out = np.where(n_pos[:, 0] > 0, (precision * pos[:, ::-1]).sum(1) / n_pos[:, 0], np.nan)
    return out if np.ndim(positive) > 1 else float(out[0])


def iou_from_counts(intersection: np.ndarray, union: np.ndarray) -> float:
    """Dataset IoU: all images' intersections over all their unions (NaN if both are empty everywhere)."""
    inter, uni = np.atleast_2d(intersection).sum(-1), np.atleast_2d(union).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(uni > 0, inter / uni, np.nan)
    return out if np.ndim(intersection) > 1 else float(out[0])


def summary(counts: PixelCounts) -> dict[str, float]:
    """pixel_auroc, pixel_ap and iou over all the images."""
    return {k: float(v[0]) for k, v in _batched_summary(counts, np.ones((1, len(counts)))).items()}


def paired_bootstrap(new: list[PixelCounts], base: list[PixelCounts], resamples: int,
                     seed: int) -> dict[str, tuple[float, float, float]]:
    """Mean over seeds of (new - base) per metric, with a 95 % percentile interval from resampling the test
    images (the same images for both, and for every seed: the runs are paired by seed and by image)."""
    if len(new) != len(base) or not new:
        msg = "paired_bootstrap: needs the same non-zero number of seeds on both sides"
        raise ValueError(msg)
    n = len(new[0])
    rng = np.random.default_rng(seed)
    weights = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(resamples)]).astype(float)

    def seed_mean(runs: list[PixelCounts], w: np.ndarray) -> dict[str, np.ndarray]:
        per_seed = [_batched_summary(c, w) for c in runs]
        return {k: np.mean([s[k] for s in per_seed], axis=0) for k in per_seed[0]}

    point_new, point_base = seed_mean(new, np.ones((1, n))), seed_mean(base, np.ones((1, n)))
    boot_new, boot_base = seed_mean(new, weights), seed_mean(base, weights)
    out = {}
    for key in point_new:
        diff = boot_new[key] - boot_base[key]
        low, high = np.nanpercentile(diff, [2.5, 97.5])
        out[key] = (float(point_new[key][0] - point_base[key][0]), float(low), float(high))
    return out


def _batched_summary(counts: PixelCounts, weights: np.ndarray) -> dict[str, np.ndarray]:
    """The metrics for each row of ``weights`` (R, N): how often each image counts in that resample."""
    pos, neg = weights @ counts.positive, weights @ counts.negative
    return {"pixel_auroc": auroc_from_histogram(pos, neg), "pixel_ap": average_precision_from_histogram(pos, neg),
            "iou": iou_from_counts(weights * counts.intersection, weights * counts.union)}
