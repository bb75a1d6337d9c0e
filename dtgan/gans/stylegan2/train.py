"""Train one class-conditional StyleGAN2 (augment="none") or StyleGAN2 + ADA (augment="ada").

One iteration follows the phases of StyleGAN2-ADA's training loop: a G step (non-saturating loss on a fresh fake
batch, D frozen), a D step (logistic loss on a real batch and a fresh fake batch), every ``r1_interval``-th
iteration a separate R1 step on the same real batch (lazy regularisation, with D's Adam lr and betas rescaled by
interval / (interval + 1) as the official loop does), then the EMA update of G and, every ``ada_interval``
iterations, the ADA adjustment of p. Fake class labels are drawn from the training labels (so they follow the
class frequencies, as the official loop samples them). With ADA every image D sees, real or fake and in G, D and R1
steps, is augmented (:mod:`dtgan.gans.stylegan2.augment`).

G has no lazy regulariser here (no path-length term, see :mod:`dtgan.gans.stylegan2.losses`), so its Adam uses the
plain lr and betas. All randomness (batches, z, noise maps, fake labels, augmentations) comes from the sampler's
seeded generator, which the checkpoint stores, so a resumed run continues exactly as an uninterrupted one.

Under torchrun (:mod:`dtgan.gans.shared.training`) each rank draws batch_size / world_size reals and as many fakes,
gradients are averaged over the ranks before every optimiser step, and ADA's sign statistic is the ranks' mean (as
the official loop all-reduces it), so p stays the same on every rank.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from dtgan.distributed import SINGLE, World
from dtgan.gans.shared.data import LabelledImages
from dtgan.gans.shared.training import (
    CHECKPOINT_NAME,
    TrainingState,
    ema_update,
    rank_sampler,
    save_model,
    save_sample_grid,
    sync_floats,
    sync_gradients,
    train_steps,
    with_world,
    write_history,
)
from dtgan.gans.stylegan2.augment import ada_adjust, augment
from dtgan.gans.stylegan2.build import build_networks, generator_kwargs, parameter_count
from dtgan.gans.stylegan2.config import Stylegan2Config
from dtgan.gans.stylegan2.losses import (
    discriminator_loss,
    generator_loss,
    lazy_r1_loss,
    r1_penalty,
    real_sign_mean,
)
from dtgan.gans.stylegan2.synthesize import FAMILY, GENERATOR_KEY, Stylegan2Sampler
from dtgan.params import as_dict
from dtgan.runtime import pick_device, to_device

log = logging.getLogger(__name__)

FAMILY_ROOT = Path(__file__).resolve().parent  # the code this family's checkpoints record

AUGMENTS = ("none", "ada")
ADAM_EPS = 1e-8  # official
SAMPLES_PER_CLASS = 8
# Training state kept in TrainingState.extra (floats, stored in the checkpoint): ADA's p, the running sum and count
# of D(real) signs since the last adjustment, the last r_t, and the last R1 penalty (for the curves).
INITIAL_EXTRA = {"ada_p": 0.0, "sign_sum": 0.0, "sign_count": 0.0, "ada_rt": 0.0, "r1_penalty": 0.0}


def check_augment(augment: str) -> None:
    if augment not in AUGMENTS:
        msg = f"augment must be one of {list(AUGMENTS)}, got {augment!r}"
        raise ValueError(msg)


def make_optimizers(cfg: Stylegan2Config, generator: nn.Module, discriminator: nn.Module) -> dict:
    """Adam for G; for D with lr and betas rescaled for lazy R1: R1 steps are extra optimiser steps, and the
    official loop scales lr by c = interval / (interval + 1) and each beta to beta**c to keep the step size."""
    ratio = cfg.r1_interval / (cfg.r1_interval + 1)
    betas = (cfg.beta1, cfg.beta2)
    return {
        "generator": torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=betas, eps=ADAM_EPS),
        "discriminator": torch.optim.Adam(
            discriminator.parameters(), lr=cfg.lr * ratio, betas=(betas[0] ** ratio, betas[1] ** ratio), eps=ADAM_EPS
        ),
    }


def ema_beta(batch_size: int, images_seen: int, ema_kimg: float, ema_rampup: float | None) -> float:
    """Per-iteration EMA decay for a half-life of ``ema_kimg`` thousand images, capped at ``ema_rampup`` times the
    images seen so far (early on the EMA would otherwise average over the random initialisation)."""
    half_life = ema_kimg * 1000.0
    if ema_rampup is not None:
        half_life = min(half_life, images_seen * ema_rampup)
    return 0.5 ** (batch_size / max(half_life, 1e-8))


def _fakes(state: TrainingState, labels: Tensor, batch: int, with_grad: bool) -> tuple[Tensor, Tensor]:
    """A fresh fake batch and its labels (drawn from the training labels), all from the run's generator."""
    generator, rng = state.modules["generator"], state.sampler.generator
    fake_labels = labels[torch.randint(labels.shape[0], (batch,), generator=rng).to(labels.device)]
    z, noise = generator.draw_inputs(batch, rng)
    device = labels.device
    with torch.set_grad_enabled(with_grad):
        fake = generator(z.to(device), fake_labels, [n.to(device) for n in noise])
    return fake, fake_labels


def _generator_step(state: TrainingState, labels: Tensor, batch: int, p: float) -> dict[str, float]:
    discriminator, rng = state.modules["discriminator"], state.sampler.generator
    discriminator.requires_grad_(False)  # D's weight gradients would be thrown away
    try:
        fake, fake_labels = _fakes(state, labels, batch, with_grad=True)
        loss, logs = generator_loss(discriminator(augment(fake, p, rng), fake_labels))
        state.optimizers["generator"].zero_grad(set_to_none=True)
        loss.backward()
        sync_gradients(state, state.modules["generator"].parameters())
        state.optimizers["generator"].step()
    finally:
        discriminator.requires_grad_(True)
    return logs


def _discriminator_step(
    state: TrainingState, real: Tensor, real_labels: Tensor, labels: Tensor, p: float
) -> tuple[dict[str, float], float]:
    """One D step; also returns mean sign(D(real)) for ADA."""
    discriminator, rng = state.modules["discriminator"], state.sampler.generator
    fake, fake_labels = _fakes(state, labels, real.shape[0], with_grad=False)
    fake_logits = discriminator(augment(fake, p, rng), fake_labels)
    real_logits = discriminator(augment(real, p, rng), real_labels)
    loss, logs = discriminator_loss(real_logits, fake_logits)
    state.optimizers["discriminator"].zero_grad(set_to_none=True)
    loss.backward()
    sync_gradients(state, discriminator.parameters())
    state.optimizers["discriminator"].step()
    return logs, sync_floats(state, {"sign": real_sign_mean(real_logits)})["sign"]


def _r1_step(state: TrainingState, real: Tensor, real_labels: Tensor, p: float, cfg: Stylegan2Config) -> float:
    """The lazy R1 step (official "Dreg" phase): gradient w.r.t. the un-augmented reals through the augmentation."""
    discriminator, rng = state.modules["discriminator"], state.sampler.generator
    real = real.detach().requires_grad_(True)
    penalty = r1_penalty(discriminator(augment(real, p, rng), real_labels), real)
    loss, _ = lazy_r1_loss(penalty, cfg.r1_gamma, cfg.r1_interval)
    state.optimizers["discriminator"].zero_grad(set_to_none=True)
    loss.backward()  # R1's double backward stays inside the rank; only the resulting weight gradients are averaged
    sync_gradients(state, discriminator.parameters())
    state.optimizers["discriminator"].step()
    return sync_floats(state, {"r1": penalty.item()})["r1"]  # logged: the ranks' mean


def _ada_bookkeeping(state: TrainingState, sign: float, cfg: Stylegan2Config, adaptive: bool) -> None:
    """Accumulate sign(D(real)); every ``ada_interval`` iterations turn it into r_t and (with ADA) adjust p."""
    extra = state.extra
    extra["sign_sum"] += sign
    extra["sign_count"] += 1.0
    if (state.step + 1) % cfg.ada_interval != 0:
        return
    extra["ada_rt"] = extra["sign_sum"] / extra["sign_count"]
    extra["sign_sum"] = extra["sign_count"] = 0.0
    if adaptive:
        extra["ada_p"] = ada_adjust(
            extra["ada_p"],
            extra["ada_rt"],
            target=cfg.ada_target,
            batch_size=cfg.batch_size,
            interval=cfg.ada_interval,
            ada_kimg=cfg.ada_kimg,
        )


def make_step_fn(
    cfg: Stylegan2Config, images: Tensor, labels: Tensor, augment_mode: str
) -> Callable[[TrainingState], dict[str, float]]:
    """One full iteration (G step, D step, lazy R1 step, EMA, ADA) for :func:`train_steps`."""
    check_augment(augment_mode)

    def step(state: TrainingState) -> dict[str, float]:
        p = state.extra["ada_p"] if augment_mode == "ada" else 0.0
        index = state.sampler.next().to(images.device)
        real, real_labels = images[index], labels[index]
        logs = _generator_step(state, labels, state.sampler.batch_size, p)  # this rank's share of the batch
        d_logs, sign = _discriminator_step(state, real, real_labels, labels, p)
        logs.update(d_logs)
        if cfg.r1_gamma > 0 and state.step % cfg.r1_interval == 0:
            state.extra["r1_penalty"] = _r1_step(state, real, real_labels, p, cfg)
        beta = ema_beta(cfg.batch_size, (state.step + 1) * cfg.batch_size, cfg.ema_kimg, cfg.ema_rampup)
        ema_update(state.modules["generator_ema"], state.modules["generator"], beta)
        _ada_bookkeeping(state, sign, cfg, adaptive=augment_mode == "ada")
        extra = state.extra
        return {
            **logs,
            "real_sign": sign,
            "r1_penalty": extra["r1_penalty"],
            "ada_rt": extra["ada_rt"],
            "ada_p": extra["ada_p"],
        }

    return step


def run_config(cfg: Stylegan2Config, data: LabelledImages, augment_mode: str) -> dict:
    """What a checkpoint must match to be resumed. ``iterations`` is left out: nothing depends on the run's length
    (no schedule), so a run asked for more iterations continues the stored one."""
    return {
        "family": FAMILY,
        "stylegan2": as_dict(cfg, exclude=("iterations",)),
        "augment": augment_mode,
        "data": data.fingerprint(),
    }


def training_state(cfg: Stylegan2Config, data: LabelledImages, device: torch.device,
                   world: World = SINGLE) -> TrainingState:
    nets = build_networks(cfg, data.image_size, data.image_channels, data.num_classes, cfg.seed)
    nets = {name: to_device(net, device) for name, net in nets.items()}
    optimizers = make_optimizers(cfg, nets["generator"], nets["discriminator"])
    sampler = rank_sampler(int(data.labels.shape[0]), cfg.batch_size, cfg.seed, world, "stylegan2.batch_size")
    return TrainingState(modules=nets, optimizers=optimizers, sampler=sampler, extra=dict(INITIAL_EXTRA),
                         world=world)


def write_samples(path: Path, sampler: Stylegan2Sampler) -> None:
    """One row per class, SAMPLES_PER_CLASS columns; column j uses seed j in every row (one z under every class)."""
    num_classes = len(sampler.class_names)
    labels = torch.arange(num_classes).repeat_interleave(SAMPLES_PER_CLASS)
    seeds = list(range(SAMPLES_PER_CLASS)) * num_classes
    save_sample_grid(path, sampler.sample(labels, seeds).cpu(), nrow=SAMPLES_PER_CLASS)


def train_model(cfg: Stylegan2Config, data: LabelledImages, out_dir: Path, reports_dir: Path, *, augment: str,
                world: World = SINGLE) -> TrainingState:
    """Train (or resume) one model; writes out_dir/{model.pt, config.json, checkpoint.pt} and
    reports_dir/{curves.csv, samples.png} (rank 0 under torchrun); returns the
    final training state."""
    check_augment(augment)
    device = world.device(pick_device(cfg.device))
    out_dir, reports_dir = Path(out_dir), Path(reports_dir)
    state = training_state(cfg, data, device, world)
    images, labels = to_device(data.images, device), data.labels.to(device)
    log.info(
        "StyleGAN2 (augment=%s): %d images, %d classes, %d iterations on %s",
        augment,
        images.shape[0],
        data.num_classes,
        cfg.iterations,
        device,
    )
    train_steps(
        state,
        make_step_fn(cfg, images, labels, augment),
        iterations=cfg.iterations,
        log_every=cfg.log_every,
        checkpoint_every=cfg.checkpoint_every,
        checkpoint_path=out_dir / CHECKPOINT_NAME,
        config=run_config(cfg, data, augment),
        desc=f"stylegan2[{augment}]",
        family_root=FAMILY_ROOT,
    )
    if not world.is_rank0:
        return state
    generator_ema = state.modules["generator_ema"]
    model_config = {
        "family": FAMILY,
        "generator": generator_kwargs(cfg, data.image_size, data.image_channels, data.num_classes),
        "class_names": list(data.class_names),
        "image_size": data.image_size,
        "image_channels": data.image_channels,
        "augment": augment,
        "ada_p": state.extra["ada_p"],
        "steps": state.step,
        "stylegan2": as_dict(cfg),
        "parameters": {
            "generator": parameter_count(generator_ema),
            "discriminator": parameter_count(state.modules["discriminator"]),
        },
    }
    save_model(out_dir, {GENERATOR_KEY: generator_ema}, with_world(model_config, world))
    write_history(reports_dir / "curves.csv", state.history)
    sampler = Stylegan2Sampler(generator_ema, data.class_names, data.image_channels, data.image_size, device)
    write_samples(reports_dir / "samples.png", sampler)
    log.info("StyleGAN2 (augment=%s): final ADA p %.3f, r_t %.3f", augment, state.extra["ada_p"], state.extra["ada_rt"])
    return state
