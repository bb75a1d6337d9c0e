"""Decode every image once into a resized uint8 cache (RGB) plus masks, and load it back.

``prepare`` writes to its output folder: ``samples.csv`` (the validated sample table with ``cache_index``),
``images.npy`` (N, S, S, 3) uint8, ``masks.npy`` (N, S, S) uint8 (255 = defect), ``rejects.csv`` (files that
could not be decoded, with the reason) and ``meta.json`` (image size, products, domains, counts).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from dtgan.constants import DOMAINS
from dtgan.data.table import DECODE_ERRORS
from dtgan.errors import DataError

log = logging.getLogger(__name__)

RESAMPLE = {"nearest": Image.NEAREST, "bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC,
            "lanczos": Image.LANCZOS, "box": Image.BOX}


def to_rgb_uint8(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB: 16-bit and float grayscale are rescaled, alpha is composited on black."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        # 16-bit data uses the full 0..65535 range; 32-bit int / float are scaled by their own maximum.
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        if img.mode == "F" and arr.max() <= 1.0:
            top = 1.0
        return Image.fromarray(np.clip(arr / top * 255 + 0.5, 0, 255).astype(np.uint8)).convert("RGB")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        black = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        return Image.alpha_composite(black, rgba).convert("RGB")
    return img.convert("RGB")


def load_image(path: str, size: int, resample: int) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode, convert and resize one image; raises on corrupt or truncated files."""
    with Image.open(path) as img:
        img.load()
        original = img.size
        rgb = to_rgb_uint8(img)
    return np.asarray(rgb.resize((size, size), resample), dtype=np.uint8), original


def load_mask(path: str, size: int) -> np.ndarray:
    """A binary mask resized with nearest neighbour (labels must not be interpolated)."""
    with Image.open(path) as mask:
        mask.load()
        arr = np.asarray(to_rgb_uint8(mask).convert("L").resize((size, size), Image.NEAREST))
    return np.where(arr > 0, 255, 0).astype(np.uint8)


def build_cache(
    table: pd.DataFrame, size: int, resize: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.DataFrame]:
    """Decode all rows; returns (accepted table with cache_index and sizes, images, masks, rejects)."""
    images = np.zeros((len(table), size, size, 3), np.uint8)
    masks = np.zeros((len(table), size, size), np.uint8)
    keep, rejects, sizes = [], [], []
    for i, row in enumerate(tqdm(list(table.itertuples()), desc="decode+resize", unit="img", mininterval=1.0)):
        try:
            images[len(keep)], original = load_image(row.image_path, size, RESAMPLE[resize])
        except DECODE_ERRORS as exc:
            rejects.append(_reject(row, "image", exc))
            continue
        try:
            if row.mask_path:
                masks[len(keep)] = load_mask(row.mask_path, size)
        except DECODE_ERRORS as exc:  # an undecodable mask rejects its image: its labels cannot be trusted
            rejects.append(_reject(row, f"mask {row.mask_path}", exc))
            continue
        keep.append(i)
        sizes.append(original)
    accepted = table.iloc[keep].reset_index(drop=True).copy()
    accepted["orig_width"] = [w for w, _ in sizes]
    accepted["orig_height"] = [h for _, h in sizes]
    accepted["cache_index"] = np.arange(len(accepted))
    reject_frame = pd.DataFrame(rejects, columns=["sample_id", "image_path", "reason"])
    return accepted, images[: len(keep)], masks[: len(keep)], reject_frame


def _reject(row: object, what: str, exc: Exception) -> dict:
    return {"sample_id": row.sample_id, "image_path": row.image_path, "reason": f"{what}: {type(exc).__name__}: {exc}"}


def check_rejects(rejects: pd.DataFrame, total: int, max_fraction: float) -> None:
    """Fail when more than ``data.max_reject_fraction`` of the files could not be decoded."""
    if total and len(rejects) / total > max_fraction:
        shown = "; ".join(f"{r.image_path}: {r.reason}" for r in rejects.head(5).itertuples())
        msg = (f"{len(rejects)} of {total} images could not be decoded ({len(rejects) / total:.1%} > "
               f"data.max_reject_fraction={max_fraction}); e.g. {shown}. See rejects.csv in the prepare output.")
        raise DataError(msg)


@dataclass(frozen=True)
class PreparedData:
    """The output of ``prepare``: table + uint8 arrays (memory-mapped, read-only)."""

    table: pd.DataFrame
    images: np.ndarray
    masks: np.ndarray
    products: tuple[str, ...]
    has_masks: bool
    image_size: int
    channels: int = 3  # 1 when every image is grey (R == G == B, e.g. MTD): the GAN then works in one channel


def load_prepared(prepared_dir: str | Path) -> PreparedData:
    """Load the cache written by ``prepare`` (fails with a clear message if ``prepare`` has not run)."""
    prepared_dir = Path(prepared_dir)
    needed = [prepared_dir / n for n in ("samples.csv", "images.npy", "masks.npy", "meta.json")]
    absent = [str(p) for p in needed if not p.is_file()]
    if absent:
        msg = f"prepared data missing: {absent}; run `dvc repro prepare` (or python -m stages.prepare) first"
        raise DataError(msg)
    table = read_sample_csv(needed[0])
    meta = json.loads(needed[3].read_text())
    images = np.load(needed[1], mmap_mode="r")
    masks = np.load(needed[2], mmap_mode="r")
    return PreparedData(table, images, masks, tuple(meta["products"]), bool(meta["has_masks"]), int(meta["image_size"]),
                        int(meta.get("channels", 3)))


def read_sample_csv(path: str | Path) -> pd.DataFrame:
    """Read a sample table CSV with stable dtypes (ids and paths as strings, empty mask path as "")."""
    frame = pd.read_csv(path, dtype={"sample_id": str, "product": str, "domain": str, "image_path": str,
                                     "mask_path": str, "source_id": str}, keep_default_na=False)
    return frame


def image_channels(images: np.ndarray) -> int:
    """1 when every pixel of every image is grey (R == G == B), else 3."""
    grey = bool((images[..., 0] == images[..., 1]).all() and (images[..., 1] == images[..., 2]).all())
    return 1 if grey else 3


def prepared_meta(table: pd.DataFrame, size: int, source: str, images: np.ndarray) -> dict:
    return {
        "image_size": size,
        "channels": image_channels(images),
        "source": source,
        "products": sorted(table["product"].unique().tolist()),
        "domains": list(DOMAINS),
        "has_masks": bool((table["mask_path"] != "").any()),
        "num_images": int(len(table)),
    }
