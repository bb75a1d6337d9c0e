"""Memorisation check (supplement E.5) for one synthesis set, with real held-out images as the baseline.

Each synthetic image's nearest real TRAINING image is found in pixel space (RMS difference of [0, 1] pixels) and in
EfficientNet-Lite0 feature space. The same is done for the real validation images of the defect domains: a
synthetic set much closer to the training set than unseen real images are would signal copying.

Search: the library's exact float64 search costs ~10 s per variant on 2 CPU cores at 64 px, so candidates are
shortlisted with a float32 matrix product and the ``SHORTLIST`` best are re-scored exactly in float64 (the exact
distance is what is reported; near-duplicates, the case of interest, are ranked exactly).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

SHORTLIST = 8


def nearest_neighbours_fast(queries: np.ndarray, references: np.ndarray,
                            chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean nearest reference of each query (distances, indices), float32 shortlist + exact float64 re-rank."""
    q = torch.as_tensor(np.asarray(queries).reshape(len(queries), -1))
    r = torch.as_tensor(np.asarray(references).reshape(len(references), -1))
    if q.shape[0] == 0 or r.shape[0] == 0 or q.shape[1] != r.shape[1]:
        msg = f"nearest neighbours need non-empty sets of one dimension, got {tuple(q.shape)} and {tuple(r.shape)}"
        raise ValueError(msg)
    r32, r64 = r.float(), r.double()
    r_sq = (r32 * r32).sum(dim=1)
    k = min(SHORTLIST, r.shape[0])
    dists, idx = [], []
    for start in range(0, q.shape[0], chunk):
        q32 = q[start:start + chunk].float()
        approx = r_sq[None, :] - 2.0 * q32 @ r32.T  # ‖q‖² omitted: constant per query, ranking unchanged
        cand = approx.topk(k, dim=1, largest=False).indices  # (c, k)
        q64 = q[start:start + chunk].double()
        # One candidate column at a time keeps memory at (chunk x dims) instead of (chunk x k x dims).
        exact = torch.stack([(r64[cand[:, j]] - q64).pow(2).sum(dim=1) for j in range(k)], dim=1).sqrt()
        best = exact.min(dim=1)
        dists.append(best.values)
        idx.append(cand.gather(1, best.indices[:, None]).squeeze(1))
    return torch.cat(dists).numpy(), torch.cat(idx).numpy()


def nearest_real_table(queries: np.ndarray, real: np.ndarray, query_features: np.ndarray,
                       real_features: np.ndarray) -> pd.DataFrame:
    """Same columns as :func:`dtgan.metrics.memorisation_table` (so its grid plotter can draw it)."""
    if queries.shape[1:] != real.shape[1:]:
        msg = f"query and real images differ in size: {queries.shape[1:]} vs {real.shape[1:]}"
        raise ValueError(msg)
    if len(query_features) != len(queries) or len(real_features) != len(real):
        msg = (f"feature rows must match images: {len(query_features)} vs {len(queries)} queries, "
               f"{len(real_features)} vs {len(real)} real")
        raise ValueError(msg)
    dist, idx = nearest_neighbours_fast(queries.astype(np.float64) / 255.0, real.astype(np.float64) / 255.0)
    fdist, fidx = nearest_neighbours_fast(query_features, real_features)
    return pd.DataFrame({"synthetic_index": np.arange(len(queries)), "pixel_nn_index": idx,
                         "pixel_nn_rms": dist / np.sqrt(queries[0].size), "feature_nn_index": fidx,
                         "feature_nn_distance": fdist})


def summarise(table: pd.DataFrame, prefix: str) -> dict[str, float]:
    """Median and 5th percentile of the pixel RMS and feature distances, keys prefixed by the set name."""
    out = {}
    for column, name in (("pixel_nn_rms", "pixel_nn_rms"), ("feature_nn_distance", "feature_nn")):
        values = table[column].to_numpy()
        out[f"{prefix}_{name}_median"] = float(np.median(values))
        out[f"{prefix}_{name}_p05"] = float(np.percentile(values, 5))
    return out
