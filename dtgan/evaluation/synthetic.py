"""Loading an evaluation synthesis set (``data/synth_eval/<v>``) and drawing its mixture subsets.

The manifest is written by :mod:`dtgan.synthesis.run` (columns below); ``path`` is relative to the repository root
(the working directory of the stages) or absolute. Images are read back as uint8 RGB, exactly as scored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from dtgan.constants import DEFECT_DOMAINS
from dtgan.data import DataError
from dtgan.synthesis.translate import MANIFEST_COLUMNS

log = logging.getLogger(__name__)

MODES = ("latent", "reference")
MIX = "mix"
ALL_MODES = (*MODES, MIX)


@dataclass(frozen=True)
class SyntheticSet:
    manifest: pd.DataFrame  # manifest rows, plus `repeat` (int) and `row` (= position in images)
    images: np.ndarray  # uint8 (N, H, W, 3)

    @property
    def variant(self) -> str:
        variants = sorted(set(self.manifest["variant"].astype(str)))
        return variants[0] if len(variants) == 1 else "+".join(variants)


def read_manifest(synth_dir: str | Path) -> pd.DataFrame:
    """The manifest with its columns, domains and modes checked; adds the repeat index parsed from the file name."""
    path = Path(synth_dir) / "manifest.csv"
    if not path.is_file():
        msg = f"{path} not found; run the synthesize stage with --set eval first"
        raise DataError(msg)
    manifest = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = sorted(set(MANIFEST_COLUMNS) - set(manifest.columns))
    if missing:
        msg = f"{path} lacks column(s) {missing}; expected {list(MANIFEST_COLUMNS)}"
        raise DataError(msg)
    if manifest.empty:
        msg = f"{path} lists no images"
        raise DataError(msg)
    for column, allowed in (("target_domain", DEFECT_DOMAINS), ("mode", MODES)):
        bad = sorted(set(manifest[column]) - set(allowed))
        if bad:
            msg = f"{path}: column {column} has value(s) {bad}; expected {list(allowed)}"
            raise DataError(msg)
    repeat = manifest["path"].str.extract(r"_r(\d+)\.png$", expand=False)
    if repeat.isna().any():
        bad = manifest.loc[repeat.isna(), "path"].iloc[0]
        msg = f"{path}: image path {bad!r} does not end in _r<repeat>.png"
        raise DataError(msg)
    return manifest.assign(repeat=repeat.astype(int))


def resolve_image_path(synth_dir: Path, row: pd.Series) -> Path:
    """The manifest path (repo-relative or absolute), else ``<synth_dir>/images/<synth_id>.png`` (a moved set)."""
    listed = Path(row["path"])
    if listed.is_file():
        return listed
    fallback = synth_dir / "images" / f"{row['synth_id']}.png"
    if fallback.is_file():
        return fallback
    msg = f"synthetic image {listed} (manifest of {synth_dir}) not found, nor {fallback}"
    raise DataError(msg)


def load_synthetic_set(synth_dir: str | Path, expected_size: int | None = None) -> SyntheticSet:
    """All images of a synthesis set as uint8 RGB; every image must have the size of the real images."""
    synth_dir = Path(synth_dir)
    manifest = read_manifest(synth_dir).reset_index(drop=True)
    images = []
    for _, row in tqdm(manifest.iterrows(), total=len(manifest), desc="read synthetic", leave=False):
        path = resolve_image_path(synth_dir, row)
        with Image.open(path) as img:
            arr = np.asarray(img.convert("RGB"), dtype=np.uint8)
        if expected_size is not None and arr.shape[:2] != (expected_size, expected_size):
            msg = f"{path} is {arr.shape[1]}x{arr.shape[0]} px; the real images are {expected_size}x{expected_size}"
            raise DataError(msg)
        images.append(arr)
    log.info("read %d synthetic images from %s", len(images), synth_dir)
    return SyntheticSet(manifest=manifest.assign(row=np.arange(len(manifest))), images=np.stack(images))


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
