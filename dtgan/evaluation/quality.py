"""Background preservation (source vs translation) and output diversity of a synthesis set.

Background preservation: PSNR / SSIM between each source test normal and its translation, over all pixels and
outside the generated defect. The synthetic images have no defect masks, so the defect region is ESTIMATED as the
pixels whose change |out - src| (mean over RGB, [0, 1] scale) exceeds ``change_threshold``, dilated by
``dilation_px``; the metrics outside it say how much the background itself was altered. ``changed_fraction`` (the
estimated defect area) is reported so a threshold that flags the whole image is visible.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dtgan.metrics.quality import diversity_l1, outside_defect_mask, psnr, ssim_all_and_kept

# Identical images have infinite PSNR; they are counted as 100 dB (MSE ~ 6.5e-6 grey levels²) so a mean stays
# finite. Project convention; only reached by a generator that returns its input unchanged.
PSNR_CAP_DB = 100.0


def changed_pixels(sources: np.ndarray, outputs: np.ndarray, threshold: float) -> np.ndarray:
    """Boolean (N, H, W): mean absolute RGB change (in [0, 1]) above ``threshold``."""
    diff = np.abs(outputs.astype(np.float32) - sources.astype(np.float32)).mean(axis=-1) / 255.0
    return diff > threshold


def _mean(values: np.ndarray) -> float:
    finite = np.asarray(values, dtype=np.float64)
    finite = finite[~np.isnan(finite)]
    return float(finite.mean()) if finite.size else math.nan


def background_metrics(sources: np.ndarray, outputs: np.ndarray, change_threshold: float,
                       dilation_px: int) -> dict[str, float]:
    """Mean PSNR (dB, capped at PSNR_CAP_DB) / SSIM over all pixels and outside the estimated, dilated defect.

    Images whose estimated defect covers everything have no background pixels; they are left out of the
    ``*_outside_defect`` means (``n_no_background`` counts them).
    """
    changed = changed_pixels(sources, outputs, change_threshold)
    keep = outside_defect_mask(changed, dilation_px)
    psnr_out = np.minimum(psnr(sources, outputs, keep), PSNR_CAP_DB)
    ssim_all, ssim_out = ssim_all_and_kept(sources, outputs, keep)
    return {
        "psnr": _mean(np.minimum(psnr(sources, outputs), PSNR_CAP_DB)),
        "ssim": _mean(ssim_all),
        "psnr_outside_defect": _mean(psnr_out),
        "ssim_outside_defect": _mean(ssim_out),
        "changed_fraction": float(changed.mean()),
        "n_no_background": int((~keep).reshape(len(keep), -1).all(axis=1).sum()),
        "n_images": len(sources),
    }


def diversity_by_group(manifest: pd.DataFrame, images: np.ndarray) -> tuple[float, int]:
    """Mean over (source, target domain, mode) groups of the mean pairwise L1 among the group's repeats.

    Returns (mean, number of groups); groups with a single output are skipped (NaN, 0 if none has two). Groups
    with the same number of repeats are scored in one batched call.
    """
    by_size: dict[int, list[np.ndarray]] = {}
    for _, group in manifest.groupby(["source_id", "target_domain", "mode"], sort=True):
        if len(group) >= 2:
            by_size.setdefault(len(group), []).append(group.sort_values("repeat")["row"].to_numpy())
    values = [diversity_l1(images[np.stack(rows)]) for rows in by_size.values()]
    if not values:
        return math.nan, 0
    flat = np.concatenate(values)
    return float(flat.mean()), len(flat)
