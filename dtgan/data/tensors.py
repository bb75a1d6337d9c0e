"""Conversions between the uint8 image cache and model tensors in [-1, 1] (StarGAN v2's normalisation)."""

from __future__ import annotations

import numpy as np
import torch


def images_to_tensor(images: np.ndarray, channels: int = 3) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float32 (N, channels, H, W) in [-1, 1]; ``channels=1`` keeps the first channel (the
    grey value of grayscale data, whose three channels are equal)."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        msg = f"expected uint8 images of shape (N, H, W, 3), got {images.dtype} {images.shape}"
        raise ValueError(msg)
    if channels not in (1, 3):
        msg = f"channels must be 1 (grayscale) or 3 (RGB), got {channels}"
        raise ValueError(msg)
    tensor = torch.from_numpy(np.array(images[..., :channels], copy=True)).permute(0, 3, 1, 2).float()
    return tensor / 127.5 - 1.0


def tensor_to_uint8(tensor: torch.Tensor) -> np.ndarray:
    """float (N, C, H, W) in [-1, 1], C = 3 or 1 -> uint8 (N, H, W, 3); values are clamped and rounded, a grey
    (C = 1) image is written to all three channels."""
    scaled = ((tensor.detach().float().clamp(-1, 1) + 1) * 127.5).round()
    if scaled.shape[1] == 1:
        scaled = scaled.expand(-1, 3, -1, -1)
    return scaled.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
