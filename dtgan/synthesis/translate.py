"""Translate normal images into defect domains with a trained (EMA) DT-GAN: latent- and reference-guided.

Every output has its own recorded seed, derived from (synthesis seed, source id, target domain, mode, repeat):
the latent code z, the noise of the mapping network and the choice of reference are drawn from it, so the same
params give byte-identical images whatever the batch size or the pool size.
"""

from __future__ import annotations

import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from tqdm import tqdm

from dtgan.constants import DOMAIN_INDEX
from dtgan.data.tensors import images_to_tensor, tensor_to_uint8

log = logging.getLogger(__name__)

# sha256 of the PNG file: the classifier manifests carry it, so a cell reruns (DVC) exactly when its images change.
MANIFEST_COLUMNS = ("synth_id", "source_id", "product", "target_domain", "mode", "reference_set", "seed",
                    "reference_id", "variant", "path", "sha256")


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from any parts (independent of Python's per-process hash salt)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


@dataclass(frozen=True)
class Job:
    """One output image: which source, into which domain, how guided."""

    source_row: int  # row in the sources table
    target_domain: str
    mode: str  # "latent" or "reference"
    reference_set: str  # "" for latent
    repeat: int


def plan_jobs(sources: pd.DataFrame, domains: tuple[str, ...], reference_sets: tuple[str, ...],
              repeats: int = 1) -> list[Job]:
    """Per source: for each defect domain one latent output and one per reference set (x ``repeats``)."""
    jobs = []
    for row in range(len(sources)):
        for repeat in range(repeats):
            for domain in domains:
                jobs.append(Job(row, domain, "latent", "", repeat))
                jobs += [Job(row, domain, "reference", ref_set, repeat) for ref_set in reference_sets]
    return jobs


def reference_candidates(references: pd.DataFrame, domain: str, source_product: str, ref_set: str) -> pd.DataFrame:
    """Reference images of ``domain`` allowed by the set: all products, the same product, or one named product."""
    pool = references[references["domain"] == domain]
    if ref_set == "same":
        pool = pool[pool["product"] == source_product]
    elif ref_set != "all":
        pool = pool[pool["product"] == ref_set]
    if pool.empty:
        msg = (f"no {domain} reference images for reference set {ref_set!r} (source product {source_product!r}) "
               "in the GAN training split; change synthesis.reference_sets")
        raise ValueError(msg)
    return pool.sort_values("sample_id")


def job_seed(base_seed: int, source_id: str, job: Job) -> int:
    return derive_seed(base_seed, source_id, job.target_domain, job.mode, job.reference_set, job.repeat)


def _latent_codes(mapping: torch.nn.Module, seeds: list[int], y: torch.Tensor, latent_dim: int,
                  device: torch.device) -> tuple[torch.Tensor, torch.Tensor | None]:
    """One mapping-network call per output, each with its own generator (z and noise), so batching never matters."""
    styles, defects = [], []
    for seed, yi in zip(seeds, y, strict=True):
        gen = torch.Generator(device=device).manual_seed(seed)
        z = torch.randn(1, latent_dim, generator=gen, device=device)
        style, defect = mapping(z, yi.view(1), noise_generator=gen)
        styles.append(style)
        defects.append(defect)
    return torch.cat(styles), None if defects[0] is None else torch.cat(defects)


def _pick_reference(references: pd.DataFrame, job: Job, product: str, seed: int) -> pd.Series:
    candidates = reference_candidates(references, job.target_domain, product, job.reference_set)
    return candidates.iloc[int(np.random.default_rng(seed).integers(len(candidates)))]


@dataclass(frozen=True)
class Translator:
    """EMA nets plus what is needed to run them."""

    generator: torch.nn.Module
    mapping: torch.nn.Module
    encoder: torch.nn.Module
    latent_dim: int
    device: torch.device


@torch.no_grad()
def translate_batch(tr: Translator, x: torch.Tensor, jobs: list[Job], seeds: list[int],
                    ref_images: torch.Tensor | None) -> torch.Tensor:
    """Outputs for one batch of jobs (all latent or all reference)."""
    y = torch.tensor([DOMAIN_INDEX[j.target_domain] for j in jobs], device=tr.device)
    if jobs[0].mode == "latent":
        style, defect = _latent_codes(tr.mapping, seeds, y, tr.latent_dim, tr.device)
    else:
        style, defect = tr.encoder(ref_images.to(tr.device), y)
    return tr.generator(x.to(tr.device), style, defect)


def _output_path(out_dir: Path, product: str, job: Job, source_id: str) -> Path:
    mode = job.mode if job.mode == "latent" else f"reference_{job.reference_set}"
    stem = source_id.replace("/", "__")
    return out_dir / product / job.target_domain / mode / f"{stem}_r{job.repeat}.png"


def run_translation(tr: Translator, sources: pd.DataFrame, images: np.ndarray, references: pd.DataFrame,
                    jobs: list[Job], base_seed: int, variant: str, out_dir: Path, batch_size: int) -> pd.DataFrame:
    """Translate all jobs, streaming PNGs to ``out_dir``; returns the manifest (one row per image)."""
    rows: list[dict] = []
    groups = [[j for j in jobs if (j.mode == "latent") == latent] for latent in (True, False)]
    batches = [g[i:i + batch_size] for g in groups for i in range(0, len(g), batch_size)]
    with tqdm(total=len(jobs), desc=f"synthesize ({variant})", unit="img", mininterval=2.0) as bar:
        for batch in batches:
            rows += _run_batch(tr, sources, images, references, batch, base_seed, variant, out_dir)
            bar.update(len(batch))
    return pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))


def _run_batch(tr: Translator, sources: pd.DataFrame, images: np.ndarray, references: pd.DataFrame,
               batch: list[Job], base_seed: int, variant: str, out_dir: Path) -> list[dict]:
    src = sources.iloc[[j.source_row for j in batch]]
    seeds = [job_seed(base_seed, sid, j) for sid, j in zip(src["sample_id"], batch, strict=True)]
    refs = None
    if batch[0].mode == "reference":
        refs = [_pick_reference(references, j, p, s) for j, p, s in zip(batch, src["product"], seeds, strict=True)]
        ref_images = images_to_tensor(np.stack([images[int(r["cache_index"])] for r in refs]))
    x = images_to_tensor(np.stack([images[int(i)] for i in src["cache_index"]]))
    out = tensor_to_uint8(translate_batch(tr, x, batch, seeds, ref_images if refs else None))
    rows = []
    for k, (job, (_, source)) in enumerate(zip(batch, src.iterrows(), strict=True)):
        path = _output_path(out_dir, source["product"], job, source["sample_id"])
        path.parent.mkdir(parents=True, exist_ok=True)
        png = io.BytesIO()
        Image.fromarray(out[k]).save(png, format="PNG")
        path.write_bytes(png.getvalue())
        rows.append({"synth_id": str(path.relative_to(out_dir).with_suffix("")), "source_id": source["sample_id"],
                     "product": source["product"], "target_domain": job.target_domain, "mode": job.mode,
                     "reference_set": job.reference_set, "seed": seeds[k],
                     "reference_id": refs[k]["sample_id"] if refs else "", "variant": variant, "path": str(path),
                     "sha256": hashlib.sha256(png.getvalue()).hexdigest()})
    return rows
