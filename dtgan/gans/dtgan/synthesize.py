"""DT-GAN as a :class:`dtgan.synthesis.run.Translator`: its EMA networks turn source normals into defect images.

Latent-guided: (s~, d~) = M_y~(z) with z and M's per-pixel noise drawn from each output's own seed (one mapping call
per output, so batching never changes an image). Reference-guided: (s~, d~) = E_y~(x_ref). Output: G(x, s~, d~).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from dtgan.constants import DOMAIN_INDEX
from dtgan.gans.dtgan.artefact import load_ema
from dtgan.runtime import pick_device

FAMILY = "dtgan"


@dataclass(frozen=True)
class DtganTranslator:
    generator: nn.Module
    mapping: nn.Module
    encoder: nn.Module
    latent_dim: int
    device: torch.device
    variant: str
    family: str = FAMILY

    def _labels(self, domains: list[str]) -> torch.Tensor:
        return torch.tensor([DOMAIN_INDEX[d] for d in domains], device=self.device)

    @torch.no_grad()
    def latent(self, sources: torch.Tensor, domains: list[str], seeds: list[int]) -> torch.Tensor:
        styles, defects = [], []
        for seed, y in zip(seeds, self._labels(domains), strict=True):
            gen = torch.Generator(device=self.device).manual_seed(seed)
            z = torch.randn(1, self.latent_dim, generator=gen, device=self.device)
            style, defect = self.mapping(z, y.view(1), noise_generator=gen)
            styles.append(style)
            defects.append(defect)
        defect = None if defects[0] is None else torch.cat(defects)
        return self.generator(sources.to(self.device), torch.cat(styles), defect)

    @torch.no_grad()
    def reference(self, sources: torch.Tensor, references: torch.Tensor, domains: list[str]) -> torch.Tensor:
        style, defect = self.encoder(references.to(self.device), self._labels(domains))
        return self.generator(sources.to(self.device), style, defect)


def load_translator(model_dir: Path, device_name: str) -> DtganTranslator:
    """The EMA networks written by `train_gan` in ``model_dir``."""
    device = pick_device(device_name)
    nets, config = load_ema(model_dir, device)
    return DtganTranslator(nets.generator.eval(), nets.mapping.eval(), nets.encoder.eval(),
                           int(config["gan"]["latent_dim"]), device, config["variant"])
