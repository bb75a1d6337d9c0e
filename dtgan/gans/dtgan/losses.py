"""DT-GAN loss terms (spec dtgan.md §4) as pure functions of tensors, plus the weighted sum.

Every term takes plain tensors and returns a scalar tensor; :func:`weighted_total` applies the λ weights and returns
``(total, dict of floats)``. The networks are run elsewhere (training/objectives.py), so each term can be
tested on small hand-made tensors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def adversarial_loss(logits: Tensor, target_is_real: bool) -> Tensor:
    """Non-saturating BCE-with-logits against a constant 1 (real) or 0 (fake) target, as StarGAN v2 (§4.1)."""
    target = torch.full_like(logits, 1.0 if target_is_real else 0.0)
    return F.binary_cross_entropy_with_logits(logits, target)


def r1_penalty(real_logits: Tensor, x_real: Tensor) -> Tensor:
    """R1 = 0.5 · E_batch[ ||∂ sum(D(x)) / ∂x||² ] (StarGAN v2 compute_d_loss); ``x_real`` must require grad."""
    if not x_real.requires_grad:
        msg = "r1_penalty needs x_real.requires_grad=True (set it before running the discriminator)"
        raise ValueError(msg)
    (grad,) = torch.autograd.grad(real_logits.sum(), x_real, create_graph=True)
    return 0.5 * grad.pow(2).reshape(grad.shape[0], -1).sum(dim=1).mean()


def style_defect_reconstruction_loss(
    style_target: Tensor, style_pred: Tensor, defect_target: Tensor | None = None, defect_pred: Tensor | None = None
) -> Tensor:
    """L_sd_rec (§4.2): L1(s~, S_E(x_f)) + L1(d~, D_E(x_f)); the defect part only exists from variant (b) on."""
    loss = F.l1_loss(style_pred, style_target)
    if (defect_target is None) != (defect_pred is None):
        msg = "style_defect_reconstruction_loss: defect_target and defect_pred must both be given or both be None"
        raise ValueError(msg)
    if defect_target is not None:
        loss = loss + F.l1_loss(defect_pred, defect_target)
    return loss


def pop_out_consistency(fg: Tensor, code: Tensor) -> Tensor:
    """One half of L_d_rec: L1 between G's pop-out channels FG_G(image) and the defect code meant for them."""
    return F.l1_loss(fg, code)


def defect_reconstruction_loss(fg_real: Tensor, defect_real: Tensor, fg_fake: Tensor, defect_fake: Tensor) -> Tensor:
    """L_d_rec (§4.5): L1(FG_G(x), D_E,y(x)) + L1(FG_G(x_f), d~).

    With the anchor rule D_E,Normal = 0, so the first part pushes G's pop-out of every normal image to zero.
    """
    return pop_out_consistency(fg_real, defect_real) + pop_out_consistency(fg_fake, defect_fake)


def diversity_loss(outputs: Sequence[Tensor]) -> Tensor:
    """L_ds (§4.3): mean L1 distance over all pairs of the given outputs; the second of each pair is detached.

    Two outputs = StarGAN v2's single pair |G(x,s1) - G(x,s2).detach()|. Four outputs ordered
    (G11, G22, G12, G21) give the 6 DT-GAN pairs G11-G22, G12-G21, G12-G11, G12-G22, G21-G11, G21-G22; the detached
    side follows StarGAN v2 (which detaches x_fake2) so the gradient flows through one image of every pair.
    This term is *maximised*: the generator objective subtracts it (see :func:`weighted_total`).
    """
    if len(outputs) == 2:
        pairs = [(0, 1)]
    elif len(outputs) == 4:
        pairs = [(0, 1), (2, 3), (2, 0), (2, 1), (3, 0), (3, 1)]
    else:
        msg = f"diversity_loss expects 2 (StarGAN v2) or 4 (DT-GAN) outputs, got {len(outputs)}"
        raise ValueError(msg)
    distances = [F.l1_loss(outputs[i], outputs[j].detach()) for i, j in pairs]
    return torch.stack(distances).mean()


def cycle_loss(x: Tensor, x_reconstructed: Tensor) -> Tensor:
    """L_cyc (§4.4): L1(x, G(G(x, s~, d~), E_y(x)))."""
    return F.l1_loss(x_reconstructed, x)


def source_consistency_loss(x: Tensor, x_fake: Tensor) -> Tensor:
    """L1(x_f, x) between a translation and its own source: NOT a DT-GAN term (``lambda_src``, 0 in the paper).

    A CPU-budget device: a defect covers a few percent of the pixels, so at a small weight this costs a transferred
    defect little and a repainted background a lot; the paper's 100k adversarial iterations do without it.
    """
    return F.l1_loss(x_fake, x)


def anchor_identity_loss(x_normal: Tensor, anchor_output: Tensor) -> Tensor:
    """L1(G(x, s~, 0), x) for Normal sources: NOT a DT-GAN term (``lambda_anchor``, 0 in the paper).

    The anchor output (zero defect code) of a Normal source must be the source whatever the target style s~, so the
    style can only shape what the defect code adds; see dtgan/gans/dtgan/config.py.
    """
    return F.l1_loss(anchor_output, x_normal)


def trimmed_identity_loss(x: Tensor, output: Tensor, trim: float) -> Tensor:
    """Mean |output - x| over each image's pixels, leaving out its ``trim`` share of largest pixel errors (mean over
    channels): NOT a DT-GAN term (``lambda_keep``, 0 in the paper).

    Applied to the background path G(x, s, 0) of defect sources, which ``lambda_clean`` makes drop the defect: the
    pixels it changes there (the defect) are the largest errors and go free, every other pixel must stay the
    source's, so dropping the defect need not cost the texture; see dtgan/gans/dtgan/config.py.
    """
    if not 0 <= trim < 1:
        msg = f"trimmed_identity_loss: trim must lie in [0, 1), got {trim}"
        raise ValueError(msg)
    errors = (output - x).abs().mean(1).flatten(1)
    kept = max(1, round(errors.size(1) * (1 - trim)))
    return torch.topk(errors, kept, dim=1, largest=False).values.mean()


def foreground_classification_loss(fg_logits: Tensor, domains: Tensor) -> Tensor:
    """L_FG (§4.6) for one set of images: CE of FG_cls against the foreground domain.

    Real images are labelled with their own domain y (D's objective); fakes with the TARGET domain y~ (G's).
    """
    return F.cross_entropy(fg_logits, domains)


def background_classification_loss(bg_logits: Tensor, products: Tensor) -> Tensor:
    """L_BG (§4.7) for one set of images: CE of BG_cls against the product.

    Fakes keep the SOURCE product p, so they are labelled with p: G must not change the background.
    """
    return F.cross_entropy(bg_logits, products)


def code_imle_loss(style_candidates: Tensor, defect_candidates: Tensor | None, style_target: Tensor,
                   defect_target: Tensor | None) -> Tensor:
    """NOT a DT-GAN term (``lambda_imle``, 0 in the paper): conditional IMLE (Li & Malik 2019) of M's codes on E's.

    ``*_candidates`` hold K codes per target row, shape (K, B, ...); each target (B, ...) pulls only its nearest
    candidate (mean L1 over the style plus mean L1 over the defect code), so M learns to cover every real code
    rather than their mean. Returns the mean over rows of that nearest distance.
    """
    if (defect_candidates is None) != (defect_target is None):
        msg = "code_imle_loss: defect_candidates and defect_target must both be given or both be None"
        raise ValueError(msg)
    if style_candidates.dim() != style_target.dim() + 1 or style_candidates.shape[1:] != style_target.shape:
        msg = (f"code_imle_loss: candidates must be (K, *target shape); got {tuple(style_candidates.shape)} for "
               f"targets {tuple(style_target.shape)}")
        raise ValueError(msg)
    distance = (style_candidates - style_target).abs().flatten(2).mean(dim=2)  # (K, B)
    if defect_candidates is not None:
        distance = distance + (defect_candidates - defect_target).abs().flatten(2).mean(dim=2)
    return distance.min(dim=0).values.mean()


# Terms that are maximised (subtracted) in the objective they appear in.
SUBTRACTED_TERMS = frozenset({"ds"})


def weighted_total(terms: Mapping[str, Tensor | None], weights: Mapping[str, float]) -> tuple[Tensor, dict[str, float]]:
    """Σ λ_k · term_k, with L_ds subtracted; ``None`` terms (inactive in a variant) add nothing and are logged as 0.

    Returns the differentiable total and a dict of the *unweighted* term values plus ``total`` (floats, for logs).
    """
    missing = sorted(k for k in terms if k not in weights)
    if missing:
        msg = f"weighted_total: no weight for term(s) {missing}; weights given for {sorted(weights)}"
        raise KeyError(msg)
    active = [(k, v) for k, v in terms.items() if v is not None]
    if not active:
        msg = "weighted_total: every term is None, nothing to optimise"
        raise ValueError(msg)
    total = sum(
        (-weights[k] if k in SUBTRACTED_TERMS else weights[k]) * v for k, v in active
    )
    logged = {k: (float(v.detach()) if v is not None else 0.0) for k, v in terms.items()}
    logged["total"] = float(total.detach())
    return total, logged

