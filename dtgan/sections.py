"""Every params.yaml section and the dataclass that validates it (one place, so tests and profiles see all)."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from dtgan.anomaly.config import AnomalyConfig
from dtgan.classify.config import ClassifierConfig
from dtgan.data.config import DataConfig, SplitConfig
from dtgan.errors import ParamsError
from dtgan.evaluation.config import EvaluateConfig
from dtgan.gans.biggan.config import BigganConfig
from dtgan.gans.dtgan.config import GanConfig, LossWeights
from dtgan.gans.mokady.config import MokadyConfig
from dtgan.gans.stylegan2.config import Stylegan2Config
from dtgan.params import load_section, load_top_level
from dtgan.runinfo import RunInfo, check_table15
from dtgan.segmentation.config import SegmentationConfig
from dtgan.synthesis.config import AssembleConfig, SynthesisConfig

SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "split": SplitConfig,
    "gan": GanConfig,
    "synthesis": SynthesisConfig,
    "assemble": AssembleConfig,
    "classifier": ClassifierConfig,
    "anomaly": AnomalyConfig,
    "evaluate": EvaluateConfig,
    "segmentation": SegmentationConfig,
    "stylegan2": Stylegan2Config,
    "biggan": BigganConfig,
    "mokady": MokadyConfig,
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
    check_table15(run, loaded["assemble"].scales, loaded["classifier"].seeds)
    return loaded
