"""Train one DT-GAN ablation variant end to end: data, nets, resumable training, EMA weights, curves, grids and the
discriminator's held-out accuracy (the library side of the `train_gan` stage).

Under torchrun every rank runs :func:`train_variant` with its :class:`~dtgan.distributed.World`; the ranks train
together and rank 0 alone writes the model folder and the reports.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from dtgan.constants import DEFECT_DOMAINS, DOMAIN_INDEX, NORMAL
from dtgan.data.cache import PreparedData, load_prepared
from dtgan.data.split import load_split
from dtgan.data.tensors import images_to_tensor
from dtgan.distributed import SINGLE, World, barrier
from dtgan.gans.dtgan.artefact import save_ema
from dtgan.gans.dtgan.config import GanConfig, LossWeights
from dtgan.gans.dtgan.curves import CURVES_DIR, write_curves
from dtgan.gans.dtgan.diagnostics import classifier_accuracy
from dtgan.gans.dtgan.grids import latent_grid, reference_grid, save_png
from dtgan.gans.dtgan.nets.build import build_nets
from dtgan.gans.dtgan.training.checkpoint import (
    CHECKPOINT_NAME,
    family_code,
    resolved_config,
    save_checkpoint,
    try_resume,
)
from dtgan.gans.dtgan.training.data import GanData, gan_training_data
from dtgan.gans.dtgan.training.loop import TrainingRun, build_run, train
from dtgan.runtime import pick_device, to_device, write_json

log = logging.getLogger(__name__)

GRID_SOURCES_PER_PRODUCT = 2
GRID_LATENT_CODES = 8  # z per source in the latent grids: the defect must differ visibly between them


@dataclass(frozen=True)
class TrainPaths:
    prepared: Path  # output of `prepare`
    splits: Path  # output of `split`
    out: Path  # model folder: ema.pt, config.json, checkpoint.pt
    reports: Path  # curves/, grid PNGs, discriminator.json


def _grid_sources(prepared: PreparedData, pool: pd.DataFrame, fallback: pd.DataFrame, seed: int) -> torch.Tensor:
    """Normal images per product, from the pool (never trained on) when it has them."""
    normals = pool[pool["domain"] == NORMAL]
    if normals.empty:
        normals = fallback[fallback["domain"] == NORMAL]
    picked = normals.groupby("product", sort=True).sample(
        n=GRID_SOURCES_PER_PRODUCT, replace=True, random_state=seed
    )
    return images_to_tensor(prepared.images[picked["cache_index"].to_numpy()], prepared.channels)


def _grid_references(prepared: PreparedData, gan_train: pd.DataFrame, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One defective reference per (defect domain, product) present in the GAN training set."""
    defects = gan_train[gan_train["domain"].isin(DEFECT_DOMAINS)]
    picked = defects.groupby(["domain", "product"], sort=True).sample(n=1, random_state=seed)
    picked = picked.sort_values(["domain", "product"], key=lambda c: c.map(DOMAIN_INDEX) if c.name == "domain" else c)
    images = images_to_tensor(prepared.images[picked["cache_index"].to_numpy()], prepared.channels)
    return images, torch.as_tensor(picked["domain"].map(DOMAIN_INDEX).to_numpy(dtype=np.int64).copy())


def write_grids(run: TrainingRun, cfg: GanConfig, prepared: PreparedData, splits: dict[str, pd.DataFrame],
                reports: Path) -> None:
    """grid_reference.png and grid_latent_<Domain>.png from the EMA networks."""
    for module in (run.ema.generator, run.ema.mapping, run.ema.encoder):
        module.eval()
    sources = _grid_sources(prepared, splits["pool"], splits["gan_train"], cfg.seed)
    references, ref_domains = _grid_references(prepared, splits["gan_train"], cfg.seed)
    save_png(reports / "grid_reference.png", reference_grid(run.ema, sources, references, ref_domains))
    z = torch.randn(GRID_LATENT_CODES, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed))
    for domain in DEFECT_DOMAINS:
        grid = latent_grid(run.ema, sources, DOMAIN_INDEX[domain], z, noise_seed=cfg.seed)
        save_png(reports / f"grid_latent_{domain}.png", grid)


def write_discriminator_report(path: Path, run: TrainingRun, prepared: PreparedData, held_out: pd.DataFrame,
                               product_names: tuple[str, ...]) -> None:
    """D's FG/BG classifier accuracy on the held-out real images (val + test splits, never trained on)."""
    images = to_device(images_to_tensor(prepared.images[held_out["cache_index"].to_numpy()], prepared.channels),
                       run.device)
    domains = torch.as_tensor(held_out["domain"].map(DOMAIN_INDEX).to_numpy(dtype=np.int64).copy(), device=run.device)
    products = torch.as_tensor(held_out["product"].map(list(product_names).index).to_numpy(dtype=np.int64).copy(),
                               device=run.device)
    result = classifier_accuracy(run.nets.discriminator, images, domains, products)
    log.info("D on %d held-out real images: FG accuracy %s (chance %.2f), BG accuracy %s", result["n_images"],
             result["fg_accuracy"], result["fg_chance"], result["bg_accuracy"])
    write_json(path, {"images": "val + test splits (real, never trained on)", **result})


def train_variant(cfg: GanConfig, variant: str, weights: LossWeights, paths: TrainPaths,
                  world: World = SINGLE) -> TrainingRun:
    """Train (or resume) ``variant`` and write the model folder and the reports folder (rank 0)."""
    torch.manual_seed(cfg.seed)  # anything left on the global RNG is seeded too (recorded in the checkpoint)
    np.random.seed(cfg.seed % 2**32)
    prepared = load_prepared(paths.prepared)
    splits = {name: load_split(paths.splits, name) for name in ("gan_train", "pool", "val", "test")}
    data: GanData = gan_training_data(prepared, splits["gan_train"])
    device = world.device(pick_device(cfg.device))
    log.info("variant %s: %d GAN training images of size %d on %s", variant, len(data.domains), data.image_size,
             device)
    nets = build_nets(cfg, variant, data.image_size, data.num_domains, data.num_products, seed=cfg.seed,
                      image_channels=data.image_channels)
    run = build_run(cfg, data, nets, device, world)
    config = resolved_config(cfg, variant, weights, data, world.world_size)
    if world.is_rank0:
        paths.out.mkdir(parents=True, exist_ok=True)
        paths.reports.mkdir(parents=True, exist_ok=True)
    code = family_code()
    try_resume(paths.out / CHECKPOINT_NAME, run, config, cfg, code)

    def on_checkpoint(state: TrainingRun) -> None:
        save_checkpoint(paths.out / CHECKPOINT_NAME, state, config, code)
        if world.is_rank0:
            write_curves(paths.reports / CURVES_DIR, state.history)
        barrier(world)  # no rank runs ahead into the next checkpoint while rank 0 still writes this one

    train(run, cfg, weights, on_checkpoint)
    if world.is_rank0:
        write_outputs(run, cfg, config, prepared, splits, data, paths)
    barrier(world)
    return run


def write_outputs(run: TrainingRun, cfg: GanConfig, config: dict, prepared: PreparedData,
                  splits: dict[str, pd.DataFrame], data: GanData, paths: TrainPaths) -> None:
    """The stage's outputs after training: EMA model, curves, grids, D's held-out accuracy."""
    save_ema(paths.out, run.ema, config)
    write_curves(paths.reports / CURVES_DIR, run.history)
    write_grids(run, cfg, prepared, splits, paths.reports)
    held_out = pd.concat([splits["val"], splits["test"]], ignore_index=True)
    write_discriminator_report(paths.reports / "discriminator.json", run, prepared, held_out, data.product_names)
