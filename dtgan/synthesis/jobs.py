"""What to synthesise from a set of Normal source images: one job per output image, each with its own seed.

Per source: for each defect domain one latent-guided output and one reference-guided output per reference set,
``repeats`` times. A job's seed is derived from (synthesis seed, source id, target domain, mode, reference set,
repeat), so the latent code, the generator's noise and the choice of reference never depend on batching or on
which other sources are in the set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dtgan.errors import DataError
from dtgan.runtime import derive_seed


@dataclass(frozen=True)
class Job:
    """One output image: which source, into which domain, how guided."""

    source_row: int  # row in the sources table
    target_domain: str
    mode: str  # "latent" or "reference"
    reference_set: str  # "" for latent
    repeat: int


def plan_jobs(sources: pd.DataFrame, domains: tuple[str, ...], reference_sets: tuple[str, ...],
              repeats: int = 1, latent: bool = True) -> list[Job]:
    """Per source: for each defect domain one latent output and one per reference set (x ``repeats``).

    A family without latent guidance (``latent=False``, e.g. Mokady et al.) gets as many images: the latent job
    becomes one more output of the first reference set, repeat ``repeats + r`` (another reference drawn)."""
    jobs = []
    for row in range(len(sources)):
        for repeat in range(repeats):
            for domain in domains:
                if latent:
                    jobs.append(Job(row, domain, "latent", "", repeat))
                else:
                    jobs.append(Job(row, domain, "reference", reference_sets[0], repeats + repeat))
                jobs += [Job(row, domain, "reference", ref_set, repeat) for ref_set in reference_sets]
    return jobs


def job_seed(base_seed: int, source_id: str, job: Job) -> int:
    return derive_seed(base_seed, source_id, job.target_domain, job.mode, job.reference_set, job.repeat)


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
        raise DataError(msg)
    return pool.sort_values("sample_id")


def pick_reference(references: pd.DataFrame, job: Job, product: str, seed: int) -> pd.Series:
    """The job's reference image, drawn from its candidates with the job's own seed."""
    candidates = reference_candidates(references, job.target_domain, product, job.reference_set)
    return candidates.iloc[int(np.random.default_rng(seed).integers(len(candidates)))]
