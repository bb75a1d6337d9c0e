"""Mokady et al., "Mask Based Unsupervised Content Transfer" (ICLR 2020): a reference-guided baseline.

One model per translation (Normal -> one defect domain). Domain A = Normal images, domain B = defect images; the
notation follows the paper (the official code swaps A and B). See :mod:`dtgan.gans.mokady.losses` for the terms.
"""
