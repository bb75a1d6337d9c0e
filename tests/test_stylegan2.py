"""StyleGAN2 / StyleGAN2 + ADA family: layer maths, losses, ADA, and a tiny resumable training run."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from dtgan.gans.shared.data import LabelledImages
from dtgan.gans.stylegan2.augment import TRANSFORMS, ada_adjust, augment
from dtgan.gans.stylegan2.build import build_networks
from dtgan.gans.stylegan2.config import Stylegan2Config
from dtgan.gans.stylegan2.generator import MappingNetwork
from dtgan.gans.stylegan2.layers import EqualConv2d, EqualLinear, MinibatchStd, modulated_conv2d
from dtgan.gans.stylegan2.losses import (
    discriminator_loss,
    generator_loss,
    lazy_r1_loss,
    r1_penalty,
    real_sign_mean,
)
from dtgan.gans.stylegan2.synthesize import load_generator
from dtgan.gans.stylegan2.train import _ada_bookkeeping, ema_beta, make_optimizers, train_model

TINY = Stylegan2Config(
    channel_base=64,
    channel_max=16,
    z_dim=16,
    w_dim=16,
    mapping_layers=2,
    batch_size=4,
    iterations=3,
    r1_gamma=1.0,
    r1_interval=2,
    ema_kimg=0.01,
    ada_interval=1,
    ada_kimg=0.002,
    log_every=1,
    checkpoint_every=2,
    device="cpu",
)


@pytest.fixture(autouse=True)
def _one_thread():
    # Tiny tensors: one thread avoids OpenMP overhead and keeps runs bit-identical.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# --- networks -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("size", "channels"), [(16, 1), (16, 3), (32, 1), (32, 3)])
def test_shapes(size: int, channels: int) -> None:
    nets = build_networks(TINY, size, channels, num_classes=3, seed=0)
    generator, discriminator = nets["generator"], nets["discriminator"]
    z, noise = generator.draw_inputs(4, torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 2, 1])
    images = generator(z, labels, noise)
    assert images.shape == (4, channels, size, size)
    assert torch.isfinite(images).all()
    assert discriminator(images, labels).shape == (4,)
    # One noise map per synthesis layer: 1 at 4x4, then 2 per resolution.
    assert [n.shape[-1] for n in noise] == [4] + [r for r in (8, 16, 32) if r <= size for _ in range(2)]


def test_build_is_seeded_and_rejects_bad_sizes() -> None:
    a = build_networks(TINY, 16, 3, 2, seed=1)["generator"].state_dict()
    b = build_networks(TINY, 16, 3, 2, seed=1)["generator"].state_dict()
    c = build_networks(TINY, 16, 3, 2, seed=2)["generator"].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)
    with pytest.raises(ValueError, match="power of two"):
        build_networks(TINY, 24, 3, 2, seed=0)


def test_modulated_conv_matches_per_sample_demodulated_weights() -> None:
    torch.manual_seed(0)
    x, weight, styles = torch.randn(3, 5, 8, 8), torch.randn(4, 5, 3, 3), torch.rand(3, 5) + 0.5
    out = modulated_conv2d(x, weight, styles)
    for b in range(3):
        w = weight * styles[b][None, :, None, None]
        w = w / w.square().sum(dim=(1, 2, 3), keepdim=True).sqrt()  # every output filter has unit norm
        assert torch.allclose(out[b : b + 1], F.conv2d(x[b : b + 1], w, padding=1), atol=1e-5)
    # Demodulation makes the output invariant to the scale of the styles; without it the output scales along.
    assert torch.allclose(modulated_conv2d(x, weight, styles * 7), out, atol=1e-4)
    plain = modulated_conv2d(x, weight, styles, demodulate=False)
    assert torch.allclose(modulated_conv2d(x, weight, styles * 2, demodulate=False), 2 * plain, atol=1e-4)


def test_demodulation_gives_unit_variance() -> None:
    torch.manual_seed(0)
    x = torch.randn(8, 128, 16, 16)
    out = modulated_conv2d(x, torch.randn(64, 128, 3, 3), torch.randn(8, 128).abs() * 3 + 0.1)
    assert 0.85 < out.std().item() < 1.15


def test_equalised_lr_scaling() -> None:
    torch.manual_seed(0)
    layer = EqualLinear(256, 128, lr_mult=0.01, bias_init=1.0)
    # Stored weights are N(0, 1) / lr_mult; the runtime gain lr_mult / sqrt(fan_in) brings them back to He scale.
    assert 90 < layer.weight.std().item() < 110
    assert layer.weight_gain == pytest.approx(0.01 / 16)
    x = torch.randn(512, 256)
    out = layer(x)
    assert torch.allclose(out.mean(), torch.tensor(1.0), atol=0.1)  # effective bias = bias_init
    assert 0.9 < (out - 1).std().item() < 1.1
    # The gradient w.r.t. the stored weight is the effective weight's gradient times the gain.
    out.sum().backward()
    effective = (layer.weight * layer.weight_gain).detach().requires_grad_(True)
    F.linear(x, effective, layer.bias.detach() * layer.bias_gain).sum().backward()
    assert torch.allclose(layer.weight.grad, effective.grad * layer.weight_gain, rtol=1e-4)
    conv = EqualConv2d(64, 32, 3)
    assert 0.85 < conv(torch.randn(4, 64, 16, 16)).std().item() < 1.15


def test_mapping_normalises_z_and_uses_the_label() -> None:
    torch.manual_seed(0)
    mapping = MappingNetwork(16, 3, 16, num_layers=2)
    z, labels = torch.randn(4, 16), torch.tensor([0, 1, 2, 0])
    assert torch.allclose(mapping(z * 10, labels), mapping(z, labels), atol=1e-5)
    assert not torch.allclose(mapping(z, labels), mapping(z, torch.tensor([1, 2, 0, 1])))


def test_minibatch_std_appends_group_std() -> None:
    layer = MinibatchStd(group_size=4)
    same = torch.ones(8, 3, 4, 4)
    out = layer(same)
    assert out.shape == (8, 4, 4, 4)
    assert out[:, 3].abs().max() < 1e-3
    spread = torch.randn(8, 3, 4, 4) * 5
    assert out[:, :3].equal(same) and layer(spread)[:, 3].mean() > 2


# --- losses ---------------------------------------------------------------------------------------------------


def test_logistic_losses_on_hand_made_logits() -> None:
    real, fake = torch.tensor([0.0, math.log(3.0)]), torch.tensor([0.0, -math.log(3.0)])
    g_total, g_logs = generator_loss(fake)
    # softplus(-0) = ln 2, softplus(ln 3) = ln 4.
    assert g_total.item() == pytest.approx((math.log(2) + math.log(4)) / 2)
    assert g_logs == {"g_adv": pytest.approx(g_total.item())}
    d_total, d_logs = discriminator_loss(real, fake)
    # real: softplus(-0), softplus(-ln 3) = ln(4/3); fake: softplus(0), softplus(-ln 3) = ln(4/3).
    expected = (math.log(2) + math.log(4 / 3)) / 2
    assert d_logs["d_real"] == pytest.approx(expected) and d_logs["d_fake"] == pytest.approx(expected)
    assert d_total.item() == pytest.approx(d_logs["d_real"] + d_logs["d_fake"])
    assert d_logs["d_adv"] == pytest.approx(d_total.item())
    assert real_sign_mean(torch.tensor([2.0, -1.0, 3.0, 0.5])) == pytest.approx(0.5)


def test_r1_and_lazy_scaling() -> None:
    x = torch.randn(3, 1, 2, 2, requires_grad=True)
    a = torch.tensor([1.0, 2.0, 0.0, -1.0]).reshape(1, 1, 2, 2)
    logits = (x * a).sum(dim=(1, 2, 3))  # D linear in x: gradient a for every image, |a|^2 = 6
    penalty = r1_penalty(logits, x)
    assert penalty.item() == pytest.approx(6.0)
    loss, logs = lazy_r1_loss(penalty, gamma=10.0, interval=16)
    assert loss.item() == pytest.approx(6.0 * 5.0 * 16)  # gamma / 2 * R1 * interval
    assert logs["d_r1"] == pytest.approx(loss.item()) and logs["r1_penalty"] == pytest.approx(6.0)
    assert lazy_r1_loss(penalty, 10.0, 1)[0].item() == pytest.approx(30.0)
    with pytest.raises(ValueError, match="requires_grad"):
        r1_penalty(logits, x.detach())


def test_lazy_regularisation_rescales_d_optimiser_and_ema_beta() -> None:
    nets = build_networks(TINY, 16, 3, 2, seed=0)
    cfg = Stylegan2Config(r1_interval=16, lr=0.0025, beta2=0.99)
    opts = make_optimizers(cfg, nets["generator"], nets["discriminator"])
    d_group, g_group = opts["discriminator"].param_groups[0], opts["generator"].param_groups[0]
    assert d_group["lr"] == pytest.approx(0.0025 * 16 / 17) and g_group["lr"] == pytest.approx(0.0025)
    assert d_group["betas"][1] == pytest.approx(0.99 ** (16 / 17))
    assert ema_beta(32, 10**9, 10.0, None) == pytest.approx(0.5 ** (32 / 10_000))
    assert ema_beta(32, 3200, 10.0, 0.05) == pytest.approx(0.5 ** (32 / 160))  # ramp-up caps the half-life


# --- ADA ------------------------------------------------------------------------------------------------------


def _run_controller(sign_means: list[float], p0: float) -> list[float]:
    cfg = Stylegan2Config(batch_size=8, ada_interval=4, ada_kimg=1.0, ada_target=0.6)
    state = SimpleNamespace(step=0, extra={"ada_p": p0, "sign_sum": 0.0, "sign_count": 0.0, "ada_rt": 0.0})
    ps = []
    for sign in sign_means:
        _ada_bookkeeping(state, sign, cfg, adaptive=True)
        state.step += 1
        ps.append(state.extra["ada_p"])
    return ps


def _sign_stream(mean: float, steps: int, seed: int = 0) -> list[float]:
    """Per-step means of sign(D(real)) over batches of 8, with P(sign = +1) = (1 + mean) / 2."""
    g = torch.Generator().manual_seed(seed)
    signs = (torch.rand(steps, 8, generator=g) < (1 + mean) / 2).float() * 2 - 1
    return signs.mean(dim=1).tolist()


def test_ada_controller_raises_p_when_d_overfits() -> None:
    stream = _sign_stream(0.9, 400)
    ps = _run_controller(stream, p0=0.0)
    step = 8 * 4 / 1000  # batch * interval / (ada_kimg * 1000)
    assert ps[3] == pytest.approx(step) and ps[2] == 0.0  # first adjustment after ada_interval steps
    assert ps[399] == 1.0 and max(ps) == 1.0  # clamped at 1
    assert ada_adjust(0.5, 0.9, target=0.6, batch_size=8, interval=4, ada_kimg=1.0) == pytest.approx(0.5 + step)


def test_ada_controller_lowers_p_otherwise() -> None:
    ps = _run_controller(_sign_stream(-0.5, 400), p0=0.5)
    assert ps[3] == pytest.approx(0.5 - 0.032)
    assert ps[-1] == 0.0 and min(ps) == 0.0  # clamped at 0
    assert ada_adjust(0.01, -0.5, target=0.6, batch_size=64, interval=4, ada_kimg=0.1) == 0.0


def _images(n: int = 16, channels: int = 3, size: int = 16) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(3)) * 2 - 1


def test_augment_is_identity_at_p0() -> None:
    x = _images()
    g = torch.Generator().manual_seed(0)
    state = g.get_state()
    assert augment(x, 0.0, g) is x
    assert torch.equal(g.get_state(), state)  # nothing drawn


@pytest.mark.parametrize("channels", [1, 3])
def test_augment_at_p1_changes_images_keeps_shape_and_is_differentiable(channels: int) -> None:
    x = _images(channels=channels).requires_grad_(True)
    out = augment(x, 1.0, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and torch.isfinite(out).all()
    assert not torch.allclose(out, x)
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    again = augment(x.detach(), 1.0, torch.Generator().manual_seed(0))
    assert torch.equal(again, out.detach())  # the generator alone decides the augmentation


def test_geometric_augmentations_keep_the_value_range_and_values() -> None:
    x = _images()
    g = torch.Generator().manual_seed(1)
    flipped = augment(x, 1.0, g, ("xflip", "rotate90"))
    # Flips and rotations permute the pixels of each image.
    assert torch.equal(flipped.flatten(1).sort(dim=1).values, x.flatten(1).sort(dim=1).values)
    moved = augment(x, 1.0, g, ("translate",))
    assert moved.min() >= x.min() and moved.max() <= x.max()
    assert not torch.equal(moved, x)


def test_augment_probability_is_per_image() -> None:
    x = _images(n=400)
    out = augment(x, 0.5, torch.Generator().manual_seed(0), ("brightness",))
    changed = (out - x).flatten(1).abs().amax(dim=1) > 0
    assert 150 < int(changed.sum()) < 250  # about half of the images, each decided on its own
    with pytest.raises(ValueError, match="unknown"):
        augment(x, 0.5, torch.Generator(), ("cutout",))
    assert set(TRANSFORMS) >= {"xflip", "rotate90", "translate", "brightness", "contrast", "saturation"}


# --- training and sampling ------------------------------------------------------------------------------------


def _tiny_data() -> LabelledImages:
    images = torch.rand(8, 3, 16, 16, generator=torch.Generator().manual_seed(0)) * 2 - 1
    return LabelledImages(images, torch.tensor([0, 1] * 4), ("A/Scratches", "A/Spots"))


def _weights(model_dir: Path) -> dict[str, torch.Tensor]:
    return torch.load(model_dir / "model.pt", weights_only=True)["generator_ema"]


def _curves(reports: Path) -> list[dict[str, str]]:
    with (reports / "curves.csv").open() as fh:
        return list(csv.DictReader(fh))


def test_train_model_writes_resumes_and_is_deterministic(tmp_path: Path) -> None:
    data = _tiny_data()
    resumed, fresh = tmp_path / "resumed", tmp_path / "fresh"
    train_model(TINY, data, resumed / "model", resumed / "reports", augment="ada")
    for name in ("model.pt", "config.json", "checkpoint.pt"):
        assert (resumed / "model" / name).is_file()
    assert (resumed / "reports" / "samples.png").is_file()
    first = _curves(resumed / "reports")
    assert [row["step"] for row in first] == ["1", "2", "3"]
    assert {"g_adv", "d_adv", "d_real", "d_fake", "r1_penalty", "ada_p", "ada_rt"} <= set(first[0])
    three_steps = _weights(resumed / "model")
    # Mark the checkpoint's history: only a run that continues from the checkpoint carries the mark forward.
    checkpoint = torch.load(resumed / "model" / "checkpoint.pt", weights_only=True)
    assert checkpoint["step"] == 3
    checkpoint["history"][0]["g_adv"] = 123.0
    torch.save(checkpoint, resumed / "model" / "checkpoint.pt")

    longer = dataclasses.replace(TINY, iterations=5)
    train_model(longer, data, resumed / "model", resumed / "reports", augment="ada")
    second = _curves(resumed / "reports")
    assert [row["step"] for row in second] == ["1", "2", "3", "4", "5"]
    assert float(second[0]["g_adv"]) == 123.0  # continued from the checkpoint, not restarted
    assert second[1:3] == first[1:3]
    config = json.loads((resumed / "model" / "config.json").read_text())
    assert config["steps"] == 5 and config["augment"] == "ada" and 0.0 <= config["ada_p"] <= 1.0
    assert config["class_names"] == ["A/Scratches", "A/Spots"]

    # An uninterrupted 5-step run with the same seed ends with bit-identical weights.
    train_model(longer, data, fresh / "model", fresh / "reports", augment="ada")
    resumed_weights, fresh_weights = _weights(resumed / "model"), _weights(fresh / "model")
    assert all(torch.equal(resumed_weights[k], fresh_weights[k]) for k in fresh_weights)
    assert not all(torch.equal(three_steps[k], fresh_weights[k]) for k in fresh_weights)
    assert _curves(fresh / "reports")[1:] == second[1:]


def test_train_without_ada_keeps_p_zero_and_seed_matters(tmp_path: Path) -> None:
    data = _tiny_data()
    train_model(TINY, data, tmp_path / "a", tmp_path / "ra", augment="none")
    other_seed = dataclasses.replace(TINY, seed=1)
    train_model(other_seed, data, tmp_path / "b", tmp_path / "rb", augment="none")
    assert all(float(row["ada_p"]) == 0.0 for row in _curves(tmp_path / "ra"))
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert not all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(ValueError, match="augment"):
        train_model(TINY, data, tmp_path / "c", tmp_path / "rc", augment="diffaug")


def test_sampler_is_deterministic_per_seed_and_batch_independent(tmp_path: Path) -> None:
    train_model(TINY, _tiny_data(), tmp_path / "model", tmp_path / "reports", augment="none")
    sampler = load_generator(tmp_path / "model", torch.device("cpu"))
    assert sampler.class_names == ("A/Scratches", "A/Spots") and sampler.image_channels == 3
    labels, seeds = torch.tensor([0, 1, 1, 0]), [11, 12, 13, 11]
    batch = sampler.sample(labels, seeds)
    assert batch.shape == (4, 3, 16, 16) and batch.min() >= -1 and batch.max() <= 1
    for i in range(4):
        single = sampler.sample(labels[i : i + 1], seeds[i : i + 1])
        assert torch.allclose(single, batch[i : i + 1], atol=1e-6)
    assert torch.equal(sampler.sample(labels, seeds), batch)
    assert torch.allclose(batch[0], batch[3], atol=1e-6)  # same label and seed, same image
    assert not torch.allclose(batch[1], batch[2])  # same label, other seed: another image
    assert not torch.allclose(sampler.sample(torch.tensor([1]), [11]), batch[0:1])  # the label matters
