"""dtgan: a reproducible DVC pipeline reimplementing DT-GAN (Defect Transfer GAN, BMVC 2022)."""
