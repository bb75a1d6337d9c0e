"""Loss-weight schedules as pure functions of the step (never mutated state, so resuming cannot reset them)."""

from __future__ import annotations

from dtgan.gans.dtgan.config import LossWeights


def lambda_ds_at(step: int, initial: float, decay_iters: int) -> float:
    """λ_ds at 0-based iteration ``step``: linear from ``initial`` to 0 over ``decay_iters`` steps, then 0.

    StarGAN v2 subtracts initial/ds_iter after every iteration, so iteration ``step`` uses
    initial · (1 - step/ds_iter); this is the same sequence computed without state.
    """
    if step < 0:
        msg = f"lambda_ds_at: step must be >= 0, got {step}"
        raise ValueError(msg)
    if decay_iters < 1:
        msg = f"lambda_ds_at: decay_iters must be >= 1, got {decay_iters}"
        raise ValueError(msg)
    return initial * max(0.0, 1.0 - step / decay_iters)


def discriminator_weights(weights: LossWeights, lambda_reg: float) -> dict[str, float]:
    """Weights of D's terms: real/fake BCE, R1, and the classifiers' CE on real images (spec §10)."""
    return {
        "adv_real": weights.lambda_adv,
        "adv_fake": weights.lambda_adv,
        "r1": lambda_reg,
        "fg": weights.lambda_fg,
        "bg": weights.lambda_bg,
    }


def generator_weights(weights: LossWeights, step: int, ds_decay_iters: int) -> dict[str, float]:
    """Weights of G's terms at ``step``; only λ_ds changes with the step."""
    return {
        "adv": weights.lambda_adv,
        "sd_rec": weights.lambda_sd_rec,
        "ds": lambda_ds_at(step, weights.lambda_ds, ds_decay_iters),
        "cyc": weights.lambda_cyc,
        "d_rec": weights.lambda_d_rec,
        "fg": weights.lambda_fg,
        "bg": weights.lambda_bg,
        "src": weights.lambda_src,
        "anchor": weights.lambda_anchor,
        "imle": weights.lambda_imle,
        "clean": weights.lambda_clean,
        "keep": weights.lambda_keep,
    }


def warmup_weights(weights: LossWeights) -> dict[str, float]:
    """Weights of the warm-up terms: the paper's own λ of the losses they come from."""
    return {"cyc": weights.lambda_cyc, "d_rec": weights.lambda_d_rec, "fg": weights.lambda_fg, "bg": weights.lambda_bg,
            "anchor": weights.lambda_anchor, "imle": weights.lambda_imle, "clean": weights.lambda_clean,
            "keep": weights.lambda_keep}
