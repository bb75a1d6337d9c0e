"""The ``synthesis`` and ``assemble`` params sections."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dtgan.params import field_spec

SETTINGS = ("trad_aug", "latent", "reference", "mix", "synthetic")  # synthetic: the set's own guidance


def _mask_threshold_ok(value: float | str) -> str | None:
    if value == "otsu" or (isinstance(value, float) and 0 < value < 1):
        return None
    return "must be 'otsu' or a number in (0, 1)"


def _reference_sets_ok(sets: tuple[str, ...]) -> str | None:
    if not sets:
        return "must name at least one reference set ('all', 'same' or a product name)"
    if len(set(sets)) != len(sets):
        return "must not repeat a reference set"
    return None


@dataclass(frozen=True)
class SynthesisConfig:
    seed: int = 0
    batch_size: int = field_spec(64, low=1)
    # Where reference images come from (supplement Table 17): 'all' products (v-ABC, the paper's best and the
    # default for the main sets), 'same' product as the source, or one named product (v-A, v-B, v-C).
    # Each entry is a separate reference-guided set; the first one feeds the `reference` and `mix` settings.
    reference_sets: tuple[str, ...] = field_spec(("all",), check=_reference_sets_ok)
    # Extra translations of each held-out test Normal per (defect domain, mode) for the FID/ablation evaluation
    # sets (protocol.md §5 uses 4,000 per product per domain per guidance).
    eval_repeats: int = field_spec(4, low=1)
    # Defect masks of each synthetic image (a family that has an anchor output, e.g. DT-GAN's G(x, s, 0)): the soft
    # mask is |output - anchor| (mean over RGB, [0, 1]); the binary mask keeps the pixels above this threshold:
    # 'otsu' (Otsu's threshold of each image's soft mask) or a fixed difference in (0, 1).
    mask_threshold: float | str = field_spec("otsu", check=_mask_threshold_ok)
    device: str = field_spec("auto", result=False)


def _scales_ok(scales: tuple[int, ...]) -> str | None:
    if not scales or any(s < 1 for s in scales):
        return "must be a non-empty list of positive integers"
    return "must be strictly increasing" if list(scales) != sorted(set(scales)) else None


def _settings_ok(settings: tuple[str, ...]) -> str | None:
    bad = [s for s in settings if s not in SETTINGS and not s.startswith("reference_")]
    if bad:
        return f"has unknown setting(s) {bad}; allowed {list(SETTINGS)} or reference_<set> (Table 17)"
    return None if settings else "must name at least one setting"


@dataclass(frozen=True)
class AssembleConfig:
    seed: int = 0
    # N real Normal images per product; each defect class is brought to N (protocol.md §4; paper 1500..6200).
    scales: tuple[int, ...] = field_spec((100, 200), check=_scales_ok)
    settings: tuple[str, ...] = field_spec(SETTINGS, check=_settings_ok)
    # What to do when a product has more real defects of a class than N: keep a random N of them.
    excess_defects: Literal["subsample", "error"] = "subsample"
