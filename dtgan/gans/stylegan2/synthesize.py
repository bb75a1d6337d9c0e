"""Sampling a trained StyleGAN2: one image per (class label, seed), independent of how images are batched."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from dtgan.errors import CheckpointError
from dtgan.gans.shared.training import load_model
from dtgan.gans.stylegan2.generator import Generator

FAMILY = "stylegan2"
GENERATOR_KEY = "generator_ema"  # the EMA generator, the one the official code evaluates and exports


@dataclass(frozen=True, eq=False)
class Stylegan2Sampler:
    """The EMA generator, frozen. Image i depends on ``labels[i]`` and ``seeds[i]`` only: its z and every noise map
    are drawn from a ``torch.Generator`` seeded with ``seeds[i]`` (on the CPU, so a seed gives the same inputs on
    every device), and no layer mixes the images of a batch."""

    generator: Generator
    class_names: tuple[str, ...]
    image_channels: int
    image_size: int
    device: torch.device

    def __post_init__(self) -> None:
        self.generator.eval().requires_grad_(False)

    def inputs(self, seeds: list[int]) -> tuple[Tensor, list[Tensor]]:
        """z (B, z_dim) and the noise maps (B, 1, r, r), image i from ``seeds[i]``."""
        per_image = [self.generator.draw_inputs(1, torch.Generator().manual_seed(int(s))) for s in seeds]
        z = torch.cat([z for z, _ in per_image])
        noise = [torch.cat(maps) for maps in zip(*(n for _, n in per_image), strict=True)]
        return z.to(self.device), [n.to(self.device) for n in noise]

    @torch.no_grad()
    def sample(self, labels: Tensor, seeds: list[int]) -> Tensor:
        """Images (B, C, H, W) in [-1, 1] of classes ``labels`` (B,) int64, image i from ``seeds[i]``."""
        if labels.dim() != 1 or len(seeds) != labels.shape[0] or not seeds:
            msg = f"sample needs labels (B,) and B >= 1 seeds, got labels {tuple(labels.shape)} and {len(seeds)} seeds"
            raise ValueError(msg)
        if int(labels.min()) < 0 or int(labels.max()) >= len(self.class_names):
            msg = f"labels must be class indices in [0, {len(self.class_names)}), got {labels.tolist()}"
            raise ValueError(msg)
        z, noise = self.inputs(seeds)
        images = self.generator(z, labels.to(device=self.device, dtype=torch.int64), noise)
        # G's output is unbounded (no tanh, as in the official network); images are [-1, 1] by contract.
        return images.clamp(-1.0, 1.0).contiguous()


def load_generator(model_dir: Path, device: torch.device) -> Stylegan2Sampler:
    """The sampler of a model folder written by :func:`dtgan.gans.stylegan2.train.train_model`."""
    states, config = load_model(model_dir, device)
    if config.get("family") != FAMILY or GENERATOR_KEY not in states:
        msg = f"{model_dir} does not hold a StyleGAN2 generator (family {config.get('family')!r})"
        raise CheckpointError(msg)
    with torch.random.fork_rng(devices=[]):  # building draws initial weights; keep the caller's RNG untouched
        generator = Generator(**config["generator"])
    try:
        generator.load_state_dict(states[GENERATOR_KEY])
    except RuntimeError as exc:
        msg = f"{model_dir}/model.pt does not fit the generator described by its config.json: {exc}"
        raise CheckpointError(msg) from exc
    return Stylegan2Sampler(
        generator.to(device),
        tuple(config["class_names"]),
        int(config["image_channels"]),
        int(config["image_size"]),
        device,
    )
