"""Unit tests of the f-AnoGAN baseline: shapes, WGAN-GP maths, freezing, scores, AUROC helpers, config, resume and a
tiny run of both stages."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from torch import nn

from dtgan.anomaly import run as anomaly_run
from dtgan.anomaly import train as anomaly_train
from dtgan.anomaly.config import AnomalyConfig
from dtgan.anomaly.metrics import auroc_markdown, image_metrics, pixel_metrics
from dtgan.anomaly.models import Critic, Encoder, Generator, Networks, num_stages
from dtgan.anomaly.score import combined_score, pixel_residual, score_images
from dtgan.anomaly.train import (
    TrainingData,
    TrainState,
    build_networks,
    critic_loss,
    encoder_loss,
    freeze,
    generator_loss,
    gradient_penalty,
    make_optimizers,
    network_hparams,
    train_encoder,
    train_model,
)
from dtgan.data.split import load_split
from dtgan.errors import ParamsError
from dtgan.metrics.roc import SingleClassError, auroc, auroc_or_none, pixel_auroc
from dtgan.params import load_section


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny nets are faster on one thread; two threads spin badly when the 2 cores are shared."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


TINY = dataclasses.replace(AnomalyConfig(), z_dim=8, width=4, embed_dim=3, batch_size=4, gan_steps=2,
                           encoder_steps=3, n_critic=2, checkpoint_every=1, log_every=1)


# ---------------------------------------------------------------- shapes

@pytest.mark.parametrize("img_size", [64, 128])
@pytest.mark.parametrize("n_classes", [0, 3])
def test_shapes(img_size: int, n_classes: int) -> None:
    width, z_dim, batch = 4, 16, 2
    labels = torch.tensor([0, 2]) if n_classes else None
    g = Generator(img_size, 1, z_dim, width, n_classes, embed_dim=5)
    d = Critic(img_size, 1, width, n_classes)
    e = Encoder(img_size, 1, z_dim, width, n_classes)
    x = g(torch.randn(batch, z_dim), labels)
    n = num_stages(img_size)
    assert x.shape == (batch, 1, img_size, img_size)
    assert x.abs().max() <= 1
    assert d.features(x, labels).shape == (batch, 4 * 4 * width * 2 ** (n - 1))
    assert d(x, labels).shape == (batch,)
    assert e(x, labels).shape == (batch, z_dim)


def test_num_stages_and_label_errors() -> None:
    assert num_stages(64) == 4 and num_stages(128) == 5
    with pytest.raises(ValueError, match="power of two"):
        num_stages(48)
    with pytest.raises(ValueError, match="needs labels"):
        Critic(16, 1, 4, n_classes=2)(torch.zeros(2, 1, 16, 16))
    with pytest.raises(ValueError, match="unconditional"):
        Encoder(16, 1, 8, 4)(torch.zeros(2, 1, 16, 16), torch.tensor([0, 1]))


def test_critic_has_no_batchnorm_or_dropout() -> None:
    kinds = {type(m) for m in Critic(64, 3, 4, 3).modules()}
    assert not kinds & {nn.BatchNorm2d, nn.Dropout, nn.Dropout2d}
    assert nn.GroupNorm in kinds


# ---------------------------------------------------------------- WGAN-GP maths

class LinearCritic(nn.Module):
    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = w

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) * self.w.flatten()).sum(dim=1)


@pytest.mark.parametrize("norm", [0.5, 1.0, 2.0, 3.7])
def test_gradient_penalty_of_linear_critic_is_closed_form(norm: float) -> None:
    gen = torch.Generator().manual_seed(0)
    w = torch.randn(3, 8, 8, generator=gen, dtype=torch.float64)
    w = w / w.norm() * norm
    real = torch.randn(5, 3, 8, 8, generator=gen, dtype=torch.float64)
    fake = torch.randn(5, 3, 8, 8, generator=gen, dtype=torch.float64)
    penalty = gradient_penalty(LinearCritic(w), real, fake, torch.rand(5, generator=gen, dtype=torch.float64))
    assert penalty.shape == (5,)
    torch.testing.assert_close(penalty, torch.full((5,), (norm - 1) ** 2, dtype=torch.float64))


def test_gradient_penalty_uses_per_sample_interpolates() -> None:
    # A quadratic critic D(x) = 0.5 * sum(x^2) has gradient x_hat, so the penalty reveals each sample's alpha.
    real, fake = torch.ones(3, 1, 2, 2), torch.zeros(3, 1, 2, 2)
    alpha = torch.tensor([0.0, 0.5, 1.0])
    penalty = gradient_penalty(lambda x: 0.5 * x.pow(2).flatten(1).sum(1), real, fake, alpha)
    torch.testing.assert_close(penalty, (2 * alpha - 1) ** 2)  # ||alpha * ones(4)|| = 2 alpha
    with pytest.raises(ValueError, match="one value per sample"):
        gradient_penalty(lambda x: x.sum(), real, fake, torch.rand(1))


def test_critic_and_generator_losses() -> None:
    total, stats = critic_loss(torch.tensor([2.0, 4.0]), torch.tensor([1.0, 1.0]), torch.tensor([0.5, 1.5]), 10.0)
    assert total.item() == pytest.approx(1.0 - 3.0 + 10.0)
    assert stats["d_wasserstein"] == pytest.approx(2.0) and stats["d_gp"] == pytest.approx(1.0)
    total, stats = generator_loss(torch.tensor([1.0, 3.0]))
    assert total.item() == pytest.approx(-2.0) and stats == {"g_loss": pytest.approx(-2.0)}


def test_encoder_loss_and_residuals() -> None:
    x, y = torch.zeros(2, 1, 2, 2), torch.full((2, 1, 2, 2), 2.0)
    assert pixel_residual(x, y, "mse").tolist() == [4.0, 4.0]
    assert pixel_residual(x, y, "mae").tolist() == [2.0, 2.0]
    with pytest.raises(ValueError, match="mse"):
        pixel_residual(x, y, "l3")
    total, stats = encoder_loss(x, y, torch.zeros(2, 3), torch.ones(2, 3), kappa=0.5, residual="mae")
    assert total.item() == pytest.approx(2.0 + 0.5 * 1.0)
    assert stats["e_image"] == pytest.approx(2.0) and stats["e_feature"] == pytest.approx(1.0)
    assert combined_score(torch.tensor([1.0]), torch.tensor([2.0]), 3.0).item() == 7.0


# ---------------------------------------------------------------- freezing

def tiny_nets(n_classes: int = 0, img_size: int = 16) -> Networks:
    torch.manual_seed(0)
    return build_networks(network_hparams(TINY, img_size, 1, n_classes))


def tiny_data(n: int = 12, img_size: int = 16, n_classes: int = 0) -> TrainingData:
    gen = torch.Generator().manual_seed(1)
    labels = torch.arange(n) % n_classes if n_classes else None
    return TrainingData(torch.rand(n, 1, img_size, img_size, generator=gen) * 2 - 1, labels)


@pytest.mark.parametrize("encoder_optimizer", ["rmsprop", "adam"])
def test_encoder_training_leaves_generator_and_critic_bit_identical(encoder_optimizer: str) -> None:
    cfg = dataclasses.replace(TINY, encoder_optimizer=encoder_optimizer, encoder_lr=1e-3)
    nets = tiny_nets(n_classes=2)
    nets.train()
    for _ in range(2):  # give G's BatchNorm non-trivial running statistics first
        nets.generator(torch.randn(4, cfg.z_dim), torch.tensor([0, 1, 0, 1]))
    before = {k: v.clone() for k, v in nets.state_dict().items()}
    opts = make_optimizers(nets, cfg)
    assert {id(p) for g in opts["encoder"].param_groups for p in g["params"]} == {
        id(p) for p in nets.encoder.parameters()}
    train_encoder(nets, opts, tiny_data(n_classes=2), cfg, TrainState(), torch.Generator().manual_seed(0), lambda: None)
    after = nets.state_dict()
    frozen = [k for k in before if k.startswith(("generator.", "critic."))]
    assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)
    encoder_params = [k for k, _ in nets.encoder.named_parameters()]
    assert any(not torch.equal(before["encoder." + k], after["encoder." + k]) for k in encoder_params)
    assert not nets.generator.training and not nets.critic.training


def test_freeze_keeps_gradient_flowing_through() -> None:
    g = Generator(16, 1, 8, 4)
    freeze(g)
    z = torch.randn(2, 8, requires_grad=True)
    g(z).sum().backward()
    assert z.grad is not None and z.grad.abs().sum() > 0
    assert all(p.grad is None for p in g.parameters())


# ---------------------------------------------------------------- scores

class FlattenEncoder(nn.Module):
    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return x.flatten(1)


class ReshapeGenerator(nn.Module):
    """G(z) = z reshaped to the image, plus eps: an exact reconstruction when eps = 0."""

    def __init__(self, shape: tuple[int, ...], eps: float = 0.0) -> None:
        super().__init__()
        self.shape, self.eps = shape, eps
        self.anchor = nn.Parameter(torch.zeros(1))  # gives the stub a device

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        x = z.view(z.shape[0], *self.shape)
        return x + self.eps * torch.sin(7 * x + 1)


class PoolFeatures(nn.Module):
    def features(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return nn.functional.avg_pool2d(x, 2).flatten(1)


@pytest.mark.parametrize("residual", ["mse", "mae"])
def test_score_is_zero_for_exact_reconstruction_and_grows_with_error(residual: str) -> None:
    images = torch.rand(5, 1, 8, 8) * 2 - 1
    totals = []
    for eps in (0.0, 0.1, 0.3):
        nets = Networks(ReshapeGenerator((1, 8, 8), eps), PoolFeatures(), FlattenEncoder())
        scores = score_images(nets, images, None, residual, kappa=1.0, batch_size=2)
        assert scores.a.shape == (5,) and scores.maps.shape == (5, 8, 8)
        totals.append(scores.a)
        if eps == 0.0:
            for values in (scores.a, scores.a_r, scores.a_d, scores.z_distance, scores.maps):
                assert np.all(values == 0)
        np.testing.assert_allclose(scores.a, scores.a_r + scores.a_d, rtol=1e-6)
    assert np.all(totals[0] < totals[1]) and np.all(totals[1] < totals[2])


# ---------------------------------------------------------------- AUROC helpers

def test_auroc_matches_sklearn_with_ties() -> None:
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    for size in (7, 50, 1000):
        labels = rng.integers(0, 2, size)
        labels[:2] = [0, 1]
        scores = np.round(rng.normal(size=size) + labels, 1)  # rounding makes many ties
        assert auroc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_auroc_edge_cases() -> None:
    labels = np.array([0, 0, 1, 1])
    assert auroc(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert auroc(labels, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert auroc(labels, np.full(4, 3.0)) == 0.5
    with pytest.raises(SingleClassError, match="both classes"):
        auroc(np.ones(3, int), np.array([0.1, 0.2, 0.3]))
    assert auroc_or_none(np.zeros(3, int), np.array([0.1, 0.2, 0.3])) is None
    with pytest.raises(ValueError, match="NaN"):
        auroc(labels, np.array([0.1, np.nan, 0.2, 0.3]))
    with pytest.raises(ValueError, match="labels must be 0"):
        auroc(np.array([0, 2]), np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="3 labels but 2 scores"):
        auroc(np.array([0, 1, 1]), np.array([0.1, 0.2]))


def test_pixel_auroc() -> None:
    masks = np.zeros((2, 4, 4), np.uint8)
    masks[1, :2, :2] = 255
    maps = masks.astype(float) / 255 + 0.01
    assert pixel_auroc(maps, masks) == 1.0
    assert pixel_auroc(np.zeros((2, 4, 4)), np.zeros((2, 4, 4), np.uint8)) is None
    with pytest.raises(ValueError, match="differ in shape"):
        pixel_auroc(maps[:1], masks)


def score_frame() -> pd.DataFrame:
    rows = [("A.1", "Normal", 0.1), ("A.1", "Normal", 0.2), ("A.1", "Scratches", 0.9), ("A.1", "Spots", 0.15),
            ("B", "Normal", 0.5), ("B", "Normal", 0.6)]
    frame = pd.DataFrame(rows, columns=["product", "domain", "A"])
    frame["label"] = (frame["domain"] != "Normal").astype(int)
    frame["A_R"], frame["A_D"], frame["z_distance"] = frame["A"], -frame["A"], 0.0
    frame["mask_path"] = ["", "", "m.png", "", "", ""]
    return frame


def test_image_and_pixel_metrics() -> None:
    frame = score_frame()
    metrics = image_metrics(frame)
    assert all("." not in k for k in metrics)
    assert metrics["fanogan/A_1/auroc_A"] == pytest.approx(0.75)  # 0.9 beats both normals, 0.15 beats one
    assert metrics["fanogan/A_1/auroc_A_D"] == pytest.approx(0.25)
    assert metrics["fanogan/A_1/auroc_z_distance"] == 0.5
    assert metrics["fanogan/A_1/Scratches/auroc_A"] == 1.0 and metrics["fanogan/A_1/Spots/auroc_A"] == 0.5
    assert "fanogan/B/auroc_A" not in metrics and metrics["fanogan/B/n_defect"] == 0  # single class: left out
    assert metrics["fanogan/mean/auroc_A"] == pytest.approx(0.75)
    maps, masks = np.zeros((6, 4, 4)), np.zeros((6, 4, 4), np.uint8)
    masks[2, 0, 0], maps[2, 0, 0], maps[3] = 255, 1.0, 5.0  # row 3 (Spots, no mask) must be ignored
    pixel = pixel_metrics(frame, maps, masks)
    assert pixel == {"fanogan/A_1/pixel_auroc": 1.0, "fanogan/all/pixel_auroc": 1.0}
    text = auroc_markdown({**metrics, **pixel}, ["A.1", "B"], {"dataset": "toy", "residual": "mse"})
    assert "| A.1 | 2 / 2 | 0.750 |" in text and "- dataset: toy" in text and "n/a" in text


# ---------------------------------------------------------------- config

def test_config_defaults_and_errors() -> None:
    cfg = load_section(AnomalyConfig, {"anomaly": {"residual": "mae", "kappa": 1}}, "anomaly")
    assert cfg.residual == "mae" and cfg.kappa == 1.0 and cfg.n_critic == 5 and cfg.lambda_gp == 10.0
    assert (cfg.lr, cfg.beta1, cfg.beta2, cfg.encoder_optimizer, cfg.encoder_lr) == (1e-4, 0.0, 0.9, "rmsprop", 5e-5)
    assert (cfg.z_dim, cfg.batch_size, cfg.encoder_steps, cfg.mode) == (128, 64, 50_000, "per_product")  # official
    with pytest.raises(ParamsError, match="anomaly.residual"):
        load_section(AnomalyConfig, {"anomaly": {"residual": "l2"}}, "anomaly")
    with pytest.raises(ParamsError, match="anomaly.width must be a power of two"):
        load_section(AnomalyConfig, {"anomaly": {"width": 12}}, "anomaly")
    with pytest.raises(ParamsError, match="unknown key"):
        load_section(AnomalyConfig, {"anomaly": {"lamda_gp": 10}}, "anomaly")


# ---------------------------------------------------------------- resume

def test_interrupted_training_resumes_to_the_same_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data, hparams = tiny_data(), network_hparams(TINY, 16, 1, 0)
    device = torch.device("cpu")
    straight, _ = train_model(data, TINY, hparams, tmp_path / "a.pt", "fp", 0, device)

    real_save, calls = anomaly_train.save_checkpoint, []

    def crash_on_third_save(*args: object, **kwargs: object) -> None:
        real_save(*args, **kwargs)
        calls.append(1)
        if len(calls) == 3:  # inside the encoder phase (GAN: 2 step saves + 1 phase-end save)
            raise KeyboardInterrupt

    monkeypatch.setattr(anomaly_train, "save_checkpoint", crash_on_third_save)
    with pytest.raises(KeyboardInterrupt):
        train_model(data, TINY, hparams, tmp_path / "b.pt", "fp", 0, device)
    monkeypatch.setattr(anomaly_train, "save_checkpoint", real_save)
    resumed, state = train_model(data, TINY, hparams, tmp_path / "b.pt", "fp", 0, device)
    assert (state.gan_step, state.encoder_step) == (TINY.gan_steps, TINY.encoder_steps)
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    # A checkpoint made with other params or data is not resumed: training restarts from step 0.
    fresh, state = train_model(data, dataclasses.replace(TINY, gan_steps=1), hparams, tmp_path / "b.pt", "other", 0,
                               device)
    assert [r["step"] for r in state.history if r["phase"] == "gan"] == [1]


def test_checkpoint_fingerprint_follows_params_data_and_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # DVC keeps the persisted checkpoint when the stage's code changes: a new code must not resume it.
    (tmp_path / "train.py").write_text("STEPS = 1\n")
    monkeypatch.setattr(anomaly_run, "ANOMALY_ROOT", tmp_path)
    pixels, hparams = np.zeros((2, 4, 4, 3), np.uint8), network_hparams(TINY, 16, 1, 0)
    before = anomaly_run.fingerprint(TINY, hparams, ["a", "b"], pixels)
    assert anomaly_run.fingerprint(TINY, hparams, ["b", "a"], pixels) == before
    assert anomaly_run.fingerprint(TINY, hparams, ["a", "b"], pixels + 1) != before
    assert anomaly_run.fingerprint(dataclasses.replace(TINY, gan_steps=7), hparams, ["a", "b"], pixels) != before
    (tmp_path / "train.py").write_text("STEPS = 2\n")
    assert anomaly_run.fingerprint(TINY, hparams, ["a", "b"], pixels) != before


# ---------------------------------------------------------------- both stages on the tiny embedded dataset

@pytest.mark.parametrize("mode", ["conditional", "per_product"])
def test_stages_end_to_end_on_tiny_dataset(tiny_dataset: dict, tmp_path: Path, mode: str) -> None:
    from stages import evaluate_anomaly, train_anomaly

    params = yaml.safe_load(Path(tiny_dataset["params"]).read_text())
    params["anomaly"] = {**{k: v for k, v in dataclasses.asdict(TINY).items()}, "mode": mode, "batch_size": 8}
    params_path = tmp_path / "params.yaml"
    params_path.write_text(yaml.safe_dump(params))
    common = ["--params", str(params_path), "--prepared", str(tiny_dataset["prepared"]),
              "--splits", str(tiny_dataset["splits"])]
    train_anomaly.main([*common, "--out", str(tmp_path / "model")])
    meta = json.loads((tmp_path / "model" / "meta.json").read_text())
    expected_units = ["conditional"] if mode == "conditional" else ["A", "B", "C"]
    assert sorted(meta["units"]) == expected_units
    summary = json.loads((tmp_path / "model" / "train_summary.json").read_text())
    assert set(summary["val_normal_mean"]) == {"A", "B", "C"}
    evaluate_anomaly.main([*common, "--model", str(tmp_path / "model"), "--out", str(tmp_path / "report")])
    metrics = json.loads((tmp_path / "report" / "metrics.json").read_text())
    scores = pd.read_csv(tmp_path / "report" / "scores.csv")
    test = load_split(tiny_dataset["splits"], "test")
    assert len(scores) == len(test) and set(scores.columns) >= {"sample_id", "A", "A_R", "A_D", "z_distance", "label"}
    assert set(scores["residual"]) == {TINY.residual} and set(scores["model"]) == {mode}
    for product in ("A", "B", "C"):
        assert 0.0 <= metrics[f"fanogan/{product}/auroc_A"] <= 1.0
        assert f"fanogan/{product}/pixel_auroc" in metrics  # the embedded dataset has masks
    assert all("." not in key for key in metrics)
    report = (tmp_path / "report" / "auroc.md").read_text()
    assert "- dataset: embedded" in report and f"- residual: {TINY.residual}" in report
    assert (tmp_path / "report" / "examples.png").stat().st_size > 1000
