"""Fréchet distance between Gaussians fitted to feature sets (FID when the features are FID-Inception ones).

d² = ‖μ1 − μ2‖² + Tr(Σ1 + Σ2 − 2 (Σ1 Σ2)^{1/2}).

Tr((Σ1 Σ2)^{1/2}) is computed in float64 torch without a general matrix square root:

- covariance form: with A = Σ1^{1/2} (symmetric eigendecomposition), Σ1 Σ2 is similar to A Σ2 A, which is symmetric
  PSD, so the trace is the sum of square roots of its eigenvalues;
- Gram form (fewer samples than dimensions): with centred features X1 (n1×d), X2 (n2×d), the non-zero eigenvalues of
  Σ1 Σ2 are those of K Kᵀ with K = X1 X2ᵀ / sqrt((n1−1)(n2−1)), so the trace is the nuclear norm of K (n1×n2).

Both agree with scipy.linalg.sqrtm (pytorch-fid's method) to ~1e-7 and are several times faster; float32 is not used
because it is off by whole FID points at d = 2048. pytorch-fid's sqrtm safeguards (eps offset for a singular product,
error on a large imaginary part) have direct analogues here: tiny negative eigenvalues from round-off are clamped to
zero, and a clearly negative one (the inputs were not covariance matrices) raises.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

# Relative size of a negative eigenvalue still attributed to float64 round-off.
_NEGATIVE_EIG_TOLERANCE = 1e-6


@dataclass(frozen=True)
class FeatureStats:
    """Mean and covariance (np.cov, rowvar=False, ddof=1) of a feature set of ``n`` samples."""

    mu: np.ndarray
    sigma: np.ndarray
    n: int


def _as_features(features: np.ndarray, label: str) -> np.ndarray:
    arr = np.asarray(features, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 2:
        msg = f"{label} must be a 2-D array (n >= 2 samples, d features), got shape {arr.shape}"
        raise ValueError(msg)
    if not np.isfinite(arr).all():
        msg = f"{label} contains NaN or inf values"
        raise ValueError(msg)
    return arr


def feature_stats(features: np.ndarray) -> FeatureStats:
    arr = _as_features(features, "features")
    return FeatureStats(mu=arr.mean(axis=0), sigma=np.cov(arr, rowvar=False), n=arr.shape[0])


def _sum_sqrt_eigenvalues(eigenvalues: torch.Tensor, what: str) -> float:
    scale = max(float(eigenvalues.abs().max()), 1e-300)
    worst = float(eigenvalues.min())
    if worst < -_NEGATIVE_EIG_TOLERANCE * scale:
        msg = f"{what} has a negative eigenvalue {worst:.3e} (largest {scale:.3e}); inputs are not covariances"
        raise ValueError(msg)
    return float(eigenvalues.clamp_min(0).sqrt().sum())


def trace_sqrt_product(sigma1: np.ndarray, sigma2: np.ndarray) -> float:
    """Tr((Σ1 Σ2)^{1/2}) for symmetric PSD Σ1, Σ2 (covariance form)."""
    s1 = torch.as_tensor(np.asarray(sigma1), dtype=torch.float64)
    s2 = torch.as_tensor(np.asarray(sigma2), dtype=torch.float64)
    s1 = 0.5 * (s1 + s1.T)  # symmetrise away round-off so eigh sees an exactly symmetric matrix
    eigval, eigvec = torch.linalg.eigh(s1)
    root = (eigvec * eigval.clamp_min(0).sqrt()) @ eigvec.T
    product = root @ s2 @ root
    product = 0.5 * (product + product.T)
    return _sum_sqrt_eigenvalues(torch.linalg.eigvalsh(product), "Σ1^½ Σ2 Σ1^½")


def _check_stats_shapes(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> None:
    d = mu1.shape[0]
    if mu1.shape != (d,) or mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        msg = (f"Fréchet distance needs means (d,) and covariances (d, d) of one d; got mu1 {mu1.shape}, "
               f"sigma1 {sigma1.shape}, mu2 {mu2.shape}, sigma2 {sigma2.shape}")
        raise ValueError(msg)


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), float64."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    _check_stats_shapes(mu1, sigma1, mu2, sigma2)
    diff = mu1 - mu2
    tr_covmean = trace_sqrt_product(sigma1, sigma2)
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * tr_covmean)


def frechet_distance_stats(a: FeatureStats, b: FeatureStats) -> float:
    return frechet_distance(a.mu, a.sigma, b.mu, b.sigma)


def frechet_distance_gram(features1: np.ndarray, features2: np.ndarray) -> float:
    """Fréchet distance from raw features via the n1×n2 Gram form (exact; cheapest when n < d)."""
    x1 = torch.as_tensor(_as_features(features1, "features1"))
    x2 = torch.as_tensor(_as_features(features2, "features2"))
    if x1.shape[1] != x2.shape[1]:
        msg = f"feature dims differ: {x1.shape[1]} vs {x2.shape[1]}"
        raise ValueError(msg)
    mu1, mu2 = x1.mean(0), x2.mean(0)
    c1, c2 = x1 - mu1, x2 - mu2
    n1, n2 = x1.shape[0], x2.shape[0]
    trace1 = float((c1 * c1).sum()) / (n1 - 1)
    trace2 = float((c2 * c2).sum()) / (n2 - 1)
    cross = (c1 @ c2.T) / np.sqrt((n1 - 1) * (n2 - 1))
    nuclear = float(torch.linalg.svdvals(cross).sum())
    diff = mu1 - mu2
    return float(diff @ diff) + trace1 + trace2 - 2.0 * nuclear


def frechet_distance_features(features1: np.ndarray, features2: np.ndarray) -> float:
    """Fréchet distance between two feature sets, picking the cheaper exact form."""
    f1, f2 = _as_features(features1, "features1"), _as_features(features2, "features2")
    if max(f1.shape[0], f2.shape[0]) < f1.shape[1]:
        return frechet_distance_gram(f1, f2)
    return frechet_distance_stats(feature_stats(f1), feature_stats(f2))


def frechet_distance_scipy(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Reference implementation with scipy.linalg.sqrtm (pytorch-fid's method); used by tests and benchmarks."""
    from scipy import linalg

    diff = np.asarray(mu1, np.float64) - np.asarray(mu2, np.float64)
    # No `disp=` argument: it is deprecated in scipy >= 1.16 and removed in 1.18.
    covmean = np.real(linalg.sqrtm(np.asarray(sigma1) @ np.asarray(sigma2)))
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))
