"""Split: disjointness, coverage, exact counts, determinism, and GAN/val/test separation."""

from __future__ import annotations

import pandas as pd
import pytest

from dtgan.constants import DOMAINS
from dtgan.data.split import holdout_sizes, select, split_summary, split_table
from dtgan.errors import DataError


def _table(counts: dict[str, dict[str, int]]) -> pd.DataFrame:
    rows = [{"sample_id": f"{p}/{d}/{i:04d}", "product": p, "domain": d}
            for p, per in counts.items() for d, n in per.items() for i in range(n)]
    return pd.DataFrame(rows)


COUNTS = {"A": {"Normal": 120, "Scratches": 60, "Spots": 55}, "B": {"Normal": 100, "Scratches": 52, "Spots": 70}}


def test_holdout_sizes_paper_rounding():
    assert holdout_sizes(50, 0.3) == (15, 35)
    assert holdout_sizes(20, 0.3) == (6, 14)


def test_subsets_disjoint_and_cover():
    table = _table(COUNTS)
    split = split_table(table, seed=0, holdout=50, val_fraction=0.3, gan_normals=30)
    assert set(split["sample_id"]) == set(table["sample_id"]) and split["sample_id"].is_unique
    names = [set(select(split, n)["sample_id"]) for n in ("gan_train", "pool", "val", "test")]
    assert sum(map(len, names)) == len(table)
    for i in range(4):
        for j in range(i + 1, 4):
            assert not names[i] & names[j]
    assert set(select(split, "train")["sample_id"]) == names[0] | names[1]


def test_exact_counts():
    split = split_table(_table(COUNTS), seed=0, holdout=50, val_fraction=0.3, gan_normals=30)
    summary = split_summary(split).set_index(["product", "domain"])
    for product, per in COUNTS.items():
        for domain in DOMAINS:
            row = summary.loc[(product, domain)]
            assert (row["val"], row["test"]) == (15, 35)
            expected_gan = 30 if domain == "Normal" else per[domain] - 50
            assert row["gan_train"] == expected_gan
            assert row["pool"] == (per[domain] - 50 - 30 if domain == "Normal" else 0)


def test_same_seed_same_split_other_seed_different():
    table = _table(COUNTS)
    a = split_table(table, 1, 50, 0.3, 30)
    b = split_table(table.sample(frac=1, random_state=5), 1, 50, 0.3, 30)  # input order must not matter
    c = split_table(table, 2, 50, 0.3, 30)
    assert a.equals(b)
    assert not a["subset"].equals(c["subset"])


def test_val_test_never_in_gan_training():
    split = split_table(_table(COUNTS), 0, 50, 0.3, 30)
    gan = set(select(split, "gan_train")["sample_id"])
    assert not gan & set(select(split, "val")["sample_id"])
    assert not gan & set(select(split, "test")["sample_id"])


def test_too_small_domain_names_product_domain_count_and_parameter():
    table = _table({"A": {"Normal": 120, "Scratches": 40, "Spots": 60}})
    with pytest.raises(DataError, match=r"'A', domain 'Scratches' has 40 images.*split\.holdout_per_domain"):
        split_table(table, 0, 50, 0.3, 30)


def test_too_many_gan_normals_names_parameter():
    with pytest.raises(DataError, match=r"'B' has 50 training Normal images.*gan_normals_per_product"):
        split_table(_table(COUNTS), 0, 50, 0.3, 60)


def test_absent_defect_domain_is_allowed():
    table = _table({"tile": {"Normal": 80, "Scratches": 20}})
    split = split_table(table, 0, 10, 0.3, 20)
    assert set(split["domain"]) == {"Normal", "Scratches"}


def test_limited_defects_setting_20a():
    split = split_table(_table(COUNTS), 0, 50, 0.3, 30, limit_defects={"A": 7})
    gan = select(split, "gan_train")
    limited = gan[(gan["product"] == "A") & (gan["domain"] != "Normal")].groupby("domain").size()
    assert limited.to_dict() == {"Scratches": 7, "Spots": 5}  # Spots has only 5 training images
    assert (gan[(gan["product"] == "B") & (gan["domain"] == "Spots")].shape[0]) == 20
    held = select(split, "test")
    assert len(held) == 2 * 3 * 35  # val/test unchanged
    # A: Scratches has 60 - 50 = 10 training images -> 7 kept, 3 unused; Spots has 5 <= 7 -> all kept.
    assert len(select(split, "unused")) == 3


def test_limit_for_unknown_product_is_named():
    with pytest.raises(DataError, match=r"limit_defects names unknown product\(s\) \['Z'\]"):
        split_table(_table(COUNTS), 0, 50, 0.3, 30, limit_defects={"Z": 3})
