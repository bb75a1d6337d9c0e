"""Loss terms of Mask Based Unsupervised Content Transfer as pure functions of tensors.

Notation of the paper: A = Normal images (no separate content), B = defect images; E_c common encoder, E_s separate
encoder, D_A decoder of A-like images, D_B mask decoder, C the code discriminator. The official ``mask_train.py``
(whose A/B are swapped) sums, for the encoders and decoders:

    lambda_recon1_a       * L1(D_A(E_c(a), 0), a)                               [delta 5]   L_Recon1^A
    lambda_recon1_b       * L1(D_B(E_c(b), E_s(b), D_A(E_c(b), 0)), b)          [gama 7]    L_Recon1^B
    lambda_recon2_a       * L1(D_B(E_c(a), 0, a), a)                            [alpha2 .7] L_Recon2^A
    lambda_recon2_b       * L1(D_B(E_c(b), E_s(b), b), b)                       [alpha1 .7] L_Recon2^B
    lambda_cycle_common   * MSE(E_c(t), E_c(a)),  t = D_B(E_c(a), E_s(b), a)    [beta1 0]   L_Cycle, 1st
    lambda_cycle_separate * MSE(E_s(t), E_s(b))                                 [beta2 .001] L_Cycle, 2nd
    lambda_dc             * (BCE(C(E_c(a)), 0) + BCE(C(E_c(b)), 0))             [discweight .005] L_DC

and trains C on BCE(C(E_c(a)), 0) + BCE(C(E_c(b)), 1). There is no separate mask-sparsity term: L_Recon2^A is the
mask term (with a zero separate code, D_B must give back a itself, so any mask where the content differs from a
costs), and L_Recon1^B makes the mask carry what D_A cannot rebuild from the common code.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor

A_LABEL = 0.0  # C's target for codes of A (Normal) images; the encoder pushes every code towards it
B_LABEL = 1.0  # C's target for codes of B (defect) images

AUTOENCODER_TERMS = ("recon1_a", "recon1_b", "recon2_a", "recon2_b", "cycle_common", "cycle_separate", "dc")


def reconstruction_term(output: Tensor, target: Tensor) -> Tensor:
    """Mean absolute error (official nn.L1Loss), used by all four reconstruction terms."""
    return F.l1_loss(output, target)


def cycle_term(code_pred: Tensor, code_target: Tensor) -> Tensor:
    """Mean squared error between a re-encoded code and the code it came from (official nn.MSELoss).

    The target is not detached, as in the official code: both encodings move towards each other.
    """
    return F.mse_loss(code_pred, code_target)


def _bce(logits: Tensor, label: float) -> Tensor:
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def confusion_term(logits_a: Tensor, logits_b: Tensor) -> Tensor:
    """L_DC for the encoder: both domains' common codes should be classified as A (official ``B_label`` for both).

    Minimising it moves C(E_c(b)) towards the A label, i.e. E_c hides from C whether an image had the content.
    """
    return _bce(logits_a, A_LABEL) + _bce(logits_b, A_LABEL)


def code_disc_loss(logits_a: Tensor, logits_b: Tensor) -> tuple[Tensor, dict[str, float]]:
    """C's own objective: tell A's common codes (label 0) from B's (label 1)."""
    real_a = _bce(logits_a, A_LABEL)
    real_b = _bce(logits_b, B_LABEL)
    total = real_a + real_b
    logged = {"disc_a": float(real_a.detach()), "disc_b": float(real_b.detach()), "disc_total": float(total.detach())}
    return total, logged


def weighted_sum(terms: Mapping[str, Tensor | None], weights: Mapping[str, float]) -> tuple[Tensor, dict[str, float]]:
    """Σ weight_k · term_k over the terms with a non-zero weight; returns (total, unweighted values + ``total``).

    A term that was not computed (``None``) or has weight 0 adds nothing (and cannot turn the total into NaN);
    computed terms are still logged.
    """
    missing = sorted(k for k in terms if k not in weights)
    if missing:
        msg = f"weighted_sum: no weight for term(s) {missing}; weights given for {sorted(weights)}"
        raise KeyError(msg)
    active = [weights[k] * v for k, v in terms.items() if v is not None and weights[k] != 0]
    if not active:
        msg = "weighted_sum: every term is missing or has weight 0, nothing to optimise"
        raise ValueError(msg)
    total = torch.stack(active).sum()
    logged = {k: float(v.detach()) for k, v in terms.items() if v is not None}
    logged["total"] = float(total.detach())
    return total, logged
