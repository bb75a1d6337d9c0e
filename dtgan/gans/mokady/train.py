"""Train one Mokady model (one translation Normal -> defect domain) with the shared resumable loop.

One iteration is the official ``mask_train.py`` loop body: a Normal batch a and a defect batch b, one Adam step of
E_c, E_s, D_A, D_B on the weighted terms of :mod:`dtgan.gans.mokady.losses` (gradients clipped to norm 5), then,
when L_DC is on, one Adam step of the code discriminator C on fresh common codes.

Under torchrun (:mod:`dtgan.gans.shared.training`) each rank draws batch_size / world_size images of a and of b,
and the gradients are averaged over the ranks before clipping (the norm of the global batch's gradient, as one
process clips it) and before each optimiser step.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from dtgan.distributed import SINGLE, World
from dtgan.gans.mokady.config import MokadyConfig, check_geometry
from dtgan.gans.mokady.losses import code_disc_loss, weighted_sum
from dtgan.gans.mokady.nets import MokadyNets, build_networks
from dtgan.gans.mokady.objectives import autoencoder_terms, code_disc_logits, loss_weights
from dtgan.gans.mokady.synthesize import MokadyTransfer, transfer_from_nets
from dtgan.gans.shared.data import BatchSampler
from dtgan.gans.shared.training import (
    CHECKPOINT_NAME,
    TrainingState,
    rank_sampler,
    save_model,
    save_sample_grid,
    sync_gradients,
    train_steps,
    with_world,
    write_history,
)
from dtgan.params import as_dict
from dtgan.runtime import derive_seed, pick_device

log = logging.getLogger(__name__)

FAMILY_ROOT = Path(__file__).resolve().parent  # the code this family's checkpoints record

TRANSLATIONS = ("Scratches", "Spots")
SAVED_MODULES = ("common_encoder", "separate_encoder", "normal_decoder", "mask_decoder")  # C is training-only
GRID_IMAGES = 4  # sources and references in samples.png


def data_fingerprint(normals: Tensor, defects: Tensor) -> str:
    """sha256 of both image sets: a checkpoint trained on other data must not resume."""
    digest = hashlib.sha256()
    for images in (normals, defects):
        digest.update(str(tuple(images.shape)).encode())
        digest.update(images.detach().cpu().float().contiguous().numpy().tobytes())
    return digest.hexdigest()


def model_config(cfg: MokadyConfig, normals: Tensor, defects: Tensor, translation: str) -> dict[str, Any]:
    """What config.json records: the section's result keys, image geometry, translation and the data's identity."""
    return {
        "mokady": as_dict(cfg),
        "image_size": int(normals.shape[-1]),
        "image_channels": int(normals.shape[1]),
        "translation": translation,
        "num_normals": int(normals.shape[0]),
        "num_defects": int(defects.shape[0]),
        "data_sha256": data_fingerprint(normals, defects),
    }


def checkpoint_config(model_cfg: dict[str, Any]) -> dict[str, Any]:
    """The model config without ``iterations``: a longer run of the same setting continues the checkpoint."""
    section = {k: v for k, v in model_cfg["mokady"].items() if k != "iterations"}
    return {**model_cfg, "mokady": section}


def sample_batch(images: Tensor, sampler: BatchSampler, hflip: bool, device: torch.device) -> Tensor:
    """A minibatch drawn by ``sampler``, each image mirrored with probability 1/2 (official RandomHorizontalFlip);
    the flips come from the sampler's generator, so resuming repeats them."""
    batch = images[sampler.next()]
    if hflip:
        flip = torch.rand(batch.shape[0], generator=sampler.generator) < 0.5
        batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
    return batch.to(device)


def make_optimizers(cfg: MokadyConfig, nets: MokadyNets) -> dict[str, torch.optim.Optimizer]:
    """Official: one Adam over E_c, E_s, D_A, D_B and one over C, both with betas (0.5, 0.999)."""
    betas = (cfg.beta1, cfg.beta2)
    return {
        "autoencoder": torch.optim.Adam(nets.autoencoder_parameters(), lr=cfg.lr, betas=betas),
        "code_disc": torch.optim.Adam(nets.code_disc.parameters(), lr=cfg.disc_lr, betas=betas),
    }


def make_step_fn(cfg: MokadyConfig, nets: MokadyNets, normals: Tensor, defects: Tensor, device: torch.device):
    """The shared loop's ``step_fn``: one full iteration (autoencoder update, then code-discriminator update)."""
    weights = loss_weights(cfg)
    ae_params = nets.autoencoder_parameters()

    def step(state: TrainingState) -> dict[str, float]:
        a = sample_batch(normals, state.sampler, cfg.hflip, device)
        b = sample_batch(defects, state.extra_samplers["B"], cfg.hflip, device)
        ae_opt, disc_opt = state.optimizers["autoencoder"], state.optimizers["code_disc"]
        ae_opt.zero_grad(set_to_none=True)
        total, logs = weighted_sum(autoencoder_terms(nets, a, b, weights), weights)
        total.backward()
        sync_gradients(state, ae_params)
        nn.utils.clip_grad_norm_(ae_params, cfg.grad_clip)
        ae_opt.step()
        if weights["dc"] > 0:
            disc_opt.zero_grad(set_to_none=True)
            disc_total, disc_logs = code_disc_loss(*code_disc_logits(nets, a, b))
            disc_total.backward()
            sync_gradients(state, nets.code_disc.parameters())
            nn.utils.clip_grad_norm_(nets.code_disc.parameters(), cfg.grad_clip)
            disc_opt.step()
            logs.update(disc_logs)
        return logs

    return step


def _check_inputs(cfg: MokadyConfig, normals: Tensor, defects: Tensor, translation: str) -> None:
    if translation not in TRANSLATIONS:
        msg = f"translation must be one of {TRANSLATIONS}, got {translation!r}"
        raise ValueError(msg)
    if normals.dim() != 4 or normals.shape[1:] != defects.shape[1:] or normals.shape[-1] != normals.shape[-2]:
        msg = f"normals {tuple(normals.shape)} and defects {tuple(defects.shape)} must be (N, C, S, S) alike"
        raise ValueError(msg)
    check_geometry(cfg, int(normals.shape[-1]), int(normals.shape[1]))


def reference_grid(model: MokadyTransfer, sources: Tensor, references: Tensor) -> Tensor:
    """Tiles of samples.png, (k + 2) rows of k + 1: references on top, sources down the left, cell (i, j) =
    transfer(source_i, reference_j); the last row shows the masks of the first source (white = 1)."""
    k = sources.shape[0]
    blank = torch.ones_like(sources[:1])
    rows = [torch.cat([blank, references])]
    first_masks = None
    for i in range(k):
        outputs, masks = model.transfer(sources[i: i + 1].expand_as(references), references)
        rows.append(torch.cat([sources[i: i + 1], outputs]))
        first_masks = masks if first_masks is None else first_masks
    mask_tiles = (first_masks * 2 - 1).expand(-1, sources.shape[1], -1, -1)
    rows.append(torch.cat([blank, mask_tiles]))
    return torch.cat(rows)


def _grid_picks(images: Tensor) -> Tensor:
    """Up to GRID_IMAGES evenly spaced images (deterministic, spread over the products)."""
    count = min(GRID_IMAGES, images.shape[0])
    return images[torch.linspace(0, images.shape[0] - 1, count).round().long()]


def write_samples(path: Path, model: MokadyTransfer, normals: Tensor, defects: Tensor, device: torch.device) -> None:
    sources, references = _grid_picks(normals).to(device), _grid_picks(defects).to(device)
    count = min(sources.shape[0], references.shape[0])
    grid = reference_grid(model, sources[:count], references[:count])
    save_sample_grid(path, grid.cpu(), nrow=count + 1)


def train_model(cfg: MokadyConfig, normals: Tensor, defects: Tensor, out_dir: Path, reports_dir: Path, *,
                translation: str, world: World = SINGLE) -> TrainingState:
    """Train (or resume) the Normal -> ``translation`` model on ``normals`` (A) and ``defects`` (B), (N, C, H, W)
    in [-1, 1]; writes model.pt + config.json (+ checkpoint.pt) to ``out_dir`` and curves.csv + samples.png to
    ``reports_dir`` (rank 0 under torchrun); returns the
    final training state."""
    _check_inputs(cfg, normals, defects, translation)
    out_dir, reports_dir = Path(out_dir), Path(reports_dir)
    device = world.device(pick_device(cfg.device))
    image_size, image_channels = int(normals.shape[-1]), int(normals.shape[1])
    nets = build_networks(cfg, image_size, image_channels, seed=derive_seed(cfg.seed, "init"))
    modules = {name: module.to(device) for name, module in nets.as_dict().items()}
    log.info("Mokady %s: %s parameters, %d normals, %d defects, %d px", translation, nets.parameter_counts(),
             normals.shape[0], defects.shape[0], image_size)
    state = TrainingState(
        modules=modules,
        optimizers=make_optimizers(cfg, nets),
        sampler=rank_sampler(normals.shape[0], cfg.batch_size, cfg.seed, world, "mokady.batch_size"),
        extra_samplers={"B": rank_sampler(defects.shape[0], cfg.batch_size, derive_seed(cfg.seed, "B"), world,
                                          "mokady.batch_size", stream=1)},
        world=world,
    )
    config = model_config(cfg, normals, defects, translation)
    train_steps(state, make_step_fn(cfg, nets, normals, defects, device), iterations=cfg.iterations,
                log_every=cfg.log_every, checkpoint_every=cfg.checkpoint_every,
                checkpoint_path=out_dir / CHECKPOINT_NAME, config=checkpoint_config(config),
                desc=f"mokady {translation}", family_root=FAMILY_ROOT)
    if not world.is_rank0:
        return state
    save_model(out_dir, {name: modules[name] for name in SAVED_MODULES}, with_world(config, world))
    reports_dir.mkdir(parents=True, exist_ok=True)
    write_history(reports_dir / "curves.csv", state.history)
    model = transfer_from_nets(nets, image_channels, image_size, translation)
    write_samples(reports_dir / "samples.png", model, normals, defects, device)
    return state
