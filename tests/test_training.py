"""Training mechanics: sampler, augmentation, EMA, anchor rule, resumable checkpoints and the train_gan stage."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
import yaml

from dtgan.data.cache import load_prepared
from dtgan.data.split import load_split
from dtgan.errors import DataError, ParamsError
from dtgan.gans.dtgan.artefact import load_ema
from dtgan.gans.dtgan.config import GanConfig, LossWeights
from dtgan.gans.dtgan.curves import read_curves
from dtgan.gans.dtgan.nets.blocks import NoiseInjection
from dtgan.gans.dtgan.nets.build import build_nets
from dtgan.gans.dtgan.training import checkpoint
from dtgan.gans.dtgan.training.checkpoint import resolved_config, save_checkpoint, try_resume
from dtgan.gans.dtgan.training.data import gan_training_data
from dtgan.gans.dtgan.training.ema import update_ema
from dtgan.gans.dtgan.training.gradients import gradient_flags
from dtgan.gans.dtgan.training.loop import build_run, train, train_iteration, trainable_only
from dtgan.gans.dtgan.training.objectives import background_terms, warmup_loss
from dtgan.gans.dtgan.training.sampler import GanBatchSampler, augment, crop_box
from dtgan.gans.dtgan.training.schedules import generator_weights, warmup_weights
from dtgan.provenance import code_fingerprint

TINY = {"max_channels": 16, "fg_channels": 4, "style_dim": 8, "latent_dim": 4, "mapping_hidden": 16,
        "batch_size": 2, "warmup_iters": 0, "iterations": 6, "ds_decay_iters": 6, "checkpoint_every": 3,
        "log_every": 2, "device": "cpu", "seed": 5}


CODE = "the code of this test"  # what checkpoints record as their writer (train_variant passes family_code())


def tiny_cfg(**overrides) -> GanConfig:
    return dataclasses.replace(GanConfig(), **{**TINY, **overrides})


@pytest.fixture(scope="module")
def gan_data(tiny_dataset):
    prepared = load_prepared(tiny_dataset["prepared"])
    return gan_training_data(prepared, load_split(tiny_dataset["splits"], "gan_train"))


def _run(cfg: GanConfig, data, variant: str = "e"):
    nets = build_nets(cfg, variant, data.image_size, data.num_domains, data.num_products, seed=cfg.seed)
    return build_run(cfg, data, nets, torch.device("cpu"))


def test_sampler_is_class_balanced_and_references_match_target():
    domains = np.array([0] * 90 + [1] * 8 + [2] * 2)  # heavily imbalanced, like SDI
    images = torch.arange(100, dtype=torch.float32)[:, None, None, None].expand(100, 3, 4, 4).clone()
    sampler = GanBatchSampler(images, domains, np.zeros(100, int), 3, 300, 2, randcrop_prob=0.0, seed=0)
    batch = sampler.next_batch()
    freq = np.bincount(batch.y.numpy(), minlength=3) / 300
    assert np.all(np.abs(freq - 1 / 3) < 0.1), freq
    ref_rows = batch.x_ref[:, 0, 0, 0].long()  # pixel value = row index (flip keeps constant images)
    assert torch.equal(torch.as_tensor(domains)[ref_rows], batch.y_trg)
    assert torch.equal(torch.as_tensor(domains)[batch.x_ref2[:, 0, 0, 0].long()], batch.y_trg)


def test_sampler_rejects_missing_domain():
    with pytest.raises(DataError, match=r"no Spots image"):
        GanBatchSampler(torch.zeros(4, 3, 4, 4), np.array([0, 0, 1, 1]), np.zeros(4, int), 3, 2, 2, 0.5, 0)


def test_augmentation_is_seeded_and_crops_within_bounds():
    g = torch.Generator().manual_seed(1)
    for _ in range(50):
        top, left, h, w = crop_box(32, 32, g)
        assert 0 <= top and top + h <= 32 and 0 <= left and left + w <= 32
        assert 0.8 * 1024 * 0.9 <= h * w <= 1024
    images = torch.randn(4, 3, 16, 16)
    a = augment(images, torch.Generator().manual_seed(3), 0.5)
    b = augment(images, torch.Generator().manual_seed(3), 0.5)
    assert torch.equal(a, b) and a.shape == images.shape
    flipped_only = augment(images, torch.Generator().manual_seed(3), 0.0)
    for out, src in zip(flipped_only, images, strict=True):
        assert torch.equal(out, src) or torch.equal(out, src.flip(-1))


def test_ema_update_formula():
    live = dataclasses.make_dataclass("N", ["generator", "mapping", "encoder"])(
        torch.nn.Linear(2, 2), torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    ema = dataclasses.make_dataclass("N", ["generator", "mapping", "encoder"])(
        torch.nn.Linear(2, 2), torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    before = ema.generator.weight.detach().clone()
    update_ema(live, ema, 0.9)
    expected = 0.9 * before + 0.1 * live.generator.weight.detach()
    assert torch.allclose(ema.generator.weight, expected)


def test_anchor_rule_zeroes_normal_defect_codes():
    cfg = tiny_cfg()
    nets = build_nets(cfg, "e", 32, 3, 3, seed=0)
    y = torch.tensor([0, 1, 2, 0])
    _, d_m = nets.mapping(torch.randn(4, cfg.latent_dim), y)
    _, d_e = nets.encoder(torch.randn(4, 3, 32, 32), y)
    for code in (d_m, d_e):
        assert code[y == 0].abs().max() == 0 and code[y != 0].abs().max() > 0


def test_trainable_only_restores_flags(gan_data):
    run = _run(tiny_cfg(), gan_data)
    with trainable_only(run.nets, ("generator",)):
        assert not any(p.requires_grad for p in run.nets.discriminator.parameters())
        assert all(p.requires_grad for p in run.nets.generator.parameters())
    assert all(p.requires_grad for p in run.nets.discriminator.parameters())


def test_gradient_flags_restore_each_parameter_own_flag_also_after_an_error():
    module = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 2))
    module[0].bias.requires_grad_(False)  # a mixed module: restored per parameter, not per module
    before = [p.requires_grad for p in module.parameters()]
    with pytest.raises(RuntimeError, match="inside"), gradient_flags([(module, True)]):
        assert all(p.requires_grad for p in module.parameters())
        raise RuntimeError("inside")
    assert [p.requires_grad for p in module.parameters()] == before


def test_variant_a_logs_inactive_terms_as_zero(gan_data):
    cfg = tiny_cfg()
    losses = train_iteration(_run(cfg, gan_data, "a"), cfg, LossWeights())
    for phase in ("g_latent", "g_reference"):
        assert losses[f"{phase}/fg"] == 0 and losses[f"{phase}/bg"] == 0 and losses[f"{phase}/d_rec"] == 0
        assert losses[f"{phase}/cyc"] > 0 and losses[f"{phase}/ds"] > 0
    assert losses["d_latent/fg"] == 0 and losses["d_latent/r1"] >= 0


def test_variant_e_logs_all_terms(gan_data):
    cfg = tiny_cfg()
    losses = train_iteration(_run(cfg, gan_data), cfg, LossWeights())
    for key in ("g_latent/fg", "g_latent/bg", "g_latent/d_rec", "d_latent/fg", "d_latent/bg"):
        assert losses[key] > 0, key
    assert all(np.isfinite(v) for v in losses.values())


class _Killed(Exception):
    pass


def _state_tensors(run) -> dict[str, torch.Tensor]:
    out = {}
    for group, nets in (("nets", run.nets), ("ema", run.ema)):
        for name in ("generator", "mapping", "encoder", "discriminator"):
            module = getattr(nets, name)
            if module is not None:
                out.update({f"{group}.{name}.{k}": v for k, v in module.state_dict().items()})
    return out


def test_warmup_trains_g_e_and_d_classifiers_but_not_m(gan_data):
    cfg = tiny_cfg(warmup_iters=2, iterations=1)
    run = _run(cfg, gan_data)
    before = {name: _params(getattr(run.nets, name)) for name in ("generator", "mapping", "encoder", "discriminator")}
    losses = [train_iteration(run, cfg, LossWeights()) for _ in range(2)]
    assert run.step == 2 and all(set(step) == {"warmup/cyc", "warmup/d_rec", "warmup/fg", "warmup/bg", "warmup/imle",
                                               "warmup/clean", "warmup/keep", "warmup/total"} for step in losses)
    assert torch.equal(before["mapping"], _params(run.nets.mapping))  # M only learns adversarially
    for name in ("generator", "encoder", "discriminator"):
        assert not torch.equal(before[name], _params(getattr(run.nets, name))), name
    # D's real/fake head is not trained in the warm-up: only its FG/BG classifiers and the shared trunk are.
    assert torch.equal(_head(before["discriminator"], run), run.nets.discriminator.logits.weight.detach().flatten())
    gan_step = train_iteration(run, cfg, LossWeights())
    assert gan_step["lambda_ds"] == LossWeights().lambda_ds  # the λ_ds schedule starts after the warm-up


def test_lambda_imle_trains_m_in_the_warmup_and_logs_its_term(gan_data):
    cfg, weights = tiny_cfg(warmup_iters=1, iterations=1), LossWeights(lambda_imle=1.0)
    run = _run(cfg, gan_data)
    before = _params(run.nets.mapping)
    warm = train_iteration(run, cfg, weights)
    assert warm["warmup/imle"] > 0 and not torch.equal(before, _params(run.nets.mapping))
    gan_step = train_iteration(run, cfg, weights)
    assert gan_step["g_latent/imle"] > 0 and gan_step["g_reference/imle"] == 0  # latent step only


def test_lambda_anchor_in_the_warmup_uses_the_references_codes(gan_data):
    # batch 12 of a class-balanced sampler: Normal sources in it (the anchor term needs them)
    cfg, weights = tiny_cfg(warmup_iters=1, iterations=1, batch_size=12), LossWeights(lambda_anchor=1.0)
    run = _run(cfg, gan_data)
    assert train_iteration(run, cfg, weights)["warmup/anchor"] > 0
    batch = run.sampler.next_batch()
    with pytest.raises(ValueError, match="needs the references' codes"):
        warmup_loss(run.nets, batch, warmup_weights(weights), keep_trim=cfg.keep_trim)


def _params(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def _head(flat_before: torch.Tensor, run) -> torch.Tensor:
    """The real/fake head's weights inside a flat parameter vector of the discriminator taken before training."""
    offset = 0
    for p in run.nets.discriminator.parameters():
        if p is run.nets.discriminator.logits.weight:
            return flat_before[offset : offset + p.numel()]
        offset += p.numel()
    raise AssertionError("logits.weight not found")


# The CPU default's phase switches: the GAN phase's optimisers differ from the warm-up's (fresh moments, and G's
# background path in its own Adam group), so a run resumed after the switch must rebuild them before loading them.
PHASE_SWITCHES = {"warmup_lr": 1e-3, "warmup_resets_optimizers": True, "background_lr": 1e-4, "fg_relative": True}


@pytest.mark.parametrize("switches", [{}, PHASE_SWITCHES],
                         ids=["paper", "cpu_default_switches"])
def test_resume_is_bit_identical(gan_data, tmp_path, switches):
    # The kill at step 3 falls after the 2 warm-up steps: resuming crosses into the GAN phase.
    cfg, weights = tiny_cfg(warmup_iters=2, iterations=4, **switches), LossWeights()
    config = resolved_config(cfg, "e", weights, gan_data)
    straight = _run(cfg, gan_data)
    train(straight, cfg, weights, on_checkpoint=lambda run: None)

    def save_then_die(run):
        save_checkpoint(tmp_path / "checkpoint.pt", run, config, CODE)
        raise _Killed

    first = _run(cfg, gan_data)
    with pytest.raises(_Killed):
        train(first, cfg, weights, on_checkpoint=save_then_die)
    assert first.step == 3
    resumed = _run(cfg, gan_data)
    assert try_resume(tmp_path / "checkpoint.pt", resumed, config, cfg, CODE) and resumed.step == 3
    train(resumed, cfg, weights, on_checkpoint=lambda run: None)
    a, b = _state_tensors(straight), _state_tensors(resumed)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not torch.equal(a[k], b[k])][:5]
    assert straight.history == resumed.history and len(straight.history) == 3


def test_checkpoint_with_other_config_is_ignored(gan_data, tmp_path):
    cfg, weights = tiny_cfg(), LossWeights()
    run = _run(cfg, gan_data)
    save_checkpoint(tmp_path / "c.pt", run, resolved_config(cfg, "e", weights, gan_data), CODE)
    other = resolved_config(tiny_cfg(lr=3e-4), "e", weights, gan_data)
    assert not try_resume(tmp_path / "c.pt", _run(cfg, gan_data), other, cfg, CODE)
    assert try_resume(tmp_path / "c.pt", _run(cfg, gan_data), resolved_config(cfg, "e", weights, gan_data), cfg, CODE)


def test_checkpoint_written_by_other_code_is_ignored(gan_data, tmp_path):
    # DVC keeps the persisted checkpoint when the training code changes: resuming it would re-emit the old model.
    cfg, weights = tiny_cfg(), LossWeights()
    config = resolved_config(cfg, "e", weights, gan_data)
    save_checkpoint(tmp_path / "c.pt", _run(cfg, gan_data), config, CODE)
    assert try_resume(tmp_path / "c.pt", _run(cfg, gan_data), config, cfg, CODE)
    assert not try_resume(tmp_path / "c.pt", _run(cfg, gan_data), config, cfg, "other code")


def test_checkpoint_fingerprint_is_the_whole_family_package():
    assert checkpoint.FAMILY_ROOT.name == "dtgan" and (checkpoint.FAMILY_ROOT / "nets" / "generator.py").is_file()
    assert checkpoint.family_code() == code_fingerprint(checkpoint.FAMILY_ROOT)

def test_checkpoint_from_other_data_is_ignored(gan_data, tmp_path):
    # DVC keeps the persisted checkpoint when the dataset or split changes: it must not be resumed then.
    cfg, weights = tiny_cfg(), LossWeights()
    run = _run(cfg, gan_data)
    save_checkpoint(tmp_path / "c.pt", run, resolved_config(cfg, "e", weights, gan_data), CODE)
    images = gan_data.images.clone()
    images[0, 0, 0, 0] += 0.01  # one pixel of one image
    changed = dataclasses.replace(gan_data, images=images)
    assert changed.fingerprint() != gan_data.fingerprint()
    assert not try_resume(tmp_path / "c.pt", _run(cfg, changed), resolved_config(cfg, "e", weights, changed), cfg,
                          CODE)
    relabelled = dataclasses.replace(gan_data, domains=gan_data.domains[::-1].copy())
    assert relabelled.fingerprint() != gan_data.fingerprint()


def _stage_params(tiny_dataset, tmp_path, **gan):
    params = yaml.safe_load(tiny_dataset["params"].read_text())
    params["gan"] = {**params.get("gan", {}), **TINY, "iterations": 2, "ds_decay_iters": 2, **gan}
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_train_gan_stage_outputs_and_load_ema(tiny_dataset, tmp_path):
    from stages import train_gan

    params = _stage_params(tiny_dataset, tmp_path)
    out, reports = tmp_path / "models", tmp_path / "reports"
    argv = ["--params", str(params), "--prepared", str(tiny_dataset["prepared"]), "--splits",
            str(tiny_dataset["splits"]), "--variant", "c", "--out", str(out), "--reports", str(reports)]
    train_gan.main(argv)
    for name in ("ema.pt", "config.json", "checkpoint.pt"):
        assert (out / name).is_file(), name
    for name in ("curves/plots/metrics/g_latent/cyc.tsv", "grid_reference.png", "grid_latent_Scratches.png",
                 "grid_latent_Spots.png"):
        assert (reports / name).is_file(), name
    config = json.loads((out / "config.json").read_text())
    assert config["variant"] == "c" and config["image_size"] == 32
    assert "device" not in config["gan"] and "checkpoint_every" not in config["gan"]  # not result keys
    assert config["domains"] == ["Normal", "Scratches", "Spots"] and config["products"] == ["A", "B", "C"]
    assert set(torch.load(out / "ema.pt", weights_only=True)) == {"generator", "mapping", "encoder"}
    nets, loaded = load_ema(out)
    assert loaded == config
    x = torch.zeros(2, 3, 32, 32)
    style, defect = nets.encoder(x, torch.tensor([1, 2]))
    assert nets.generator(x, style, defect).shape == x.shape
    curves = read_curves(reports / "curves")
    assert curves.columns[0] == "step" and {"g_latent/cyc", "lambda_ds"} <= set(curves.columns)
    assert curves["step"].tolist() == [2]  # log_every 2 over the stage params' 2 iterations (no warm-up)
    mtime = (out / "ema.pt").stat().st_mtime_ns
    train_gan.main(argv)  # finished checkpoint with the same config: nothing retrained, same weights
    nets2, _ = load_ema(out)
    assert all(torch.equal(a, b) for a, b in zip(nets.generator.state_dict().values(),
                                                 nets2.generator.state_dict().values(), strict=True))
    assert (out / "ema.pt").stat().st_mtime_ns >= mtime


def test_train_gan_stage_rejects_bad_variant(tiny_dataset, tmp_path):
    from stages import train_gan

    params = _stage_params(tiny_dataset, tmp_path)
    with pytest.raises(SystemExit) as exit_info:  # argparse: "--variant: invalid choice: 'f'"
        train_gan.main(["--params", str(params), "--prepared", "x", "--splits", "y", "--variant", "f",
                        "--out", str(tmp_path / "o"), "--reports", str(tmp_path / "r")])
    assert exit_info.value.code == 2


def test_grid_tiles_enlarge_small_images_by_pixel_repetition():
    from dtgan.gans.dtgan.grids import MIN_TILE, PAD, tile

    image = np.arange(32 * 32 * 3, dtype=np.uint8).reshape(32, 32, 3)
    grid = tile([[None, image]], 32)
    factor = MIN_TILE // 32
    assert grid.shape == (PAD + 32 * factor + PAD, 2 * (32 * factor + PAD) + PAD, 3)
    shown = grid[PAD : PAD + 32 * factor, 2 * PAD + 32 * factor : 2 * PAD + 64 * factor]
    assert np.array_equal(shown[::factor, ::factor], image)  # every generated pixel, unchanged
    assert np.array_equal(shown[1::factor, 1::factor], image)
    assert (grid[PAD : PAD + 32 * factor, PAD : PAD + 32 * factor] == 255).all()  # the empty corner


def test_gan_phase_gets_fresh_optimisers_and_its_own_background_lr(gan_data):
    cfg = tiny_cfg(warmup_iters=2, iterations=2, lr=1e-3, **PHASE_SWITCHES)
    run = _run(cfg, gan_data)
    assert [g["lr"] for g in run.optimizers["generator"].param_groups] == [1e-3]  # warm-up: warmup_lr, one group
    train(run, cfg, LossWeights(), on_checkpoint=lambda r: None)
    groups = run.optimizers["generator"].param_groups
    assert [g["lr"] for g in groups] == [cfg.background_lr, cfg.lr]
    fg = {id(p) for p in run.nets.generator.fg_decode.parameters()}
    assert {id(p) for p in groups[1]["params"]} == fg and not fg & {id(p) for p in groups[0]["params"]}
    # fresh moments: Adam's step count restarted at the GAN phase (2 GAN iterations x 2 G steps, not 2 + 4)
    steps = {int(s["step"]) for s in run.optimizers["generator"].state.values()}
    assert max(steps) <= 2 * cfg.iterations


def test_background_lr_without_optimiser_reset_is_rejected(gan_data):
    cfg = tiny_cfg(warmup_iters=2, iterations=2, background_lr=1e-4)
    with pytest.raises(ParamsError, match="gan.background_lr needs gan.warmup_resets_optimizers"):
        _run(cfg, gan_data)


def test_noise_init_sets_every_noise_weight_of_m(gan_data):
    nets = _run(tiny_cfg(noise_init=0.25), gan_data).nets
    weights = [m.weight for m in nets.mapping.modules() if isinstance(m, NoiseInjection)]
    assert weights and all(torch.all(w == 0.25) for w in weights)


def test_background_terms_train_g_background_path_through_a_frozen_d(gan_data):
    cfg = tiny_cfg(fg_relative=True, batch_size=12)  # class-balanced batch of 12: defect and Normal sources
    run = _run(cfg, gan_data)
    batch = run.sampler.next_batch()
    generator, discriminator = run.nets.generator, run.nets.discriminator
    weights = warmup_weights(LossWeights(lambda_clean=1.0, lambda_keep=1.0))
    terms = background_terms(run.nets, batch, generator.encode_features(batch.x), weights, keep_trim=0.25)
    (terms["clean"] + terms["keep"]).backward()
    assert terms["clean"] > 0 and terms["keep"] > 0
    assert all(p.grad is None for p in discriminator.parameters())  # D's classifiers learn from real images only
    assert all(p.requires_grad for p in discriminator.parameters())  # and D trains again after the terms
    assert any(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in generator.bg_decode.parameters())
    assert all(p.grad is None for p in generator.fg_decode.parameters())  # the background path alone
    normal = batch.y == 0
    only_normal = dataclasses.replace(batch, y=batch.y[normal], x=batch.x[normal])
    features = generator.encode_features(only_normal.x)
    assert background_terms(run.nets, only_normal, features, weights, 0.25) == {"clean": None, "keep": None}
    off = warmup_weights(LossWeights())
    assert background_terms(run.nets, batch, generator.encode_features(batch.x), off, 0.25) == {"clean": None,
                                                                                                  "keep": None}


def test_background_terms_reuse_an_anchor_output_made_by_the_translations_pass(gan_data):
    # generator_loss hands over G(x, s, 0) of the whole batch from decode_each: the terms equal their own pass's.
    run = _run(tiny_cfg(fg_relative=True, batch_size=12), gan_data)
    batch = run.sampler.next_batch()
    weights = generator_weights(LossWeights(lambda_clean=1.0, lambda_keep=1.0), 0, 10)
    with torch.no_grad():
        features = run.nets.generator.encode_features(batch.x)
        own = background_terms(run.nets, batch, features, weights, 0.25)
        given = background_terms(run.nets, batch, features, weights, 0.25,
                                 anchor=run.nets.generator.background_output(features))
        shifted = background_terms(run.nets, batch, features, weights, 0.25,
                                   anchor=run.nets.generator.background_output(features) + 0.5)
    assert own.keys() == given.keys() == {"clean", "keep"}
    for name in own:
        torch.testing.assert_close(given[name], own[name], rtol=1e-4, atol=1e-6)
    assert shifted["keep"] > own["keep"]  # the anchor handed over is the one the terms read, not recomputed


def test_background_terms_need_the_background_path_alone(gan_data):
    # Without fg_relative (and in a-c) G(x, s, 0) is not the background path: the terms stay off there.
    cfg = tiny_cfg(fg_relative=False, batch_size=12)
    run = _run(cfg, gan_data)
    batch = run.sampler.next_batch()
    weights = generator_weights(LossWeights(lambda_clean=1.0, lambda_keep=1.0), 0, 10)
    features = run.nets.generator.encode_features(batch.x)
    assert background_terms(run.nets, batch, features, weights, 0.25) == {"clean": None, "keep": None}


def test_lambda_clean_and_keep_are_logged_in_the_warmup_and_both_g_steps(gan_data):
    cfg = tiny_cfg(warmup_iters=1, iterations=1, batch_size=12, fg_relative=True)
    weights = LossWeights(lambda_clean=1.0, lambda_keep=1.0)
    run = _run(cfg, gan_data)
    warm = train_iteration(run, cfg, weights)
    assert warm["warmup/clean"] > 0 and warm["warmup/keep"] > 0
    gan_step = train_iteration(run, cfg, weights)
    for phase in ("g_latent", "g_reference"):
        assert gan_step[f"{phase}/clean"] > 0 and gan_step[f"{phase}/keep"] > 0
    assert train_iteration(_run(cfg, gan_data), cfg, LossWeights())["warmup/clean"] == 0  # off: logged as 0


def test_dihedral_moves_are_off_by_default_and_reach_all_eight_orientations():
    from dtgan.gans.dtgan.training.sampler import augment

    image = torch.arange(16.0).view(1, 1, 4, 4).expand(64, 3, 4, 4).contiguous()
    plain = augment(image, torch.Generator().manual_seed(3), 0.0)
    assert torch.equal(plain, augment(image, torch.Generator().manual_seed(3), 0.0, 0.0))  # the paper's draws
    moved = augment(image, torch.Generator().manual_seed(3), 0.0, 1.0)
    assert len({tuple(m[0].flatten().tolist()) for m in moved}) == 8
    assert torch.equal(moved, augment(image, torch.Generator().manual_seed(3), 0.0, 1.0))  # seeded
