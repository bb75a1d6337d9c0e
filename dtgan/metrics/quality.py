"""Offline image-quality metrics that need no ImageNet network: PSNR, SSIM, output diversity.

PSNR and SSIM compare each source image with its translation; a defect transfer should leave the background alone,
so both accept an optional boolean ``keep`` mask (N, H, W) of the pixels to score, usually built with
:func:`outside_defect_mask` (pixels outside the dilated defect region). Diversity replaces StarGAN v2's LPIPS
(whose AlexNet + learned weights cannot be downloaded here) with the mean pairwise L1 distance among the outputs
of one source; it is therefore named ``diversity_l1`` and is not comparable with LPIPS numbers.

All inputs are uint8 RGB arrays (N, H, W, 3), i.e. images already quantised like everything else that is scored.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

# SSIM constants of Wang et al. 2004: 11x11 Gaussian window, sigma 1.5, K1 = 0.01, K2 = 0.03, L = 255.
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
SSIM_K1 = 0.01
SSIM_K2 = 0.03
DATA_RANGE = 255.0


def _check_pair(a: np.ndarray, b: np.ndarray) -> None:
    for label, arr in (("a", a), ("b", b)):
        if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8 or arr.ndim != 4 or arr.shape[-1] != 3:
            msg = f"{label} must be a uint8 array (N, H, W, 3), got {getattr(arr, 'dtype', type(arr))} " \
                  f"{getattr(arr, 'shape', '')}"
            raise ValueError(msg)
    if a.shape != b.shape:
        msg = f"image arrays differ in shape: {a.shape} vs {b.shape}"
        raise ValueError(msg)


def _check_keep(keep: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    if keep is None:
        return None
    keep = np.asarray(keep)
    if keep.dtype != bool or keep.shape != shape[:3]:
        msg = f"keep mask must be a boolean array of shape {shape[:3]}, got {keep.dtype} {keep.shape}"
        raise ValueError(msg)
    return keep


def outside_defect_mask(defect_masks: np.ndarray, dilation_px: int = 3) -> np.ndarray:
    """True where a pixel is farther than ``dilation_px`` (square neighbourhood) from any defect pixel.

    ``defect_masks`` is (N, H, W), non-zero on the defect (uint8 255 or bool).
    """
    masks = np.asarray(defect_masks)
    if masks.ndim != 3:
        msg = f"defect_masks must be (N, H, W), got shape {masks.shape}"
        raise ValueError(msg)
    if dilation_px < 0:
        msg = f"dilation_px must be >= 0, got {dilation_px}"
        raise ValueError(msg)
    defect = torch.from_numpy(masks != 0).float().unsqueeze(1)
    if dilation_px > 0:
        defect = F.max_pool2d(defect, kernel_size=2 * dilation_px + 1, stride=1, padding=dilation_px)
    return (defect.squeeze(1) == 0).numpy()


def psnr(a: np.ndarray, b: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Per-image PSNR in dB (inf for identical images; NaN when ``keep`` selects no pixel)."""
    _check_pair(a, b)
    keep = _check_keep(keep, a.shape)
    sq = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    if keep is None:
        mse = sq.reshape(len(a), -1).mean(axis=1)
    else:
        weights = np.broadcast_to(keep[..., None], sq.shape).reshape(len(a), -1)
        counts = weights.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            mse = (sq.reshape(len(a), -1) * weights).sum(axis=1) / counts
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(DATA_RANGE**2 / mse)


def gaussian_window_1d(size: int = SSIM_WINDOW, sigma: float = SSIM_SIGMA) -> torch.Tensor:
    """Normalised 1-D Gaussian (float64); SSIM's 2-D window is its outer product with itself."""
    coords = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(coords**2) / (2 * sigma**2))
    return g / g.sum()


def gaussian_blur_valid(t: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """'valid' filtering of each channel of ``t`` (N, C, H, W) with the 2-D window outer(g, g), done as two 1-D
    passes: equal to the 2-D convolution up to float64 rounding, at 2k instead of k^2 multiplications per pixel
    (the 11x11 2-D version was most of evaluate's SSIM time)."""
    channels, k = t.shape[1], g.numel()
    rows = g.view(1, 1, k, 1).expand(channels, 1, k, 1)
    cols = g.view(1, 1, 1, k).expand(channels, 1, 1, k)
    return F.conv2d(F.conv2d(t, rows, groups=channels), cols, groups=channels)


def ssim_map(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SSIM map (N, H-10, W-10), averaged over RGB channels; 'valid' filtering as in Wang et al.'s MATLAB code."""
    _check_pair(a, b)
    if min(a.shape[1:3]) < SSIM_WINDOW:
        msg = f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels, got {a.shape[1:3]}"
        raise ValueError(msg)
    x = torch.from_numpy(a).permute(0, 3, 1, 2).double()
    y = torch.from_numpy(b).permute(0, 3, 1, 2).double()
    g = gaussian_window_1d()
    mu_x, mu_y = gaussian_blur_valid(x, g), gaussian_blur_valid(y, g)
    var_x = gaussian_blur_valid(x * x, g) - mu_x**2
    var_y = gaussian_blur_valid(y * y, g) - mu_y**2
    cov = gaussian_blur_valid(x * y, g) - mu_x * mu_y
    c1, c2 = (SSIM_K1 * DATA_RANGE) ** 2, (SSIM_K2 * DATA_RANGE) ** 2
    num = (2 * mu_x * mu_y + c1) * (2 * cov + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2)
    return (num / den).mean(dim=1).numpy()


def ssim_all_and_kept(a: np.ndarray, b: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-image mean SSIM over all window centres and over the centres whose pixel is kept (NaN if none), from
    ONE SSIM map (the costly part).

    A kept centre's 11x11 window can still reach excluded pixels within 5 px; dilate the defect by >= 5 px
    (``outside_defect_mask``) when the windows must not see the defect at all.
    """
    smap = ssim_map(a, b).reshape(len(a), -1)
    keep = _check_keep(keep, a.shape)
    r = SSIM_WINDOW // 2
    centres = keep[:, r:-r, r:-r].reshape(len(a), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        kept = (smap * centres).sum(axis=1) / centres.sum(axis=1)
    return smap.mean(axis=1), kept


def ssim(a: np.ndarray, b: np.ndarray, keep: np.ndarray | None = None) -> np.ndarray:
    """Per-image mean SSIM; with ``keep``, averaged over window centres whose pixel is kept (see above)."""
    if keep is None:
        return ssim_map(a, b).reshape(len(a), -1).mean(axis=1)
    return ssim_all_and_kept(a, b, keep)[1]


def diversity_l1(outputs: np.ndarray) -> np.ndarray:
    """Per-source mean pairwise L1 distance (pixel values scaled to [0, 1]) among its K outputs.

    ``outputs`` is uint8 (S, K, H, W, 3): K >= 2 translations of each of S sources (StarGAN v2 uses K = 10).
    """
    if not isinstance(outputs, np.ndarray) or outputs.dtype != np.uint8 or outputs.ndim != 5 or outputs.shape[-1] != 3:
        msg = f"outputs must be a uint8 array (S, K, H, W, 3), got {getattr(outputs, 'dtype', type(outputs))} " \
              f"{getattr(outputs, 'shape', '')}"
        raise ValueError(msg)
    if outputs.shape[1] < 2:
        msg = f"diversity needs at least 2 outputs per source, got K = {outputs.shape[1]}"
        raise ValueError(msg)
    flat = torch.from_numpy(outputs.reshape(outputs.shape[0], outputs.shape[1], -1)).double() / 255.0
    k = flat.shape[1]
    # cdist with p=1 sums |diff| over pixels; divide by the pixel count for a mean absolute difference.
    dist = torch.cdist(flat, flat, p=1.0) / flat.shape[2]
    off_diagonal = dist.sum(dim=(1, 2)) / (k * (k - 1))
    return off_diagonal.numpy()
