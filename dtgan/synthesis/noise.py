"""Synthesise a set with a family that generates from noise alone (StyleGAN2, BigGAN): class-conditional samples of
each (product, defect domain), as many per product and domain as a source-conditioned family makes there.

The counts copy :func:`dtgan.synthesis.run.synthesize_set`'s: per Normal of the source split and per defect domain,
one image per guidance DT-GAN has (latent + each reference set) and ``repeats`` times, so a method's Table 15 set is
the size of DT-GAN's. No image has a source (``source_id`` ""), so none has a mask. Image k of (product, domain)
is drawn from its own seed (synthesis seed, product, domain, k): batching never changes an image.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pandas as pd
import torch
from tqdm import tqdm

from dtgan.constants import DEFECT_DOMAINS, NORMAL
from dtgan.data.split import load_split
from dtgan.data.tensors import tensor_to_uint8
from dtgan.errors import DataError
from dtgan.gans.shared.data import class_name
from dtgan.runtime import derive_seed
from dtgan.synthesis.config import SynthesisConfig
from dtgan.synthesis.manifest import ManifestWriter
from dtgan.synthesis.run import SOURCE_SPLIT

log = logging.getLogger(__name__)


class ClassSampler(Protocol):
    """One trained class-conditional generator."""

    class_names: tuple[str, ...]  # class index -> "product/domain"
    image_channels: int

    def sample(self, labels: torch.Tensor, seeds: list[int]) -> torch.Tensor:
        """(B, C, H, W) in [-1, 1]; every random draw of image i from ``seeds[i]``."""


@dataclass(frozen=True)
class NoiseFamily:
    """The trained model(s) of one method: one conditional model, or one per product (each its own classes)."""

    family: str
    variant: str
    samplers: tuple[ClassSampler, ...]

    def owner(self, name: str) -> tuple[ClassSampler, int]:
        for sampler in self.samplers:
            if name in sampler.class_names:
                return sampler, sampler.class_names.index(name)
        msg = f"{self.variant}: no trained model generates class {name!r} (it had no training images)"
        raise DataError(msg)


def slot_counts(sources: pd.DataFrame, guidances: int, repeats: int) -> dict[tuple[str, str], int]:
    """Images per (product, defect domain): normals of the product x guidances x repeats."""
    per_product = sources["product"].value_counts().sort_index()
    return {(p, d): int(n) * guidances * repeats for p, n in per_product.items() for d in DEFECT_DOMAINS}


def synthesize_from_noise(generator: NoiseFamily, cfg: SynthesisConfig, which: str, splits_dir: Path,
                          out_dir: Path) -> pd.DataFrame:
    """Write ``images/`` and ``manifest.csv`` to ``out_dir`` with the counts of the ``which`` set (main / eval)."""
    sources = load_split(splits_dir, SOURCE_SPLIT[which])
    sources = sources[sources["domain"] == NORMAL]
    ref_sets = cfg.reference_sets if which == "main" else ("all",)
    repeats = 1 if which == "main" else cfg.eval_repeats
    counts = slot_counts(sources, 1 + len(ref_sets), repeats)
    writer = ManifestWriter(out_dir)
    with tqdm(total=sum(counts.values()), desc=f"synthesize ({generator.variant})", unit="img",
              mininterval=2.0) as bar:
        for (product, domain), n in counts.items():
            sampler, label = generator.owner(class_name(product, domain))
            for start in range(0, n, cfg.batch_size):
                slots = list(range(start, min(n, start + cfg.batch_size)))
                seeds = [derive_seed(cfg.seed, "noise", product, domain, k) for k in slots]
                images = tensor_to_uint8(sampler.sample(torch.full((len(slots),), label, dtype=torch.int64), seeds))
                for k, seed, image in zip(slots, seeds, images, strict=True):
                    writer.add(image, source_id="", product=product, target_domain=domain, mode="latent",
                               reference_set="", seed=seed, reference_id="", repeat=0, family=generator.family,
                               variant=generator.variant, stem=f"{k:05d}")
                bar.update(len(slots))
    manifest = writer.close()
    log.info("%s set of %s: %d images -> %s", which, generator.variant, len(manifest), out_dir)
    return manifest
