"""End-to-end: the real prepare and split stages on a tiny embedded dataset."""

from __future__ import annotations

import numpy as np
import pytest

from dtgan.data.cache import load_prepared
from dtgan.data.split import load_split
from dtgan.data.tensors import images_to_tensor, tensor_to_uint8
from dtgan.errors import ParamsError
from stages import prepare, split
from tests.conftest import tiny_params, write_params


def test_prepare_and_split_outputs(tiny_dataset):
    data = load_prepared(tiny_dataset["prepared"])
    assert data.images.shape == (len(data.table), 32, 32, 3) and data.images.dtype == np.uint8
    assert data.products == ("A", "B", "C") and data.has_masks
    defects = data.table["domain"] != "Normal"
    assert all(data.masks[i].max() == 255 for i in data.table.loc[defects, "cache_index"])
    gan = load_split(tiny_dataset["splits"], "gan_train")
    assert (gan[gan["domain"] == "Normal"].groupby("product").size() == 12).all()
    val, test = load_split(tiny_dataset["splits"], "val"), load_split(tiny_dataset["splits"], "test")
    assert (val.groupby(["product", "domain"]).size() == 3).all()
    assert (test.groupby(["product", "domain"]).size() == 7).all()
    assert (tiny_dataset["root"] / "reports" / "split_summary.md").is_file()


def test_prepare_is_deterministic(tiny_dataset, tmp_path):
    prepare.main(["--params", str(tiny_dataset["params"]), "--out", str(tmp_path / "again")])
    a = load_prepared(tiny_dataset["prepared"])
    b = load_prepared(tmp_path / "again")
    assert np.array_equal(a.images, b.images) and np.array_equal(a.masks, b.masks)


def test_tensor_round_trip(tiny_dataset):
    images = np.asarray(load_prepared(tiny_dataset["prepared"]).images[:4])
    tensor = images_to_tensor(images)
    assert tensor.shape == (4, 3, 32, 32) and tensor.min() >= -1 and tensor.max() <= 1
    assert np.array_equal(tensor_to_uint8(tensor), images)


def test_stage_rejects_bad_params(tmp_path):
    params = tiny_params()
    params["split"]["val_fraction"] = 1.5
    path = write_params(tmp_path / "p.yaml", params)
    with pytest.raises(ParamsError, match=r"split\.val_fraction must be in \(0, 1\), got 1\.5"):
        split.main(["--params", str(path), "--prepared", str(tmp_path), "--out", str(tmp_path / "s")])
    params = tiny_params()
    params["data"]["colour"] = "red"
    path = write_params(tmp_path / "p.yaml", params)
    with pytest.raises(ParamsError, match=r"unknown key\(s\) data\.colour"):
        prepare.main(["--params", str(path), "--out", str(tmp_path / "o")])
