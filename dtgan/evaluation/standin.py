"""A stand-in evaluation synthesis set made without a GAN: real training-defect pixels pasted onto test normals.

Used by the tests and the benchmark to run the evaluation end to end when no trained generator exists. It has the
exact layout of every synthetic set (written by :class:`dtgan.synthesis.manifest.ManifestWriter`), so
the evaluation code cannot tell the difference. Never part of the pipeline: its numbers describe copy-paste, not
DT-GAN (pasting real defects is also a memorisation case the nearest-neighbour check should flag).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from dtgan.constants import DEFECT_DOMAINS, NORMAL
from dtgan.data.cache import load_prepared
from dtgan.data.split import load_split
from dtgan.synthesis.manifest import MODES, ManifestWriter


def paste_defect(source: np.ndarray, donor: np.ndarray, mask: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Donor pixels where the mask is set (the whole donor blended 50% if it has no mask), plus background noise."""
    out = source.astype(np.float32) + noise
    if mask.any():
        out[mask > 0] = donor[mask > 0]
    else:
        out = 0.5 * out + 0.5 * donor
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def write_standin_set(prepared_dir: Path, splits_dir: Path, out_dir: Path, repeats: int, variant: str,
                      seed: int = 0, noise_std: float = 2.0) -> pd.DataFrame:
    """Translate every test Normal into each defect domain, both modes, ``repeats`` times; returns the manifest."""
    prepared = load_prepared(prepared_dir)
    test = load_split(splits_dir, "test")
    donors = load_split(splits_dir, "gan_train")
    sources = test[test["domain"] == NORMAL].sort_values("sample_id")
    rng = np.random.default_rng(seed)
    writer = ManifestWriter(out_dir)
    for _, src in sources.iterrows():
        for domain in DEFECT_DOMAINS:
            pool = donors[(donors["domain"] == domain) & (donors["product"] == src["product"])]
            pool = pool if len(pool) else donors[donors["domain"] == domain]
            for mode in MODES:
                for repeat in range(repeats):
                    donor = pool.iloc[int(rng.integers(len(pool)))]
                    image = paste_defect(prepared.images[int(src["cache_index"])],
                                         prepared.images[int(donor["cache_index"])],
                                         prepared.masks[int(donor["cache_index"])],
                                         rng.normal(0.0, noise_std, prepared.images.shape[1:]).astype(np.float32))
                    writer.add(image, source_id=src["sample_id"], product=src["product"], target_domain=domain,
                               mode=mode, reference_set="" if mode == "latent" else "all", seed=seed,
                               reference_id="" if mode == "latent" else donor["sample_id"], repeat=repeat,
                               family="standin", variant=variant, stem=src["sample_id"].replace("/", "__"))
    return writer.close()
