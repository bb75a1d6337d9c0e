"""The ``segmentation`` params section: the downstream segmentation check of DT-GAN's image-mask pairs (issue 18).

Not in the paper (DT-GAN is judged on classification only); the defaults are this project's, chosen to fit the
default run's budget (all cells of the three products within 4 CPU minutes), not tuned on any split.
"""

from __future__ import annotations

from dataclasses import dataclass

from dtgan.params import field_spec

# Training sets of a cell; every set holds the product's real train-split defects with their ground-truth masks and
# the same real Normal images (empty masks). The synthetic pairs are DT-GAN images with their binary anchor masks.
SETTINGS = {
    "real": "real defects + real Normal images only",
    "latent": "real + latent-guided DT-GAN pairs",
    "reference": "real + reference-guided DT-GAN pairs",
    "mix": "real + DT-GAN pairs, half latent- and half reference-guided",
}
BASELINE = "real"


def _settings_ok(settings: tuple[str, ...]) -> str | None:
    unknown = [s for s in settings if s not in SETTINGS]
    if unknown:
        return f"unknown setting(s) {unknown}; expected some of {list(SETTINGS)}"
    if BASELINE not in settings:
        return f"must include {BASELINE!r} (the baseline of every paired difference)"
    return None if len(set(settings)) == len(settings) else "must not repeat a setting"


def _seeds_ok(seeds: tuple[int, ...]) -> str | None:
    if not seeds:
        return "must list at least one seed"
    return None if len(set(seeds)) == len(seeds) else "must not repeat a seed"


@dataclass(frozen=True)
class SegmentationConfig:
    settings: tuple[str, ...] = field_spec(("real", "reference", "mix"), check=_settings_ok)
    seeds: tuple[int, ...] = field_spec((0, 1, 2), check=_seeds_ok)
    width: int = field_spec(16, low=1)  # U-Net channels at full resolution (doubling per level)
    depth: int = field_spec(2, low=1, high=5)  # poolings of the U-Net (32 px -> 8 px at depth 2)
    steps: int = field_spec(300, low=1)  # Adam steps per cell
    batch_size: int = field_spec(16, low=1)
    lr: float = field_spec(2e-3, low=0, low_open=True)
    normals_per_product: int = field_spec(48, low=0)  # real Normal images (empty masks) in every training set
    synthetic_per_product: int = field_spec(96, low=1)  # DT-GAN pairs added per product (half per defect domain)
    threshold: float = field_spec(0.5, low=0, high=1, low_open=True, high_open=True)  # probability -> mask (IoU)
    bootstrap_resamples: int = field_spec(1000, low=10)
    figure_examples: int = field_spec(3, low=0)  # test defects per product in examples.png
    seed: int = 0  # bootstrap and figure choice
    device: str = field_spec("auto", result=False)
