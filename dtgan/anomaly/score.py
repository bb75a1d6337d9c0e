"""f-AnoGAN anomaly scores (official ``anomaly_detection.py``, spec fanogan.md §1): per image
A_R = residual(x, G(E(x))), A_D = mean((f(x) - f(G(E(x))))^2), A = A_R + kappa * A_D, plus z_distance and a pixel map
mean_c |x - G(E(x))| (the paper's residual map), optionally Gaussian-smoothed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from torch import Tensor

from dtgan.anomaly.models import Networks

RESIDUALS = ("mse", "mae")


def pixel_residual(x: Tensor, x_rec: Tensor, kind: str) -> Tensor:
    """Per-image mean squared ("mse", official code) or absolute ("mae", seed blog) pixel error: shape (B,)."""
    if kind not in RESIDUALS:
        msg = f"pixel residual must be one of {list(RESIDUALS)}, got {kind!r}"
        raise ValueError(msg)
    diff = (x - x_rec).flatten(1)
    return diff.pow(2).mean(dim=1) if kind == "mse" else diff.abs().mean(dim=1)


def feature_residual(feat: Tensor, feat_rec: Tensor) -> Tensor:
    """Per-image mean squared critic-feature error (the paper's 1/n_d normalisation): shape (B,)."""
    return (feat - feat_rec).pow(2).mean(dim=1)


def combined_score(a_r: Tensor, a_d: Tensor, kappa: float) -> Tensor:
    """A = A_R + kappa * A_D."""
    return a_r + kappa * a_d


@dataclass
class Scores:
    """Per-image scores (N,), pixel maps (N, H, W) and reconstructions (N, C, H, W) in [-1, 1]."""

    a_r: np.ndarray
    a_d: np.ndarray
    a: np.ndarray
    z_distance: np.ndarray
    maps: np.ndarray
    reconstructions: np.ndarray


@torch.no_grad()
def score_batch(nets: Networks, x: Tensor, labels: Tensor | None, residual: str, kappa: float) -> dict[str, Tensor]:
    """All scores of one batch; the nets must already be in eval mode."""
    z = nets.encoder(x, labels)
    x_rec = nets.generator(z, labels)
    a_r = pixel_residual(x, x_rec, residual)
    a_d = feature_residual(nets.critic.features(x, labels), nets.critic.features(x_rec, labels))
    z_distance = (z - nets.encoder(x_rec, labels)).pow(2).mean(dim=1)
    return {"a_r": a_r, "a_d": a_d, "a": combined_score(a_r, a_d, kappa), "z_distance": z_distance,
            "maps": (x - x_rec).abs().mean(dim=1), "reconstructions": x_rec}


def smooth_maps(maps: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian smoothing of each (H, W) map; sigma 0 returns the maps unchanged."""
    if sigma <= 0:
        return maps
    return np.stack([gaussian_filter(m, sigma=sigma, mode="reflect") for m in maps]).astype(maps.dtype)


def score_images(nets: Networks, images: Tensor, labels: Tensor | None, residual: str, kappa: float,
                 batch_size: int = 128, map_sigma: float = 0.0, device: torch.device | None = None) -> Scores:
    """Score ``images`` (N, C, H, W) in [-1, 1]; puts every net in eval mode (BN running statistics)."""
    device = device or next(nets.parameters()).device
    nets.eval()
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, images.shape[0], batch_size):
        x = images[start:start + batch_size].to(device)
        y = None if labels is None else labels[start:start + batch_size].to(device)
        for key, value in score_batch(nets, x, y, residual, kappa).items():
            parts.setdefault(key, []).append(value.float().cpu().numpy())
    if not parts:
        msg = "score_images got no images to score"
        raise ValueError(msg)
    out = {k: np.concatenate(v) for k, v in parts.items()}
    out["maps"] = smooth_maps(out["maps"], map_sigma)
    return Scores(**out)
