"""Loading an evaluation synthesis set (``data/synth_eval/<v>``) and drawing its mixture subsets.

The set is read through :mod:`dtgan.synthesis.manifest` (the one schema every generator family writes); images are
read back as uint8 RGB, exactly as scored, and checked against their recorded sha256.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from dtgan.synthesis.manifest import MODES, locate_image, read_image, read_manifest

log = logging.getLogger(__name__)

MIX = "mix"
ALL_MODES = (*MODES, MIX)


@dataclass(frozen=True)
class SyntheticSet:
    manifest: pd.DataFrame  # manifest rows, plus `row` (= position in images)
    images: np.ndarray  # uint8 (N, H, W, 3)
    masks: np.ndarray | None  # bool (N, H, W) binary defect masks, None when the family writes none

    @property
    def variant(self) -> str:
        variants = sorted(set(self.manifest["variant"].astype(str)))
        return variants[0] if len(variants) == 1 else "+".join(variants)


def load_synthetic_set(synth_dir: str | Path, expected_size: int | None = None) -> SyntheticSet:
    """All images of a synthesis set as uint8 RGB (sha256-checked); every image must have the real images' size."""
    synth_dir = Path(synth_dir)
    manifest = read_manifest(synth_dir).reset_index(drop=True)
    images = [read_image(locate_image(synth_dir, row.path, row.synth_id), row.sha256, expected_size)
              for row in tqdm(manifest.itertuples(), total=len(manifest), desc="read synthetic", leave=False)]
    masks = None
    if (manifest["mask_path"] != "").all():
        masks = np.stack([read_image(locate_image(synth_dir, row.mask_path, row.synth_id, "binary"), row.mask_sha256,
                                      expected_size)[..., 0] > 127
                          for row in manifest.itertuples()])
    log.info("read %d synthetic images (%s masks) from %s", len(images), "with" if masks is not None else "no",
             synth_dir)
    return SyntheticSet(manifest=manifest.assign(row=np.arange(len(manifest))), images=np.stack(images), masks=masks)


def mix_rows(latent_rows: np.ndarray, reference_rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Protocol §5 mixture: half the set size drawn at random from each guidance (2,000 of each of 4,000).

    The mixture has the size of the smaller mode set, so its metrics are comparable with the single-mode ones;
    an odd size gives the extra image to the latent half.
    """
    size = min(len(latent_rows), len(reference_rows))
    n_ref = size // 2
    picked = [rng.choice(latent_rows, size - n_ref, replace=False), rng.choice(reference_rows, n_ref, replace=False)]
    return np.sort(np.concatenate(picked))


def cell_rows(manifest: pd.DataFrame, seed: int) -> dict[tuple[str, str, str], np.ndarray]:
    """Image rows of every (product, target domain, mode) cell, ``mix`` included (drawn with a per-cell seed)."""
    cells = {}
    for (product, domain), group in manifest.groupby(["product", "target_domain"], sort=True):
        by_mode = {mode: group.loc[group["mode"] == mode, "row"].to_numpy() for mode in MODES}
        for mode, rows in by_mode.items():
            if len(rows):
                cells[(product, domain, mode)] = rows
        if all(len(rows) for rows in by_mode.values()):
            # A stable per-cell stream: the draw of one cell does not depend on which other cells exist.
            rng = np.random.default_rng([seed, *map(ord, f"{product}|{domain}")])
            cells[(product, domain, MIX)] = mix_rows(by_mode["latent"], by_mode["reference"], rng)
    return cells
