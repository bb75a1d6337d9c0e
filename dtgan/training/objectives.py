"""D and G objectives of one DT-GAN step: run the networks, then sum the pure loss terms of dtgan/losses.py.

Variant handling is by what the networks return: a ``None`` defect code (variant a) drops the defect parts of
L_sd_rec and L_d_rec and reduces L_ds to StarGAN v2's single pair; ``None`` classifier logits (a, b) drop L_FG and
L_BG. Inactive terms are logged as 0 and add nothing to the total.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from dtgan.losses import (
    adversarial_loss,
    background_classification_loss,
    cycle_loss,
    defect_reconstruction_loss,
    diversity_loss,
    foreground_classification_loss,
    r1_penalty,
    style_defect_reconstruction_loss,
    weighted_total,
)
from dtgan.training.sampler import Batch

Codes = tuple[Tensor, "Tensor | None"]  # (style (B,S), defect (B,fg,h,w) or None)
CodePair = tuple[Codes, Codes]


def latent_codes(nets: Any, batch: Batch, noise_generator: torch.Generator | None) -> CodePair:
    """(s~1, d~1), (s~2, d~2) = M_y~(z1), M_y~(z2): latent-guided target codes."""
    first = nets.mapping(batch.z1, batch.y_trg, noise_generator=noise_generator)
    second = nets.mapping(batch.z2, batch.y_trg, noise_generator=noise_generator)
    return first, second


def reference_codes(nets: Any, batch: Batch) -> CodePair:
    """E_y~(x_ref), E_y~(x_ref2): reference-guided target codes (two references of the target domain)."""
    return nets.encoder(batch.x_ref, batch.y_trg), nets.encoder(batch.x_ref2, batch.y_trg)


def _optional(fn: Callable[[Tensor, Tensor], Tensor], logits: Tensor | None, labels: Tensor) -> Tensor | None:
    return None if logits is None else fn(logits, labels)


def discriminator_loss(
    nets: Any, batch: Batch, codes: Codes, weights: dict[str, float]
) -> tuple[Tensor, dict[str, float]]:
    """L_D = BCE(D_y(x),1) + BCE(D_y~(x_f),0) + λ_reg R1 + CE of FG_cls / BG_cls on REAL images only (spec §6, §10)."""
    x_real = batch.x.detach().clone().requires_grad_(True)
    real = nets.discriminator(x_real, batch.y)
    terms: dict[str, Tensor | None] = {
        "adv_real": adversarial_loss(real.logit, target_is_real=True),
        "r1": r1_penalty(real.logit, x_real),
        "fg": _optional(foreground_classification_loss, real.fg_logits, batch.y),
        "bg": _optional(background_classification_loss, real.bg_logits, batch.p),
    }
    with torch.no_grad():
        x_fake = nets.generator(batch.x, codes[0], codes[1])
    fake = nets.discriminator(x_fake, batch.y_trg)
    terms["adv_fake"] = adversarial_loss(fake.logit, target_is_real=False)
    return weighted_total(terms, weights)


def _diversity_outputs(generator: Any, x: Tensor, x11: Tensor, codes: CodePair) -> list[Tensor]:
    """Outputs for L_ds: (G11, G2) in variant (a); (G11, G22, G12, G21) with defect codes (spec §4.3)."""
    (s1, d1), (s2, d2) = codes
    with torch.no_grad():  # the second output is always the detached side (StarGAN v2)
        x22 = generator(x, s2, d2)
    if d1 is None:
        return [x11, x22]
    return [x11, x22, generator(x, s1, d2), generator(x, s2, d1)]


def _source_codes_and_cycle(nets: Any, batch: Batch, x_fake: Tensor) -> tuple[Codes, Tensor]:
    """(s^, d^) = E_y(x) (d^ = 0 for Normal by the anchor rule inside E) and L_cyc = L1(x, G(x_f, s^, d^))."""
    style_src, defect_src = nets.encoder(batch.x, batch.y)
    x_rec = nets.generator(x_fake, style_src, defect_src)
    return (style_src, defect_src), cycle_loss(batch.x, x_rec)


def generator_loss(
    nets: Any, batch: Batch, codes: CodePair, weights: dict[str, float]
) -> tuple[Tensor, dict[str, float]]:
    """L_G = BCE(D_y~(x_f),1) + L_sd_rec - λ_ds L_ds + L_cyc + L_d_rec + CE(FG_cls(x_f), y~) + CE(BG_cls(x_f), p)."""
    style_trg, defect_trg = codes[0]
    x_fake = nets.generator(batch.x, style_trg, defect_trg)
    judged = nets.discriminator(x_fake, batch.y_trg)
    style_pred, defect_pred = nets.encoder(x_fake, batch.y_trg)
    has_defect = defect_trg is not None
    (_, defect_src), cyc = _source_codes_and_cycle(nets, batch, x_fake)
    terms: dict[str, Tensor | None] = {
        "adv": adversarial_loss(judged.logit, target_is_real=True),
        "sd_rec": style_defect_reconstruction_loss(
            style_trg, style_pred, defect_trg if has_defect else None, defect_pred if has_defect else None
        ),
        "ds": diversity_loss(_diversity_outputs(nets.generator, batch.x, x_fake, codes)),
        "cyc": cyc,
        "d_rec": _defect_reconstruction(nets.generator, batch.x, x_fake, defect_src, defect_trg),
        # Fakes: FG label = TARGET domain y~, BG label = SOURCE product p (the background must not change).
        "fg": _optional(foreground_classification_loss, judged.fg_logits, batch.y_trg),
        "bg": _optional(background_classification_loss, judged.bg_logits, batch.p),
    }
    return weighted_total(terms, weights)


def _defect_reconstruction(
    generator: Any, x: Tensor, x_fake: Tensor, defect_src: Tensor | None, defect_trg: Tensor | None
) -> Tensor | None:
    """L_d_rec, or None when the variant has no defect code / no pop-out channels."""
    if defect_src is None or defect_trg is None:
        return None
    fg_real = generator.pop_out(x)
    if fg_real is None:
        return None
    return defect_reconstruction_loss(fg_real, defect_src, generator.pop_out(x_fake), defect_trg)
