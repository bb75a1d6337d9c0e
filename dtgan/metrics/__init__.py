"""Evaluation metrics: Fréchet distances (fd_effnet_lite0 headline, FID when verified weights exist), KID,
PSNR / SSIM / diversity, and the nearest-neighbour memorisation check (one module per concern, no re-exports)."""
