"""Every params.yaml section and the dataclass that validates it (one place, so tests and profiles see all)."""

from __future__ import annotations

from typing import Any

from dtgan.data.config import DataConfig, SplitConfig
from dtgan.params import load_section, load_top_level
from dtgan.synthesis.config import AssembleConfig, SynthesisConfig
from dtgan.training.config import GanConfig, LossWeights

SECTIONS: dict[str, type] = {
    "data": DataConfig,
    "split": SplitConfig,
    "gan": GanConfig,
    "synthesis": SynthesisConfig,
    "assemble": AssembleConfig,
}


def load_all_sections(params: dict[str, Any]) -> dict[str, Any]:
    """Validate every section (and the top-level loss weights); returns the loaded dataclasses."""
    loaded = {name: load_section(cls, params, name) for name, cls in SECTIONS.items()}
    loaded["loss_weights"] = load_top_level(LossWeights, params)
    return loaded
