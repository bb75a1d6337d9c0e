"""AUROC helpers (scikit-learn) at image and pixel level; defect = positive (1), Normal = negative (0).

A single-class label set has no ROC curve: :func:`auroc` raises :class:`SingleClassError` (a ValueError) and
:func:`auroc_or_none` returns None, which the evaluation reports as "n/a" and leaves out of metrics.json (JSON has no
NaN). Constant scores give 0.5 (every positive/negative pair tied).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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


SCORE_COLUMNS = ("A", "A_R", "A_D", "z_distance")


def metric_key(*parts: str) -> str:
    """A metrics.json key free of dots (DVC reads dots as nesting), e.g. ``fanogan/A/auroc_A``."""
    return "/".join(str(p).replace(".", "_") for p in parts)


def image_metrics(frame: pd.DataFrame, prefix: str = "fanogan") -> dict[str, float | int]:
    """Image AUROC per product (all defects, then each defect domain) and their mean over products.

    ``frame`` needs ``product``, ``domain``, ``label`` (1 = defect) and the :data:`SCORE_COLUMNS`. Undefined AUROCs
    (a product without normals or defects in the test set) are left out.
    """
    out: dict[str, float | int] = {}
    per_product: dict[str, list[float]] = {}
    for product, rows in frame.groupby("product", sort=True):
        out[metric_key(prefix, product, "n_normal")] = int((rows["label"] == 0).sum())
        out[metric_key(prefix, product, "n_defect")] = int((rows["label"] == 1).sum())
        for col in SCORE_COLUMNS:
            value = auroc_or_none(rows["label"].to_numpy(), rows[col].to_numpy())
            if value is not None:
                out[metric_key(prefix, product, f"auroc_{col}")] = value
                per_product.setdefault(col, []).append(value)
        for domain in sorted(set(rows["domain"]) - {"Normal"}):
            sub = rows[(rows["label"] == 0) | (rows["domain"] == domain)]
            value = auroc_or_none(sub["label"].to_numpy(), sub["A"].to_numpy())
            if value is not None:
                out[metric_key(prefix, product, domain, "auroc_A")] = value
    for col, values in per_product.items():
        out[metric_key(prefix, "mean", f"auroc_{col}")] = float(np.mean(values))
    return out


def pixel_metrics(frame: pd.DataFrame, maps: np.ndarray, masks: np.ndarray, prefix: str = "fanogan") -> dict:
    """Pixel AUROC per product and over all products, on images with known ground truth (Normal, or a mask)."""
    known = ((frame["label"] == 0) | (frame["mask_path"] != "")).to_numpy()
    has_defect_mask = ((frame["label"] == 1) & (frame["mask_path"] != "")).to_numpy()
    out: dict[str, float] = {}
    for product in sorted(frame["product"].unique()):
        sel = known & (frame["product"] == product).to_numpy()
        if (sel & has_defect_mask).any():
            value = pixel_auroc(maps[sel], masks[sel])
            if value is not None:
                out[metric_key(prefix, product, "pixel_auroc")] = value
    if has_defect_mask.any():
        value = pixel_auroc(maps[known], masks[known])
        if value is not None:
            out[metric_key(prefix, "all", "pixel_auroc")] = value
    return out


def auroc_markdown(metrics: dict, products: list[str], labels: dict[str, str], prefix: str = "fanogan") -> str:
    """A Markdown table of the image (and pixel) AUROCs, headed by what produced them (dataset, profile, ...)."""
    cols = [f"auroc_{c}" for c in SCORE_COLUMNS] + ["pixel_auroc"]
    names = ["A", "A_R", "A_D", "z_distance", "pixel"]

    def cell(*parts: str) -> str:
        value = metrics.get(metric_key(prefix, *parts))
        return "n/a" if value is None else f"{value:.3f}"

    lines = ["# f-AnoGAN anomaly detection (unsupervised baseline)", ""]
    lines += [f"- {k}: {v}" for k, v in labels.items()]
    lines += ["", "Image-level AUROC (defect = positive, Normal = negative); pixel AUROC where masks exist.", "",
              "| product | n normal / defect | " + " | ".join(names) + " |",
              "|---|---|" + "---|" * len(names)]
    for product in [*products, "mean"]:
        counts = (f"{metrics.get(metric_key(prefix, product, 'n_normal'), '')} / "
                  f"{metrics.get(metric_key(prefix, product, 'n_defect'), '')}") if product != "mean" else ""
        pixel_owner = "all" if product == "mean" else product
        values = [cell(product, c) for c in cols[:-1]] + [cell(pixel_owner, "pixel_auroc")]
        lines.append(f"| {product} | {counts} | " + " | ".join(values) + " |")
    lines += ["", "The mean row averages products; its pixel AUROC pools all test pixels. Reference (spec fanogan.md "
              "§3): PatchCore/PaDiM reach 0.95-1.00 image AUROC on MVTec textures; f-AnoGAN is expected near "
              "0.5-0.8 on real textures.", ""]
    return "\n".join(lines)
