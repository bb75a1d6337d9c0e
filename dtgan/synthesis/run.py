"""Synthesise a set from Normal source images with any source-conditioned generator family (a :class:`Translator`).

The main set translates the synthesis pool (training normals held back from GAN training, supplement C.1); the
evaluation set translates held-out test normals (protocol.md §5), never seen by the GAN. Images go through the one
synthetic-set writer (:mod:`dtgan.synthesis.manifest`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from dtgan.constants import DEFECT_DOMAINS, NORMAL
from dtgan.data.cache import load_prepared
from dtgan.data.split import load_split
from dtgan.data.tensors import images_to_tensor, tensor_to_uint8
from dtgan.synthesis.config import SynthesisConfig
from dtgan.synthesis.jobs import Job, job_seed, pick_reference, plan_jobs
from dtgan.synthesis.manifest import ManifestWriter
from dtgan.synthesis.masks import binary_masks, soft_masks, to_mask_png

log = logging.getLogger(__name__)

# "val": validation normals, used only to choose settings (benchmarks/bench_gan_quality.py), never reported.
SOURCE_SPLIT = {"main": "pool", "eval": "test", "val": "val"}


Translation = tuple[torch.Tensor, "torch.Tensor | None"]  # (outputs, anchors or None), (B, 3, H, W) in [-1, 1]


class Translator(Protocol):
    """A trained generator that turns source images (B, 3, H, W) in [-1, 1] into target-domain images.

    Each call also returns the outputs' anchors (what the output would be without its defect, e.g. DT-GAN's
    G(x, s, 0)), from which the defect masks are made, or None for a family that has none.
    """

    family: str  # manifest column `family`
    variant: str  # manifest column `variant`
    image_channels: int  # 3, or 1 for a model of grayscale data (its inputs: the grey channel)
    has_latent: bool  # False: reference guidance only (its set has as many images, all reference-guided)

    def latent(self, sources: torch.Tensor, domains: list[str], seeds: list[int]) -> Translation:
        """Latent-guided outputs; every random draw of image i comes from ``seeds[i]``."""

    def reference(self, sources: torch.Tensor, references: torch.Tensor, domains: list[str]) -> Translation:
        """Reference-guided outputs: the defect of ``references[i]`` onto ``sources[i]``."""


def synthesize_set(translator: Translator, cfg: SynthesisConfig, which: str, prepared_dir: Path, splits_dir: Path,
                   out_dir: Path) -> pd.DataFrame:
    """Translate every Normal image of the source split; writes ``images/`` and ``manifest.csv`` to ``out_dir``."""
    prepared = load_prepared(prepared_dir)
    sources = load_split(splits_dir, SOURCE_SPLIT[which])
    sources = sources[sources["domain"] == NORMAL].sort_values("sample_id").reset_index(drop=True)
    references = load_split(splits_dir, "gan_train")
    ref_sets = cfg.reference_sets if which == "main" else ("all",)
    repeats = 1 if which == "main" else cfg.eval_repeats
    jobs = plan_jobs(sources, DEFECT_DOMAINS, ref_sets, repeats, latent=translator.has_latent)
    writer = ManifestWriter(out_dir)
    # Read once for every family, so a matrix stage's params are the same for all its cells; families without an
    # anchor output (variant a) write no masks.
    mask_rule = cfg.mask_threshold
    groups = [[j for j in jobs if (j.mode == "latent") == latent] for latent in (True, False)]
    batches = [g[i:i + cfg.batch_size] for g in groups for i in range(0, len(g), cfg.batch_size)]
    with tqdm(total=len(jobs), desc=f"synthesize ({translator.family} {translator.variant})", unit="img",
              mininterval=2.0) as bar:
        for batch in batches:
            _run_batch(translator, sources, prepared.images, references, batch, cfg.seed, mask_rule, writer)
            bar.update(len(batch))
    manifest = writer.close()
    log.info("%s set: %d images from %d sources -> %s", which, len(manifest), len(sources), out_dir)
    return manifest


@torch.no_grad()
def _run_batch(translator: Translator, sources: pd.DataFrame, images: np.ndarray, references: pd.DataFrame,
               batch: list[Job], seed: int, mask_rule: float | str, writer: ManifestWriter) -> None:
    """One batch of jobs of one mode (all latent or all reference)."""
    src = sources.iloc[[j.source_row for j in batch]]
    seeds = [job_seed(seed, sid, j) for sid, j in zip(src["sample_id"], batch, strict=True)]
    domains = [j.target_domain for j in batch]
    channels = translator.image_channels
    x = images_to_tensor(np.stack([images[int(i)] for i in src["cache_index"]]), channels)
    refs = None
    if batch[0].mode == "latent":
        out, anchors = translator.latent(x, domains, seeds)
    else:
        refs = [pick_reference(references, j, p, s) for j, p, s in zip(batch, src["product"], seeds, strict=True)]
        ref_images = images_to_tensor(np.stack([images[int(r["cache_index"])] for r in refs]), channels)
        out, anchors = translator.reference(x, ref_images, domains)
    arrays = tensor_to_uint8(out)
    masks = None if anchors is None else _masks(arrays, tensor_to_uint8(anchors), mask_rule)
    for k, (job, (_, source)) in enumerate(zip(batch, src.iterrows(), strict=True)):
        writer.add(arrays[k], source_id=source["sample_id"], product=source["product"],
                   target_domain=job.target_domain, mode=job.mode, reference_set=job.reference_set, seed=seeds[k],
                   reference_id=refs[k]["sample_id"] if refs else "", repeat=job.repeat, family=translator.family,
                   variant=translator.variant, stem=source["sample_id"].replace("/", "__"),
                   masks=None if masks is None else (masks[0][k], masks[1][k]))


def _masks(outputs: np.ndarray, anchors: np.ndarray, rule: float | str) -> tuple[np.ndarray, np.ndarray]:
    """Soft and binary mask images (uint8 (N, H, W)) of a batch of outputs and their anchors."""
    soft = soft_masks(outputs, anchors)
    return to_mask_png(soft), to_mask_png(binary_masks(soft, rule))
