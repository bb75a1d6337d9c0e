"""Gradient Reversal Layer (Ganin & Lempitsky 2015), used by the auxiliary real-vs-synthetic source head.

Forward it is the identity; backward it multiplies the incoming gradient by ``-coefficient``. Placed between the
backbone's pooled features and the source classifier, the head learns to tell real from synthetic images while the
backbone is pushed towards features that do not separate them (protocol.md §4).
"""

from __future__ import annotations

import torch
from torch import nn


class _ReverseGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, coefficient: float) -> torch.Tensor:  # noqa: ANN001 - autograd signature
        ctx.coefficient = coefficient
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> tuple[torch.Tensor, None]:  # noqa: ANN001
        return -ctx.coefficient * grad_output, None


def reverse_gradient(x: torch.Tensor, coefficient: float = 1.0) -> torch.Tensor:
    """Identity in the forward pass; gradient ×(−coefficient) in the backward pass."""
    return _ReverseGradient.apply(x, coefficient)


class GradientReversal(nn.Module):
    """Module form of :func:`reverse_gradient` with a fixed coefficient (``classifier.grl_coefficient``)."""

    def __init__(self, coefficient: float = 1.0) -> None:
        super().__init__()
        if coefficient < 0:
            msg = f"gradient reversal coefficient must be >= 0, got {coefficient}"
            raise ValueError(msg)
        self.coefficient = float(coefficient)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return reverse_gradient(x, self.coefficient)

    def extra_repr(self) -> str:
        return f"coefficient={self.coefficient}"
