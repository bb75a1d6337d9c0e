"""D and G objectives of one DT-GAN step: run the networks, then sum the pure loss terms of dtgan/gans/dtgan/losses.py.

Variant handling is by what the networks return: a ``None`` defect code (variant a) drops the defect parts of
L_sd_rec and L_d_rec and reduces L_ds to StarGAN v2's single pair; ``None`` classifier logits (a, b) drop L_FG and
L_BG. Inactive terms are logged as 0 and add nothing to the total.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from dtgan.gans.dtgan.losses import (
    adversarial_loss,
    anchor_identity_loss,
    background_classification_loss,
    code_imle_loss,
    cycle_loss,
    defect_reconstruction_loss,
    diversity_loss,
    foreground_classification_loss,
    pop_out_consistency,
    r1_penalty,
    source_consistency_loss,
    style_defect_reconstruction_loss,
    trimmed_identity_loss,
    weighted_total,
)
from dtgan.gans.dtgan.training.compile import eager
from dtgan.gans.dtgan.training.gradients import gradient_flags
from dtgan.gans.dtgan.training.sampler import Batch

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


def mapping_imle_loss(nets: Any, batch: Batch, targets: Codes, samples: int,
                      noise_generator: torch.Generator) -> Tensor:
    """``lambda_imle``'s term (not the paper's): each reference's E code in ``targets`` (E_y~(x_ref), computed by the
    caller without gradients: E learns from its own terms) pulls the nearest of ``samples`` codes M draws for the
    reference's domain from fresh z (drawn from ``noise_generator``, which checkpoints record)."""
    style_ref, defect_ref = targets
    rows = batch.y_trg.size(0)
    z = torch.randn(samples * rows, nets.mapping.latent_dim, generator=noise_generator, device=batch.y_trg.device)
    style, defect = nets.mapping(z, batch.y_trg.repeat(samples), noise_generator=noise_generator)
    return code_imle_loss(style.view(samples, *style_ref.shape),
                          None if defect is None else defect.view(samples, *defect_ref.shape), style_ref, defect_ref)


def needs_anchor(generator: Any, weights: dict[str, float]) -> bool:
    """Whether :func:`background_terms` run at ``weights``: a switch on, and G(x, s, 0) is the background path
    alone (fg_relative, variants d and e)."""
    return bool(weights["clean"] or weights["keep"]) and generator.fg_relative


def background_terms(nets: Any, batch: Batch, features: Tensor, weights: dict[str, float],
                     keep_trim: float, anchor: Tensor | None = None) -> dict[str, Tensor | None]:
    """The CPU default's terms on the background path of the batch's defect sources x (not the paper's):

    - clean (``lambda_clean``): CE(FG_cls(G(x, s, 0)), Normal) with D frozen (its classifiers learn from real
      images only), so the background path drops the source's defect and reconstruction must draw it through the
      defect code;
    - keep (``lambda_keep``): trimmed L1(G(x, s, 0), x), the ``keep_trim`` share of largest pixel errors left out,
      so dropping the defect need not cost the source's texture.

    Both None when off (:func:`needs_anchor`), without D's FG classifier, or without a defect source in the batch.
    ``features`` is the one encoding of the batch; ``anchor``: G(x, s, 0) of the whole batch when the caller's
    decoding already made it (Generator.decode_each), else made here from the defect sources' features."""
    off: dict[str, Tensor | None] = {"clean": None, "keep": None}
    rows = batch.y != 0
    if not needs_anchor(nets.generator, weights) or not bool(rows.any()):
        return off
    anchor = nets.generator.background_output(features[rows]) if anchor is None else anchor[rows]
    terms = dict(off)
    if weights["keep"]:
        terms["keep"] = trimmed_identity_loss(batch.x[rows], anchor, keep_trim)
    if weights["clean"] and nets.discriminator.fg_cls is not None:
        normal = torch.zeros_like(batch.y[rows])
        with gradient_flags([(nets.discriminator, False)]):
            terms["clean"] = foreground_classification_loss(nets.discriminator(anchor, normal).fg_logits, normal)
    return terms


def _optional(fn: Callable[[Tensor, Tensor], Tensor], logits: Tensor | None, labels: Tensor) -> Tensor | None:
    return None if logits is None else fn(logits, labels)


def discriminator_fakes(generator: Any, x: Tensor, codes: list[Codes]) -> list[Tensor]:
    """G(x, s, d) without gradients for each code pair of the iteration's D steps, from one encoding of ``x`` (and,
    with separate decoders, one background pass): G does not change between the D steps, so these are the fakes
    each D step would make itself."""
    with torch.no_grad():
        features = generator.encode_features(x)
        if codes[0][1] is not None and generator.separate_decoding:
            return generator.decode_each(features, codes)
        return [generator.decode(features, style, defect) for style, defect in codes]


def discriminator_loss(
    nets: Any, batch: Batch, codes: Codes, weights: dict[str, float], x_fake: Tensor | None = None
) -> tuple[Tensor, dict[str, float]]:
    """L_D = BCE(D_y(x),1) + BCE(D_y~(x_f),0) + λ_reg R1 + CE of FG_cls / BG_cls on REAL images only (spec §6, §10).

    ``x_fake``: G(x, codes) already made (discriminator_fakes); None = made here."""
    x_real = batch.x.detach().clone().requires_grad_(True)
    # R1 in fp32 under gan.amp: its double backward squares small input gradients, which bf16/fp16 would round away
    # (a no-op outside autocast).
    with torch.autocast(x_real.device.type, enabled=False), eager():  # eager: compiled graphs lack double backward
        real = nets.discriminator(x_real, batch.y)
    terms: dict[str, Tensor | None] = {
        "adv_real": adversarial_loss(real.logit, target_is_real=True),
        "r1": r1_penalty(real.logit, x_real),
        "fg": _optional(foreground_classification_loss, real.fg_logits, batch.y),
        "bg": _optional(background_classification_loss, real.bg_logits, batch.p),
    }
    if x_fake is None:
        x_fake = discriminator_fakes(nets.generator, batch.x, [codes])[0]
    fake = nets.discriminator(x_fake, batch.y_trg)
    terms["adv_fake"] = adversarial_loss(fake.logit, target_is_real=False)
    return weighted_total(terms, weights)


def _translations(generator: Any, features: Tensor, codes: CodePair,
                  with_anchor: bool) -> tuple[Tensor, list[Tensor], Tensor | None]:
    """x_f = G(x, s~1, d~1), the outputs for L_ds: (G11, G2) in variant (a); (G11, G22, G12, G21) with defect
    codes (spec §4.3), and with ``with_anchor`` the anchor output G(x, s, 0) when the same background pass gives it
    (else None). ``features`` is the one encoding of the source.

    G11, G12 and G21 are decoded in one call on a 3x batch: every normalisation in G is per sample (instance norm,
    AdaIN), so this equals three separate calls, and on a CPU one call of 3B images costs far less than three of B.
    With separate decoders (d, e) all four share one pass of the background decoder (Generator.decode_each); G22
    is detached there, which gives it the same value and the others the same gradients as computing it without
    gradients.
    """
    (s1, d1), (s2, d2) = codes
    if d1 is not None and generator.separate_decoding:
        x11, x12, x21, x22, *anchor = generator.decode_each(features, [(s1, d1), (s1, d2), (s2, d1), (s2, d2)],
                                                            with_anchor=with_anchor)
        return x11, [x11, x22.detach(), x12, x21], anchor[0] if anchor else None
    with torch.no_grad():  # the second output is always the detached side (StarGAN v2)
        x22 = generator.decode(features, s2, d2)
    if d1 is None:
        x11 = generator.decode(features, s1, None)
        return x11, [x11, x22], None
    styles, defects = torch.cat([s1, s1, s2]), torch.cat([d1, d2, d1])
    x11, x12, x21 = generator.decode(features.repeat(3, 1, 1, 1), styles, defects).chunk(3)
    return x11, [x11, x22, x12, x21], None


def _source_codes_and_cycle(nets: Any, batch: Batch, x_fake: Tensor) -> tuple[Codes, Tensor, Tensor]:
    """(s^, d^) = E_y(x) (d^ = 0 for Normal by the anchor rule inside E), L_cyc = L1(x, G(x_f, s^, d^)), and G's
    bottleneck features of x_f (reused for L_d_rec)."""
    style_src, defect_src = nets.encoder(batch.x, batch.y)
    fake_features = nets.generator.encode_features(x_fake)
    x_rec = nets.generator.decode(fake_features, style_src, defect_src)
    return (style_src, defect_src), cycle_loss(batch.x, x_rec), fake_features


def generator_loss(
    nets: Any, batch: Batch, codes: CodePair, weights: dict[str, float], imle: Tensor | None = None, *,
    keep_trim: float,
) -> tuple[Tensor, dict[str, float]]:
    """L_G = BCE(D_y~(x_f),1) + L_sd_rec - λ_ds L_ds + L_cyc + L_d_rec + CE(FG_cls(x_f), y~) + CE(BG_cls(x_f), p),
    plus the non-paper terms src, anchor, ``imle`` (mapping_imle_loss's value, given in the latent step only) and
    the background path's clean and keep (:func:`background_terms`, trimmed at ``keep_trim``).

    G encodes each image once (source, fake) and decodes it as often as needed: the same values and gradients as
    running G from pixels every time, at a fraction of the encoder passes."""
    style_trg, defect_trg = codes[0]
    features = nets.generator.encode_features(batch.x)
    x_fake, diversity_outputs, anchor = _translations(nets.generator, features, codes,
                                                      needs_anchor(nets.generator, weights))
    judged = nets.discriminator(x_fake, batch.y_trg)
    style_pred, defect_pred = nets.encoder(x_fake, batch.y_trg)
    has_defect = defect_trg is not None
    (_, defect_src), cyc, fake_features = _source_codes_and_cycle(nets, batch, x_fake)
    terms: dict[str, Tensor | None] = {
        "adv": adversarial_loss(judged.logit, target_is_real=True),
        "sd_rec": style_defect_reconstruction_loss(
            style_trg, style_pred, defect_trg if has_defect else None, defect_pred if has_defect else None
        ),
        "ds": diversity_loss(diversity_outputs),
        "cyc": cyc,
        "d_rec": _defect_reconstruction(nets.generator, features, fake_features, defect_src, defect_trg),
        # Fakes: FG label = TARGET domain y~, BG label = SOURCE product p (the background must not change).
        "fg": _optional(foreground_classification_loss, judged.fg_logits, batch.y_trg),
        "bg": _optional(background_classification_loss, judged.bg_logits, batch.p),
        "src": source_consistency_loss(batch.x, x_fake) if weights["src"] else None,
        "anchor": _anchor_identity(nets.generator, batch, features, style_trg, defect_trg) if weights["anchor"]
        else None,
        "imle": imle,
        **background_terms(nets, batch, features, weights, keep_trim, anchor),
    }
    return weighted_total(terms, weights)


def _anchor_identity(generator: Any, batch: Batch, features: Tensor, style: Tensor,
                     defect: Tensor | None) -> Tensor | None:
    """L1(G(x, s, 0), x) over the batch's Normal sources x with the styles s of this step (None without a defect
    code or without a Normal source)."""
    normal = batch.y == 0
    if defect is None or not bool(normal.any()):
        return None
    zero = torch.zeros_like(defect[normal])
    return anchor_identity_loss(batch.x[normal], generator.decode(features[normal], style[normal], zero))


def _defect_reconstruction(
    generator: Any, features: Tensor, fake_features: Tensor, defect_src: Tensor | None, defect_trg: Tensor | None
) -> Tensor | None:
    """L_d_rec on G's pop-out channels FG_G of the source and the fake, or None without a defect code (variant a)."""
    if defect_src is None or defect_trg is None or not generator.defect_code:
        return None
    fg_real, fg_fake = generator.split(features)[1], generator.split(fake_features)[1]
    return defect_reconstruction_loss(fg_real, defect_src, fg_fake, defect_trg)


def warmup_loss(nets: Any, batch: Batch, weights: dict[str, float], imle: Tensor | None = None,
                reference: Codes | None = None, *, keep_trim: float) -> tuple[Tensor, dict[str, float]]:
    """Non-adversarial warm-up objective (gan.warmup_iters; not in the paper, which starts adversarially).

    Terms that need no translated image: the paper's own losses (cyc, d_rec, fg, bg) and the CPU default's non-paper
    terms (imle, anchor), each at its weight:
    - cyc: L1(x, G(x, E_y(x))), the target of L_cyc with the translation x_f replaced by x itself, so G learns
      to rebuild backgrounds and E learns source codes;
    - d_rec: L1(FG_G(x), D_E,y(x)), the real-image half of L_d_rec (with the anchor rule: FG_G(normal) -> 0);
    - fg, bg: D's FG/BG classifiers on real images (D's half of L_FG and L_BG);
    - imle (not the paper's): mapping_imle_loss's value when lambda_imle is set, so M starts the GAN phase drawing
      codes like E's instead of untrained;
    - anchor (not the paper's): G(x, s_ref, 0) = x for Normal sources, with ``reference`` = E_y~(x_ref) computed by
      the caller without gradients (the styles the GAN phase's reference step uses);
    - clean, keep (not the paper's): :func:`background_terms` on the defect sources' background path; D is frozen
      for clean, so its classifiers still learn from real images only.
    G/E, M and D terms touch disjoint parameters, so one backward serves all.
    """
    style_src, defect_src = nets.encoder(batch.x, batch.y)
    features = nets.generator.encode_features(batch.x)
    real = nets.discriminator(batch.x, batch.y)
    has_pop_out = defect_src is not None and nets.generator.defect_code
    terms: dict[str, Tensor | None] = {
        "cyc": cycle_loss(batch.x, nets.generator.decode(features, style_src, defect_src)),
        "d_rec": pop_out_consistency(nets.generator.split(features)[1], defect_src) if has_pop_out else None,
        "fg": _optional(foreground_classification_loss, real.fg_logits, batch.y),
        "bg": _optional(background_classification_loss, real.bg_logits, batch.p),
        "imle": imle,
        **background_terms(nets, batch, features, weights, keep_trim),
    }
    if weights["anchor"]:
        if reference is None:
            msg = "warmup_loss: lambda_anchor needs the references' codes (reference=E_y~(x_ref))"
            raise ValueError(msg)
        terms["anchor"] = _anchor_identity(nets.generator, batch, features, reference[0], defect_src)
    return weighted_total(terms, weights)
