"""Issue 18's segmentation check: pixel metrics, the U-Net, one training cell, the synthetic pairs, and the
check_masks / segment stages' outputs in the tiny pipeline."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from dtgan.errors import DataError, ParamsError
from dtgan.evaluation.synthetic import SyntheticSet
from dtgan.metrics import pixel
from dtgan.params import load_section
from dtgan.segmentation.config import SegmentationConfig
from dtgan.segmentation.data import MaskedImages, synthetic_pairs
from dtgan.segmentation.train import predict, segmentation_loss, train_cell
from dtgan.segmentation.unet import UNet


def _noisy_maps(seed: int, n: int = 12, side: int = 16, signal: float = 0.25):
    """Random masks and scores that are higher on the mask by ``signal`` on average."""
    rng = np.random.default_rng(seed)
    truth = rng.random((n, side, side)) < 0.1
    maps = np.clip(rng.normal(0.4, 0.15, truth.shape) + signal * truth, 0, 1)
    return maps, truth


# ---------------------------------------------------------------- pixel metrics


def test_histogram_metrics_match_scikit_learn():
    maps, truth = _noisy_maps(0)
    result = pixel.summary(pixel.pixel_counts(maps, truth, threshold=0.5))
    assert result["pixel_auroc"] == pytest.approx(roc_auc_score(truth.ravel(), maps.ravel()), abs=2e-3)
    assert result["pixel_ap"] == pytest.approx(average_precision_score(truth.ravel(), maps.ravel()), abs=5e-3)
    pred = maps >= 0.5
    assert result["iou"] == pytest.approx((pred & truth).sum() / (pred | truth).sum())


def test_perfect_and_inverted_maps_give_the_extreme_metrics():
    _, truth = _noisy_maps(1)
    perfect = pixel.summary(pixel.pixel_counts(truth.astype(float), truth))
    assert perfect == {"pixel_auroc": 1.0, "pixel_ap": 1.0, "iou": 1.0}
    inverted = pixel.summary(pixel.pixel_counts(1.0 - truth, truth))
    assert inverted["pixel_auroc"] == 0.0 and inverted["iou"] == 0.0


def test_pixel_counts_reject_bad_maps():
    maps, truth = _noisy_maps(2)
    with pytest.raises(ValueError, match="must both be"):
        pixel.pixel_counts(maps[:, :8], truth)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        pixel.pixel_counts(maps * 2, truth)


def test_paired_bootstrap_is_zero_for_identical_runs_and_excludes_zero_for_a_real_gain():
    weak = [pixel.pixel_counts(*_noisy_maps(seed, signal=0.05)) for seed in (3, 4)]
    same = pixel.paired_bootstrap(weak, weak, resamples=50, seed=0)
    assert all(v == (0.0, 0.0, 0.0) for v in same.values())
    # the same masks, scored better: paired by image, the gain's interval lies above zero
    strong = []
    for seed in (3, 4):
        maps, truth = _noisy_maps(seed, signal=0.05)
        strong.append(pixel.pixel_counts(np.clip(maps + 0.3 * truth, 0, 1), truth))
    gain = pixel.paired_bootstrap(strong, weak, resamples=200, seed=0)
    for value, low, high in gain.values():
        assert 0 < low <= value <= high
    with pytest.raises(ValueError, match="same non-zero number of seeds"):
        pixel.paired_bootstrap(strong, weak[:1], resamples=10, seed=0)


# ---------------------------------------------------------------- the U-Net and one cell


@pytest.mark.parametrize(("depth", "side"), [(1, 16), (2, 32), (3, 32)])
def test_unet_returns_one_logit_per_pixel(depth, side):
    model = UNet(in_channels=1, width=4, depth=depth)
    assert model(torch.zeros(2, 1, side, side)).shape == (2, 1, side, side)


def test_unet_rejects_a_side_not_divisible_by_its_poolings():
    with pytest.raises(ValueError, match="divisible by 4"):
        UNet(3, 4, 2)(torch.zeros(1, 3, 30, 30))


def test_segmentation_loss_prefers_the_true_mask():
    truth = torch.zeros(2, 1, 8, 8)
    truth[:, :, 2:4, 2:6] = 1
    good, parts = segmentation_loss(20 * (truth - 0.5), truth)
    bad, _ = segmentation_loss(-20 * (truth - 0.5), truth)
    assert good < 0.05 < bad and set(parts) == {"bce", "dice"}


def _squares(count: int, seed: int) -> MaskedImages:
    """Grey images with one bright square each (the mask) and as many plain ones: a task a U-Net learns fast."""
    rng = np.random.default_rng(seed)
    images = np.full((2 * count, 16, 16, 3), 90, np.uint8)
    masks = np.zeros((2 * count, 16, 16), bool)
    for k in range(count):
        r, c = rng.integers(0, 12, 2)
        masks[k, r:r + 4, c:c + 4] = True
    images[masks] = 220
    rows = pd.DataFrame({"sample_id": [f"s{k}" for k in range(2 * count)],
                         "domain": ["Spots"] * count + ["Normal"] * count, "origin": "real"})
    return MaskedImages(images, masks, rows)


def test_a_cell_learns_an_easy_mask_and_is_reproducible_from_its_seed():
    torch.set_num_threads(1)
    cfg = SegmentationConfig(width=4, depth=1, steps=60, batch_size=8, lr=0.01)
    train, test = _squares(8, seed=0), _squares(8, seed=1)
    device = torch.device("cpu")
    first = predict(train_cell(train, cfg, 3, seed=5, device=device), test.images, 3, device)
    again = predict(train_cell(train, cfg, 3, seed=5, device=device), test.images, 3, device)
    np.testing.assert_array_equal(first, again)
    assert first.shape == test.masks.shape and first.min() >= 0 and first.max() <= 1
    assert pixel.summary(pixel.pixel_counts(first, test.masks))["pixel_auroc"] > 0.95


# ---------------------------------------------------------------- synthetic pairs


def _synthetic_set(per_cell: int, with_masks: bool = True) -> SyntheticSet:
    cells = [(d, m) for d in ("Scratches", "Spots") for m in ("latent", "reference")]
    rows = [{"synth_id": f"x{k}_{d}_{m}", "product": "A", "target_domain": d, "mode": m, "variant": "e"}
            for d, m in cells for k in range(per_cell)]
    manifest = pd.DataFrame(rows).assign(row=lambda f: np.arange(len(f)))
    images = np.zeros((len(manifest), 8, 8, 3), np.uint8)
    masks = np.zeros((len(manifest), 8, 8), bool) if with_masks else None
    return SyntheticSet(manifest, images, masks)


def test_synthetic_pairs_take_equal_shares_per_domain_and_mode():
    synth = _synthetic_set(per_cell=5)
    mix = synthetic_pairs(synth, "A", "mix", 8, np.random.default_rng(0))
    assert len(mix) == 8 and set(mix.rows["origin"]) == {"synthetic"}
    modes = synth.manifest.set_index("synth_id").loc[mix.rows["sample_id"], "mode"]
    assert modes.value_counts().to_dict() == {"latent": 4, "reference": 4}
    assert mix.rows["domain"].value_counts().to_dict() == {"Scratches": 4, "Spots": 4}
    reference = synthetic_pairs(synth, "A", "reference", 6, np.random.default_rng(0))
    assert set(synth.manifest.set_index("synth_id").loc[reference.rows["sample_id"], "mode"]) == {"reference"}


def test_synthetic_pairs_fail_clearly_without_masks_or_enough_images():
    with pytest.raises(DataError, match="has no masks"):
        synthetic_pairs(_synthetic_set(2, with_masks=False), "A", "mix", 4, np.random.default_rng(0))
    with pytest.raises(DataError, match="segmentation asks for 6"):
        synthetic_pairs(_synthetic_set(2), "A", "reference", 12, np.random.default_rng(0))


def test_settings_must_include_the_real_baseline():
    with pytest.raises(ParamsError, match="segmentation.settings"):
        load_section(SegmentationConfig, {"segmentation": {"settings": ["mix"]}}, "segmentation")
    with pytest.raises(ParamsError, match="segmentation.settings"):
        load_section(SegmentationConfig, {"segmentation": {"settings": ["real", "synthetic"]}}, "segmentation")


# ---------------------------------------------------------------- the stages in the tiny pipeline


@pytest.mark.slow
def test_mask_check_and_segmentation_outputs_of_the_tiny_pipeline(tiny_run):
    workspace, _ = tiny_run
    removal = pd.read_csv(workspace / "reports/masks/defect_removal.csv")
    assert set(removal["domain"]) == {"Scratches", "Spots"} and len(removal) == 6
    assert removal[["pixel_auroc", "pixel_auroc_median_residual"]].stack().between(0, 1).all()
    cells = pd.read_csv(workspace / "reports/segmentation/cells.csv")
    params = load_section(SegmentationConfig, workspace / "params.yaml", "segmentation")
    assert len(cells) == 3 * len(params.settings) * len(params.seeds)
    synthetic = cells.set_index("setting")["n_train_synthetic"]
    assert (synthetic.loc["real"] == 0).all() and (synthetic.drop("real") == params.synthetic_per_product).all()
    differences = pd.read_csv(workspace / "reports/segmentation/differences.csv")
    assert len(differences) == 3 * (len(params.settings) - 1)
    for metric in ("pixel_auroc", "pixel_ap", "iou"):
        assert (differences[f"{metric}_low"] <= differences[f"{metric}_high"]).all()
    metrics = json.loads((workspace / "reports/segmentation/metrics.json").read_text())
    assert "segmentation/A/mix_minus_real/pixel_ap_low" in metrics and "segmentation/B/fanogan/pixel_auroc" in metrics
    results = (workspace / "reports/results.md").read_text()
    assert "Segmentation of real test defects" in results and "defect removal" in results.lower()
    assert (workspace / "reports/segmentation/examples.png").stat().st_size > 0
