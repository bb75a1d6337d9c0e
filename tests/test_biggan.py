"""BigGAN / BigGAN + DiffAugment: networks, hinge losses, DiffAugment, training (resume, determinism) and sampling."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn
from torch.nn.utils import parametrize

from dtgan.errors import ParamsError
from dtgan.gans.biggan.config import BigganConfig
from dtgan.gans.biggan.diffaugment import apply_params, diff_augment, draw_params, parse_policy, slice_params
from dtgan.gans.biggan.losses import discriminator_hinge_loss, generator_hinge_loss
from dtgan.gans.biggan.nets import Discriminator, Generator, build_networks
from dtgan.gans.biggan.synthesize import load_generator
from dtgan.gans.biggan.train import train_model
from dtgan.gans.shared.data import LabelledImages
from dtgan.params import from_mapping

FULL = "color,translation,cutout"
TINY = BigganConfig(channels=2, z_dim=12, shared_dim=4, attention_resolution=0, iterations=3, batch_size=4,
                    d_steps=2, ema_beta=0.9, ema_start=0, checkpoint_every=2, log_every=1, seed=3, device="cpu")


def _nets(size: int, channels: int, attention: int = 0, classes: int = 3) -> tuple[Generator, Discriminator]:
    cfg = dataclasses.replace(TINY, channels=4, attention_resolution=attention)
    return build_networks(cfg, size, channels, classes, seed=0)


def _rng(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


# --- networks -------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("size", "channels"), [(16, 1), (16, 3), (32, 1), (32, 3)])
def test_shapes(size: int, channels: int) -> None:
    generator, discriminator = _nets(size, channels)
    z, labels = torch.randn(5, generator.z_dim, generator=_rng()), torch.tensor([0, 1, 2, 0, 1])
    images = generator(z, labels)
    assert images.shape == (5, channels, size, size)
    assert images.abs().max() <= 1.0
    assert discriminator(images, labels).shape == (5,)


def test_self_attention_at_its_resolution_and_invalid_resolution_rejected() -> None:
    generator, discriminator = _nets(32, 3, attention=16)
    assert generator.attention is not None and discriminator.attention is not None
    assert generator(torch.randn(2, generator.z_dim), torch.tensor([0, 1])).shape == (2, 3, 32, 32)
    assert _nets(32, 3)[0].attention is None
    generator, discriminator = _nets(32, 3, attention=32)  # D's blocks end at 16 px: attention in G only
    assert generator.attention is not None and discriminator.attention is None
    with pytest.raises(ValueError, match="attention_resolution"):
        _nets(16, 3, attention=32)
    with pytest.raises(ParamsError, match="attention_resolution"):
        from_mapping(BigganConfig, {"attention_resolution": 12}, "biggan")


def test_conditional_batchnorm_uses_the_class() -> None:
    generator, discriminator = _nets(16, 3)
    generator.eval()  # running statistics: each image depends on its own inputs only
    z = torch.randn(1, generator.z_dim, generator=_rng()).repeat(2, 1)
    images = generator(z, torch.tensor([0, 1]))
    assert not torch.allclose(images[0], images[1], atol=1e-4)
    logits = discriminator(images[:1].repeat(2, 1, 1, 1), torch.tensor([0, 2]))
    assert not torch.allclose(logits[0], logits[1])  # the projection term depends on the class


def test_every_z_chunk_reaches_the_image() -> None:
    generator, _ = _nets(16, 3)  # 2 blocks: chunk 0 feeds the linear layer, chunks 1 and 2 one block each
    generator.eval()
    assert generator.num_chunks == 3 and generator.z_dim == 3 * generator.chunk
    z, labels = torch.randn(1, generator.z_dim, generator=_rng()), torch.tensor([1])
    base = generator(z, labels)
    for k in range(generator.num_chunks):
        moved = z.clone()
        moved[:, k * generator.chunk:(k + 1) * generator.chunk] += 1.0
        assert not torch.allclose(generator(moved, labels), base, atol=1e-5), f"z chunk {k} has no effect"


def _weighted(module: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, m) for name, m in module.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.Embedding))]


def test_spectral_norm_on_every_conv_and_linear_weight() -> None:
    generator, discriminator = _nets(32, 3, attention=16)
    layers = _weighted(generator) + _weighted(discriminator)
    assert len(layers) > 20
    for name, module in layers:
        if module is generator.shared:
            # BigGAN keeps G's shared embedding free of SN (it cripples G); D's projection embedding has it.
            assert not parametrize.is_parametrized(module, "weight")
        else:
            assert parametrize.is_parametrized(module, "weight"), f"{name} has no spectral norm"
    assert parametrize.is_parametrized(discriminator.embed, "weight")


def test_orthogonal_init() -> None:
    generator, discriminator = _nets(32, 3)
    for name, module in _weighted(generator) + _weighted(discriminator):
        raw = module.parametrizations.weight.original if parametrize.is_parametrized(module) else module.weight
        w = raw.detach().flatten(1)
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        assert torch.allclose(gram, torch.eye(gram.shape[0]), atol=1e-4), f"{name} is not orthogonal"


def test_build_networks_is_seeded_and_leaves_global_rng_alone() -> None:
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = build_networks(TINY, 16, 3, 2, seed=5).generator.state_dict()
    b = build_networks(TINY, 16, 3, 2, seed=5).generator.state_dict()
    c = build_networks(TINY, 16, 3, 2, seed=6).generator.state_dict()
    assert torch.equal(torch.get_rng_state(), before)
    key = "linear.parametrizations.weight.original"
    assert torch.equal(a[key], b[key]) and not torch.equal(a[key], c[key])


# --- losses ---------------------------------------------------------------------------------------------------------

def test_discriminator_hinge_loss_values() -> None:
    real, fake = torch.tensor([2.0, 0.5, -1.0]), torch.tensor([-2.0, 0.0, 1.0])
    total, logs = discriminator_hinge_loss(real, fake)
    assert logs["d_real"] == pytest.approx((0.0 + 0.5 + 2.0) / 3)  # relu(1 - real)
    assert logs["d_fake"] == pytest.approx((0.0 + 1.0 + 2.0) / 3)  # relu(1 + fake)
    assert float(total) == pytest.approx(logs["d_real"] + logs["d_fake"]) == pytest.approx(logs["d_loss"])
    # Confident, correct logits cost nothing.
    assert float(discriminator_hinge_loss(torch.tensor([1.5]), torch.tensor([-3.0]))[0]) == 0.0


def test_generator_hinge_loss_values() -> None:
    total, logs = generator_hinge_loss(torch.tensor([1.0, 2.0, -6.0]))
    assert float(total) == pytest.approx(1.0) == pytest.approx(logs["g_loss"])


# --- DiffAugment ----------------------------------------------------------------------------------------------------

def _images(n: int = 6, channels: int = 3, size: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=_rng(seed)) * 2 - 1


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", FULL, "cutout,color"])
def test_diffaugment_shape_and_gradients(policy: str) -> None:
    x = _images().requires_grad_(True)
    out = diff_augment(x, policy, _rng())
    assert out.shape == x.shape
    assert not torch.allclose(out, x)
    (out * torch.randn_like(out)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_diffaugment_empty_policy_is_the_identity_and_draws_nothing() -> None:
    x, rng = _images(), _rng(4)
    state = rng.get_state()
    assert diff_augment(x, "", rng) is x
    assert torch.equal(rng.get_state(), state)
    with pytest.raises(ValueError, match="unknown"):
        parse_policy("color,flip")
    with pytest.raises(ParamsError, match="diffaugment_policy"):
        from_mapping(BigganConfig, {"diffaugment_policy": "color,color"}, "biggan")


def test_diffaugment_is_reproducible_from_the_generator_state() -> None:
    x = _images()
    assert torch.equal(diff_augment(x, FULL, _rng(1)), diff_augment(x, FULL, _rng(1)))
    assert not torch.equal(diff_augment(x, FULL, _rng(1)), diff_augment(x, FULL, _rng(2)))


def test_diffaugment_parameters_are_per_image() -> None:
    """Identical images get different augmentations: every image draws its own parameters."""
    x = _images(1).repeat(8, 1, 1, 1)
    for policy in ("color", "translation", "cutout"):
        out = diff_augment(x, policy, _rng(3))
        distinct = {tuple(img.flatten()[:64].tolist()) for img in out}
        assert len(distinct) > 1, policy


def test_real_and_fake_are_augmented_independently_in_one_call() -> None:
    """The D step augments cat([fakes, reals]) in one call; each half is then augmented exactly as that half alone
    with its own slice of the parameters: no batch statistic (e.g. contrast's mean) mixes reals and fakes."""
    fakes, reals = _images(3, seed=1), _images(5, seed=2) * 0.3 + 0.5
    params = draw_params(FULL, 8, 16, 16, _rng(7))
    joint = apply_params(torch.cat([fakes, reals]), FULL, params)
    assert torch.allclose(joint[:3], apply_params(fakes, FULL, slice_params(params, 0, 3)), atol=1e-6)
    assert torch.allclose(joint[3:], apply_params(reals, FULL, slice_params(params, 3, 8)), atol=1e-6)
    assert torch.equal(joint, diff_augment(torch.cat([fakes, reals]), FULL, _rng(7)))


def test_translation_shifts_with_zero_fill() -> None:
    x = _images(1)
    params = {"translation": torch.tensor([[2, -1]])}  # 2 rows down, 1 column left
    out = apply_params(x, "translation", params)
    assert torch.equal(out[:, :, 2:, :-1], x[:, :, :-2, 1:])
    assert out[:, :, :2].abs().sum() == 0 and out[:, :, :, -1:].abs().sum() == 0
    shifts = draw_params("translation", 500, 16, 16, _rng())["translation"]
    assert shifts.abs().max() == 2  # 1/8 of 16


def test_cutout_zeroes_a_half_size_square() -> None:
    x = torch.ones(2, 1, 16, 16)
    out = apply_params(x, "cutout", {"cutout": torch.tensor([[3, 5], [-4, 12]])})
    assert int((out[0] == 0).sum()) == 8 * 8  # fully inside
    assert int((out[1] == 0).sum()) == 4 * 4  # clipped at the top and right borders
    assert torch.equal(out[0, 0, 3:11, 5:13], torch.zeros(8, 8))


def test_color_on_grey_images_keeps_one_channel() -> None:
    x = _images(4, channels=1)
    params = draw_params("color", 4, 16, 16, _rng())
    out = apply_params(x, "color", params)
    mean = (x + params["brightness"].view(-1, 1, 1, 1)).mean(dim=(1, 2, 3), keepdim=True)
    expected = (x + params["brightness"].view(-1, 1, 1, 1) - mean) * params["contrast"].view(-1, 1, 1, 1) + mean
    assert torch.allclose(out, expected, atol=1e-6)  # saturation is the identity for one channel


# --- training and sampling ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_data() -> LabelledImages:
    images = torch.rand(8, 3, 16, 16, generator=_rng(11)) * 2 - 1
    return LabelledImages(images, torch.tensor([0, 1] * 4), ("A/Scratches", "B/Spots"))


def _train(out: Path, data: LabelledImages, augment: str = "diffaug", **overrides: object) -> dict:
    cfg = dataclasses.replace(TINY, **overrides)
    train_model(cfg, data, out / "model", out / "reports", augment=augment)
    return torch.load(out / "model" / "model.pt", weights_only=True)["generator"]


def _equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_train_writes_artefacts_and_is_deterministic(tmp_path: Path, tiny_data: LabelledImages) -> None:
    first = _train(tmp_path / "a", tiny_data)
    for name in ("model/model.pt", "model/config.json", "model/checkpoint.pt", "reports/curves.csv",
                 "reports/samples.png"):
        assert (tmp_path / "a" / name).is_file(), name
    rows = (tmp_path / "a" / "reports" / "curves.csv").read_text().splitlines()
    assert rows[0].split(",") == ["step", "d_fake", "d_loss", "d_real", "g_loss"] and len(rows) == 1 + 3
    with Image.open(tmp_path / "a" / "reports" / "samples.png") as grid:
        assert grid.size == (8 * 66 + 2, 2 * 66 + 2)  # 8 samples x 2 classes, 16 px tiles shown at 64 px
    assert _equal(first, _train(tmp_path / "b", tiny_data))
    assert not _equal(first, _train(tmp_path / "c", tiny_data, seed=4))
    assert not _equal(first, _train(tmp_path / "d", tiny_data, augment="none"))


def test_train_resumes_from_the_checkpoint(tmp_path: Path, tiny_data: LabelledImages,
                                           caplog: pytest.LogCaptureFixture) -> None:
    _train(tmp_path / "resumed", tiny_data, iterations=3)
    with caplog.at_level(logging.INFO, logger="dtgan.gans.shared.training"):
        resumed = _train(tmp_path / "resumed", tiny_data, iterations=5)
    assert "resumed" in caplog.text and "at step 3" in caplog.text
    straight = _train(tmp_path / "straight", tiny_data, iterations=5)
    assert _equal(resumed, straight)  # 3 + 2 iterations == 5 iterations, bit for bit
    rows = (tmp_path / "resumed" / "reports" / "curves.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3", "4", "5"]


def test_ema_copies_g_before_ema_start(tmp_path: Path, tiny_data: LabelledImages) -> None:
    _train(tmp_path / "late", tiny_data, ema_start=100)
    _train(tmp_path / "early", tiny_data, ema_start=0)
    for name, same in (("late", True), ("early", False)):
        modules = torch.load(tmp_path / name / "model" / "checkpoint.pt", weights_only=True)["modules"]
        assert _equal(modules["generator"], modules["generator_ema"]) is same, name


def test_sampler_is_deterministic_per_seed_and_batch_independent(tmp_path: Path, tiny_data: LabelledImages) -> None:
    _train(tmp_path, tiny_data)
    sampler = load_generator(tmp_path / "model", torch.device("cpu"))
    assert sampler.class_names == tiny_data.class_names and sampler.image_channels == 3
    labels, seeds = torch.tensor([0, 1, 1, 0]), [10, 11, 12, 2**40]
    batch = sampler.sample(labels, seeds)
    assert batch.shape == (4, 3, 16, 16) and batch.abs().max() <= 1.0
    assert torch.equal(batch, sampler.sample(labels, seeds))
    singles = torch.cat([sampler.sample(labels[i:i + 1], seeds[i:i + 1]) for i in range(4)])
    assert torch.allclose(batch, singles, atol=1e-6)
    reordered = sampler.sample(labels.flip(0), seeds[::-1])
    assert torch.allclose(reordered.flip(0), batch, atol=1e-6)
    assert not torch.allclose(batch[0], sampler.sample(labels[:1], [99])[0])
    with pytest.raises(ValueError, match="class indices"):
        sampler.sample(torch.tensor([2]), [0])
