"""Paired comparison of two classifier settings on the same test images: error difference with a bootstrap interval.

Both settings are trained with the same seeds and tested on the same images, so the comparison is paired twice: by
seed (setting and baseline of one seed share the seed's randomness) and by image (both judge the same images). The
difference is the setting's error minus the baseline's, in percentage points, averaged over seeds. Its 95 % interval
comes from resampling the test images with replacement (the same resample for both settings and every seed): the
spread of a test set of this size, which is what makes small differences noise. An interval that contains 0 is
reported as "no difference".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

BOOTSTRAP_RESAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class PairedDifference:
    mean: float  # setting error - baseline error, percentage points, mean over seeds
    low: float  # 95 % bootstrap interval
    high: float
    n_seeds: int
    n_images: int

    @property
    def verdict(self) -> str:
        if self.low > 0:
            return "worse"
        if self.high < 0:
            return "better"
        return "no difference"


def correctness_matrix(predictions: pd.DataFrame, seeds: list[int], image_ids: list[str]) -> np.ndarray:
    """bool (seeds, images): whether each seed's run classified each test image right (rows of predictions.csv)."""
    frame = predictions.assign(correct=predictions["label"] == predictions["pred"])
    table = frame.pivot_table(index="seed", columns="sample_id", values="correct", aggfunc="first")
    missing = sorted(set(seeds) - set(table.index)) + sorted(set(image_ids) - set(table.columns))
    if missing:
        msg = f"predictions lack seeds or test images {missing[:5]}"
        raise ValueError(msg)
    return table.loc[seeds, image_ids].to_numpy(dtype=bool)


def paired_difference(setting: np.ndarray, baseline: np.ndarray, seed: int = 0,
                      resamples: int = BOOTSTRAP_RESAMPLES) -> PairedDifference:
    """Error difference (pp) of two (seeds, images) correctness matrices with its bootstrap interval over images."""
    if setting.shape != baseline.shape or setting.ndim != 2 or setting.shape[1] == 0:
        msg = f"paired comparison needs two equal (seeds, images) matrices, got {setting.shape} {baseline.shape}"
        raise ValueError(msg)
    # per image: mean over seeds of (baseline correct - setting correct) = the error difference it contributes
    per_image = baseline.mean(axis=0) - setting.mean(axis=0)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(per_image), size=(resamples, len(per_image)))
    boot = 100.0 * per_image[picks].mean(axis=1)
    tail = (1 - CONFIDENCE) / 2
    low, high = np.quantile(boot, [tail, 1 - tail])
    return PairedDifference(float(100.0 * per_image.mean()), float(low), float(high), setting.shape[0],
                            setting.shape[1])
