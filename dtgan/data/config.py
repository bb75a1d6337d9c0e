"""The ``data`` and ``split`` params sections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from dtgan.constants import DOMAINS
from dtgan.params import field_spec

RESIZE_METHODS = ("nearest", "bilinear", "bicubic", "lanczos", "box")


def _counts_ok(counts: Mapping[str, Mapping[str, int]]) -> str | None:
    if not counts:
        return "must name at least one product"
    for product, per_domain in counts.items():
        bad = sorted(set(per_domain) - set(DOMAINS))
        if bad:
            return f"has unknown domain(s) {bad} for product {product!r} (allowed: {list(DOMAINS)})"
        if any(n < 0 for n in per_domain.values()):
            return f"must be non-negative for product {product!r}"
        if per_domain.get("Normal", 0) == 0:
            return f"needs Normal images for product {product!r}"
    return None


def _domain_map_ok(mapping: Mapping[str, str]) -> str | None:
    bad = sorted({v for v in mapping.values() if v not in DOMAINS})
    return f"maps folders to unknown domain(s) {bad} (allowed: {list(DOMAINS)})" if bad else None


def _default_counts() -> dict[str, dict[str, int]]:
    # Shaped like SDI (protocol.md §1.1): Normal >> defects, and the Scratches/Spots ratio differs by product
    # (A scratch-heavy, B spot-heavy, C in between), scaled down so the default pipeline runs on a CPU.
    return {
        "A": {"Normal": 420, "Scratches": 110, "Spots": 45},
        "B": {"Normal": 420, "Scratches": 60, "Spots": 190},
        "C": {"Normal": 420, "Scratches": 45, "Spots": 90},
    }


@dataclass(frozen=True)
class EmbeddedConfig:
    """The project's own procedurally generated dataset (deterministic from ``seed``)."""

    seed: int = 0
    size: int = field_spec(96, low=16)  # generated resolution; `prepare` resizes to data.image_size
    counts: dict[str, dict[str, int]] = field_spec(default_factory=_default_counts, check=_counts_ok)


@dataclass(frozen=True)
class DataConfig:
    source: Literal["embedded", "folder", "mvtec", "mtd"] = "embedded"
    root: str = ""  # dataset root for folder / mvtec / mtd (e.g. ../shared/datasets/mtd)
    mask_root: str = ""  # folder source: optional mask tree <mask_root>/<product>/<domain>/<stem>.png
    # Folder (or MTD class-folder) name -> domain; empty = the source's default mapping.
    domain_map: dict[str, str] = field_spec(default_factory=dict, check=_domain_map_ok)
    allow_missing_domains: bool = False  # folder source: a product may lack a defect domain folder
    categories: tuple[str, ...] = ("carpet", "leather", "tile", "wood")  # mvtec categories (supplement Table 9)
    image_size: int = field_spec(64, low=8, high=1024)  # paper 128
    resize: str = field_spec("bilinear", choices=RESIZE_METHODS)
    max_reject_fraction: float = field_spec(0.01, low=0, high=1)
    embedded: EmbeddedConfig = field(default_factory=EmbeddedConfig)


def _limits_ok(limits: Mapping[str, int]) -> str | None:
    return "must map product names to a positive number of defects" if any(n < 1 for n in limits.values()) else None


@dataclass(frozen=True)
class SplitConfig:
    seed: int = 0
    holdout_per_domain: int = field_spec(50, low=2)  # paper 50 per (product, domain)
    val_fraction: float = field_spec(0.3, low=0, high=1, low_open=True, high_open=True)  # paper 30% val / 70% test
    gan_normals_per_product: int = field_spec(700, low=1)  # paper 700
    # Limited-data setting (supplement Table 16, "20A"): keep at most this many real training defects per type for
    # the named products, e.g. {A: 20}; the rest is set aside (subset `unused`), so DT-GAN and the classifiers both
    # train on the limited set, as in the paper. Val/test are unchanged.
    limit_defects: dict[str, int] = field_spec(default_factory=dict, check=_limits_ok)
