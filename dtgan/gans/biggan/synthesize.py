"""Sampling a trained BigGAN: one image per (class label, seed), independent of how images are batched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from dtgan.errors import CheckpointError
from dtgan.gans.biggan.nets import Generator
from dtgan.gans.shared.training import load_model

FAMILY = "biggan"


@dataclass(frozen=True, eq=False)
class BigganSampler:
    """The EMA generator in eval mode (BatchNorm with running statistics, spectral norm without power iterations),
    so every image depends on its own label and seed only."""

    generator: Generator
    class_names: tuple[str, ...]
    image_channels: int
    image_size: int
    device: torch.device

    def __post_init__(self) -> None:
        self.generator.eval()
        self.generator.requires_grad_(False)

    def latents(self, seeds: list[int]) -> Tensor:
        """z (B, z_dim) ~ N(0, I), row i drawn from a torch.Generator seeded with ``seeds[i]`` (on the CPU, so a
        seed gives the same z on every device)."""
        rows = [torch.randn(self.generator.z_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
        return torch.stack(rows) if rows else torch.empty(0, self.generator.z_dim)

    @torch.no_grad()
    def sample(self, labels: Tensor, seeds: list[int]) -> Tensor:
        """Images (B, C, H, W) in [-1, 1] of classes ``labels`` (B,) int64, image i from ``seeds[i]``."""
        if labels.dim() != 1 or len(seeds) != labels.shape[0]:
            msg = f"sample needs labels (B,) and B seeds, got labels {tuple(labels.shape)} and {len(seeds)} seeds"
            raise ValueError(msg)
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= len(self.class_names)):
            msg = f"labels must be class indices in [0, {len(self.class_names)}), got {labels.tolist()}"
            raise ValueError(msg)
        self.generator.eval()  # guard: train-mode BatchNorm would mix the images of a batch
        z = self.latents(seeds).to(self.device)
        return self.generator(z, labels.to(device=self.device, dtype=torch.int64))


def load_generator(model_dir: Path, device: torch.device) -> BigganSampler:
    """The sampler of a model folder written by :func:`dtgan.gans.biggan.train.train_model`."""
    states, config = load_model(model_dir, device)
    if config.get("family") != FAMILY or "generator" not in states:
        msg = f"{model_dir} does not hold a BigGAN generator (family {config.get('family')!r})"
        raise CheckpointError(msg)
    # Building runs the orthogonal init; keep it from advancing the caller's global RNG.
    with torch.random.fork_rng(devices=[]):
        generator = Generator(**config["generator"])
    try:
        generator.load_state_dict(states["generator"])
    except RuntimeError as exc:
        msg = f"{model_dir}/model.pt does not fit the generator described by its config.json: {exc}"
        raise CheckpointError(msg) from exc
    return BigganSampler(generator.to(device), tuple(config["class_names"]), int(config["image_channels"]),
                         int(config["image_size"]), device)
