"""Metrics: Fréchet distance maths, KID, weights verification, effnet-lite0 features, PSNR/SSIM, diversity, NN."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from dtgan.errors import WeightsError
from dtgan.metrics import features as feats_mod
from dtgan.metrics.distances import distribution_metrics, not_computed_metrics
from dtgan.metrics.features import available_extractors, build_extractor, extract_features, resolve_fid_weights
from dtgan.metrics.frechet import (
    feature_stats,
    frechet_distance,
    frechet_distance_features,
    frechet_distance_gram,
    frechet_distance_scipy,
)
from dtgan.metrics.kid import kernel_distance, mmd2_unbiased, polynomial_kernel
from dtgan.metrics.memorisation import nearest_real_table, save_nearest_neighbour_grid
from dtgan.metrics.quality import (
    diversity_l1,
    gaussian_blur_valid,
    gaussian_window_1d,
    outside_defect_mask,
    psnr,
    ssim,
)
from dtgan.metrics.values import EFFNET_LITE0, HEADLINE_METRIC, INCEPTION_FID, NotComputed, json_ready
from dtgan.pretrained import LITE0_SHA256_PREFIX, lite0_weights_path, sha256_of


def random_spd(rng: np.random.Generator, d: int, scale: float = 1.0) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return scale * (a @ a.T / d + 0.1 * np.eye(d))


def pytorch_fid_distance(s1, s2) -> float:
    from pytorch_fid.fid_score import calculate_frechet_distance

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pytorch-fid passes scipy's deprecated `disp=`
        return float(calculate_frechet_distance(s1.mu, s1.sigma, s2.mu, s2.sigma))


# ---------------------------------------------------------------------------------------------------- Fréchet


def test_frechet_equal_covariances_is_squared_mean_distance():
    rng = np.random.default_rng(0)
    sigma = random_spd(rng, 32)
    mu1, mu2 = rng.normal(size=32), rng.normal(size=32)
    assert frechet_distance(mu1, sigma, mu2, sigma) == pytest.approx(float(np.sum((mu1 - mu2) ** 2)), rel=1e-9)


def test_frechet_diagonal_covariances_closed_form():
    rng = np.random.default_rng(1)
    v1, v2 = rng.uniform(0.1, 3.0, size=20), rng.uniform(0.1, 3.0, size=20)
    mu1, mu2 = rng.normal(size=20), rng.normal(size=20)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(expected, rel=1e-10)


def test_frechet_identical_sets_is_zero_in_both_forms():
    x = np.random.default_rng(2).normal(size=(300, 40))
    assert abs(frechet_distance_features(x, x)) < 1e-9  # covariance form (n > d)
    assert abs(frechet_distance_gram(x, x)) < 1e-9
    few = x[:20]
    assert abs(frechet_distance_features(few, few)) < 1e-9  # Gram form (n < d)


@pytest.mark.parametrize(("n1", "n2", "d"), [(400, 350, 48), (30, 45, 120)])
def test_frechet_matches_pytorch_fid(n1, n2, d):
    rng = np.random.default_rng(d)
    a = rng.normal(size=(n1, d))
    b = rng.normal(size=(n2, d)) @ rng.normal(size=(d, d)) * 0.3 + 0.5
    s1, s2 = feature_stats(a), feature_stats(b)
    reference = pytorch_fid_distance(s1, s2)
    assert frechet_distance(s1.mu, s1.sigma, s2.mu, s2.sigma) == pytest.approx(reference, rel=1e-6)
    assert frechet_distance_gram(a, b) == pytest.approx(reference, rel=1e-6)
    assert frechet_distance_features(a, b) == pytest.approx(reference, rel=1e-6)


def test_frechet_float64_torch_matches_scipy_sqrtm():
    rng = np.random.default_rng(3)
    s1, s2 = random_spd(rng, 128), random_spd(rng, 128, scale=2.0)
    mu1, mu2 = rng.normal(size=128), rng.normal(size=128)
    ours = frechet_distance(mu1, s1, mu2, s2)
    assert ours == pytest.approx(frechet_distance_scipy(mu1, s1, mu2, s2), rel=1e-8)
    assert ours > 0


def test_frechet_rejects_bad_inputs():
    rng = np.random.default_rng(4)
    sigma = random_spd(rng, 5)
    with pytest.raises(ValueError, match="covariances"):
        frechet_distance(np.zeros(5), sigma, np.zeros(4), sigma)
    with pytest.raises(ValueError, match="not covariances"):
        frechet_distance(np.zeros(5), sigma, np.zeros(5), -sigma)
    with pytest.raises(ValueError, match="n >= 2"):
        frechet_distance_features(np.zeros((1, 5)), np.zeros((3, 5)))


# ---------------------------------------------------------------------------------------------------- KID


def test_kid_matches_direct_formula_when_subset_is_whole_set():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(30, 8)), rng.normal(0.5, 1.0, size=(30, 8))
    kxx, kyy, kxy = ((x @ x.T) / 8 + 1) ** 3, ((y @ y.T) / 8 + 1) ** 3, ((x @ y.T) / 8 + 1) ** 3
    expected = (kxx.sum() - np.trace(kxx) + kyy.sum() - np.trace(kyy)) / (30 * 29) - 2 * kxy.mean()
    result = kernel_distance(x, y, num_subsets=3, subset_size=30)
    assert result.mean == pytest.approx(expected, rel=1e-10)
    assert result.std == pytest.approx(0.0, abs=1e-12)  # every "subset" is a permutation of the full set
    assert result.subset_size == 30


def test_kid_is_unbiased_for_identical_distributions():
    rng = np.random.default_rng(6)
    estimates, biased = [], []
    for _ in range(30):
        x, y = rng.normal(size=(40, 6)), rng.normal(size=(40, 6))
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)
        kxx, kyy, kxy = (polynomial_kernel(a, b) for a, b in ((tx, tx), (ty, ty), (tx, ty)))
        estimates.append(mmd2_unbiased(kxx, kxy, kyy))
        biased.append(float(kxx.mean() + kyy.mean() - 2 * kxy.mean()))
    estimates = np.array(estimates)
    assert (estimates < 0).any()  # an unbiased estimate of a zero MMD² must sometimes be negative
    assert abs(estimates.mean()) < 3 * estimates.std() / np.sqrt(len(estimates))
    assert np.mean(biased) > 10 * abs(estimates.mean())  # the biased V-statistic is clearly positive


def test_kid_detects_shift_and_is_seeded():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(200, 16)), rng.normal(0.7, 1.0, size=(200, 16))
    shifted = kernel_distance(x, y, num_subsets=10, subset_size=50, seed=1)
    same = kernel_distance(x, rng.normal(size=(200, 16)), num_subsets=10, subset_size=50, seed=1)
    assert shifted.mean > 10 * abs(same.mean)
    assert kernel_distance(x, y, num_subsets=10, subset_size=50, seed=1) == shifted
    assert kernel_distance(x, y, num_subsets=10, subset_size=50, seed=2).mean != shifted.mean
    assert kernel_distance(x, y[:20], num_subsets=2, subset_size=1000).subset_size == 20


# ---------------------------------------------------------------------------------------------------- weights


def _fake_weights(path: Path, payload: bytes = b"not an inception") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path


def test_fid_weights_explicit_path_verified_or_refused(tmp_path):
    fake = _fake_weights(tmp_path / feats_mod.FID_WEIGHTS_NAME)
    refused = resolve_fid_weights(fake)
    assert not refused.ok and "sha256" in refused.reason and "6726825d" in refused.reason
    assert str(refused.not_computed()).startswith("not computed: ")
    prefix = hashlib.sha256(fake.read_bytes()).hexdigest()[:8]
    accepted = resolve_fid_weights(fake, expected_prefix=prefix)
    assert accepted.ok and accepted.path == fake
    with pytest.raises(WeightsError, match="evaluate.fid_weights"):
        resolve_fid_weights(tmp_path / "missing.pth")


def test_fid_weights_from_hub_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    absent = resolve_fid_weights(None)
    assert not absent.ok and "does not exist" in absent.reason
    _fake_weights(tmp_path / "hub" / "checkpoints" / feats_mod.FID_WEIGHTS_NAME)
    wrong_hash = resolve_fid_weights(None)  # right file name, wrong content: pytorch-fid would load it, we refuse
    assert not wrong_hash.ok and "torch hub cache" in wrong_hash.reason
    status = available_extractors(wrong_hash)
    assert status[EFFNET_LITE0] is None
    assert isinstance(status[INCEPTION_FID], NotComputed)
    with pytest.raises(ValueError, match="cannot build the FID Inception"):
        build_extractor(INCEPTION_FID, fid_weights=wrong_hash)


def test_inception_fid_builds_from_verified_local_file(tmp_path):
    """Mechanics only (the real weights are not on this machine): a random-init state dict with its own hash."""
    from pytorch_fid import inception as pf

    # The FID blocks subclass torchvision's, with the same parameter names and shapes.
    net = pf._inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=False)
    path = tmp_path / "weights.pth"
    torch.save(net.state_dict(), path)
    resolution = resolve_fid_weights(path, expected_prefix=hashlib.sha256(path.read_bytes()).hexdigest()[:8])
    extractor = build_extractor(INCEPTION_FID, fid_weights=resolution)
    images = np.random.default_rng(0).integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    out = extract_features(extractor, images, batch_size=2, progress=False)
    assert out.shape == (2, 2048) and np.isfinite(out).all()


# ---------------------------------------------------------------------------------------------------- effnet


@pytest.fixture(scope="module")
def effnet():
    return build_extractor(EFFNET_LITE0)


def test_effnet_weights_file_is_the_genuine_one():
    digest = sha256_of(lite0_weights_path())
    assert digest.startswith(LITE0_SHA256_PREFIX)


def test_effnet_features_shape_and_determinism(effnet):
    images = np.random.default_rng(1).integers(0, 256, size=(5, 64, 64, 3), dtype=np.uint8)
    a = extract_features(effnet, images, batch_size=5, progress=False)
    b = extract_features(effnet, images, batch_size=2, progress=False)
    assert a.shape == (5, 1280) and a.dtype == np.float64
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)  # batch composition does not matter (eval-mode BN)
    assert not np.allclose(a[0], a[1])


def test_effnet_pipeline_recognises_an_imagenet_photo(effnet):
    """Features @ the shipped ImageNet classifier must classify Grace Hopper as 'military uniform' (652)."""
    from PIL import Image

    photo = Path(__import__("matplotlib").get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not photo.is_file():
        pytest.skip("matplotlib sample photo not installed")
    image = np.asarray(Image.open(photo).convert("RGB").resize((224, 224), Image.BICUBIC))[None]
    features = extract_features(effnet, image, progress=False)
    state = torch.load(lite0_weights_path(), map_location="cpu", weights_only=True)
    logits = features @ state["_fc.weight"].double().numpy().T + state["_fc.bias"].double().numpy()
    assert int(np.argmax(logits)) == 652


def test_feature_input_must_be_uint8(effnet):
    with pytest.raises(TypeError, match="uint8"):
        extract_features(effnet, np.zeros((2, 8, 8, 3), dtype=np.float32), progress=False)
    with pytest.raises(ValueError, match=r"\(N>0, H, W, 3\)"):
        extract_features(effnet, np.zeros((2, 8, 8), dtype=np.uint8), progress=False)


def test_distribution_metrics_keys_carry_the_extractor_name():
    rng = np.random.default_rng(8)
    result = distribution_metrics(rng.normal(size=(30, 10)), rng.normal(size=(25, 10)), EFFNET_LITE0,
                                  kid_subsets=5, kid_subset_size=20)
    assert HEADLINE_METRIC == "fd_effnet_lite0"
    assert {"fd_effnet_lite0", "kid_effnet_lite0", "kid_effnet_lite0_std"} <= set(result)
    refusal = not_computed_metrics(INCEPTION_FID, NotComputed("no weights"))
    assert json_ready(refusal["fid"]) == "not computed: no weights"


# ---------------------------------------------------------------------------------------------------- quality


def _images(seed: int, n: int = 3, size: int = 32) -> np.ndarray:
    return np.random.default_rng(seed).integers(30, 220, size=(n, size, size, 3), dtype=np.uint8)


def test_psnr_known_values():
    a = _images(0)
    assert np.isinf(psnr(a, a)).all()
    b = (a.astype(np.int16) + 10).astype(np.uint8)  # every pixel off by exactly 10 (no clipping: values < 230)
    np.testing.assert_allclose(psnr(a, b), 20 * np.log10(255 / 10), rtol=1e-12)


def test_psnr_and_ssim_outside_defect_ignore_the_defect():
    a = _images(1)
    b = a.copy()
    masks = np.zeros(a.shape[:3], dtype=np.uint8)
    masks[:, 10:14, 10:14] = 255
    b[:, 10:14, 10:14] = 0  # change only the defect region
    keep = outside_defect_mask(masks, dilation_px=6)  # SSIM windows (radius 5) around kept pixels avoid the defect
    assert np.isinf(psnr(a, b, keep)).all()
    np.testing.assert_allclose(ssim(a, b, keep), 1.0, atol=1e-12)
    assert np.isfinite(psnr(a, b)).all() and (ssim(a, b) < 1).all()


def test_outside_defect_mask_dilation():
    masks = np.zeros((1, 9, 9), dtype=np.uint8)
    masks[0, 4, 4] = 255
    keep = outside_defect_mask(masks, dilation_px=1)
    assert (~keep).sum() == 9 and not keep[0, 3:6, 3:6].any() and keep[0, 2, 4]
    assert (~outside_defect_mask(masks, dilation_px=0)).sum() == 1


def test_ssim_known_values():
    a = _images(2)
    np.testing.assert_allclose(ssim(a, a), 1.0, atol=1e-12)
    flat_a = np.full((1, 16, 16, 3), 100, dtype=np.uint8)
    flat_b = np.full((1, 16, 16, 3), 110, dtype=np.uint8)
    c1 = (0.01 * 255) ** 2
    expected = (2 * 100 * 110 + c1) / (100**2 + 110**2 + c1)  # zero variance: only the luminance term remains
    np.testing.assert_allclose(ssim(flat_a, flat_b), expected, rtol=1e-9)
    noise = np.random.default_rng(3).normal(0, 1, a.shape)
    scores = [ssim(a, np.clip(a + s * noise, 0, 255).astype(np.uint8)) for s in (5, 25, 60)]
    assert (scores[0] > scores[1]).all() and (scores[1] > scores[2]).all() and (scores[2] > 0).all()


def test_separable_ssim_blur_equals_the_2d_gaussian_window():
    g = gaussian_window_1d()
    assert g.sum().item() == pytest.approx(1.0) and g.numel() == 11
    t = torch.from_numpy(np.random.default_rng(4).uniform(0, 255, (2, 3, 20, 17)))
    window = torch.outer(g, g).expand(3, 1, 11, 11)
    expected = torch.nn.functional.conv2d(t, window, groups=3)
    got = gaussian_blur_valid(t, g)
    assert got.shape == (2, 3, 10, 7)
    np.testing.assert_allclose(got.numpy(), expected.numpy(), rtol=1e-12, atol=1e-9)


def test_diversity_l1_known_values():
    black = np.zeros((1, 1, 8, 8, 3), dtype=np.uint8)
    white = np.full((1, 1, 8, 8, 3), 255, dtype=np.uint8)
    np.testing.assert_allclose(diversity_l1(np.concatenate([black, black], axis=1)), 0.0)
    np.testing.assert_allclose(diversity_l1(np.concatenate([black, white], axis=1)), 1.0)
    np.testing.assert_allclose(diversity_l1(np.concatenate([black, black, white], axis=1)), 2 / 3)
    with pytest.raises(ValueError, match="at least 2 outputs"):
        diversity_l1(black)


# ---------------------------------------------------------------------------------------------------- memorisation


def test_memorisation_finds_copies_and_draws_grid(tmp_path):
    rng = np.random.default_rng(9)
    real = rng.integers(0, 256, size=(12, 16, 16, 3), dtype=np.uint8)
    order = rng.permutation(12)[:5]
    synthetic = np.clip(real[order].astype(np.int16) + rng.integers(-2, 3, size=(5, 16, 16, 3)), 0, 255)
    synthetic = synthetic.astype(np.uint8)
    real_feats = rng.normal(size=(12, 7))
    synth_feats = real_feats[order[::-1]] + 1e-3
    table = nearest_real_table(synthetic, real, synth_feats, real_feats)
    np.testing.assert_array_equal(table["pixel_nn_index"], order)
    np.testing.assert_array_equal(table["feature_nn_index"], order[::-1])
    assert (table["pixel_nn_rms"] < 2.5 / 255).all()
    out = save_nearest_neighbour_grid(tmp_path / "figs" / "nn.png", synthetic, real, table, rows=3)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
