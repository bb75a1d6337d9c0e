"""Train one BigGAN (augment="none") or BigGAN + DiffAugment (augment="diffaug") on class-labelled images.

One iteration, as in BigGAN-PyTorch's training function: ``d_steps`` D updates, each on a fresh real batch and a
fresh fake batch (z ~ N(0, I), fake classes uniform), then one G update on a fresh fake batch (D's weights frozen),
then the EMA update of G. With DiffAugment, D sees the augmented concatenation [fakes, reals] in its step and the
augmented fakes in G's step; every augmentation parameter is per image (see :mod:`dtgan.gans.biggan.diffaugment`).
All randomness (batches, z, fake labels, augmentation) comes from the sampler's seeded generator, which the
checkpoint stores, so a resumed run continues exactly as an uninterrupted one.

Under torchrun (:mod:`dtgan.gans.shared.training`) each rank draws batch_size / world_size reals and fakes and the
gradients are averaged over the ranks before every optimiser step. G's conditional BatchNorm becomes
``SyncBatchNorm`` on GPUs (statistics over the global batch, as one process computes them); PyTorch's SyncBatchNorm
has no CPU implementation, so CPU ranks normalise with their own share's statistics (a small departure from one
process, which the log states).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import torch
from torch import Tensor, nn

from dtgan.distributed import SINGLE, World
from dtgan.gans.biggan.config import BigganConfig
from dtgan.gans.biggan.diffaugment import diff_augment
from dtgan.gans.biggan.losses import discriminator_hinge_loss, generator_hinge_loss
from dtgan.gans.biggan.nets import build_networks, count_parameters, generator_kwargs
from dtgan.gans.biggan.synthesize import FAMILY, BigganSampler
from dtgan.gans.shared.data import LabelledImages
from dtgan.gans.shared.training import (
    CHECKPOINT_NAME,
    TrainingState,
    ema_copy,
    ema_update,
    rank_sampler,
    save_model,
    save_sample_grid,
    sync_gradients,
    train_steps,
    with_world,
    write_history,
)
from dtgan.params import as_dict
from dtgan.runtime import pick_device

log = logging.getLogger(__name__)

FAMILY_ROOT = Path(__file__).resolve().parent  # the code this family's checkpoints record

AUGMENTS = ("none", "diffaug")
ADAM_EPS = 1e-6  # BigGAN-PyTorch's launch scripts pass --adam_eps 1e-6
SAMPLES_PER_CLASS = 8


def augment_policy(augment: str, cfg: BigganConfig) -> str:
    """The DiffAugment policy of a run: the config's when augment = "diffaug", none otherwise."""
    if augment not in AUGMENTS:
        msg = f"augment must be one of {list(AUGMENTS)}, got {augment!r}"
        raise ValueError(msg)
    return cfg.diffaugment_policy if augment == "diffaug" else ""


def _latents(n: int, z_dim: int, num_classes: int, rng: torch.Generator, device: torch.device) -> tuple[Tensor, Tensor]:
    """z (n, z_dim) ~ N(0, I) and fake class labels uniform over the classes, as BigGAN samples them."""
    z = torch.randn(n, z_dim, generator=rng)
    labels = torch.randint(num_classes, (n,), generator=rng)
    return z.to(device), labels.to(device)


def _d_step(state: TrainingState, images: Tensor, labels: Tensor, policy: str, num_classes: int) -> dict[str, float]:
    generator, discriminator = state.modules["generator"], state.modules["discriminator"]
    rng = state.sampler.generator
    index = state.sampler.next().to(images.device)
    real, real_labels = images[index], labels[index]
    z, fake_labels = _latents(real.shape[0], generator.z_dim, num_classes, rng, images.device)
    with torch.no_grad():
        fake = generator(z, fake_labels)
    # One D pass over [fakes, reals], augmented in one call: each image gets its own parameters.
    logits = discriminator(diff_augment(torch.cat([fake, real]), policy, rng), torch.cat([fake_labels, real_labels]))
    fake_logits, real_logits = logits.split([fake.shape[0], real.shape[0]])
    loss, logs = discriminator_hinge_loss(real_logits, fake_logits)
    state.optimizers["discriminator"].zero_grad(set_to_none=True)
    loss.backward()
    sync_gradients(state, discriminator.parameters())
    state.optimizers["discriminator"].step()
    return logs


def _g_step(state: TrainingState, batch_size: int, policy: str, num_classes: int,
            device: torch.device) -> dict[str, float]:
    generator, discriminator = state.modules["generator"], state.modules["discriminator"]
    z, fake_labels = _latents(batch_size, generator.z_dim, num_classes, state.sampler.generator, device)
    # Frozen D: its weight gradients would be discarded anyway (BigGAN's toggle_grads).
    discriminator.requires_grad_(False)
    try:
        fake = diff_augment(generator(z, fake_labels), policy, state.sampler.generator)
        loss, logs = generator_hinge_loss(discriminator(fake, fake_labels))
        state.optimizers["generator"].zero_grad(set_to_none=True)
        loss.backward()
        sync_gradients(state, generator.parameters())
        state.optimizers["generator"].step()
    finally:
        discriminator.requires_grad_(True)
    return logs


def make_step_fn(cfg: BigganConfig, images: Tensor, labels: Tensor, num_classes: int,
                 policy: str) -> Callable[[TrainingState], dict[str, float]]:
    """One full iteration (``d_steps`` D steps, one G step, the EMA update) for :func:`train_steps`."""
    def step(state: TrainingState) -> dict[str, float]:
        d_logs: dict[str, float] = {}
        for _ in range(cfg.d_steps):
            d_logs = _d_step(state, images, labels, policy, num_classes)
        g_logs = _g_step(state, state.sampler.batch_size, policy, num_classes, images.device)  # this rank's share
        # BigGAN-PyTorch counts iterations from 1 and copies G outright before ema_start.
        beta = cfg.ema_beta if state.step + 1 >= cfg.ema_start else 0.0
        ema_update(state.modules["generator_ema"], state.modules["generator"], beta)
        return {**d_logs, **g_logs}  # D's terms of its last step
    return step


def _sync_batchnorm(generator: nn.Module, world: World, device: torch.device) -> nn.Module:
    """G with SyncBatchNorm when data parallel on GPUs (global-batch statistics); unchanged otherwise."""
    if not world.distributed:
        return generator
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(generator)
    if world.is_rank0:
        log.warning("BigGAN on %d CPU processes: BatchNorm statistics per rank (SyncBatchNorm needs GPUs)",
                    world.world_size)
    return generator


def _training_state(cfg: BigganConfig, data: LabelledImages, device: torch.device,
                    world: World = SINGLE) -> TrainingState:
    nets = build_networks(cfg, data.image_size, data.image_channels, data.num_classes, cfg.seed)
    generator = _sync_batchnorm(nets.generator.to(device), world, device)
    discriminator = nets.discriminator.to(device)
    optimizers: dict[str, torch.optim.Optimizer] = {
        "generator": torch.optim.Adam(generator.parameters(), lr=cfg.g_lr, betas=(cfg.beta1, cfg.beta2),
                                      eps=ADAM_EPS),
        "discriminator": torch.optim.Adam(discriminator.parameters(), lr=cfg.d_lr, betas=(cfg.beta1, cfg.beta2),
                                          eps=ADAM_EPS),
    }
    modules: dict[str, nn.Module] = {"generator": generator, "discriminator": discriminator,
                                     "generator_ema": ema_copy(generator)}
    sampler = rank_sampler(int(data.labels.shape[0]), cfg.batch_size, cfg.seed, world, "biggan.batch_size")
    return TrainingState(modules=modules, optimizers=optimizers, sampler=sampler, world=world)


def run_config(cfg: BigganConfig, data: LabelledImages, augment: str) -> dict:
    """What a checkpoint must match to be resumed. ``iterations`` is left out: the schedule is constant, so a run
    asked for more iterations continues the stored one."""
    return {"family": FAMILY, "biggan": as_dict(cfg, exclude=("iterations",)), "augment": augment,
            "data": data.fingerprint()}


def write_samples(path: Path, sampler: BigganSampler) -> None:
    """One row per class, SAMPLES_PER_CLASS columns; column j uses seed j in every row, so a column shows one z
    under every class."""
    num_classes = len(sampler.class_names)
    labels = torch.arange(num_classes).repeat_interleave(SAMPLES_PER_CLASS)
    seeds = list(range(SAMPLES_PER_CLASS)) * num_classes
    save_sample_grid(path, sampler.sample(labels, seeds).cpu(), nrow=SAMPLES_PER_CLASS)


def train_model(cfg: BigganConfig, data: LabelledImages, out_dir: Path, reports_dir: Path, *, augment: str,
                world: World = SINGLE) -> TrainingState:
    """Train (or resume) one model; writes out_dir/{model.pt, config.json, checkpoint.pt} and
    reports_dir/{curves.csv, samples.png} (rank 0 under torchrun); returns the
    final training state."""
    policy = augment_policy(augment, cfg)
    device = world.device(pick_device(cfg.device))
    out_dir, reports_dir = Path(out_dir), Path(reports_dir)
    state = _training_state(cfg, data, device, world)
    images, labels = data.images.to(device), data.labels.to(device)
    log.info("BigGAN (augment=%s, policy=%r): %d images, %d classes, %d iterations on %s", augment, policy,
             images.shape[0], data.num_classes, cfg.iterations, device)
    train_steps(state, make_step_fn(cfg, images, labels, data.num_classes, policy), iterations=cfg.iterations,
                log_every=cfg.log_every, checkpoint_every=cfg.checkpoint_every,
                checkpoint_path=out_dir / CHECKPOINT_NAME, config=run_config(cfg, data, augment),
                desc=f"biggan[{augment}]", family_root=FAMILY_ROOT)
    if not world.is_rank0:
        return state
    # The EMA G keeps the live G's BatchNorm running statistics (ema_update copies buffers); it samples in eval mode.
    generator_ema = state.modules["generator_ema"]
    model_config = {"family": FAMILY, "generator": generator_kwargs(cfg, data.image_size, data.image_channels,
                                                                    data.num_classes),
                    "class_names": list(data.class_names), "image_size": data.image_size,
                    "image_channels": data.image_channels, "augment": augment, "diffaugment_policy": policy,
                    "steps": state.step, "biggan": as_dict(cfg),
                    "parameters": {"generator": count_parameters(generator_ema),
                                   "discriminator": count_parameters(state.modules["discriminator"])}}
    save_model(out_dir, {"generator": generator_ema}, with_world(model_config, world))
    write_history(reports_dir / "curves.csv", state.history)
    write_samples(reports_dir / "samples.png", BigganSampler(generator_ema, data.class_names, data.image_channels,
                                                             data.image_size, device))
    return state
