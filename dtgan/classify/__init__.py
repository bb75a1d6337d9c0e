"""Defect classifiers trained on real (+ synthetic) images: the downstream test of DT-GAN (protocol.md §4)."""
