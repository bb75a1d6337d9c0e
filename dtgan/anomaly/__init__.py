"""f-AnoGAN, the unsupervised anomaly-detection baseline (spec fanogan.md): WGAN-GP on normal images, an izi_f
encoder trained with G and D frozen, and the score A = A_R + kappa * A_D with a pixel map |x - G(E(x))|."""
