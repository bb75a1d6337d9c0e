"""Stage train_gan: train one DT-GAN ablation variant and write its EMA nets, loss curves and sample grids.

python -m stages.train_gan --params params.yaml --prepared data/prepared --splits data/splits --variant e \
    --out models/gan/e --reports reports/gan/e

Resumes from ``<out>/checkpoint.pt`` when it was written with the same resolved config.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from dtgan.constants import DEFECT_DOMAINS, DOMAIN_INDEX, NORMAL
from dtgan.params import load_section, load_top_level, read_params
from dtgan.runtime import pick_device, setup_logging, write_json, write_text
from dtgan.training.checkpoint import CHECKPOINT_NAME, resolved_config, save_checkpoint, save_ema, try_resume
from dtgan.training.config import GanConfig, LossWeights
from dtgan.training.data import GanData, gan_training_data
from dtgan.training.diagnostics import classifier_accuracy
from dtgan.training.grids import latent_grid, reference_grid, save_png
from dtgan.training.loop import TrainingRun, build_run, train

log = logging.getLogger(__name__)

GRID_SOURCES_PER_PRODUCT = 2
GRID_LATENT_CODES = 6


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="params file (sections gan + top-level lambda_*)")
    parser.add_argument("--prepared", required=True, help="output folder of the prepare stage")
    parser.add_argument("--splits", required=True, help="output folder of the split stage")
    parser.add_argument("--variant", default=None, help="ablation variant a-e (default: gan.variant)")
    parser.add_argument("--out", required=True, help="model folder: ema.pt, config.json, checkpoint.pt")
    parser.add_argument("--reports", required=True,
                        help="report folder: losses.tsv, grid PNGs, discriminator.json")
    return parser.parse_args(argv)


def load_config(params_path: str, variant: str | None) -> tuple[GanConfig, LossWeights]:
    """The validated gan section (variant overridden from the command line, validated the same way) + λ weights."""
    params = dict(read_params(params_path))
    if variant is not None and isinstance(params.get("gan"), dict):
        params["gan"] = {**params["gan"], "variant": variant}
    return load_section(GanConfig, params, "gan"), load_top_level(LossWeights, params, "params")


def write_losses(path: Path, history: list[dict[str, float]]) -> None:
    """Per-loss training curves: one row per logged block, ``step`` first (a DVC plot)."""
    frame = pd.DataFrame(history)
    if "step" in frame:
        frame["step"] = frame["step"].astype(int)
    write_text(path, frame.to_csv(sep="\t", index=False, float_format="%.6g"))


def _grid_sources(prepared: Any, pool: pd.DataFrame, fallback: pd.DataFrame, seed: int) -> torch.Tensor:
    """Normal images per product, from the pool (never trained on) when it has them."""
    from dtgan.data import images_to_tensor

    normals = pool[pool["domain"] == NORMAL]
    if normals.empty:
        normals = fallback[fallback["domain"] == NORMAL]
    picked = normals.groupby("product", sort=True).sample(
        n=GRID_SOURCES_PER_PRODUCT, replace=True, random_state=seed
    )
    return images_to_tensor(prepared.images[picked["cache_index"].to_numpy()])


def _grid_references(prepared: Any, gan_train: pd.DataFrame, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One defective reference per (defect domain, product) present in the GAN training set."""
    from dtgan.data import images_to_tensor

    defects = gan_train[gan_train["domain"].isin(DEFECT_DOMAINS)]
    picked = defects.groupby(["domain", "product"], sort=True).sample(n=1, random_state=seed)
    picked = picked.sort_values(["domain", "product"], key=lambda c: c.map(DOMAIN_INDEX) if c.name == "domain" else c)
    images = images_to_tensor(prepared.images[picked["cache_index"].to_numpy()])
    return images, torch.as_tensor(picked["domain"].map(DOMAIN_INDEX).to_numpy(dtype=np.int64).copy())


def write_grids(
    run: TrainingRun, cfg: GanConfig, prepared: Any, splits: dict[str, pd.DataFrame], reports: Path
) -> None:
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


def write_discriminator_report(path: Path, run: TrainingRun, prepared: Any, held_out: pd.DataFrame,
                               product_names: tuple[str, ...]) -> None:
    """D's FG/BG classifier accuracy on the held-out real images (val + test splits, never trained on)."""
    from dtgan.data import images_to_tensor

    images = images_to_tensor(prepared.images[held_out["cache_index"].to_numpy()]).to(run.device)
    domains = torch.as_tensor(held_out["domain"].map(DOMAIN_INDEX).to_numpy(dtype=np.int64).copy(), device=run.device)
    products = torch.as_tensor(held_out["product"].map(list(product_names).index).to_numpy(dtype=np.int64).copy(),
                               device=run.device)
    result = classifier_accuracy(run.nets.discriminator, images, domains, products)
    log.info("D on %d held-out real images: FG accuracy %s (chance %.2f), BG accuracy %s", result["n_images"],
             result["fg_accuracy"], result["fg_chance"], result["bg_accuracy"])
    write_json(path, {"images": "val + test splits (real, never trained on)", **result})


def run_stage(
    cfg: GanConfig, weights: LossWeights, prepared_dir: str, splits_dir: str, out: Path, reports: Path
) -> None:
    from dtgan.data import load_prepared, load_split
    from dtgan.models.build import build_nets

    prepared = load_prepared(prepared_dir)
    splits = {name: load_split(splits_dir, name) for name in ("gan_train", "pool", "val", "test")}
    data: GanData = gan_training_data(prepared, splits["gan_train"])
    device = pick_device(cfg.device)
    log.info("variant %s: %d GAN training images of size %d on %s", cfg.variant, len(data.domains),
             data.image_size, device)
    nets = build_nets(cfg, data.image_size, data.num_domains, data.num_products, seed=cfg.seed)
    run = build_run(cfg, data, nets, device)
    config = resolved_config(cfg, weights, data)
    try_resume(out / CHECKPOINT_NAME, run, config)

    def on_checkpoint(state: TrainingRun) -> None:
        save_checkpoint(out / CHECKPOINT_NAME, state, config)
        write_losses(reports / "losses.tsv", state.history)

    train(run, cfg, weights, on_checkpoint)
    save_ema(out, run, config)
    write_losses(reports / "losses.tsv", run.history)
    write_grids(run, cfg, prepared, splits, reports)
    held_out = pd.concat([splits["val"], splits["test"]], ignore_index=True)
    write_discriminator_report(reports / "discriminator.json", run, prepared, held_out, data.product_names)


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    args = parse_args(argv)
    cfg, weights = load_config(args.params, args.variant)
    torch.manual_seed(cfg.seed)  # anything left on the global RNG is seeded too (recorded in the checkpoint)
    np.random.seed(cfg.seed % 2**32)
    out, reports = Path(args.out), Path(args.reports)
    out.mkdir(parents=True, exist_ok=True)
    reports.mkdir(parents=True, exist_ok=True)
    run_stage(cfg, weights, args.prepared, args.splits, out, reports)


if __name__ == "__main__":
    main()
