"""Defect masks of synthetic images, the source-identity ratio and the paired classifier comparison."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dtgan.errors import DataError
from dtgan.evaluation.quality import source_identity
from dtgan.evaluation.synthetic import load_synthetic_set
from dtgan.reports.paired import correctness_matrix, paired_difference
from dtgan.synthesis.manifest import MASKS_DIR, ManifestWriter
from dtgan.synthesis.masks import binary_masks, otsu_threshold, otsu_thresholds, soft_masks, to_mask_png


def test_soft_mask_is_the_mean_rgb_difference_to_the_anchor():
    anchor = np.full((1, 4, 4, 3), 100, np.uint8)
    out = anchor.copy()
    out[0, 1, 2] = (151, 100, 100)  # +51 on one channel -> 17 grey levels on average
    soft = soft_masks(out, anchor)
    assert soft.shape == (1, 4, 4) and soft[0, 1, 2] == pytest.approx(17 / 255) and soft.sum() == soft[0, 1, 2]
    with pytest.raises(ValueError, match="uint8"):
        soft_masks(out.astype(np.float32), anchor)


def test_otsu_separates_a_bimodal_image_and_fixed_thresholds_apply():
    soft = np.zeros((2, 10, 10), np.float32)
    soft[:, :3, :3] = 0.6  # the defect
    soft[:, 5:, 5:] = 0.02  # faint background change
    assert 0.02 < otsu_threshold(soft[0]) < 0.6
    mixed = np.stack([soft[0], np.zeros((10, 10), np.float32), soft[0] * 0.5])
    assert otsu_thresholds(mixed).tolist() == [otsu_threshold(m) for m in mixed]  # batched = one at a time
    masks = binary_masks(soft, "otsu")
    assert masks[:, :3, :3].all() and masks.sum() == 2 * 9
    assert binary_masks(soft, 0.01).sum() == 2 * (9 + 25)
    png = to_mask_png(masks[0])
    assert png.dtype == np.uint8 and png.shape == (10, 10) and set(np.unique(png)) == {0, 255}


def test_source_identity_ratio_is_zero_for_copies_and_about_one_for_other_images():
    rng = np.random.default_rng(0)
    normals = rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)
    keep = np.ones((6, 8, 8), bool)
    own, other = source_identity(normals, normals, normals, np.arange(6), keep)
    assert own == 0 and other > 50
    unrelated = rng.integers(0, 256, (6, 8, 8, 3), dtype=np.uint8)  # outputs unrelated to every source
    own, other = source_identity(unrelated, normals, normals, np.arange(6), keep)
    assert own / other == pytest.approx(1.0, abs=0.1)
    masked = keep.copy()
    masked[:, :4] = False  # only the kept pixels count
    half = normals.copy()
    half[:, :4] = 0
    own, _ = source_identity(half, normals, normals, np.arange(6), masked)
    assert own == 0


def _predictions(correct: np.ndarray) -> pd.DataFrame:
    seeds, images = correct.shape
    return pd.DataFrame([{"seed": s, "sample_id": f"i{i}", "label": 1, "pred": 1 if correct[s, i] else 0}
                         for s in range(seeds) for i in range(images)])


def test_paired_difference_interval_excludes_zero_only_for_a_real_gain():
    rng = np.random.default_rng(1)
    baseline = rng.random((3, 200)) > 0.3  # ~30 % error
    better = baseline | (rng.random((3, 200)) > 0.5)  # fixes about half of the errors
    gain = paired_difference(better, baseline, seed=0)
    assert gain.mean < -10 and gain.high < 0 and gain.verdict == "better"
    same = paired_difference(baseline, baseline, seed=0)
    assert same.mean == 0 and same.low <= 0 <= same.high and same.verdict == "no difference"
    noise = paired_difference(rng.random((3, 30)) > 0.3, rng.random((3, 30)) > 0.3, seed=0)
    assert noise.low < 0 < noise.high  # 30 test images: an interval far wider than a few points


def test_correctness_matrix_follows_seed_and_image_order():
    correct = np.array([[True, False, True], [False, False, True]])
    matrix = correctness_matrix(_predictions(correct), [1, 0], ["i2", "i0", "i1"])
    assert matrix.tolist() == [[True, False, False], [True, True, False]]
    with pytest.raises(ValueError, match="lack"):
        correctness_matrix(_predictions(correct), [0, 1, 2], ["i0"])


def test_a_moved_synthetic_set_still_loads_its_images_and_masks(tmp_path):
    writer = ManifestWriter(tmp_path / "written")
    image = np.full((8, 8, 3), 90, np.uint8)
    binary = np.zeros((8, 8, 3), np.uint8)
    binary[2:4, 2:4] = 255
    writer.add(image, source_id="n0", product="A", target_domain="Scratches", mode="latent", reference_set="",
               seed=0, reference_id="", repeat=0, family="dtgan", variant="e", stem="n0",
               masks=(binary // 2, binary))
    writer.close()
    moved = shutil.move(tmp_path / "written", tmp_path / "moved")  # the manifest's absolute paths are now stale
    loaded = load_synthetic_set(moved, expected_size=8)
    assert loaded.images.shape == (1, 8, 8, 3) and loaded.masks.sum() == 4 and loaded.masks[0, 2:4, 2:4].all()
    (Path(moved) / MASKS_DIR).joinpath("A").rename(Path(moved) / "elsewhere")
    with pytest.raises(DataError, match="binary mask"):
        load_synthetic_set(moved, expected_size=8)
