"""Process-level helpers: device choice, seeding, logging, the allocator setting and atomic file writes."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
import random
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dtgan.errors import ParamsError

log = logging.getLogger(__name__)


def pick_device(requested: str = "auto") -> torch.device:
    """CUDA when present (or asked for), else CPU; the same code path either way."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        msg = f"device '{requested}' requested (a params *.device key) but CUDA is not available; use 'auto' or 'cpu'"
        raise ParamsError(msg)
    return torch.device(requested)


def to_device(module_or_batch: Any, device: torch.device | str) -> Any:
    """Move a network (or a 4-D image batch) to ``device`` in the channels_last memory layout.

    oneDNN's CPU convolutions (and cuDNN's) are fastest in channels_last; the networks keep the layout end to end
    (their instance norms are layout-preserving GroupNorms), so no reorder happens between layers. Same values as
    the default layout up to float rounding; measured in benchmarks/bench_gan.py.
    """
    if isinstance(module_or_batch, torch.Tensor) and module_or_batch.dim() != 4:
        return module_or_batch.to(device)
    return module_or_batch.to(device, memory_format=torch.channels_last)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) from one recorded seed."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from any parts (independent of Python's per-process hash salt)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def setup_logging(level: int = logging.INFO) -> None:
    """Log to stderr with timestamps; stages call this once in main()."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True)


# glibc's mallopt parameters (malloc.h).
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
REUSE_THRESHOLD_BYTES = 1 << 30


def reuse_freed_memory(threshold_bytes: int = REUSE_THRESHOLD_BYTES) -> bool:
    """Let glibc keep freed blocks up to ``threshold_bytes`` for reuse instead of returning them to the OS.

    By default glibc serves every block above 32 MB (the ceiling of its dynamic mmap threshold) with a fresh mmap
    and unmaps it on free, so each batch of large tensors is page-faulted in anew: ``evaluate`` spent 14 of its 27 s
    in the kernel. With this setting it took 17.8 s instead of 26.6 s (peak RSS 1.59 instead of 1.46 GB); GAN and
    classifier training, whose tensors are small, are unchanged (measured; README "Budgets"). Returns whether the
    setting took effect (False off glibc, e.g. macOS or musl, where nothing is changed).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, threshold_bytes)) and bool(mallopt(M_TRIM_THRESHOLD, threshold_bytes))


@contextlib.contextmanager
def atomic_path(path: str | Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in the same folder; it replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix or path.suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json(path: str | Path, data: Any) -> None:
    """Write JSON atomically, keys sorted, so committed metrics diff cleanly."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_csv(path: str | Path, frame: Any) -> None:
    """Write a pandas DataFrame atomically without its index."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def save_torch(path: str | Path, obj: Any) -> None:
    """torch.save atomically: a killed process never leaves a half-written checkpoint.

    Saved through a file object: given a path, torch.save names the zip archive after the (random) temporary file,
    so rewriting identical tensors would change the bytes and the DVC hash.
    """
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        torch.save(obj, handle)


def save_npy(path: str | Path, array: np.ndarray) -> None:
    with atomic_path(path, suffix=".npy") as tmp:
        np.save(tmp, array)
