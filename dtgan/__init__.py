"""dtgan: a reproducible DVC pipeline reimplementing DT-GAN (Defect Transfer GAN, BMVC 2022)."""

__version__ = "0.1.0"
