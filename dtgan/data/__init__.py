"""Data layer: sample tables, dataset indexers, the embedded generator, the image cache and the split."""

from pathlib import Path

import pandas as pd

from dtgan.data.cache import PreparedData, load_prepared, read_sample_csv
from dtgan.data.split import ALL_SPLITS
from dtgan.data.table import DataError
from dtgan.data.tensors import images_to_tensor, tensor_to_uint8


def load_split(splits_dir: str | Path, name: str) -> pd.DataFrame:
    """One subset written by the ``split`` stage (gan_train, pool, train, val, test)."""
    if name not in ALL_SPLITS:
        msg = f"unknown split {name!r}; expected one of {list(ALL_SPLITS)}"
        raise ValueError(msg)
    path = Path(splits_dir) / f"{name}.csv"
    if not path.is_file():
        msg = f"split file {path} not found; run `dvc repro split` (or python -m stages.split) first"
        raise DataError(msg)
    return read_sample_csv(path)


__all__ = ["DataError", "PreparedData", "images_to_tensor", "load_prepared", "load_split", "read_sample_csv",
           "tensor_to_uint8"]
