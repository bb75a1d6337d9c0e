"""Every params.yaml section and the dataclass that validates it (one place, so tests and profiles see all)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from dtgan.anomaly.config import AnomalyConfig
from dtgan.classify.config import AUGMENTS, ClassifierConfig
from dtgan.data.config import DataConfig, SplitConfig
from dtgan.evaluation.config import EvaluateConfig
from dtgan.params import ParamsError, field_spec, load_section, load_top_level
from dtgan.synthesis.config import AssembleConfig, SynthesisConfig
from dtgan.training.config import GanConfig, LossWeights

VARIANTS = ("a", "b", "c", "d", "e")


@dataclass(frozen=True)
class RunInfo:
    """Top-level keys that describe the run rather than one stage."""

    profile: str = field_spec("default", choices=("default", "paper"))
    ablation_variants: tuple[str, ...] = field_spec(VARIANTS, choices=VARIANTS)
    table15_augments: tuple[str, ...] = field_spec(("none", "cutmix", "cutout", "mixup"), choices=AUGMENTS)
    table15_scale: int = field_spec(80, low=1)
    table15_num_seeds: int = field_spec(5, low=1)  # Table 15 cells use the first n of classifier.seeds (paper: 5)


SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "split": SplitConfig,
    "gan": GanConfig,
    "synthesis": SynthesisConfig,
    "assemble": AssembleConfig,
    "classifier": ClassifierConfig,
    "anomaly": AnomalyConfig,
    "evaluate": EvaluateConfig,
}


def known_top_level_keys() -> set[str]:
    return set(SECTIONS) | {f.name for f in fields(RunInfo)} | {f.name for f in fields(LossWeights)}


def load_all_sections(params: dict[str, Any]) -> dict[str, Any]:
    """Validate every section and top-level key; returns the loaded dataclasses."""
    unknown = sorted(set(params) - known_top_level_keys())
    if unknown:
        msg = f"params.yaml has unknown top-level key(s) {unknown}; known: {sorted(known_top_level_keys())}"
        raise ParamsError(msg)
    loaded = {name: load_section(cls, params, name) for name, cls in SECTIONS.items()}
    loaded["loss_weights"] = load_top_level(LossWeights, params)
    loaded["run"] = run = load_top_level(RunInfo, params)
    if run.table15_scale not in loaded["assemble"].scales:
        msg = f"table15_scale {run.table15_scale} must be one of assemble.scales {list(loaded['assemble'].scales)}"
        raise ParamsError(msg)
    if run.table15_num_seeds > len(loaded["classifier"].seeds):
        msg = (f"table15_num_seeds {run.table15_num_seeds} exceeds the {len(loaded['classifier'].seeds)} seeds of "
               f"classifier.seeds {list(loaded['classifier'].seeds)}")
        raise ParamsError(msg)
    return loaded
