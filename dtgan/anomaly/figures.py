"""The examples figure: test images, their f-AnoGAN reconstructions, pixel anomaly maps and (if any) masks."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from dtgan.runtime import atomic_path  # noqa: E402


def pick_examples(frame: pd.DataFrame, per_product: int) -> list[int]:
    """Row positions: per product one Normal first, then defects cycling through the defect domains."""
    picked: list[int] = []
    frame = frame.reset_index(drop=True)
    for _, rows in frame.groupby("product", sort=True):
        by_domain = {d: list(r.index) for d, r in rows.groupby("domain", sort=True)}
        order = ["Normal"] + [d for d in sorted(by_domain) if d != "Normal"]
        queues = [by_domain.get(d, []) for d in order]
        chosen: list[int] = []
        while len(chosen) < per_product and any(queues):
            for q in queues:
                if q and len(chosen) < per_product:
                    chosen.append(q.pop(0))
        picked.extend(chosen)
    return picked


def _show(ax: plt.Axes, image: np.ndarray, **kwargs: object) -> None:
    ax.imshow(image, **kwargs)
    ax.set_xticks([])
    ax.set_yticks([])


def save_examples_figure(path: str | Path, images: np.ndarray, reconstructions: np.ndarray, maps: np.ndarray,
                         titles: list[str], masks: np.ndarray | None = None) -> None:
    """One column per example; rows input, reconstruction, |x - G(E(x))| map (shared colour scale), mask.

    ``images``/``reconstructions`` are uint8 (K, H, W, 3); ``maps`` float (K, H, W); ``masks`` uint8 or None.
    """
    k = len(titles)
    if not (images.shape[0] == reconstructions.shape[0] == maps.shape[0] == k) or k == 0:
        msg = (f"save_examples_figure: need the same non-zero number of images ({images.shape[0]}), reconstructions "
               f"({reconstructions.shape[0]}), maps ({maps.shape[0]}) and titles ({k})")
        raise ValueError(msg)
    rows = [("input", images, {}), ("reconstruction", reconstructions, {}),
            ("|x - G(E(x))|", maps, {"cmap": "inferno", "vmin": 0.0, "vmax": float(maps.max()) or 1.0})]
    if masks is not None:
        rows.append(("mask", masks, {"cmap": "gray", "vmin": 0, "vmax": 255}))
    fig, axes = plt.subplots(len(rows), k, figsize=(1.6 * k, 1.7 * len(rows)), squeeze=False)
    for r, (label, data, kwargs) in enumerate(rows):
        for c in range(k):
            _show(axes[r, c], data[c], **kwargs)
        axes[r, 0].set_ylabel(label, fontsize=7)
    for c, title in enumerate(titles):
        axes[0, c].set_title(title, fontsize=6)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
