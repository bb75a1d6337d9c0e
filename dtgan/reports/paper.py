"""The paper's reported numbers (supplement tables, as restated in ../shared/spec/protocol.md §7), as data.

Reports print these beside our own results, always in columns labelled "paper". Error rates are percentages,
(mean, std) over the paper's five runs; None where the paper gives no std.
"""

from __future__ import annotations

Stat = tuple[float, float | None]

# Table 10: ResNet-50 error (%) by training-set size 3N, columns Trad-Aug / Latent / Reference / Mix.
TABLE10: dict[str, dict[int, dict[str, Stat]]] = {
    "A": {
        4500: {"trad_aug": (16.00, 1.04), "latent": (13.81, 1.63), "reference": (15.27, 3.49), "mix": (10.18, 1.75)},
        6600: {"trad_aug": (14.90, 1.38), "latent": (12.36, 0.81), "reference": (16.00, 2.85), "mix": (10.54, 1.22)},
        12000: {"trad_aug": (13.81, 2.36), "latent": (10.90, 3.34), "reference": (11.09, 3.49), "mix": (6.72, 1.65)},
        18600: {"trad_aug": (13.62, 2.22), "latent": (10.18, 1.18), "reference": (13.81, 8.56), "mix": (10.54, 2.45)},
    },
    "B": {
        4500: {"trad_aug": (8.8, 0.45), "latent": (6.2, 2.17), "reference": (6.8, 1.30), "mix": (5.6, 1.51)},
        6600: {"trad_aug": (7.6, 1.51), "latent": (8.0, 0.70), "reference": (6.0, 1.41), "mix": (6.8, 3.11)},
        12000: {"trad_aug": (6.8, 1.64), "latent": (5.8, 1.30), "reference": (5.6, 1.34), "mix": (4.6, 0.89)},
        18600: {"trad_aug": (6.8, 1.79), "latent": (7.0, 1.00), "reference": (6.0, 1.58), "mix": (5.0, 1.87)},
    },
    "C": {
        4500: {"trad_aug": (17.14, 4.62), "latent": (14.66, 2.74), "reference": (12.00, 1.59), "mix": (14.09, 2.27)},
        6600: {"trad_aug": (15.23, 2.33), "latent": (13.14, 1.95), "reference": (12.57, 1.57), "mix": (11.42, 0.00)},
        12000: {"trad_aug": (16.57, 3.20), "latent": (12.95, 4.34), "reference": (11.42, 0.96), "mix": (12.76, 1.97)},
        18600: {"trad_aug": (15.62, 0.85), "latent": (12.57, 2.46), "reference": (12.95, 2.98), "mix": (11.64, 1.24)},
    },
}

# Table 14: ablation, FID averaged over all datasets (Latent / Reference / Mix), Inception-V3 features.
TABLE14: dict[str, dict[str, float]] = {
    "a": {"latent": 226.26, "reference": 232.89, "mix": 227.67},
    "b": {"latent": 292.76, "reference": 292.12, "mix": 287.35},
    "c": {"latent": 95.33, "reference": 99.84, "mix": 95.81},
    "d": {"latent": 115.89, "reference": 99.61, "mix": 101.02},
    "e": {"latent": 97.37, "reference": 98.97, "mix": 96.27},
}
VARIANT_NAMES: dict[str, str] = {
    "a": "(a) StarGAN v2",
    "b": "(b) + style-defect branches",
    "c": "(c) + FG and BG classifiers",
    "d": "(d) + separate FG/BG decoding",
    "e": "(e) + anchor domain and noise injection",
}

# Table 15: EfficientNet-b4 error (%), A / B / C, keyed by (augmentation, synthetic data).
TABLE15: dict[tuple[str, str], dict[str, Stat]] = {
    ("none", "none"): {"A": (16.54, 0.76), "B": (9.6, 3.05), "C": (26.29, 1.73)},
    ("trad", "none"): {"A": (12.55, 1.49), "B": (6.8, 0.84), "C": (12.76, 0.52)},
    ("trad", "Mokady"): {"A": (14.18, 1.52), "B": (8.0, 1.58), "C": (17.52, 1.59)},
    ("trad", "StarGAN v2"): {"A": (14.73, 2.17), "B": (10.5, 1.34), "C": (16.76, 1.44)},
    ("trad", "StyleGAN2"): {"A": (14.55, 1.11), "B": (6.4, 1.14), "C": (15.81, 0.85)},
    ("trad", "BigGAN*"): {"A": (13.82, 1.34), "B": (9.2, 1.30), "C": (17.74, 1.09)},
    ("trad", "DT-GAN"): {"A": (12.00, 0.76), "B": (5.0, 1.58), "C": (11.43, 1.78)},
    ("cutmix", "none"): {"A": (14.00, 4.06), "B": (5.6, 1.67), "C": (12.00, 1.86)},
    ("cutout", "none"): {"A": (10.73, 0.41), "B": (7.2, 2.17), "C": (13.90, 2.09)},
    ("mixup", "none"): {"A": (12.18, 1.22), "B": (5.8, 1.64), "C": (12.95, 3.96)},
    ("cutmix", "DT-GAN"): {"A": (14.55, 1.44), "B": (3.4, 1.34), "C": (17.90, 2.89)},
    ("cutout", "DT-GAN"): {"A": (10.36, 0.81), "B": (4.2, 0.45), "C": (13.14, 0.80)},
    ("mixup", "DT-GAN"): {"A": (12.00, 1.00), "B": (3.6, 1.52), "C": (11.81, 0.85)},
}

# Table 16: Trad-Aug vs DT-GAN error (%) with only 20 real defects per type for product A ("20A"), by size 3N.
TABLE16_20A: dict[int, dict[str, tuple[Stat, Stat]]] = {
    4500: {"A": ((35.09, 2.62), (27.64, 3.12)), "B": ((7.8, 1.48), (5.6, 1.67)), "C": ((15.24, 1.90), (13.14, 1.70))},
    6600: {"A": ((39.64, 2.28), (27.64, 1.65)), "B": ((8.8, 1.64), (6.2, 1.64)), "C": ((15.81, 1.73), (12.38, 1.65))},
    12000: {"A": ((34.18, 4.39), (28.55, 7.32)), "B": ((5.8, 0.45), (5.6, 1.14)), "C": ((16.19, 1.17), (10.86, 1.28))},
    18600: {"A": ((39.45, 7.06), (32.55, 5.04)), "B": ((7.2, 0.84), (5.2, 1.10)), "C": ((14.86, 0.85), (13.14, 2.06))},
}

# Table 17: cross-product reference sets, error (%): Trad-Aug / v-A / v-B / v-C / v-ABC, by size 3N.
TABLE17: dict[str, dict[int, dict[str, float]]] = {
    "A": {4500: {"trad_aug": 16.00, "A": 12.90, "B": 13.08, "C": 14.90, "all": 15.27},
          6600: {"trad_aug": 14.90, "A": 13.99, "B": 11.26, "C": 14.36, "all": 16.00},
          12000: {"trad_aug": 13.81, "A": 11.81, "B": 12.72, "C": 11.99, "all": 11.09},
          18600: {"trad_aug": 13.63, "A": 12.72, "B": 14.36, "C": 14.18, "all": 13.81}},
    "B": {4500: {"trad_aug": 8.8, "A": 7.8, "B": 5.6, "C": 10.19, "all": 6.8},
          6600: {"trad_aug": 7.6, "A": 6.8, "B": 7.8, "C": 8.0, "all": 6.0},
          12000: {"trad_aug": 6.8, "A": 6.4, "B": 6.6, "C": 6.6, "all": 5.6},
          18600: {"trad_aug": 6.8, "A": 6.2, "B": 4.4, "C": 6.6, "all": 6.0}},
    "C": {4500: {"trad_aug": 17.14, "A": 14.85, "B": 16.76, "C": 13.90, "all": 12.00},
          6600: {"trad_aug": 15.23, "A": 13.14, "B": 13.90, "C": 14.28, "all": 12.57},
          12000: {"trad_aug": 16.57, "A": 13.14, "B": 11.23, "C": 14.85, "all": 11.42},
          18600: {"trad_aug": 15.62, "A": 13.71, "B": 15.99, "C": 12.57, "all": 12.95}},
}

# Table 18: FID by dataset (columns as best read from the source; "All" is their mean).
TABLE18_COLUMNS = ("A", "B", "C", "carpet", "leather", "tile", "wood", "MTD", "All")
TABLE18: dict[str, tuple[float, ...]] = {
    "Mokady et al.": (68.69, 66.90, 36.21, 41.87, 60.26, 275.12, 81.71, 68.30, 87.38),
    "StarGAN v2": (96.85, 58.28, 50.95, 354.31, 336.63, 434.77, 411.37, 84.49, 228.46),
    "StyleGAN2": (90.10, 52.95, 138.09, 51.37, 51.60, 225.96, 140.01, 51.39, 100.18),
    "StyleGAN2 + ADA": (149.66, 42.75, 135.69, 30.63, 217.83, 109.06, 54.09, 226.68, 120.80),
    "BigGAN": (235.66, 192.89, 193.61, 64.84, 143.64, 408.49, 142.50, 277.62, 207.41),
    "BigGAN + DiffAug": (218.74, 134.41, 270.89, 34.47, 101.70, 391.54, 113.32, 67.91, 166.62),
    "DT-GAN": (65.62, 53.62, 37.94, 27.33, 78.01, 352.15, 77.11, 78.41, 96.27),
}


# SDI's real training defects per product (protocol.md §1: classifier training, Scratches / Spots).
SDI_TRAIN_DEFECTS: dict[str, tuple[int, int]] = {"A": (290, 58), "B": (117, 620), "C": (71, 208)}


def paper_synthetic_share(product: str, size: int) -> float:
    """Fraction of synthetic images in the paper's DT-GAN training sets of size 3N: each defect class filled to N."""
    n = size // 3
    return sum(max(n - real, 0) for real in SDI_TRAIN_DEFECTS[product]) / size
