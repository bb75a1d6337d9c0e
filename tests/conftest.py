"""Shared fixtures: tiny params files and a tiny prepared + split embedded dataset."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

# Tests share 2 cores with nothing else in CI; pinning threads keeps timings stable.
torch.set_num_threads(2)


def load_default_params() -> dict:
    return yaml.safe_load((ROOT / "params.yaml").read_text())


def tiny_params(**overrides: dict) -> dict:
    """The default params with a tiny embedded dataset (fast to generate and split)."""
    params = copy.deepcopy(load_default_params())
    params["data"]["embedded"]["counts"] = {
        "A": {"Normal": 40, "Scratches": 14, "Spots": 12},
        "B": {"Normal": 40, "Scratches": 12, "Spots": 16},
        "C": {"Normal": 40, "Scratches": 12, "Spots": 12},
    }
    params["data"]["embedded"]["size"] = 48
    params["data"]["image_size"] = 32
    params["split"].update({"holdout_per_domain": 10, "gan_normals_per_product": 12})
    for section, values in overrides.items():
        params[section].update(values)
    return params


def write_params(path: Path, params: dict) -> Path:
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


@pytest.fixture(scope="session")
def tiny_dataset(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Run the real prepare and split stages once on a tiny embedded dataset; returns the paths."""
    from stages import prepare, split

    root = tmp_path_factory.mktemp("tiny")
    params = write_params(root / "params.yaml", tiny_params())
    prepare.main(["--params", str(params), "--out", str(root / "prepared")])
    split.main(["--params", str(params), "--prepared", str(root / "prepared"), "--out", str(root / "splits"),
                "--summary", str(root / "reports" / "split_summary.csv")])
    return {"root": root, "params": params, "prepared": root / "prepared", "splits": root / "splits"}
