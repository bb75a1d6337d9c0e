"""DT-GAN networks: generator G, mapping network M, style-defect encoder E, discriminator D (spec dtgan.md §2)."""
