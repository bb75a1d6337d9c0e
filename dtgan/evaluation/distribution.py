"""Fréchet distance and KID per (product, defect domain, mode) cell, and their averages (Tables 14 and 18).

Reference set of a cell: the real TRAINING images of that (product, domain) (protocol.md §5: "between the defective
training images and the mixture set"). Cells whose real or synthetic set has fewer than 2 images get a
"not computed" value and are left out of the averages (``n_cells`` says how many were averaged).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

from dtgan.metrics.distances import distribution_metrics, not_computed_metrics
from dtgan.metrics.values import NotComputed, frechet_key, kid_key

log = logging.getLogger(__name__)

MIN_SET_SIZE = 2  # a covariance / an unbiased MMD needs two samples per set
CellKey = tuple[str, str, str]  # (product, domain, mode)


def cell_metrics(real: np.ndarray, fake: np.ndarray, extractor: str, kid_subsets: int, kid_subset_size: int,
                 seed: int) -> dict[str, float | int | NotComputed]:
    """FD/KID of one cell, or the same keys as NotComputed when a set is too small."""
    if min(len(real), len(fake)) < MIN_SET_SIZE:
        reason = NotComputed(f"{len(real)} real / {len(fake)} synthetic images (need >= {MIN_SET_SIZE} each)")
        return {**not_computed_metrics(extractor, reason), "n_real": len(real), "n_fake": len(fake)}
    # Shrink the KID subset here (instead of warning once per cell inside kernel_distance); the size is recorded.
    size = min(kid_subset_size, len(real), len(fake))
    return distribution_metrics(real, fake, extractor, kid_subsets, size, seed)


def all_cell_metrics(cells: Mapping[CellKey, np.ndarray], fake_features: np.ndarray,
                     real_rows: Mapping[tuple[str, str], np.ndarray], real_features: np.ndarray, extractor: str,
                     kid_subsets: int, kid_subset_size: int, seed: int) -> dict[CellKey, dict]:
    """Metrics of every cell; ``cells`` maps a cell to synthetic rows, ``real_rows`` a (product, domain) to real."""
    out = {}
    for (product, domain, mode), rows in sorted(cells.items()):
        real = real_features[real_rows.get((product, domain), np.zeros(0, dtype=int))]
        out[(product, domain, mode)] = cell_metrics(real, fake_features[rows], extractor, kid_subsets,
                                                    kid_subset_size, seed)
    shrunk = {v.get(f"{kid_key(extractor)}_subset_size") for v in out.values()} - {None, kid_subset_size}
    if shrunk:
        log.info("%s KID subsets shrunk to the cell sizes (%s) from %d", extractor, sorted(shrunk), kid_subset_size)
    return out


def _numeric(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def mean_over_cells(metrics: Mapping[CellKey, dict], key: str, mode: str,
                    product: str | None = None) -> float | NotComputed:
    """Mean of ``key`` over the cells of ``mode`` (and ``product``) where it was computed."""
    values = [m[key] for (p, _, md), m in metrics.items()
              if md == mode and (product is None or p == product) and _numeric(m.get(key))]
    if not values:
        reasons = {str(m[key]) for (p, _, md), m in metrics.items()
                   if md == mode and (product is None or p == product) and key in m}
        return NotComputed("no cell computed" + (f" ({'; '.join(sorted(reasons))})" if reasons else ""))
    return float(np.mean(values))


def mode_summary(metrics: Mapping[CellKey, dict], extractor: str, mode: str) -> dict[str, object]:
    """Table 14 analogue: FD, KID and KID std averaged over (product, domain) cells of one mode."""
    fd, kk = frechet_key(extractor), kid_key(extractor)
    summary = {key: mean_over_cells(metrics, key, mode) for key in (fd, kk, f"{kk}_std")}
    summary[f"n_cells_{fd}"] = sum(1 for (_, _, md), m in metrics.items() if md == mode and _numeric(m.get(fd)))
    return summary


def per_cell_rows(metrics: Mapping[CellKey, dict]) -> list[dict]:
    """Long-format rows (product, domain, mode, metric, value); "not computed" values keep their reason."""
    rows = []
    for (product, domain, mode), values in sorted(metrics.items()):
        for metric, value in values.items():
            shown = str(value) if isinstance(value, NotComputed) else value
            rows.append({"product": product, "domain": domain, "mode": mode, "metric": metric, "value": shown})
    return rows


def long_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["product", "domain", "mode", "metric", "value"])
    return frame.drop_duplicates(subset=["product", "domain", "mode", "metric"], keep="first")

