"""Metric names, "not computed" values and JSON conversion shared by every metric and report.

Metric keys carry the feature extractor in their name (``fd_effnet_lite0``, ``kid_effnet_lite0``) so a number can
never be mistaken for the paper's Inception FID; ``fid`` / ``kid`` are used only for the verified FID Inception.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

EFFNET_LITE0 = "effnet_lite0"
INCEPTION_FID = "inception_fid"
HEADLINE_METRIC = f"fd_{EFFNET_LITE0}"


@dataclass(frozen=True)
class NotComputed:
    """A metric that was deliberately not computed; prints as ``not computed: <reason>`` in tables and JSON."""

    reason: str

    def __str__(self) -> str:
        return f"not computed: {self.reason}"


def frechet_key(extractor_name: str) -> str:
    return "fid" if extractor_name == INCEPTION_FID else f"fd_{extractor_name}"


def kid_key(extractor_name: str) -> str:
    return "kid" if extractor_name == INCEPTION_FID else f"kid_{extractor_name}"


def json_ready(value: object) -> object:
    """Recursively JSON-ready: NotComputed -> its 'not computed: <reason>' string, numpy scalars -> Python numbers,
    NaN / inf -> null (valid JSON), tuples -> lists, keys -> strings."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if isinstance(value, NotComputed):
        return str(value)
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
