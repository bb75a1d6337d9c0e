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


def background_metrics(sources: np.ndarray, outputs: np.ndarray, defect: np.ndarray,
                       dilation_px: int) -> dict[str, float]:
    """Mean PSNR (dB, capped at PSNR_CAP_DB) / SSIM over all pixels and outside the dilated defect region.

    ``defect`` (N, H, W) bool is each output's defect region (see :func:`defect_regions`). Images whose region covers
    everything have no background pixels; they are left out of the ``*_outside_defect`` means (``n_no_background``
    counts them).
    """
    keep = outside_defect_mask(defect, dilation_px)
    psnr_out = np.minimum(psnr(sources, outputs, keep), PSNR_CAP_DB)
    ssim_all, ssim_out = ssim_all_and_kept(sources, outputs, keep)
    return {
        "psnr": _mean(np.minimum(psnr(sources, outputs), PSNR_CAP_DB)),
        "ssim": _mean(ssim_all),
        "psnr_outside_defect": _mean(psnr_out),
        "ssim_outside_defect": _mean(ssim_out),
        "changed_fraction": float(defect.mean()),
        "n_no_background": int((~keep).reshape(len(keep), -1).all(axis=1).sum()),
        "n_images": len(sources),
    }


def defect_regions(sources: np.ndarray, outputs: np.ndarray, masks: np.ndarray | None,
                   change_threshold: float) -> tuple[np.ndarray, str]:
    """Each output's defect region and how it was found: the family's binary masks (DT-GAN: where G(x, s, d)
    differs from its anchor G(x, s, 0), dtgan.synthesis.masks) when it has them, else the pixels whose change from
    the source exceeds ``change_threshold`` (a family without an anchor, e.g. StarGAN v2 = variant a)."""
    if masks is not None:
        return masks, "anchor mask (|G(x, s, d) - G(x, s, 0)|, synthesis.mask_threshold)"
    return changed_pixels(sources, outputs, change_threshold), f"estimated: |out - src| > {change_threshold:g}"


def source_identity(outputs: np.ndarray, own: np.ndarray, candidates: np.ndarray, own_index: np.ndarray,
                    keep: np.ndarray) -> tuple[float, float]:
    """(mean distance to the own source, mean distance to the other normals of the product), 0-255 scale.

    Distance = mean |output - image| over RGB and the kept (outside-defect) pixels of the output. ``candidates``
    (S, H, W, 3) are the product's normals and ``own_index`` the position of each output's own source among them;
    the second value averages over every candidate but the own one. Their ratio is the source-identity ratio: well
    below 1 means the output kept its own source's background, about 1 means it is no closer to it than to any other
    image of the product.
    """
    weights = keep.astype(np.float64)
    counts = weights.reshape(len(keep), -1).sum(axis=1)
    own_d = _masked_l1(outputs, own, weights, counts)
    dists = np.stack([_masked_l1(outputs, np.broadcast_to(c, outputs.shape), weights, counts) for c in candidates], 1)
    others = dists.copy()
    others[np.arange(len(outputs)), own_index] = np.nan
    usable = counts > 0
    return float(own_d[usable].mean()), float(np.nanmean(others[usable], axis=1).mean())


def _masked_l1(a: np.ndarray, b: np.ndarray, weights: np.ndarray, counts: np.ndarray) -> np.ndarray:
    per_pixel = np.abs(a.astype(np.int16) - b.astype(np.int16)).mean(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (per_pixel * weights).reshape(len(a), -1).sum(axis=1) / counts


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
