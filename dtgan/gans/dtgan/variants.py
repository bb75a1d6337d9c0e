"""Ablation variants (a)-(e) of the BMVC supplement (spec dtgan.md §5) as cumulative feature flags."""

from __future__ import annotations

from dataclasses import dataclass

VARIANTS: tuple[str, ...] = ("a", "b", "c", "d", "e")


@dataclass(frozen=True)
class VariantFlags:
    """What each ablation step switches on; every step keeps the previous ones."""

    style_defect_branches: bool  # (b)+: M and E also produce a spatial defect code d; G swaps its fg slice with d
    fg_bg_classifiers: bool  # (c)+: D has FG (defect-type) and BG (product) classifiers
    separate_decoding: bool  # (d)+: G decodes background (IN) and foreground (AdaIN) separately, fused by 1x1 conv
    anchor_and_noise: bool  # (e): Normal's defect code is zeros in M and E; per-pixel noise in M's defect branch

    @property
    def stargan_v2(self) -> bool:
        """Variant (a): the networks are StarGAN v2's (3x3 from_rgb stems, no defect code)."""
        return not self.style_defect_branches


def variant_flags(variant: str) -> VariantFlags:
    """Flags of ablation step ``variant`` ("a" = StarGAN v2 ... "e" = full DT-GAN)."""
    if variant not in VARIANTS:
        msg = f"unknown DT-GAN variant {variant!r}; allowed values: {', '.join(VARIANTS)}"
        raise ValueError(msg)
    step = VARIANTS.index(variant)
    return VariantFlags(
        style_defect_branches=step >= 1,
        fg_bg_classifiers=step >= 2,
        separate_decoding=step >= 3,
        anchor_and_noise=step >= 4,
    )
