"""Evaluation stages: unit tests of the mechanics and a tiny end-to-end run on a stand-in synthesis set."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dtgan.errors import DataError, ParamsError
from dtgan.evaluation.classifier import balance_classes, target_accuracy
from dtgan.evaluation.config import EvaluateConfig
from dtgan.evaluation.distribution import all_cell_metrics, cell_metrics, mean_over_cells, mode_summary
from dtgan.evaluation.quality import (
    PSNR_CAP_DB,
    background_metrics,
    changed_pixels,
    defect_regions,
    diversity_by_group,
)
from dtgan.evaluation.synthetic import cell_rows, mix_rows
from dtgan.metrics.memorisation import nearest_neighbours, nearest_real_table, summarise
from dtgan.metrics.quality import ssim, ssim_all_and_kept
from dtgan.metrics.values import NotComputed, json_ready
from dtgan.params import load_section
from dtgan.synthesis.manifest import COLUMNS as MANIFEST_COLUMNS
from dtgan.synthesis.manifest import read_manifest
from tests.conftest import tiny_params, write_params


def random_images(n: int, size: int = 16, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


# ---------------------------------------------------------------------------------------------------------------
# config


def test_config_carries_every_metric_setting_and_names_bad_keys() -> None:
    cfg = load_section(EvaluateConfig, {"evaluate": {}}, "evaluate")
    assert (cfg.kid_subsets, cfg.kid_subset_size, cfg.fid_weights) == (100, 1000, "")
    for bad in ({"change_threshold": 1.5}, {"effnet_input_size": 8}, {"eval_classifier_class_size": -1},
                {"kid_subset_size": 1}, {"unknown_key": 1}):
        with pytest.raises(ParamsError, match=f"evaluate.{next(iter(bad))}"):
            load_section(EvaluateConfig, {"evaluate": bad}, "evaluate")


# ---------------------------------------------------------------------------------------------------------------
# balancing, mixture draws, cells


def test_balance_oversamples_minorities_keeping_every_image() -> None:
    labels = np.array([0] * 10 + [1] * 3 + [2] * 4)
    rows = balance_classes(labels, np.random.default_rng(1))
    counts = np.bincount(labels[rows])
    assert counts.tolist() == [10, 10, 10]
    repeats = np.bincount(rows, minlength=len(labels))
    assert repeats.min() >= 1  # no real image is dropped
    for cls in (1, 2):
        cls_repeats = repeats[labels == cls]
        assert cls_repeats.max() - cls_repeats.min() <= 1


def test_balance_to_a_class_size_subsamples_the_majority() -> None:
    labels = np.array([0] * 10 + [1] * 3)
    rows = balance_classes(labels, np.random.default_rng(1), class_size=5)
    assert np.bincount(labels[rows]).tolist() == [5, 5]
    assert len(set(rows[labels[rows] == 0])) == 5  # the majority is drawn without replacement
    with pytest.raises(ValueError, match="class_size"):
        balance_classes(labels, np.random.default_rng(1), class_size=-2)


def test_mix_takes_half_of_each_mode_without_repeats() -> None:
    latent, reference = np.arange(0, 40), np.arange(100, 140)
    rows = mix_rows(latent, reference, np.random.default_rng(3))
    assert len(rows) == 40 and len(set(rows)) == 40
    assert np.isin(rows, latent).sum() == 20 and np.isin(rows, reference).sum() == 20
    again = mix_rows(latent, reference, np.random.default_rng(3))
    assert np.array_equal(rows, again)
    odd = mix_rows(np.arange(5), np.arange(10, 20), np.random.default_rng(0))
    assert len(odd) == 5 and np.isin(odd, np.arange(5)).sum() == 3


def fake_manifest(products=("A", "B"), sources=2, repeats=3) -> pd.DataFrame:
    rows = []
    for p in products:
        for s in range(sources):
            for d in ("Scratches", "Spots"):
                for mode in ("latent", "reference"):
                    for r in range(repeats):
                        rows.append({"product": p, "source_id": f"{p}{s}", "target_domain": d, "mode": mode,
                                     "repeat": r})
    frame = pd.DataFrame(rows)
    return frame.assign(row=np.arange(len(frame)))


def test_cells_cover_every_product_domain_mode_and_mix_is_stable() -> None:
    manifest = fake_manifest()
    cells = cell_rows(manifest, seed=5)
    assert len(cells) == 2 * 2 * 3
    assert all(len(rows) == 6 for rows in cells.values())
    only_a = cell_rows(manifest[manifest["product"] == "A"], seed=5)
    # The mixture draw of a cell does not depend on which other cells exist.
    assert np.array_equal(cells[("A", "Spots", "mix")], only_a[("A", "Spots", "mix")])


# ---------------------------------------------------------------------------------------------------------------
# distribution metrics


def test_cell_metrics_zero_for_identical_sets_and_not_computed_for_tiny_ones() -> None:
    feats = np.random.default_rng(1).normal(size=(40, 8))
    same = cell_metrics(feats, feats, "effnet_lite0", kid_subsets=5, kid_subset_size=1000, seed=0)
    assert abs(same["fd_effnet_lite0"]) < 1e-8
    assert same["kid_effnet_lite0_subset_size"] == 40  # shrunk to the set size
    shifted = cell_metrics(feats, feats + 3.0, "effnet_lite0", kid_subsets=5, kid_subset_size=10, seed=0)
    assert shifted["fd_effnet_lite0"] == pytest.approx(8 * 9.0, rel=1e-6)  # equal covariances: ‖Δμ‖²
    tiny = cell_metrics(feats[:1], feats, "effnet_lite0", 5, 10, 0)
    assert isinstance(tiny["fd_effnet_lite0"], NotComputed) and "1 real" in str(tiny["fd_effnet_lite0"])


def test_mode_and_product_means_skip_cells_that_were_not_computed() -> None:
    real = np.random.default_rng(2).normal(size=(30, 4))
    fake = real + 1.0
    cells = {("A", "Spots", "latent"): np.arange(30), ("B", "Spots", "latent"): np.arange(30)}
    real_rows = {("A", "Spots"): np.arange(30), ("B", "Spots"): np.arange(1)}  # B has a single real image
    metrics = all_cell_metrics(cells, fake, real_rows, real, "effnet_lite0", 3, 10, 0)
    summary = mode_summary(metrics, "effnet_lite0", "latent")
    assert summary["fd_effnet_lite0"] == pytest.approx(4.0, rel=1e-6)
    assert summary["n_cells_fd_effnet_lite0"] == 1
    assert isinstance(mean_over_cells(metrics, "fd_effnet_lite0", "latent", "B"), NotComputed)


# ---------------------------------------------------------------------------------------------------------------
# background, diversity, memorisation, accuracy


def test_ssim_from_one_map_equals_the_library_ssim() -> None:
    a, b = random_images(3, 24, 1), random_images(3, 24, 2)
    keep = np.ones((3, 24, 24), dtype=bool)
    keep[:, 5:15, 5:15] = False
    full, kept = ssim_all_and_kept(a, b, keep)
    np.testing.assert_allclose(full, ssim(a, b), rtol=1e-12)
    np.testing.assert_allclose(kept, ssim(a, b, keep), rtol=1e-12)


def test_background_metrics_separate_the_pasted_defect_from_the_background() -> None:
    src = np.full((2, 32, 32, 3), 100, dtype=np.uint8)
    nothing = np.zeros((2, 32, 32), bool)
    same = background_metrics(src, src.copy(), nothing, dilation_px=2)
    assert same["psnr"] == PSNR_CAP_DB and same["ssim"] == pytest.approx(1.0) and same["changed_fraction"] == 0.0
    out = src.copy()
    out[:, 10:18, 10:18] = 250  # the "defect": 64 of 1024 pixels
    out[:, :, :, 0] += 2  # tiny background change, below the threshold
    region, how = defect_regions(src, out, None, 0.1)  # no masks: the estimated region
    assert how.startswith("estimated")
    res = background_metrics(src, out, region, dilation_px=2)
    assert res["changed_fraction"] == pytest.approx(64 / 1024)
    assert res["psnr_outside_defect"] == pytest.approx(10 * math.log10(255**2 / (4 / 3)))
    assert res["psnr"] < 30 < res["psnr_outside_defect"]
    assert changed_pixels(src, out, 0.1).sum() == 2 * 64
    masks = np.zeros((2, 32, 32), bool)
    masks[:, 10:18, 10:18] = True
    assert defect_regions(src, out, masks, 0.1)[1].startswith("anchor mask")
    assert background_metrics(src, out, masks, 2)["psnr_outside_defect"] == res["psnr_outside_defect"]


def test_diversity_is_zero_for_identical_repeats_and_skips_single_outputs() -> None:
    manifest = fake_manifest(products=("A",), sources=1, repeats=2)
    images = np.zeros((len(manifest), 8, 8, 3), dtype=np.uint8)
    value, groups = diversity_by_group(manifest, images)
    assert (value, groups) == (0.0, 4)
    images[manifest["repeat"].to_numpy() == 1] = 255
    assert diversity_by_group(manifest, images)[0] == pytest.approx(1.0)
    value, groups = diversity_by_group(manifest[manifest["repeat"] == 0], images)
    assert groups == 0 and math.isnan(value)


def test_nearest_neighbours_match_an_exhaustive_float64_search() -> None:
    refs = np.random.default_rng(3).normal(size=(300, 50))
    queries = np.random.default_rng(4).normal(size=(70, 50))
    queries[:5] = refs[[3, 9, 27, 81, 243]] + 1e-9  # near-duplicates must be found exactly
    d_fast, i_fast = nearest_neighbours(queries, refs, chunk=32)
    exact = np.sqrt(((queries[:, None, :] - refs[None, :, :]) ** 2).sum(axis=2))
    np.testing.assert_array_equal(i_fast, exact.argmin(axis=1))
    np.testing.assert_allclose(d_fast, exact.min(axis=1), rtol=1e-10, atol=1e-12)
    assert i_fast[:5].tolist() == [3, 9, 27, 81, 243]


def test_memorisation_flags_copies_of_training_images() -> None:
    real = random_images(20, 16, 4)
    copies = real[[2, 7]]
    feats = np.random.default_rng(5).normal(size=(20, 6))
    table = nearest_real_table(copies, real, feats[[2, 7]], feats)
    assert table["pixel_nn_index"].tolist() == [2, 7] and table["pixel_nn_rms"].max() == 0.0
    summary = summarise(table, "synthetic")
    assert summary["synthetic_pixel_nn_rms_median"] == 0.0 and summary["synthetic_feature_nn_median"] == 0.0


def test_target_accuracy_counts_intended_domains() -> None:
    predicted = np.array([1, 2, 2, 0])
    assert target_accuracy(predicted, pd.Series(["Scratches", "Spots", "Scratches", "Spots"])) == 0.5
    with pytest.raises(ValueError, match="one prediction per image"):
        target_accuracy(predicted[:2], pd.Series(["Spots"]))


def test_json_ready_turns_not_computed_and_nan_into_valid_json() -> None:
    out = json_ready({"a": NotComputed("no weights"), "b": float("nan"), "c": np.float64(1.5), "d": [np.int64(2)]})
    assert out == {"a": "not computed: no weights", "b": None, "c": 1.5, "d": [2]}
    json.dumps(out, allow_nan=False)


# ---------------------------------------------------------------------------------------------------------------
# manifest checks


def write_manifest(path: Path, frame: pd.DataFrame) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path / "manifest.csv", index=False)
    return path


def good_manifest_row(**overrides: str) -> dict:
    row = dict.fromkeys(MANIFEST_COLUMNS, "x")
    row.update({"target_domain": "Spots", "mode": "latent", "path": "images/A/Spots/latent/s_r0.png", "repeat": "0",
                "seed": "7"})
    row.update(overrides)
    return row


@pytest.mark.parametrize(("override", "message"), [
    ({"mode": "guided"}, "column mode"),
    ({"target_domain": "Normal"}, "column target_domain"),
    ({"repeat": "first"}, "must be integers"),
])
def test_manifest_problems_are_named(tmp_path: Path, override: dict, message: str) -> None:
    synth = write_manifest(tmp_path / "s", pd.DataFrame([good_manifest_row(**override)]))
    with pytest.raises(DataError, match=message):
        read_manifest(synth)
    no_column = write_manifest(tmp_path / "t", pd.DataFrame([good_manifest_row()]).drop(columns=["variant"]))
    with pytest.raises(DataError, match="variant"):
        read_manifest(no_column)
    assert read_manifest(write_manifest(tmp_path / "u", pd.DataFrame([good_manifest_row()])))["repeat"].tolist() == [0]


# ---------------------------------------------------------------------------------------------------------------
# tiny end-to-end run of the three stages


@pytest.fixture(scope="module")
def eval_run(tiny_dataset: dict, tmp_path_factory: pytest.TempPathFactory) -> dict:
    from dtgan.evaluation.standin import write_standin_set
    from stages import evaluate, real_features, train_eval_classifier

    root = tmp_path_factory.mktemp("eval")
    params = tiny_params()
    params["evaluate"] = {"effnet_input_size": 32, "kid_subsets": 5, "eval_classifier_epochs": 1,
                          "eval_classifier_class_size": 16, "nn_grid_rows": 3, "device": "cpu"}
    params["classifier"] = {"backbone": "resnet18", "pretrained": "none", "batch_size": 8}
    params_path = write_params(root / "params.yaml", params)
    common = ["--params", str(params_path), "--prepared", str(tiny_dataset["prepared"]),
              "--splits", str(tiny_dataset["splits"])]
    real_features.main([*common, "--out", str(root / "features")])
    train_eval_classifier.main([*common, "--out", str(root / "clf")])
    manifest = write_standin_set(tiny_dataset["prepared"], tiny_dataset["splits"], root / "synth", repeats=2,
                                 variant="e", seed=1)
    evaluate.main([*common, "--features", str(root / "features"), "--eval-classifier", str(root / "clf"),
                   "--synth", str(root / "synth"), "--out", str(root / "report")])
    return {"root": root, "params": params, "common": common, "manifest": manifest}


def test_real_feature_store_lists_train_then_val(eval_run: dict, tiny_dataset: dict) -> None:
    features = eval_run["root"] / "features"
    index = pd.read_csv(features / "index.csv", keep_default_na=False)
    train = pd.read_csv(tiny_dataset["splits"] / "train.csv")
    assert (index["split"] == "train").sum() == len(train)
    assert np.load(features / "effnet_lite0.npy").shape == (len(index), 1280)
    meta = json.loads((features / "meta.json").read_text())
    assert meta["extractors"]["effnet_lite0"]["input_size"] == 32
    assert meta["extractors"]["inception_fid"]["status"].startswith("not computed")


def test_eval_classifier_records_its_errors(eval_run: dict) -> None:
    info = json.loads((eval_run["root"] / "clf" / "eval_classifier.json").read_text())
    assert info["config"]["epochs"] == 1 and info["config"]["seeds"] == [0]
    assert set(info["train_counts_balanced"].values()) == {16}
    assert 0.0 <= info["test_error"] <= 100.0 and info["n_test"] > 0
    assert (eval_run["root"] / "clf" / "model.pt").is_file()
    assert not (eval_run["root"] / "clf" / "train_checkpoint.pt").exists()


def test_metrics_json_has_the_agreed_layout(eval_run: dict) -> None:
    report = eval_run["root"] / "report"
    metrics = json.loads((report / "metrics.json").read_text())
    assert metrics["variant"] == "e" and metrics["headline"] == "fd_effnet_lite0"
    assert metrics["fid_status"].startswith("not computed") and "sha256 579344248a93" in metrics["feature_weights"]
    assert metrics["n_synthetic"] == len(eval_run["manifest"])
    for mode in ("latent", "reference", "mix"):
        assert metrics["modes"][mode]["fd_effnet_lite0"] > 0
        assert metrics["modes"][mode]["fid"].startswith("not computed")
        assert 0.0 <= metrics["target_accuracy"][mode] <= 1.0
    for mode in ("latent", "reference"):
        assert metrics["background"][mode]["psnr_outside_defect"] > metrics["background"][mode]["psnr"]
        assert metrics["diversity_l1"][mode] > 0
    assert set(metrics["per_product"]) == {"A", "B", "C"}
    assert set(metrics["per_product"]["A"]) >= {f"fd_effnet_lite0_{m}" for m in ("latent", "reference", "mix")}
    assert metrics["n_real"]["A"] == {"Scratches": 4, "Spots": 2}
    assert metrics["memorisation"]["synthetic_pixel_nn_rms_median"] > 0
    assert metrics["memorisation"]["val_feature_nn_median"] > 0
    assert not any("." in key for key in _all_keys(metrics))
    cells = pd.read_csv(report / "per_cell.csv")
    assert list(cells.columns) == ["product", "domain", "mode", "metric", "value"]
    assert {"fd_effnet_lite0", "kid_effnet_lite0", "target_accuracy"} <= set(cells["metric"])
    assert (report / "nn_grid.png").stat().st_size > 0


def _all_keys(tree: object) -> list[str]:
    if isinstance(tree, dict):
        return [k for key, value in tree.items() for k in (key, *_all_keys(value))]
    return []


def test_evaluate_refuses_features_of_another_input_size(eval_run: dict) -> None:
    from stages import evaluate

    params = {**eval_run["params"], "evaluate": {**eval_run["params"]["evaluate"], "effnet_input_size": 64}}
    path = write_params(eval_run["root"] / "params_other.yaml", params)
    root = eval_run["root"]
    argv = [*eval_run["common"], "--features", str(root / "features"), "--eval-classifier", str(root / "clf"),
            "--synth", str(root / "synth"), "--out", str(root / "other")]
    argv[1] = str(path)
    with pytest.raises(DataError, match="effnet_input_size"):
        evaluate.main(argv)
