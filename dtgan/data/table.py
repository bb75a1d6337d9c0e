"""The sample table: one row per image, the single description of any dataset.

Columns: ``sample_id`` (unique), ``product`` (background domain), ``domain`` (Normal / Scratches / Spots),
``image_path``, ``mask_path`` ("" when the image has no mask), ``source_id`` (the id in the original dataset),
``orig_width``, ``orig_height``. After ``prepare`` a ``cache_index`` column points into the image/mask arrays.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from PIL import Image

from dtgan.constants import DOMAINS
from dtgan.errors import DataError

SAMPLE_COLUMNS = ("sample_id", "product", "domain", "image_path", "mask_path", "source_id", "orig_width", "orig_height")
MAX_ROWS_IN_MESSAGE = 10


def make_table(rows: list[dict]) -> pd.DataFrame:
    """A sample table from row dicts (sizes default to 0 until measured)."""
    frame = pd.DataFrame(rows, columns=list(SAMPLE_COLUMNS))
    frame["mask_path"] = frame["mask_path"].fillna("")
    frame[["orig_width", "orig_height"]] = frame[["orig_width", "orig_height"]].fillna(0).astype(int)
    return frame


def _describe(frame: pd.DataFrame, column: str = "image_path") -> str:
    shown = [f"{r.sample_id} ({getattr(r, column)})" for r in frame.head(MAX_ROWS_IN_MESSAGE).itertuples()]
    more = f" and {len(frame) - MAX_ROWS_IN_MESSAGE} more" if len(frame) > MAX_ROWS_IN_MESSAGE else ""
    return "; ".join(shown) + more


def validate_table(frame: pd.DataFrame, check_files: bool = True) -> None:
    """Raise :class:`DataError` naming the rows that break the table's rules."""
    missing = [c for c in SAMPLE_COLUMNS if c not in frame.columns]
    if missing:
        msg = f"sample table lacks column(s) {missing}; expected {list(SAMPLE_COLUMNS)}"
        raise DataError(msg)
    if frame.empty:
        msg = "the dataset has no images (empty sample table): check data.source and data.root"
        raise DataError(msg)
    dup = frame[frame["sample_id"].duplicated(keep=False)]
    if not dup.empty:
        msg = f"duplicate sample ids: {_describe(dup)}"
        raise DataError(msg)
    unknown = frame[~frame["domain"].isin(DOMAINS)]
    if not unknown.empty:
        names = sorted(unknown["domain"].unique())
        msg = f"unknown domain(s) {names} (allowed {list(DOMAINS)}) in rows: {_describe(unknown)}"
        raise DataError(msg)
    if check_files:
        _check_files_exist(frame)


def _check_files_exist(frame: pd.DataFrame) -> None:
    absent = frame[[not Path(p).is_file() for p in frame["image_path"]]]
    if not absent.empty:
        msg = f"image file(s) not found: {_describe(absent)}"
        raise DataError(msg)
    with_mask = frame[frame["mask_path"] != ""]
    no_mask = with_mask[[not Path(p).is_file() for p in with_mask["mask_path"]]]
    if not no_mask.empty:
        msg = f"mask file(s) not found (each mask must pair with its image): {_describe(no_mask, 'mask_path')}"
        raise DataError(msg)


# What PIL raises for a zero-byte, truncated, corrupt or unknown-format file (UnidentifiedImageError is an OSError).
DECODE_ERRORS = (OSError, ValueError, SyntaxError)


def header_size(path: str) -> tuple[int, int] | None:
    """(width, height) from a file's header, or None when it cannot be decoded (it is rejected when cached)."""
    try:
        with Image.open(path) as img:
            return img.size
    except DECODE_ERRORS:
        return None


def check_mask_sizes(frame: pd.DataFrame) -> None:
    """Masks must have their image's size; reads only the file headers.

    An image or mask that cannot be decoded is skipped here: ``build_cache`` puts its row in the rejects table.
    """
    bad = []
    for row in frame[frame["mask_path"] != ""].itertuples():
        image, mask = header_size(row.image_path), header_size(row.mask_path)
        if image is not None and mask is not None and image != mask:
            bad.append(f"{row.sample_id}: image {image[0]}x{image[1]} but mask {row.mask_path} {mask[0]}x{mask[1]}")
    if bad:
        more = f" and {len(bad) - MAX_ROWS_IN_MESSAGE} more" if len(bad) > MAX_ROWS_IN_MESSAGE else ""
        msg = "mask size differs from its image: " + "; ".join(bad[:MAX_ROWS_IN_MESSAGE]) + more
        raise DataError(msg)


def count_table(frame: pd.DataFrame, by: tuple[str, ...] = ("product", "domain")) -> pd.DataFrame:
    """Counts per product x domain (every domain as a column, zeros included)."""
    counts = frame.groupby(list(by)).size().unstack(fill_value=0)
    return counts.reindex(columns=list(DOMAINS), fill_value=0)
