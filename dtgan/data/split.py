"""Hold-out split per (product, domain) and the GAN-training / synthesis-pool division of the training normals.

protocol.md §2: for each (product, domain) pair ``holdout_per_domain`` images are held out at random,
``val_fraction`` of them (rounded per domain, 50 -> 15) for validation and the rest for test; all remaining images
are training data. From the training normals, ``gan_normals_per_product`` go to the GAN training set together
with all training defects; the other training normals form the synthesis/classifier pool.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dtgan.constants import DOMAINS, NORMAL
from dtgan.data.cache import read_sample_csv
from dtgan.errors import DataError

SUBSETS = ("gan_train", "pool", "val", "test", "unused")
ALL_SPLITS = ("gan_train", "pool", "train", "val", "test", "unused")


def holdout_sizes(holdout: int, val_fraction: float) -> tuple[int, int]:
    """(val, test) counts for one (product, domain); 50 at 30% -> (15, 35)."""
    n_val = int(np.floor(holdout * val_fraction + 0.5))  # round half up, as 15 = 50 * 0.3 exactly
    return n_val, holdout - n_val


def _group_order(table: pd.DataFrame, product: str, domain: str, rng: np.random.Generator) -> pd.DataFrame:
    group = table[(table["product"] == product) & (table["domain"] == domain)].sort_values("sample_id")
    return group.iloc[rng.permutation(len(group))]


def split_table(table: pd.DataFrame, seed: int, holdout: int, val_fraction: float, gan_normals: int,
                limit_defects: dict[str, int] | None = None) -> pd.DataFrame:
    """The table with a ``subset`` column in SUBSETS. Deterministic for a seed (rows sorted by sample_id first).

    ``limit_defects`` ({product: n}) keeps only n real training defects per type for those products (Table 16).
    """
    rng = np.random.default_rng(seed)
    n_val, n_test = holdout_sizes(holdout, val_fraction)
    parts = []
    for product in sorted(table["product"].unique()):
        for domain in DOMAINS:
            group = _group_order(table, product, domain, rng)
            if group.empty and domain != NORMAL:
                continue  # a defect domain absent by design (e.g. MVTec tile has no Spots)
            if len(group) <= holdout:
                msg = (f"product {product!r}, domain {domain!r} has {len(group)} images, but the hold-out needs "
                       f"{holdout} plus at least one for training; lower split.holdout_per_domain")
                raise DataError(msg)
            n_train = len(group) - holdout
            limit = (limit_defects or {}).get(product) if domain != NORMAL else None
            n_kept = n_train if limit is None else min(limit, n_train)
            subset = ["val"] * n_val + ["test"] * n_test + ["train"] * n_kept + ["unused"] * (n_train - n_kept)
            parts.append(group.assign(subset=subset))
    out = pd.concat(parts)
    unknown = sorted(set(limit_defects or {}) - set(out["product"]))
    if unknown:
        msg = f"split.limit_defects names unknown product(s) {unknown}; products are {sorted(out['product'].unique())}"
        raise DataError(msg)
    return _assign_gan_normals(out, rng, gan_normals).sort_values("sample_id").reset_index(drop=True)


def _assign_gan_normals(frame: pd.DataFrame, rng: np.random.Generator, gan_normals: int) -> pd.DataFrame:
    frame = frame.copy()
    frame.loc[(frame["subset"] == "train") & (frame["domain"] != NORMAL), "subset"] = "gan_train"
    for product in sorted(frame["product"].unique()):
        idx = frame.index[(frame["subset"] == "train") & (frame["product"] == product) & (frame["domain"] == NORMAL)]
        idx = idx[np.argsort(frame.loc[idx, "sample_id"].to_numpy())]
        if len(idx) < gan_normals:
            msg = (f"product {product!r} has {len(idx)} training Normal images but split.gan_normals_per_product "
                   f"is {gan_normals}; lower it (or the hold-out)")
            raise DataError(msg)
        chosen = idx[rng.permutation(len(idx))[:gan_normals]]
        frame.loc[idx, "subset"] = "pool"
        frame.loc[chosen, "subset"] = "gan_train"
    return frame


def select(split: pd.DataFrame, name: str) -> pd.DataFrame:
    """One named split; ``train`` is gan_train ∪ pool."""
    if name not in ALL_SPLITS:
        msg = f"unknown split {name!r}; expected one of {list(ALL_SPLITS)}"
        raise ValueError(msg)
    members = ("gan_train", "pool") if name == "train" else (name,)
    return split[split["subset"].isin(members)].reset_index(drop=True)


def split_summary(split: pd.DataFrame) -> pd.DataFrame:
    """Counts per product x domain x subset (long format with a `total` row per product)."""
    counts = split.groupby(["product", "domain", "subset"]).size().unstack(fill_value=0)
    counts = counts.reindex(columns=list(SUBSETS), fill_value=0)
    counts["train"] = counts["gan_train"] + counts["pool"]
    counts["total"] = counts[["train", "val", "test"]].sum(axis=1)
    counts = counts.reset_index()
    counts["domain"] = pd.Categorical(counts["domain"], DOMAINS, ordered=True)
    return counts.sort_values(["product", "domain"]).reset_index(drop=True)


def load_split(splits_dir: str | Path, name: str) -> pd.DataFrame:
    """One subset written by the ``split`` stage (gan_train, pool, train, val, test, unused)."""
    if name not in ALL_SPLITS:
        msg = f"unknown split {name!r}; expected one of {list(ALL_SPLITS)}"
        raise ValueError(msg)
    path = Path(splits_dir) / f"{name}.csv"
    if not path.is_file():
        msg = f"split file {path} not found; run `dvc repro split` (or python -m stages.split) first"
        raise DataError(msg)
    return read_sample_csv(path)
