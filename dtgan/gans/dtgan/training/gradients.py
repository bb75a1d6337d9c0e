"""Which parameters record gradients inside a block: the one save-and-restore of ``requires_grad`` that the loop's
per-step module selection and the objectives' frozen-D terms share."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import torch


@contextlib.contextmanager
def gradient_flags(settings: Sequence[tuple[torch.nn.Module, bool]]) -> Iterator[None]:
    """Within the block the parameters of each module in ``settings`` record gradients iff its flag; every
    parameter's own flag is restored after (also when the block raises)."""
    saved = [[p.requires_grad for p in module.parameters()] for module, _ in settings]
    try:
        for module, flag in settings:
            module.requires_grad_(flag)
        yield
    finally:
        for (module, _), flags in zip(settings, saved, strict=True):
            for p, flag in zip(module.parameters(), flags, strict=True):
                p.requires_grad_(flag)
