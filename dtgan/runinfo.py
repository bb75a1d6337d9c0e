"""Top-level params keys that describe the run rather than one stage: the profile and the report's matrices."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dtgan.classify.config import AUGMENTS
from dtgan.errors import ParamsError
from dtgan.gans.dtgan.variants import VARIANTS
from dtgan.gans.methods import METHODS
from dtgan.params import field_spec, load_top_level
from dtgan.synthesis.config import SETTINGS


@dataclass(frozen=True)
class RunInfo:
    profile: str = field_spec("default", choices=("default", "paper", "mtd"))  # which profile these params started from
    ablation_variants: tuple[str, ...] = field_spec(VARIANTS, choices=VARIANTS)
    table15_augments: tuple[str, ...] = field_spec(("none", "cutmix", "cutout", "mixup"), choices=AUGMENTS)
    # Table 15 compares each augmentation without and with DT-GAN data: these two assemble settings.
    table15_settings: tuple[str, ...] = field_spec(("trad_aug", "mix"), choices=SETTINGS)
    table15_scale: int = field_spec(80, low=1)
    table15_num_seeds: int = field_spec(5, low=1)  # Table 15 cells use the first n of classifier.seeds (paper: 5)
    # GAN baselines of Tables 15 and 18 (dtgan/gans/methods.py): synthesised, classified at table15_scale, evaluated.
    baseline_methods: tuple[str, ...] = field_spec(tuple(METHODS), choices=tuple(METHODS))


def load_run_info(params: dict[str, Any] | str | Path) -> RunInfo:
    return load_top_level(RunInfo, params)


def check_table15(run: RunInfo, scales: tuple[int, ...], seeds: tuple[int, ...]) -> None:
    """Table 15's cells need a scale that assemble builds and no more seeds than the classifier has."""
    if run.table15_scale not in scales:
        msg = f"table15_scale {run.table15_scale} must be one of assemble.scales {list(scales)}"
        raise ParamsError(msg)
    if run.table15_num_seeds > len(seeds):
        msg = (f"table15_num_seeds {run.table15_num_seeds} exceeds the {len(seeds)} seeds of classifier.seeds "
               f"{list(seeds)}")
        raise ParamsError(msg)
