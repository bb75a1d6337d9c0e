"""The StarGAN v2 training scheme for DT-GAN (spec §6, §8.2): two D steps, two G steps and an EMA update per iteration.

Optionally preceded by ``gan.warmup_iters`` non-adversarial warm-up steps (objectives.warmup_loss; 0 in the paper
profile). The step counter runs over both phases; the λ_ds schedule counts GAN iterations only.

Per GAN iteration: D step with latent codes; D step with reference codes; G step with latent codes updating G, M and E;
G step with reference codes updating G only; then EMA of G, M, E. Only the modules a step updates keep
``requires_grad`` during it, which saves backward work without changing the result (StarGAN v2 zeroes the other
gradients before their next use anyway).

Data parallel (torchrun, dtgan/distributed.py): every rank runs this same loop on its own share of the batch and
the gradients of the modules a step updates are averaged over the ranks before the optimiser step, so every rank
takes the same step and keeps the same weights and EMA. The averaging is done here rather than by wrapping each
net in DistributedDataParallel because DDP's hooks do not fit the phase structure: G, M and E are run through
methods other than ``forward`` (encode_features / decode / split), several times before one backward, so DDP's
per-forward bookkeeping never sees most of the calls; the modules a phase does not update have their
``requires_grad`` switched off, which DDP would only accept with ``find_unused_parameters=True`` (an extra graph
walk every step); and R1's ``autograd.grad(create_graph=True)`` is a double backward DDP does not support. One
flattened all-reduce per updated module per phase moves the same bytes as DDP's buckets, without the overlap of
communication and backward (measure before caring: the nets are small).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm import tqdm

from dtgan.distributed import (
    SINGLE,
    World,
    average_floats,
    average_gradients,
    broadcast_module,
    per_rank_batch,
    rank_seed,
)
from dtgan.errors import ParamsError
from dtgan.gans.dtgan.config import GanConfig, LossWeights
from dtgan.gans.dtgan.training.compile import compile_blocks
from dtgan.gans.dtgan.training.data import GanData
from dtgan.gans.dtgan.training.ema import update_ema
from dtgan.gans.dtgan.training.gradients import gradient_flags
from dtgan.gans.dtgan.training.objectives import (
    Codes,
    discriminator_fakes,
    discriminator_loss,
    generator_loss,
    latent_codes,
    mapping_imle_loss,
    reference_codes,
    warmup_loss,
)
from dtgan.gans.dtgan.training.precision import autocast, grad_scaler
from dtgan.gans.dtgan.training.sampler import GanBatchSampler
from dtgan.gans.dtgan.training.schedules import discriminator_weights, generator_weights, warmup_weights
from dtgan.runtime import to_device

log = logging.getLogger(__name__)

MODULES: tuple[str, ...] = ("generator", "mapping", "encoder", "discriminator")
PHASES: tuple[str, ...] = ("d_latent", "d_reference", "g_latent", "g_reference")


@dataclass
class TrainingRun:
    """Everything that changes during training (and therefore goes into a checkpoint)."""

    nets: Any
    ema: Any
    optimizers: dict[str, torch.optim.Optimizer]
    sampler: GanBatchSampler
    noise_generator: torch.Generator
    device: torch.device
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    world: World = SINGLE  # this process among the data-parallel ranks (one process without torchrun)
    amp: str = "none"  # gan.amp
    scaler: torch.amp.GradScaler | None = None  # gan.amp: fp16 only
    pending: dict[str, float] = field(default_factory=dict)  # sums since the last logged row
    pending_count: int = 0


def _param_groups(nets: Any, name: str, cfg: GanConfig, lr: float, warmup: bool = False) -> list[dict]:
    """One group per module; M's defect branches get their own group when gan.defect_branch_lr is set, and G's
    background path (encoder, background decoder, fusion) its own when gan.background_lr is set (GAN phase)."""
    module = getattr(nets, name)
    if name == "generator" and cfg.background_lr is not None and not warmup and module.separate_decoding:
        background = [p for n, p in module.named_parameters() if not n.startswith("fg_decode.")]
        foreground = list(module.fg_decode.parameters())
        return [{"params": background, "lr": cfg.background_lr}, {"params": foreground, "lr": lr}]
    if name != "mapping":
        return [{"params": list(module.parameters()), "lr": lr}]
    branches = getattr(module, "defect_branches", None)
    if cfg.defect_branch_lr is None or branches is None:
        return [{"params": list(module.parameters()), "lr": cfg.f_lr}]
    branch_ids = {id(p) for p in branches.parameters()}
    rest = [p for p in module.parameters() if id(p) not in branch_ids]
    return [{"params": rest, "lr": cfg.f_lr}, {"params": list(branches.parameters()), "lr": cfg.defect_branch_lr}]


def build_optimizers(nets: Any, cfg: GanConfig, warmup: bool = False) -> dict[str, torch.optim.Optimizer]:
    """Adam per module: f_lr for the mapping network (defect_branch_lr for its conv branches), lr for G, E, D
    (gan.warmup_lr during the warm-up, when set)."""
    lr = cfg.warmup_lr if warmup and cfg.warmup_lr is not None else cfg.lr
    return {
        # fused: one kernel per step instead of a loop over the parameters (the same Adam update)
        name: torch.optim.Adam(
            _param_groups(nets, name, cfg, lr, warmup), betas=(cfg.beta1, cfg.beta2), weight_decay=cfg.weight_decay,
            fused=True,
        )
        for name in MODULES
    }


def start_gan_phase(run: TrainingRun, cfg: GanConfig) -> None:
    """At the first GAN iteration after a warm-up: fresh Adam moments (gan.warmup_resets_optimizers), or the GAN
    phase's lr in the warm-up's optimisers (gan.warmup_lr)."""
    if cfg.warmup_resets_optimizers:
        run.optimizers = build_optimizers(run.nets, cfg)
        return
    for name, optimizer in run.optimizers.items():
        if name != "mapping":
            for group in optimizer.param_groups:
                group["lr"] = cfg.lr


def build_run(cfg: GanConfig, data: GanData, nets: Any, device: torch.device, world: World = SINGLE) -> TrainingRun:
    """A fresh run: nets (already built and initialised) on ``device``, their EMA copies, optimisers and samplers.

    Under torchrun each rank samples its own batch_size / world_size images from its own seeded streams (rank 0's
    are the single-process ones, see distributed.rank_seed) and starts from rank 0's weights."""
    nets = _move(nets, device)
    for name in MODULES:
        broadcast_module(getattr(nets, name), world)
    ema = _move(nets.ema_copy(), device)
    sampler = GanBatchSampler(
        data.images, data.domains, data.products, data.num_domains, per_rank_batch(cfg.batch_size, world),
        cfg.latent_dim, cfg.randcrop_prob, seed=rank_seed(cfg.seed, world, stream=0), dihedral_prob=cfg.dihedral_prob,
    )
    # M's per-pixel noise is drawn on the device, from its own recorded generator (seed offset keeps it apart).
    noise_generator = torch.Generator(device=device).manual_seed(rank_seed(cfg.seed + 1, world, stream=1))
    if cfg.background_lr is not None and cfg.warmup_iters > 0 and not cfg.warmup_resets_optimizers:
        msg = "gan.background_lr needs gan.warmup_resets_optimizers: true (its Adam groups start with the GAN phase)"
        raise ParamsError(msg)
    optimizers = build_optimizers(nets, cfg, warmup=cfg.warmup_iters > 0)
    compile_blocks([getattr(nets, name) for name in MODULES], cfg.compile)  # after the EMA copy: training only
    return TrainingRun(nets, ema, optimizers, sampler, noise_generator, device, world=world, amp=cfg.amp,
                       scaler=grad_scaler(cfg.amp, device))


def _move(nets: Any, device: torch.device) -> Any:
    for name in MODULES:
        module = getattr(nets, name, None)
        if module is not None:
            to_device(module, device)
    return nets


def trainable_only(nets: Any, names: tuple[str, ...]) -> contextlib.AbstractContextManager[None]:
    """Within the block only modules in ``names`` record parameter gradients."""
    return gradient_flags([(getattr(nets, name), name in names) for name in MODULES])


def _optimise(run: TrainingRun, names: tuple[str, ...], loss_fn: Callable[[], tuple[torch.Tensor, dict]]) -> dict:
    """One optimiser step of the modules ``names`` on ``loss_fn``'s total; returns its logged values, averaged over
    the ranks."""
    with trainable_only(run.nets, names):
        for optimizer in run.optimizers.values():
            optimizer.zero_grad(set_to_none=True)
        with autocast(run.amp, run.device):
            total, logged = loss_fn()
        (total if run.scaler is None else run.scaler.scale(total)).backward()
        # Averaged while still scaled (fp16): an inf on any rank reaches every rank, so all of them skip the step.
        average_gradients([getattr(run.nets, name) for name in names], run.world)
        for name in names:
            if run.scaler is None:
                run.optimizers[name].step()
            else:
                run.scaler.step(run.optimizers[name])
        if run.scaler is not None:
            run.scaler.update()
    return average_floats(logged, run.world)


def _imle_term(run: TrainingRun, cfg: GanConfig, batch: Any, weights: LossWeights,
               targets: Codes) -> torch.Tensor | None:
    """lambda_imle's term of this step on the references' E codes ``targets``, or None when it is off (the paper)."""
    if not weights.lambda_imle:
        return None
    return mapping_imle_loss(run.nets, batch, targets, cfg.imle_samples, run.noise_generator)


def warmup_iteration(run: TrainingRun, cfg: GanConfig, weights: LossWeights) -> dict[str, float]:
    """One warm-up step (G, E and D's classifiers, see objectives.warmup_loss) and the EMA update."""
    batch = run.sampler.next_batch().to(run.device)
    reference = None
    if weights.lambda_imle or weights.lambda_anchor:  # one E pass over the references serves both terms
        with torch.no_grad():
            reference = run.nets.encoder(batch.x_ref, batch.y_trg)
    names = ("generator", "encoder", "discriminator") + (("mapping",) if weights.lambda_imle else ())
    logged = _optimise(run, names, lambda: warmup_loss(run.nets, batch, warmup_weights(weights),
                                                       _imle_term(run, cfg, batch, weights, reference), reference,
                                                       keep_trim=cfg.keep_trim))
    update_ema(run.nets, run.ema, cfg.ema_beta)
    run.step += 1
    return {f"warmup/{k}": v for k, v in logged.items()}


def train_iteration(run: TrainingRun, cfg: GanConfig, weights: LossWeights) -> dict[str, float]:
    """One step at ``run.step`` (warm-up or GAN); returns the flat loss dict (``<phase>/<term>``), advances the step."""
    if run.step < cfg.warmup_iters:
        return warmup_iteration(run, cfg, weights)
    if run.step == cfg.warmup_iters > 0:
        start_gan_phase(run, cfg)
    nets, batch = run.nets, run.sampler.next_batch().to(run.device)
    d_w = discriminator_weights(weights, cfg.lambda_reg)
    g_w = generator_weights(weights, run.step - cfg.warmup_iters, cfg.ds_decay_iters)
    with torch.no_grad():  # D steps need one code each (StarGAN v2: z_trg and x_ref, not z_trg2 / x_ref2)
        lat_codes = nets.mapping(batch.z1, batch.y_trg, noise_generator=run.noise_generator)
        ref_codes = nets.encoder(batch.x_ref, batch.y_trg)  # D's steps change neither E nor G: made once, up front
    with autocast(run.amp, run.device):  # as if made inside each D step's autocast
        lat_fake, ref_fake = discriminator_fakes(nets.generator, batch.x, [lat_codes, ref_codes])
    d_lat = _optimise(run, ("discriminator",), lambda: discriminator_loss(nets, batch, lat_codes, d_w, lat_fake))
    d_ref = _optimise(run, ("discriminator",), lambda: discriminator_loss(nets, batch, ref_codes, d_w, ref_fake))
    g_lat = _optimise(
        run, ("generator", "mapping", "encoder"),
        # E is unchanged since ref_codes (only D stepped), so they are the IMLE targets without a second E pass.
        lambda: generator_loss(nets, batch, latent_codes(nets, batch, run.noise_generator), g_w,
                               _imle_term(run, cfg, batch, weights, ref_codes), keep_trim=cfg.keep_trim),
    )
    g_ref = _optimise(run, ("generator",), lambda: generator_loss(nets, batch, reference_codes(nets, batch), g_w,
                                                                  keep_trim=cfg.keep_trim))
    update_ema(nets, run.ema, cfg.ema_beta)
    run.step += 1
    flat = {"lambda_ds": g_w["ds"]}
    for phase, logged in zip(PHASES, (d_lat, d_ref, g_lat, g_ref), strict=True):
        flat.update({f"{phase}/{k}": v for k, v in logged.items()})
    return flat


def _record(run: TrainingRun, losses: dict[str, float], log_every: int, force: bool) -> None:
    """Average losses over each ``log_every`` block into one history row (``step`` = iterations done)."""
    for key, value in losses.items():
        run.pending[key] = run.pending.get(key, 0.0) + value
    run.pending_count += 1
    if run.step % log_every == 0 or force:
        row = {"step": float(run.step)}
        row.update({k: v / run.pending_count for k, v in run.pending.items()})
        run.history.append(row)
        run.pending, run.pending_count = {}, 0


def _postfix(losses: dict[str, float]) -> dict[str, str]:
    """Progress-bar summary: reconstruction during the warm-up, D/G totals, cycle and diversity afterwards."""
    if "warmup/total" in losses:
        return {"warmup": "", "rec": f"{losses['warmup/cyc']:.3f}", "D_cls": f"{losses['warmup/fg']:.3f}"}
    return {"D": f"{losses['d_latent/total']:.3f}", "G": f"{losses['g_latent/total']:.3f}",
            "cyc": f"{losses['g_latent/cyc']:.3f}", "ds": f"{losses['g_latent/ds']:.3f}"}


def train(
    run: TrainingRun, cfg: GanConfig, weights: LossWeights, on_checkpoint: Callable[[TrainingRun], None]
) -> None:
    """Run from ``run.step`` to ``cfg.total_steps``; ``on_checkpoint`` runs every checkpoint_every and at the end."""
    total = cfg.total_steps
    if run.step >= total:
        log.info("training already complete (%d/%d steps)", run.step, total)
        return
    bar = tqdm(range(run.step, total), initial=run.step, total=total, desc="train_gan", disable=not run.world.is_rank0)
    for _ in bar:
        losses = train_iteration(run, cfg, weights)
        # A row never mixes the two phases: the last warm-up block is logged even when shorter than log_every.
        _record(run, losses, cfg.log_every, force=run.step in (cfg.warmup_iters, total))
        if run.step % cfg.log_every == 0:
            bar.set_postfix(_postfix(losses))
        if run.step % cfg.checkpoint_every == 0 or run.step == total:
            on_checkpoint(run)
