"""Train one segmentation cell (a U-Net on one product's image-mask set) and predict defect probabilities."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from dtgan.data.tensors import images_to_tensor
from dtgan.runtime import to_device
from dtgan.segmentation.config import SegmentationConfig
from dtgan.segmentation.data import MaskedImages
from dtgan.segmentation.unet import UNet

PREDICT_BATCH = 128


def segmentation_loss(logits: torch.Tensor, truth: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Binary cross-entropy plus soft Dice (the Dice term keeps thin, rare defect pixels from being ignored)."""
    bce = nn.functional.binary_cross_entropy_with_logits(logits, truth)
    prob = torch.sigmoid(logits)
    dice = 1 - (2 * (prob * truth).sum() + 1) / (prob.sum() + truth.sum() + 1)
    return bce + dice, {"bce": float(bce.detach()), "dice": float(dice.detach())}


def _flip(x: torch.Tensor, y: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random horizontal and vertical flips, the same for each image and its mask."""
    for dim in (2, 3):
        rows = torch.rand(len(x), generator=gen) < 0.5
        x[rows], y[rows] = x[rows].flip(dim), y[rows].flip(dim)
    return x, y


def train_cell(data: MaskedImages, cfg: SegmentationConfig, channels: int, seed: int,
               device: torch.device) -> UNet:
    """Adam on random batches of ``data`` for cfg.steps steps; init and batches come from ``seed`` alone."""
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = to_device(UNet(channels, cfg.width, cfg.depth), device)  # channels_last: ~25 % faster on CPU
    images = images_to_tensor(data.images, channels)
    masks = torch.from_numpy(data.masks).float().unsqueeze(1)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    model.train()
    for _ in range(cfg.steps):
        pick = torch.randint(len(images), (min(cfg.batch_size, len(images)),), generator=gen)
        x, y = _flip(images[pick].clone(), masks[pick].clone(), gen)
        loss, _ = segmentation_loss(model(to_device(x, device)), to_device(y, device))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return model.eval()


@torch.no_grad()
def predict(model: UNet, images: np.ndarray, channels: int, device: torch.device) -> np.ndarray:
    """Defect probabilities (N, H, W) float32 in [0, 1]."""
    out = []
    for start in range(0, len(images), PREDICT_BATCH):
        x = to_device(images_to_tensor(images[start:start + PREDICT_BATCH], channels), device)
        out.append(torch.sigmoid(model(x))[:, 0].cpu().numpy())
    return np.concatenate(out).astype(np.float32)
