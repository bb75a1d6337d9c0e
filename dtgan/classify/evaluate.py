"""Test-set metrics of a classifier run and their summary over seeds (protocol.md §4: error %, mean ± std).

Pure functions on arrays / DataFrames, so they are tested without any network.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from dtgan.constants import DOMAINS
from dtgan.metrics.roc import auroc

ALL_PRODUCTS = "all"


def score_columns(class_names: Sequence[str] = DOMAINS) -> list[str]:
    return [f"score_{name}" for name in class_names]


def predictions_frame(sample_ids: Sequence[str], products: Sequence[str], labels: np.ndarray, probs: np.ndarray,
                      class_names: Sequence[str] = DOMAINS) -> pd.DataFrame:
    """One row per test image: id, product, true and predicted class index, softmax score of every class."""
    if probs.ndim != 2 or probs.shape != (len(labels), len(class_names)):
        msg = f"probs must have shape ({len(labels)}, {len(class_names)}), got {probs.shape}"
        raise ValueError(msg)
    frame = pd.DataFrame({"sample_id": list(sample_ids), "product": list(products),
                          "label": np.asarray(labels, dtype=int), "pred": probs.argmax(axis=1).astype(int)})
    for column, values in zip(score_columns(class_names), probs.T, strict=True):
        frame[column] = values.astype(float)
    return frame


def error_rate(labels: np.ndarray, preds: np.ndarray) -> float:
    """Percentage of wrong predictions (the paper's metric)."""
    labels, preds = np.asarray(labels), np.asarray(preds)
    if labels.size == 0:
        msg = "error rate of an empty set is undefined"
        raise ValueError(msg)
    return float(100.0 * np.mean(labels != preds))


def confusion_matrix(labels: np.ndarray, preds: np.ndarray, num_classes: int = len(DOMAINS)) -> np.ndarray:
    """counts[true, predicted]."""
    counts = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(counts, (np.asarray(labels, dtype=int), np.asarray(preds, dtype=int)), 1)
    return counts


def per_class_error(counts: np.ndarray) -> np.ndarray:
    """Error % within each true class (NaN for a class absent from the set)."""
    totals = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, 100.0 * (1.0 - np.diag(counts) / np.maximum(totals, 1)), np.nan)


def defect_vs_normal_auroc(labels: np.ndarray, normal_scores: np.ndarray) -> float:
    """AUROC of ``1 - p(Normal)`` as a defect score (NaN when only one of normal/defective is present)."""
    is_defect = np.asarray(labels) != 0
    if is_defect.all() or not is_defect.any():
        return math.nan
    return auroc(is_defect.astype(int), 1.0 - np.asarray(normal_scores, dtype=np.float64))


def run_metrics(frame: pd.DataFrame, class_names: Sequence[str] = DOMAINS) -> dict:
    """Overall and per-product error, confusion matrix, per-class error and defect AUROC of one run."""
    counts = confusion_matrix(frame["label"], frame["pred"], len(class_names))
    per_class = per_class_error(counts)
    normal_scores = frame[score_columns(class_names)[0]].to_numpy()
    return {
        "error": error_rate(frame["label"], frame["pred"]),
        "error_per_product": {str(p): error_rate(g["label"], g["pred"]) for p, g in frame.groupby("product")},
        "n_test": len(frame),
        "confusion_matrix": counts.tolist(),
        "per_class_error": {name: _none_if_nan(v) for name, v in zip(class_names, per_class, strict=True)},
        "defect_auroc": _none_if_nan(defect_vs_normal_auroc(frame["label"], normal_scores)),
    }


def _none_if_nan(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def summarize_seeds(metrics: Sequence[dict]) -> pd.DataFrame:
    """Error % per product and overall across seeds: columns product, mean, std, n, errors (per-seed list).

    ``std`` is the sample standard deviation (ddof=1; the paper does not say which); NaN for a single run.
    """
    if not metrics:
        msg = "summarize_seeds needs at least one run"
        raise ValueError(msg)
    rows = []
    products = sorted({p for m in metrics for p in m["error_per_product"]})
    for product in [*products, ALL_PRODUCTS]:
        values = [m["error"] if product == ALL_PRODUCTS else m["error_per_product"].get(product) for m in metrics]
        values = np.array([v for v in values if v is not None], dtype=float)
        std = float(values.std(ddof=1)) if values.size > 1 else math.nan
        rows.append({"product": product, "mean": float(values.mean()), "std": std, "n": int(values.size),
                     "errors": values.tolist()})
    return pd.DataFrame(rows)
