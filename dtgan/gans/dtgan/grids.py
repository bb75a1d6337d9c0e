"""Sample grids of the EMA networks (StarGAN v2 utils.translate_using_reference / translate_using_latent).

Reference grid: first row the references, first column the sources, cell (i, j) = G(source_i, E_y_j(reference_j))
(like StarGAN v2's reference figure and the supplement's Fig. 9). Latent grid for a domain: first column the
sources, then one column per fixed z, cell (i, j) = G(source_i, M_y(z_j)).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from dtgan.data.tensors import tensor_to_uint8
from dtgan.runtime import atomic_path

PAD = 2  # pixels of white between tiles
MIN_TILE = 96  # small images are enlarged (nearest neighbour, whole factors) so a grid is readable at a glance


def tile(rows: list[list[np.ndarray | None]], size: int) -> np.ndarray:
    """Assemble uint8 (size,size,3) tiles into one image; ``None`` leaves a white tile (the grid's corner).

    Tiles smaller than MIN_TILE are enlarged by the whole factor ``MIN_TILE // size`` by pixel repetition, which
    shows every generated pixel as it is (no interpolation)."""
    factor = max(1, MIN_TILE // size)
    n_rows, n_cols = len(rows), max(len(r) for r in rows)
    shown = size * factor
    step = shown + PAD
    canvas = np.full((n_rows * step + PAD, n_cols * step + PAD, 3), 255, dtype=np.uint8)
    for i, row in enumerate(rows):
        for j, image in enumerate(row):
            if image is not None:
                big = image.repeat(factor, axis=0).repeat(factor, axis=1)
                canvas[PAD + i * step : PAD + i * step + shown, PAD + j * step : PAD + j * step + shown] = big
    return canvas


def _to_uint8(images: Tensor) -> np.ndarray:
    return tensor_to_uint8(images)


@torch.no_grad()
def reference_grid(nets: Any, sources: Tensor, references: Tensor, ref_domains: Tensor) -> np.ndarray:
    """Sources × references grid (uint8 HxWx3) translated with the references' style and defect codes."""
    device = next(nets.generator.parameters()).device
    sources, references, ref_domains = sources.to(device), references.to(device), ref_domains.to(device)
    style, defect = nets.encoder(references, ref_domains)
    size = sources.shape[-1]
    rows: list[list[np.ndarray | None]] = [[None, *_to_uint8(references)]]
    for source in sources:
        batch = source.expand(len(references), -1, -1, -1)
        fakes = nets.generator(batch, style, defect)
        rows.append([_to_uint8(source[None])[0], *_to_uint8(fakes)])
    return tile(rows, size)


@torch.no_grad()
def latent_grid(nets: Any, sources: Tensor, domain: int, z: Tensor, noise_seed: int) -> np.ndarray:
    """Sources × latent codes grid for one target domain; the same z (and noise seed) in every row."""
    device = next(nets.generator.parameters()).device
    sources, z = sources.to(device), z.to(device)
    y = torch.full((len(z),), domain, dtype=torch.long, device=device)
    noise = torch.Generator(device=device).manual_seed(noise_seed)
    style, defect = nets.mapping(z, y, noise_generator=noise)
    rows: list[list[np.ndarray | None]] = []
    for source in sources:
        fakes = nets.generator(source.expand(len(z), -1, -1, -1), style, defect)
        rows.append([_to_uint8(source[None])[0], *_to_uint8(fakes)])
    return tile(rows, sources.shape[-1])


def save_png(path: str | Path, image: np.ndarray) -> None:
    """Write a uint8 HxWx3 array as PNG atomically."""
    with atomic_path(path, suffix=".png") as tmp:
        Image.fromarray(image).save(tmp, format="PNG")
