"""Transcription checks of the paper's numbers kept as data (dtgan/reports/paper.py)."""

import pytest

from dtgan.reports import paper


@pytest.mark.parametrize("method", sorted(paper.TABLE18))
def test_table18_all_column_is_mean_of_datasets(method):
    values = paper.TABLE18[method]
    assert sum(values[:-1]) / 8 == pytest.approx(values[-1], abs=0.011)


def test_table10_covers_products_sizes_settings():
    for product in "ABC":
        assert sorted(paper.TABLE10[product]) == [4500, 6600, 12000, 18600]
        for row in paper.TABLE10[product].values():
            assert set(row) == {"trad_aug", "latent", "reference", "mix"}


def test_abstract_headline_reduction():
    # Abstract: "up to 51%" error reduction, product A at 12000: Trad 13.81 -> Mix 6.72.
    row = paper.TABLE10["A"][12000]
    assert 1 - row["mix"][0] / row["trad_aug"][0] == pytest.approx(0.51, abs=0.005)


def test_table17_trad_column_matches_table10():
    for product in "ABC":
        for size in (4500, 6600, 12000):
            assert paper.TABLE17[product][size]["trad_aug"] == paper.TABLE10[product][size]["trad_aug"][0]
