"""Mokady et al. (ICLR 2020) content transfer: shapes, the mask composition, each loss term, the domain-confusion
gradient, a tiny resumable training run and the deterministic, batch-independent transfer."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from dtgan.errors import ParamsError
from dtgan.gans.mokady import losses
from dtgan.gans.mokady import train as mokady_train
from dtgan.gans.mokady.config import MokadyConfig
from dtgan.gans.mokady.nets import build_networks, compose
from dtgan.gans.mokady.objectives import autoencoder_terms, loss_weights
from dtgan.gans.mokady.synthesize import load_transfer, transfer_from_nets
from dtgan.gans.mokady.train import train_model
from dtgan.gans.shared.training import CHECKPOINT_NAME

TINY = MokadyConfig(channels=4, code_channels=16, separate_channels=4, n_blocks=3, disc_hidden=8, iterations=3,
                    batch_size=4, checkpoint_every=2, log_every=1, seed=5, device="cpu")


@pytest.fixture(autouse=True)
def _one_thread():
    """These nets are tiny: a parallel region costs more than it saves, and on a busy 2-core machine a second
    thread turned a 3-step run from 0.2 s into 17 s. Restored afterwards for the other test files."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _images(n: int, channels: int = 3, size: int = 16, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


@pytest.mark.parametrize(("size", "channels", "n_blocks"), [(16, 1, 3), (16, 3, 4), (32, 3, 4), (32, 1, 5)])
def test_shapes(size: int, channels: int, n_blocks: int) -> None:
    cfg = dataclasses.replace(TINY, n_blocks=n_blocks)
    nets = build_networks(cfg, size, channels, seed=0)
    x = _images(2, channels, size)
    side = size // 2**n_blocks
    common, separate = nets.common_encoder(x), nets.separate_encoder(x)
    assert common.shape == (2, cfg.code_channels - cfg.separate_channels, side, side)
    assert separate.shape == (2, cfg.separate_channels, side, side)
    code = torch.cat([common, separate], dim=1)
    assert nets.normal_decoder(code).shape == x.shape
    out, mask = nets.mask_decoder(code, x)
    assert out.shape == x.shape and mask.shape == (2, 1, size, size)
    assert 0 <= mask.min() and mask.max() <= 1 and out.abs().max() <= 1
    assert nets.code_disc(common).shape == (2,)


def test_geometry_is_validated() -> None:
    with pytest.raises(ParamsError, match="n_blocks"):
        build_networks(dataclasses.replace(TINY, n_blocks=5), 16, 3, seed=0)
    with pytest.raises(ParamsError, match="power of two"):
        build_networks(TINY, 24, 3, seed=0)
    with pytest.raises(ParamsError, match="separate_channels"):
        build_networks(dataclasses.replace(TINY, separate_channels=16), 16, 3, seed=0)


def test_official_widths_at_the_official_defaults() -> None:
    nets = build_networks(MokadyConfig(), 128, 3, seed=0)
    convs = [m.out_channels for m in nets.common_encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [32, 64, 128, 256, 487, 487]
    convs = [m.out_channels for m in nets.separate_encoder.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [32, 64, 128, 128, 128, 25]
    ups = [m.out_channels for m in nets.mask_decoder.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    assert ups == [512, 256, 128, 64, 32, 4]
    assert nets.code_disc.net[0].in_features == 487 * 2 * 2


def test_compose_keeps_the_base_where_the_mask_is_zero() -> None:
    base, content = _images(2, seed=1), _images(2, seed=2)
    mask = torch.zeros(2, 1, 16, 16)
    mask[:, :, 4:8, 4:8] = 1.0
    mask[:, :, 10, 10] = 0.25
    out = compose(content, mask, base)
    outside = (mask == 0).expand_as(base)
    assert torch.equal(out[outside], base[outside])
    assert torch.equal(out[:, :, 4:8, 4:8], content[:, :, 4:8, 4:8])
    torch.testing.assert_close(out[:, :, 10, 10], 0.25 * content[:, :, 10, 10] + 0.75 * base[:, :, 10, 10])


def test_a_closed_mask_returns_the_source_pixels_exactly() -> None:
    """Force D_B's mask logit to -1e4 (sigmoid underflows to exactly 0): the transfer is then the source itself."""
    nets = build_networks(TINY, 16, 3, seed=0)
    last = nets.mask_decoder.net[-1]
    with torch.no_grad():
        last.weight[:, 0].zero_()
        last.bias[0] = -1e4
    model = transfer_from_nets(nets, 3, 16, "Spots")
    sources, references = _images(3, seed=3), _images(3, seed=4)
    out, mask = model.transfer(sources, references)
    assert torch.all(mask == 0)
    assert torch.equal(out, sources)


# --- loss terms on hand-made tensors -------------------------------------------------------------------------------

def test_reconstruction_and_cycle_terms_values() -> None:
    x = torch.zeros(1, 1, 2, 2)
    y = torch.tensor([[[[1.0, -1.0], [2.0, 0.0]]]])
    assert losses.reconstruction_term(y, x).item() == pytest.approx(1.0)   # (1 + 1 + 2 + 0) / 4
    assert losses.cycle_term(y, x).item() == pytest.approx(1.5)            # (1 + 1 + 4 + 0) / 4


def test_confusion_term_pushes_every_code_to_the_normal_label() -> None:
    zero = torch.zeros(4)
    log2 = torch.log(torch.tensor(2.0)).item()
    assert losses.confusion_term(zero, zero).item() == pytest.approx(2 * log2)
    # Codes C already calls "Normal" with confidence cost almost nothing, whatever their domain.
    assert losses.confusion_term(torch.full((4,), -20.0), torch.full((4,), -20.0)).item() < 1e-6
    # A defect code C recognises as defect costs the encoder: softplus(5) per sample.
    assert losses.confusion_term(torch.full((4,), -20.0), torch.full((4,), 5.0)).item() == pytest.approx(
        torch.nn.functional.softplus(torch.tensor(5.0)).item(), rel=1e-5)


def test_code_disc_loss_labels_normal_0_and_defect_1() -> None:
    total, logged = losses.code_disc_loss(torch.full((3,), -20.0), torch.full((3,), 20.0))
    assert total.item() < 1e-6
    total, logged = losses.code_disc_loss(torch.full((3,), 20.0), torch.full((3,), -20.0))
    assert total.item() == pytest.approx(40.0, rel=1e-4)
    assert logged["disc_total"] == pytest.approx(logged["disc_a"] + logged["disc_b"])


def test_weighted_sum_is_the_weighted_sum_and_zero_weight_removes_a_term() -> None:
    terms = {"x": torch.tensor(2.0), "y": torch.tensor(3.0), "z": None}
    total, logged = losses.weighted_sum(terms, {"x": 0.5, "y": 2.0, "z": 1.0})
    assert total.item() == pytest.approx(0.5 * 2 + 2.0 * 3)
    assert logged == {"x": 2.0, "y": 3.0, "total": pytest.approx(7.0)}
    total, _ = losses.weighted_sum({"x": torch.tensor(2.0), "y": torch.tensor(float("nan"))}, {"x": 1.0, "y": 0.0})
    assert total.item() == pytest.approx(2.0)
    with pytest.raises(KeyError):
        losses.weighted_sum(terms, {"x": 1.0})


def test_autoencoder_terms_total_matches_the_weights() -> None:
    nets = build_networks(TINY, 16, 3, seed=0)
    weights = loss_weights(TINY)
    assert weights == {"recon1_a": 5.0, "recon1_b": 7.0, "recon2_a": 0.7, "recon2_b": 0.7, "cycle_common": 0.0,
                       "cycle_separate": 0.001, "dc": 0.005}
    for module in nets.as_dict().values():
        module.eval()  # fixed BN statistics: both evaluations below see the same networks
    a, b = _images(4, seed=1), _images(4, seed=2)
    terms = autoencoder_terms(nets, a, b, weights)
    assert all(terms[k] is not None for k in weights)
    total, logged = losses.weighted_sum(terms, weights)
    assert logged["total"] == pytest.approx(sum(weights[k] * logged[k] for k in weights), rel=1e-6)
    no_dc = autoencoder_terms(nets, a, b, {**weights, "dc": 0.0})
    assert no_dc["dc"] is None
    assert losses.weighted_sum(no_dc, {**weights, "dc": 0.0})[1]["total"] == pytest.approx(
        logged["total"] - weights["dc"] * logged["dc"], rel=1e-6)


def test_recon2_a_penalises_an_open_mask_under_the_zero_code() -> None:
    """L_Recon2^A is the mask term: with a zero separate code D_B must give back a, so a mask where the content
    differs from a has positive loss and its gradient closes the mask (raises nothing where the mask is shut)."""
    a = _images(2, seed=1)
    content = -a  # maximally different content
    logits = torch.zeros(2, 1, 16, 16, requires_grad=True)
    loss = losses.reconstruction_term(compose(content, torch.sigmoid(logits), a), a)
    assert loss.item() > 0.1
    (grad,) = torch.autograd.grad(loss, logits)
    assert torch.all(grad > 0)  # gradient descent lowers every mask logit
    shut = losses.reconstruction_term(compose(content, torch.zeros(2, 1, 16, 16), a), a)
    assert shut.item() == 0.0


def test_domain_confusion_gradient_reaches_the_encoder_and_fools_the_code_discriminator() -> None:
    nets = build_networks(TINY, 16, 3, seed=0)
    for module in nets.as_dict().values():
        module.eval()
    a, b = _images(4, seed=1), _images(4, seed=2)
    encoder = nets.common_encoder

    def defect_score() -> float:
        with torch.no_grad():
            return nets.code_disc(encoder(b)).mean().item()

    before = defect_score()
    loss = losses.confusion_term(nets.code_disc(encoder(a)), nets.code_disc(encoder(b)))
    loss.backward()
    grads = [p.grad for p in encoder.parameters()]
    assert all(g is not None for g in grads) and sum(g.abs().sum().item() for g in grads) > 0
    with torch.no_grad():
        for p in encoder.parameters():
            p -= 1e-2 * p.grad
    assert defect_score() < before  # C now finds B's codes less defect-like


# --- training, artefacts, resume, reproducibility, transfer ----------------------------------------------------------

def _train(tmp: Path, cfg: MokadyConfig = TINY) -> tuple[Path, Path]:
    out, reports = tmp / "model", tmp / "reports"
    train_model(cfg, _images(16, seed=10), _images(8, seed=11), out, reports, translation="Scratches")
    return out, reports


def _weights(model_dir: Path) -> dict[str, torch.Tensor]:
    states = torch.load(model_dir / "model.pt", weights_only=True)
    return {f"{m}.{k}": v for m, sd in states.items() for k, v in sd.items()}


def _count_steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Wrap the step function so the test can see how many iterations a call really ran."""
    calls: list[int] = []
    original = mokady_train.make_step_fn

    def counting(*args, **kwargs):
        step = original(*args, **kwargs)

        def counted(state):
            calls.append(state.step)
            return step(state)

        return counted

    monkeypatch.setattr(mokady_train, "make_step_fn", counting)
    return calls


def test_train_model_writes_artefacts_and_resumes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_steps(monkeypatch)
    out, reports = _train(tmp_path)
    assert calls == [0, 1, 2]
    for path in (out / "model.pt", out / "config.json", out / CHECKPOINT_NAME, reports / "curves.csv",
                 reports / "samples.png"):
        assert path.is_file(), path
    # 4 references + corner across, references / 4 sources / mask rows down; 16 px tiles shown at 64 px, 2 px pad.
    with Image.open(reports / "samples.png") as grid:
        assert grid.size == (5 * 66 + 2, 6 * 66 + 2)
    config = json.loads((out / "config.json").read_text())
    assert config["translation"] == "Scratches" and config["mokady"]["iterations"] == 3
    assert "device" not in config["mokady"]
    rows = list(csv.DictReader((reports / "curves.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3]
    assert {"recon1_a", "recon1_b", "recon2_a", "recon2_b", "cycle_separate", "dc", "disc_total"} <= set(rows[0])
    checkpoint = torch.load(out / CHECKPOINT_NAME, weights_only=True)
    assert checkpoint["step"] == 3

    # A longer run of the same setting continues at step 3 rather than starting again.
    calls.clear()
    _train(tmp_path, dataclasses.replace(TINY, iterations=5))
    assert calls == [3, 4]
    rows = list(csv.DictReader((reports / "curves.csv").open()))
    assert [int(r["step"]) for r in rows] == [1, 2, 3, 4, 5]
    assert torch.load(out / CHECKPOINT_NAME, weights_only=True)["step"] == 5

    # ... and gives exactly the weights of an uninterrupted 5-step run.
    straight, _ = _train(tmp_path / "straight", dataclasses.replace(TINY, iterations=5))
    a, b = _weights(out), _weights(straight)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_same_seed_same_weights_other_seed_other_weights(tmp_path: Path) -> None:
    first, _ = _train(tmp_path / "one")
    second, _ = _train(tmp_path / "two")
    third, _ = _train(tmp_path / "three", dataclasses.replace(TINY, seed=6))
    a, b, c = _weights(first), _weights(second), _weights(third)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_transfer_is_deterministic_and_batch_independent(tmp_path: Path) -> None:
    out, _ = _train(tmp_path)
    model = load_transfer(out, torch.device("cpu"))
    assert model.image_channels == 3 and model.translation == "Scratches"
    sources, references = _images(5, seed=20), _images(5, seed=21)
    out1, mask1 = model.transfer(sources, references)
    out2, mask2 = model.transfer(sources, references)
    assert torch.equal(out1, out2) and torch.equal(mask1, mask2)
    assert out1.shape == sources.shape and mask1.shape == (5, 1, 16, 16)
    assert out1.abs().max() <= 1 and 0 <= mask1.min() and mask1.max() <= 1
    assert not out1.requires_grad
    singles = [model.transfer(sources[i: i + 1], references[i: i + 1]) for i in range(5)]
    torch.testing.assert_close(torch.cat([s[0] for s in singles]), out1, rtol=0, atol=1e-5)
    torch.testing.assert_close(torch.cat([s[1] for s in singles]), mask1, rtol=0, atol=1e-5)
    # Eval-mode BatchNorm: the result must not be the train-mode (batch-statistics) result.
    other_batch = model.transfer(torch.cat([sources[:1], -sources[1:]]), torch.cat([references[:1], -references[1:]]))
    torch.testing.assert_close(other_batch[0][:1], out1[:1], rtol=0, atol=1e-5)
    # The reference matters: another reference gives another output.
    assert not torch.allclose(model.transfer(sources, references.flip(0))[0], out1)


def test_train_model_grayscale_and_bad_translation(tmp_path: Path) -> None:
    normals, defects = _images(16, channels=1, seed=1), _images(8, channels=1, seed=2)
    with pytest.raises(ValueError, match="translation"):
        train_model(TINY, normals, defects, tmp_path / "m", tmp_path / "r", translation="Cracks")
    train_model(dataclasses.replace(TINY, iterations=1), normals, defects, tmp_path / "m", tmp_path / "r",
                translation="Spots")
    model = load_transfer(tmp_path / "m", torch.device("cpu"))
    out, mask = model.transfer(normals[:2], defects[:2])
    assert model.image_channels == 1 and out.shape == (2, 1, 16, 16) and mask.shape == (2, 1, 16, 16)
