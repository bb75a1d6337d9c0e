"""Defect masks of synthetic images: what the defect code added, measured against the family's anchor output.

For DT-GAN the anchor of an output G(x, s, d) is G(x, s, 0): the same source and style with the all-zero defect code
of the anchor domain (Normal), i.e. the source rendered as Normal by the same network. The soft mask is their
difference |G(x, s, d) - G(x, s, 0)| (mean over RGB, [0, 1] scale); the binary mask keeps the pixels above a
threshold, Otsu's per image or a fixed difference (``synthesis.mask_threshold``). The binary mask is also the
"defect region" of the source-identity ratio (dtgan.evaluation.quality).
"""

from __future__ import annotations

import numpy as np

OTSU_BINS = 256


def soft_masks(outputs: np.ndarray, anchors: np.ndarray) -> np.ndarray:
    """float32 (N, H, W) in [0, 1]: mean absolute RGB difference of uint8 (N, H, W, 3) outputs and their anchors."""
    if outputs.shape != anchors.shape or outputs.dtype != np.uint8 or anchors.dtype != np.uint8:
        msg = f"outputs and anchors must be uint8 arrays of one shape, got {outputs.shape} and {anchors.shape}"
        raise ValueError(msg)
    return (np.abs(outputs.astype(np.int16) - anchors.astype(np.int16)).mean(axis=-1) / 255.0).astype(np.float32)


def otsu_thresholds(soft: np.ndarray) -> np.ndarray:
    """Otsu's threshold of each (H, W) map of ``soft`` (N, H, W), values in [0, 1]: the cut maximising the
    between-class variance of the map's 256-bin histogram (1.0 for an empty map). All maps at once (one bincount)."""
    n = len(soft)
    bins = np.minimum((np.clip(soft, 0, 1) * OTSU_BINS).astype(np.int64), OTSU_BINS - 1).reshape(n, -1)
    offsets = np.arange(n)[:, None] * OTSU_BINS
    hist = np.bincount((bins + offsets).ravel(), minlength=n * OTSU_BINS).reshape(n, OTSU_BINS).astype(np.float64)
    edges = np.linspace(0.0, 1.0, OTSU_BINS + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    weight = np.cumsum(hist, axis=1)
    total = weight[:, -1:]
    mean = np.cumsum(hist * centres, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        between = (mean[:, -1:] * weight - mean * total) ** 2 / (weight * (total - weight))
    between[~np.isfinite(between)] = -1.0
    return edges[np.argmax(between, axis=1) + 1]


def otsu_threshold(values: np.ndarray) -> float:
    """Otsu's threshold of one map of values in [0, 1]."""
    return float(otsu_thresholds(np.asarray(values)[None])[0])


def binary_masks(soft: np.ndarray, rule: float | str) -> np.ndarray:
    """bool (N, H, W): pixels of each soft mask above Otsu's threshold of that image (``'otsu'``) or a fixed one."""
    if rule == "otsu":
        thresholds = otsu_thresholds(soft).astype(np.float32)
    else:
        thresholds = np.full(len(soft), float(rule), dtype=np.float32)
    return soft > thresholds[:, None, None]


def to_mask_png(mask: np.ndarray) -> np.ndarray:
    """uint8 (..., H, W) grey image of a soft ([0, 1]) or binary mask, 255 = defect (stored as one-channel PNGs:
    a third of the encoding time of RGB ones)."""
    return np.round(np.clip(mask.astype(np.float32), 0, 1) * 255).astype(np.uint8)
