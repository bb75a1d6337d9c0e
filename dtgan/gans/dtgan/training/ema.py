"""Exponential moving average of G, M and E (StarGAN v2 moving_average, spec §8.2)."""

from __future__ import annotations

from typing import Any

import torch

from dtgan.gans.dtgan.artefact import EMA_MODULES


@torch.no_grad()
def update_ema(nets: Any, ema: Any, beta: float) -> None:
    """ema ← β·ema + (1-β)·param for G, M and E (``torch.lerp(param, ema, β)`` in StarGAN v2); buffers are copied."""
    if not 0.0 <= beta <= 1.0:
        msg = f"update_ema: beta must be in [0, 1], got {beta}"
        raise ValueError(msg)
    for name in EMA_MODULES:
        live, averaged = getattr(nets, name), getattr(ema, name)
        live_params, averaged_params = list(live.parameters()), list(averaged.parameters())
        if len(live_params) != len(averaged_params):
            msg = f"update_ema: {name} has {len(live_params)} parameters but its EMA copy {len(averaged_params)}"
            raise ValueError(msg)
        torch._foreach_lerp_(averaged_params, live_params, 1.0 - beta)  # one fused call per module
        for b_live, b_avg in zip(live.buffers(), averaged.buffers(), strict=True):
            b_avg.copy_(b_live)
