"""One training iteration's forward passes (official ``mask_train.py`` loop body), split from the loss maths."""

from __future__ import annotations

import torch
from torch import Tensor

from dtgan.gans.mokady.config import MokadyConfig
from dtgan.gans.mokady.losses import AUTOENCODER_TERMS, confusion_term, cycle_term, reconstruction_term
from dtgan.gans.mokady.nets import MokadyNets


def loss_weights(cfg: MokadyConfig) -> dict[str, float]:
    """Term name -> weight, in the names of :data:`AUTOENCODER_TERMS`."""
    return {name: float(getattr(cfg, f"lambda_{name}")) for name in AUTOENCODER_TERMS}


def autoencoder_terms(nets: MokadyNets, a: Tensor, b: Tensor, weights: dict[str, float]) -> dict[str, Tensor | None]:
    """Every term of the encoder/decoder objective for a batch ``a`` of Normal and ``b`` of defect images.

    Terms whose weight makes them unused are not computed (None), as the official code skips L_DC at weight 0.
    """
    common_a, common_b = nets.common_encoder(a), nets.common_encoder(b)
    separate_b = nets.separate_encoder(b)
    code_a0 = torch.cat([common_a, nets.zero_separate(common_a)], dim=1)  # a's code with the zero separate code
    code_b0 = torch.cat([common_b, nets.zero_separate(common_b)], dim=1)
    code_b = torch.cat([common_b, separate_b], dim=1)
    # L_Recon1^B: b without its content (D_A) is the base D_B pastes b's content onto, so the mask must cover
    # exactly what the common code cannot explain.
    recon1_b, _ = nets.mask_decoder(code_b, nets.normal_decoder(code_b0))
    terms: dict[str, Tensor | None] = {
        "recon1_a": reconstruction_term(nets.normal_decoder(code_a0), a),
        "recon1_b": reconstruction_term(recon1_b, b),
        "recon2_a": reconstruction_term(nets.mask_decoder(code_a0, a)[0], a),
        "recon2_b": reconstruction_term(nets.mask_decoder(code_b, b)[0], b),
        "cycle_common": None,
        "cycle_separate": None,
        "dc": None,
    }
    if weights["cycle_common"] > 0 or weights["cycle_separate"] > 0:
        # The official code re-encodes the transfer with both encoders whenever it runs (beta1 = 0 included).
        transfer, _ = nets.mask_decoder(torch.cat([common_a, separate_b], dim=1), a)
        terms["cycle_common"] = cycle_term(nets.common_encoder(transfer), common_a)
        terms["cycle_separate"] = cycle_term(nets.separate_encoder(transfer), separate_b)
    if weights["dc"] > 0:
        terms["dc"] = confusion_term(nets.code_disc(common_a), nets.code_disc(common_b))
    return terms


def code_disc_logits(nets: MokadyNets, a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """C's logits on fresh common codes of both batches (after the encoder update, as the official loop).

    The encoder runs without a graph: C's step must not train E_c (the official code zeroes E_c's gradients before
    its next step, which amounts to the same).
    """
    with torch.no_grad():
        common_a, common_b = nets.common_encoder(a), nets.common_encoder(b)
    return nets.code_disc(common_a), nets.code_disc(common_b)
