"""Mixed precision of DT-GAN training (``gan.amp``): autocast around the forward passes, a GradScaler for fp16.

The weights, the Adam state and the EMA stay fp32; only the forward passes run in the lower precision. R1 is
computed in fp32 (objectives.discriminator_loss runs D's real-image pass outside autocast), since its double
backward squares small gradients. ``none`` is the plain fp32 code, not an autocast with fp32.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

AMP_DTYPES: dict[str, torch.dtype] = {"bf16": torch.bfloat16, "fp16": torch.float16}  # every gan.amp mode but none


def autocast(amp: str, device: torch.device) -> contextlib.AbstractContextManager[Any]:
    """The forward-pass context of ``gan.amp`` on ``device``."""
    if amp == "none":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=AMP_DTYPES[amp])


def grad_scaler(amp: str, device: torch.device) -> torch.amp.GradScaler | None:
    """fp16 needs loss scaling (its exponent range underflows small gradients); bf16 has fp32's range and does not."""
    return torch.amp.GradScaler(device.type) if amp == "fp16" else None
