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


def tiny_pipeline_params() -> dict:
    params = tiny_params(
        gan={"warmup_iters": 100, "iterations": 12, "ds_decay_iters": 12, "checkpoint_every": 6, "device": "cpu"},
        synthesis={"eval_repeats": 2, "device": "cpu"},
        assemble={"scales": [8, 12]},
        classifier={"epochs": 1, "seeds": [0], "input_size": 32, "batch_size": 16, "device": "cpu"},
        anomaly={"gan_steps": 10, "encoder_steps": 10, "batch_size": 8, "checkpoint_every": 5, "log_every": 5,
                 "device": "cpu"},
        evaluate={"effnet_input_size": 64, "kid_subsets": 5, "kid_subset_size": 20, "eval_classifier_epochs": 1,
                  "eval_classifier_class_size": 20, "device": "cpu"},
        segmentation={"seeds": [0, 1], "steps": 3, "batch_size": 8, "normals_per_product": 4,
                      "synthetic_per_product": 4, "bootstrap_resamples": 20, "figure_examples": 1, "device": "cpu"},
        stylegan2={"iterations": 4, "batch_size": 4, "r1_interval": 2, "ada_interval": 2, "checkpoint_every": 2,
                   "log_every": 2, "device": "cpu"},
        biggan={"channels": 4, "iterations": 3, "batch_size": 4, "ema_start": 1, "checkpoint_every": 2, "log_every": 2,
                "device": "cpu"},
        mokady={"channels": 4, "code_channels": 16, "separate_channels": 4, "disc_hidden": 16, "iterations": 3,
                "batch_size": 4, "checkpoint_every": 2, "log_every": 2, "device": "cpu"},
    )
    params.update({"ablation_variants": ["a", "e"], "table15_augments": ["none", "mixup"], "table15_scale": 8,
                   "table15_num_seeds": 1, "baseline_methods": ["stylegan2_ada", "biggan_diffaug", "mokady"]})
    return params


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The whole pipeline of dvc.yaml at a tiny scale (tests/tiny_pipeline.py): its workspace and, per stage, the
    resolved stage and what it read and wrote. Shared by every end-to-end test of the pipeline's outputs."""
    from tests.tiny_pipeline import make_workspace, run_pipeline

    workspace = make_workspace(tmp_path_factory.mktemp("tiny_pipeline"), tiny_pipeline_params())
    return workspace, run_pipeline(workspace)
