"""Kernel distance (KID when the features are Inception ones): unbiased MMD² with a cubic polynomial kernel.

Follows Bińkowski et al. 2018 ("Demystifying MMD GANs") as implemented by torch-fidelity: kernel
k(x, y) = (γ x·y + c0)^degree with γ = 1/d, c0 = 1, degree 3; ``num_subsets`` random subsets (without replacement)
of ``subset_size`` samples from each set; the unbiased estimator per subset; report mean and std over subsets.
Unlike torch-fidelity, which refuses sets smaller than the subset size, the subset size is shrunk to the smaller set
(with a warning) because CPU runs use small sets; the size actually used is part of the result.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

log = logging.getLogger(__name__)

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
KID_DEGREE = 3
KID_COEF0 = 1.0


@dataclass(frozen=True)
class KidResult:
    mean: float
    std: float
    subset_size: int
    num_subsets: int


def polynomial_kernel(x: torch.Tensor, y: torch.Tensor, degree: int = KID_DEGREE, gamma: float | None = None,
                      coef0: float = KID_COEF0) -> torch.Tensor:
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (gamma * (x @ y.T) + coef0) ** degree


def mmd2_unbiased(k_xx: torch.Tensor, k_xy: torch.Tensor, k_yy: torch.Tensor) -> float:
    """Unbiased MMD² for equal-size samples: off-diagonal means of K_XX, K_YY minus twice the mean of K_XY.

    It is an unbiased estimate of the population MMD² (which is >= 0), so it can be negative for close
    distributions; that is expected and must not be clipped.
    """
    m = k_xx.shape[0]
    within = (k_xx.sum() - k_xx.diagonal().sum() + k_yy.sum() - k_yy.diagonal().sum()) / (m * (m - 1))
    return float(within - 2.0 * k_xy.sum() / (m * m))


def _check_features(real: np.ndarray, fake: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        msg = f"KID needs two (n, d) feature arrays of one d, got {x.shape} and {y.shape}"
        raise ValueError(msg)
    if min(x.shape[0], y.shape[0]) < 2:
        msg = f"KID needs at least 2 samples per set, got {x.shape[0]} and {y.shape[0]}"
        raise ValueError(msg)
    return torch.from_numpy(x), torch.from_numpy(y)


def kernel_distance(
    real: np.ndarray,
    fake: np.ndarray,
    num_subsets: int = KID_SUBSETS,
    subset_size: int = KID_SUBSET_SIZE,
    seed: int = 0,
    degree: int = KID_DEGREE,
    gamma: float | None = None,
    coef0: float = KID_COEF0,
    progress: bool = False,
) -> KidResult:
    """KID mean/std over random subsets; ``seed`` makes the subset draws reproducible."""
    x, y = _check_features(real, fake)
    if num_subsets < 1 or subset_size < 2:
        msg = f"KID needs num_subsets >= 1 and subset_size >= 2, got {num_subsets} and {subset_size}"
        raise ValueError(msg)
    size = min(subset_size, x.shape[0], y.shape[0])
    if size < subset_size:
        log.warning("KID subset size shrunk from %d to %d (sets of %d and %d samples)", subset_size, size,
                    x.shape[0], y.shape[0])
    rng = np.random.default_rng(seed)
    values = np.empty(num_subsets)
    for i in tqdm(range(num_subsets), desc="kid", disable=not progress, leave=False):
        xs = x[torch.from_numpy(rng.choice(x.shape[0], size, replace=False))]
        ys = y[torch.from_numpy(rng.choice(y.shape[0], size, replace=False))]
        values[i] = mmd2_unbiased(
            polynomial_kernel(xs, xs, degree, gamma, coef0),
            polynomial_kernel(xs, ys, degree, gamma, coef0),
            polynomial_kernel(ys, ys, degree, gamma, coef0),
        )
    return KidResult(mean=float(values.mean()), std=float(values.std()), subset_size=size, num_subsets=num_subsets)
