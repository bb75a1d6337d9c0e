"""Markdown tables and the examples figure of the mask check and the segmentation cells."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from dtgan.runtime import atomic_path  # noqa: E402
from dtgan.segmentation.config import BASELINE, SETTINGS  # noqa: E402

METRICS = ("pixel_auroc", "pixel_ap", "iou")
METRIC_NAMES = {"pixel_auroc": "pixel AUROC", "pixel_ap": "pixel AP", "iou": "IoU"}


def _num(value: float, digits: int = 3) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def removal_markdown(table: pd.DataFrame, labels: dict[str, str]) -> str:
    lines = ["## Defect removal by the anchor code: |x - G(x, s, 0)| against ground-truth masks", ""]
    lines += [f"- {k}: {v}" for k, v in labels.items()]
    lines += ["", "Pixel AUROC over the defect images' pixels (chance 0.5); the median residual |x - median5x5(x)| "
              "needs no model. IoU of the binary mask at the rule above.", "",
              "| product | domain | n | pixel AUROC | median-residual AUROC | IoU | defect pixels |",
              "|---|---|---|---|---|---|---|"]
    for r in table.itertuples():
        lines.append(f"| {r.product} | {r.domain} | {r.n_images} | {_num(r.pixel_auroc)} | "
                     f"{_num(r.pixel_auroc_median_residual)} | {_num(r.iou)} | {r.defect_pixel_fraction:.1%} |")
    return "\n".join(lines) + "\n"


def _verdict(low: float, high: float) -> str:
    if math.isnan(low) or math.isnan(high) or low <= 0 <= high:
        return "no difference"
    return "better" if low > 0 else "worse"


def segmentation_markdown(cells: pd.DataFrame, differences: pd.DataFrame, fanogan: pd.DataFrame,
                          labels: dict[str, str]) -> str:
    """``cells``: one row per product, setting, seed with the METRICS; ``differences``: setting - real per product
    with (diff, low, high) per metric; ``fanogan``: one row per product (IoU NaN: an unsupervised map)."""
    lines = ["## Segmentation of real test defects (beyond the paper)", ""]
    lines += [f"- {k}: {v}" for k, v in labels.items()]
    lines += ["", "Mean ± std over seeds; pixel metrics over all test pixels of the product (Normal test images "
              "count as background).", "",
              "| product | training set | " + " | ".join(METRIC_NAMES[m] for m in METRICS) + " |",
              "|---|---|" + "---|" * len(METRICS)]
    for (product, setting), group in cells.groupby(["product", "setting"], sort=False):
        values = " | ".join(f"{group[m].mean():.3f} ± {group[m].std(ddof=0):.3f}" for m in METRICS)
        lines.append(f"| {product} | {setting}: {SETTINGS[setting]} | {values} |")
    for r in fanogan.itertuples():
        lines.append(f"| {r.product} | f-AnoGAN pixel map (unsupervised, no threshold) | {_num(r.pixel_auroc)} | "
                     f"{_num(r.pixel_ap)} | n/a |")
    if len(differences):
        lines += ["", f"Paired difference to `{BASELINE}` (same seeds, same test images; 95 % bootstrap interval "
                  "over test images). Positive = better.", "",
                  "| product | setting | " + " | ".join(f"Δ {METRIC_NAMES[m]}" for m in METRICS) + " |",
                  "|---|---|" + "---|" * len(METRICS)]
        for r in differences.itertuples():
            row = r._asdict()
            cells_txt = [f"{row[m]:+.3f} [{row[m + '_low']:+.3f}, {row[m + '_high']:+.3f}] "
                         f"{_verdict(row[m + '_low'], row[m + '_high'])}" for m in METRICS]
            lines.append(f"| {r.product} | {r.setting} | " + " | ".join(cells_txt) + " |")
    return "\n".join(lines) + "\n"


def _show(ax: plt.Axes, image: np.ndarray, title: str, **kwargs: object) -> None:
    ax.imshow(image, **kwargs)
    ax.set_title(title, fontsize=7)
    ax.set_xticks([])
    ax.set_yticks([])


def save_examples(path: Path, images: np.ndarray, truth: np.ndarray, maps: dict[str, np.ndarray],
                  row_titles: list[str]) -> None:
    """One row per test image: the image, its ground truth, then each named probability / anomaly map."""
    cols = 2 + len(maps)
    fig, axes = plt.subplots(len(images), cols, figsize=(1.4 * cols, 1.5 * len(images)), squeeze=False)
    for i, image in enumerate(images):
        _show(axes[i, 0], image, row_titles[i])
        _show(axes[i, 1], truth[i], "truth", cmap="gray", vmin=0, vmax=1)
        for k, (name, stack) in enumerate(maps.items()):
            _show(axes[i, 2 + k], stack[i], name, cmap="magma", vmin=0, vmax=1)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
