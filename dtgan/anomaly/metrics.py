"""f-AnoGAN's image- and pixel-level AUROCs per product (metrics.json keys, auroc.md); AUROC itself is
:mod:`dtgan.metrics.roc`."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dtgan.metrics.roc import auroc_or_none, pixel_auroc

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
