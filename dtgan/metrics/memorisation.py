"""Memorisation check (supplement E.5): is each synthetic image a near-copy of a real training image?

For every synthetic image we find its nearest real training image in pixel space (RMS difference of [0, 1] pixels)
and, when features are given, in feature space (Euclidean). A low FID on tiny defect sets can reward copying, so the
nearest neighbours are reported as a table and a figure: synthetic | nearest in pixels | nearest in features.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from dtgan.runtime import atomic_path

log = logging.getLogger(__name__)


def nearest_neighbours(queries: np.ndarray, references: np.ndarray, chunk: int = 256,
                       progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean nearest reference of each query: (distances (Nq,), indices (Nr-based, Nq,))."""
    q = torch.as_tensor(np.asarray(queries, np.float64).reshape(len(queries), -1))
    r = torch.as_tensor(np.asarray(references, np.float64).reshape(len(references), -1))
    if q.shape[0] == 0 or r.shape[0] == 0 or q.shape[1] != r.shape[1]:
        msg = f"nearest_neighbours needs non-empty sets of one dimension, got {tuple(q.shape)} and {tuple(r.shape)}"
        raise ValueError(msg)
    dists, idx = [], []
    for start in tqdm(range(0, q.shape[0], chunk), desc="nearest neighbours", disable=not progress, leave=False):
        # float64 and the exact 'donot_use_mm' path: the matmul shortcut loses precision for near-duplicates,
        # exactly the case this check is looking for.
        d = torch.cdist(q[start:start + chunk], r, compute_mode="donot_use_mm_for_euclid_dist")
        best = d.min(dim=1)
        dists.append(best.values)
        idx.append(best.indices)
    return torch.cat(dists).numpy(), torch.cat(idx).numpy()


def memorisation_table(
    synthetic: np.ndarray,
    real: np.ndarray,
    synthetic_features: np.ndarray | None = None,
    real_features: np.ndarray | None = None,
) -> pd.DataFrame:
    """One row per synthetic image with its nearest real image in pixel (and feature) space.

    Columns: ``synthetic_index``, ``pixel_nn_index``, ``pixel_nn_rms`` (RMS difference, pixels in [0, 1]) and, when
    features are given, ``feature_nn_index``, ``feature_nn_distance``. Indices are rows of ``real``.
    """
    for label, arr in (("synthetic", synthetic), ("real", real)):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 4:
            msg = f"{label} must be a uint8 array (N, H, W, 3), got {getattr(arr, 'dtype', type(arr))}"
            raise ValueError(msg)
    if synthetic.shape[1:] != real.shape[1:]:
        msg = f"synthetic and real images differ in size: {synthetic.shape[1:]} vs {real.shape[1:]}"
        raise ValueError(msg)
    dist, idx = nearest_neighbours(synthetic.astype(np.float64) / 255.0, real.astype(np.float64) / 255.0)
    table = pd.DataFrame({
        "synthetic_index": np.arange(len(synthetic)),
        "pixel_nn_index": idx,
        "pixel_nn_rms": dist / np.sqrt(synthetic[0].size),
    })
    if (synthetic_features is None) != (real_features is None):
        msg = "give both synthetic_features and real_features, or neither"
        raise ValueError(msg)
    if synthetic_features is not None:
        if len(synthetic_features) != len(synthetic) or len(real_features) != len(real):
            msg = (f"feature rows must match images: {len(synthetic_features)} vs {len(synthetic)} synthetic, "
                   f"{len(real_features)} vs {len(real)} real")
            raise ValueError(msg)
        fdist, fidx = nearest_neighbours(synthetic_features, real_features)
        table["feature_nn_index"] = fidx
        table["feature_nn_distance"] = fdist
    return table


def save_nearest_neighbour_grid(
    path: str | Path,
    synthetic: np.ndarray,
    real: np.ndarray,
    table: pd.DataFrame,
    rows: int = 8,
    feature_label: str = "features",
) -> Path:
    """PNG grid: one row per synthetic image (the ``rows`` closest in pixel space first) beside its neighbours."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    chosen = table.sort_values("pixel_nn_rms").head(rows)
    has_features = "feature_nn_index" in table.columns
    cols = 3 if has_features else 2
    fig = Figure(figsize=(2.0 * cols, 2.1 * len(chosen)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(chosen), cols, squeeze=False)
    for row, (_, rec) in zip(axes, chosen.iterrows(), strict=True):
        panels = [(synthetic[int(rec.synthetic_index)], f"synthetic #{int(rec.synthetic_index)}"),
                  (real[int(rec.pixel_nn_index)], f"pixel NN #{int(rec.pixel_nn_index)}\nrms {rec.pixel_nn_rms:.3f}")]
        if has_features:
            panels.append((real[int(rec.feature_nn_index)],
                           f"{feature_label} NN #{int(rec.feature_nn_index)}\nd {rec.feature_nn_distance:.2f}"))
        for ax, (image, title) in zip(row, panels, strict=True):
            ax.imshow(image)
            ax.set_title(title, fontsize=7)
            ax.axis("off")
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    log.info("nearest-neighbour grid written to %s", path)
    return path
