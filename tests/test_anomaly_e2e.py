"""End-to-end check of f-AnoGAN on tiny procedural data whose defects keep the global statistics (fanogan.md §4).

Normals: 32x32 grayscale stripes with a random phase plus blurred noise. Anomalies: a *test* normal with a short
paired bright/dark stroke, then rescaled to the clean image's exact mean and std, so each anomaly has a normal twin
with the same global statistics; the mean-intensity and std baselines therefore score AUROC ~ 0.5 by construction.
Training uses only separate normals. The pass thresholds were set once from a measurement (see THRESHOLDS) and are
not to be lowered to make the test pass.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from dtgan.anomaly.config import AnomalyConfig
from dtgan.anomaly.score import score_images
from dtgan.anomaly.train import TrainingData, build_networks, network_hparams, train_model
from dtgan.metrics.roc import auroc, pixel_auroc

SIZE = 32
N_TRAIN, N_TEST = 256, 48


def stripes(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, SIZE, SIZE) float textures within about [-0.75, 0.75]: vertical stripes, random phase, blurred noise."""
    xs = np.arange(SIZE)[None, None, :]
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1, 1))
    base = 0.5 * np.sin(2 * np.pi * xs / 8.0 + phase) * np.ones((n, SIZE, 1))
    noise = np.stack([gaussian_filter(rng.normal(size=(SIZE, SIZE)), 1.5) for _ in range(n)])
    return (base + 0.3 * noise).astype(np.float32)


def add_stroke(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A short horizontal bright stroke over a dark one (mean-neutral), rescaled to the clean mean and std."""
    out, mask = img.copy(), np.zeros_like(img, dtype=np.uint8)
    length = 12
    r, c = rng.integers(4, SIZE - 6), rng.integers(2, SIZE - length - 2)
    out[r:r + 2, c:c + length], out[r + 2:r + 4, c:c + length] = 0.6, -0.6
    mask[r:r + 4, c:c + length] = 255
    out = (out - out.mean()) / out.std() * img.std() + img.mean()  # exact global mean and std of the clean image
    return out.astype(np.float32), mask


def make_dataset(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    train = stripes(rng, N_TRAIN)
    test_normal = stripes(rng, N_TEST)
    pairs = [add_stroke(img, rng) for img in test_normal]
    test = np.concatenate([test_normal, np.stack([p[0] for p in pairs])])
    masks = np.concatenate([np.zeros_like(test_normal, dtype=np.uint8), np.stack([p[1] for p in pairs])])
    labels = np.r_[np.zeros(N_TEST, int), np.ones(N_TEST, int)]
    return {"train": train, "test": test, "masks": masks, "labels": labels}


# Measured once (seed 0, 1 thread, 2026-11-22, on the loaded 2-core machine): baselines mean 0.502 / std 0.501;
# trained AUROC A 0.585, A_R 0.800, A_D 0.424, pixel 0.825; untrained encoder A 0.132. Thresholds sit a margin
# below the measured values and are not to be lowered. A_D (critic features, kappa = 1) is weak at this budget and
# dominates A in magnitude, hence the lower bar for A than for A_R.
THRESHOLDS = {"baseline_tolerance": 0.1, "auroc_A": 0.55, "auroc_A_R": 0.70, "pixel_auroc": 0.75}
E2E_CFG = dataclasses.replace(AnomalyConfig(), width=8, z_dim=16, batch_size=16, gan_steps=400, encoder_steps=400,
                              encoder_optimizer="adam", encoder_lr=1e-3, checkpoint_every=10_000, log_every=100)


@pytest.fixture
def one_thread():
    """Tiny nets run faster (and bit-reproducibly) on one thread, especially on a shared 2-core machine."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_trivial_baselines_score_chance_by_construction() -> None:
    data = make_dataset()
    tol = THRESHOLDS["baseline_tolerance"]
    assert abs(auroc(data["labels"], data["test"].mean(axis=(1, 2))) - 0.5) <= tol
    assert abs(auroc(data["labels"], data["test"].std(axis=(1, 2))) - 0.5) <= tol
    assert np.abs(data["test"]).max() <= 1.0 and np.abs(data["train"]).max() <= 1.0  # inside tanh's range


def test_fanogan_detects_local_defects_and_training_is_what_helps(tmp_path, one_thread) -> None:
    start = time.perf_counter()
    data = make_dataset()
    hparams = network_hparams(E2E_CFG, SIZE, 1, 0)
    train = TrainingData(torch.from_numpy(data["train"][:, None]))
    nets, _ = train_model(train, E2E_CFG, hparams, tmp_path / "model.pt", "e2e", 0, torch.device("cpu"))
    test = torch.from_numpy(data["test"][:, None])
    scores = score_images(nets, test, None, E2E_CFG.residual, E2E_CFG.kappa)
    measured = {"auroc_A": auroc(data["labels"], scores.a), "auroc_A_R": auroc(data["labels"], scores.a_r),
                "pixel_auroc": pixel_auroc(scores.maps, data["masks"])}

    torch.manual_seed(123)  # control: the same trained G and D with a fresh (untrained) encoder
    control = build_networks(hparams)
    control.generator.load_state_dict(nets.generator.state_dict())
    control.critic.load_state_dict(nets.critic.state_dict())
    untrained = auroc(data["labels"], score_images(control, test, None, E2E_CFG.residual, E2E_CFG.kappa).a)

    report = f"measured {measured}, untrained encoder A {untrained:.3f}, {time.perf_counter() - start:.1f} s"
    for key in ("auroc_A", "auroc_A_R", "pixel_auroc"):
        assert measured[key] >= THRESHOLDS[key], report
    assert untrained < measured["auroc_A"], report
