"""DT-GAN as a :class:`dtgan.synthesis.run.Translator`: its EMA networks turn source normals into defect images.

Latent-guided: (s~, d~) = M_y~(z) with z and M's per-pixel noise drawn from each output's own seed (one mapping call
per output, so batching never changes an image). Reference-guided: (s~, d~) = E_y~(x_ref). Output: G(x, s~, d~),
with its anchor G(x, s~, 0) (the anchor domain's zero defect code) for the defect masks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from dtgan.constants import DOMAIN_INDEX
from dtgan.gans.dtgan.artefact import load_ema
from dtgan.runtime import pick_device, to_device
from dtgan.synthesis.run import Translation

FAMILY = "dtgan"


@dataclass(frozen=True)
class DtganTranslator:
    generator: nn.Module
    mapping: nn.Module
    encoder: nn.Module
    latent_dim: int
    device: torch.device
    variant: str
    image_channels: int = 3
    family: str = FAMILY
    has_latent: bool = True

    def _labels(self, domains: list[str]) -> torch.Tensor:
        return torch.tensor([DOMAIN_INDEX[d] for d in domains], device=self.device)

    def _with_anchors(self, sources: torch.Tensor, style: torch.Tensor, defect: torch.Tensor | None) -> Translation:
        """G(x, s, d) and, with a defect code, its anchor G(x, s, 0) (one encoding, one decode of both)."""
        g = self.generator
        features = g.encode_features(to_device(sources, self.device))
        if defect is None:  # variant (a): no defect code, so no anchor and no mask
            return g.decode(features, style, None), None
        zero = torch.zeros_like(defect)
        if not g.fg_relative:  # the code passes through the decoder that makes the image: decode both in full
            both = g.decode(torch.cat([features, features]), torch.cat([style, style]), torch.cat([defect, zero]))
            return both[: len(sources)], both[len(sources):]
        # (d)/(e) with fg_relative: G(x, s, d) = fuse(BG, FG(d) - FG(0)) and the anchor fuse(BG, 0), so the background
        # (which sees neither style nor code) is decoded once and the foreground pass is the one decode() makes:
        # the same values as decode() for both; main set 10.0 s instead of 13.5 (benchmarks/bench_mask_writing.py).
        background = g.decode_background(g.split(features)[0])
        both = g.decode_foreground(torch.cat([defect, zero]), torch.cat([style, style]))
        foreground = both[: len(defect)] - both[len(defect):]
        fused = g.fuse(torch.cat([torch.cat([background, foreground], 1),
                                  torch.cat([background, torch.zeros_like(foreground)], 1)]))
        return fused[: len(sources)], fused[len(sources):]

    @torch.no_grad()
    def latent(self, sources: torch.Tensor, domains: list[str], seeds: list[int]) -> Translation:
        styles, defects = [], []
        for seed, y in zip(seeds, self._labels(domains), strict=True):
            gen = torch.Generator(device=self.device).manual_seed(seed)
            z = torch.randn(1, self.latent_dim, generator=gen, device=self.device)
            style, defect = self.mapping(z, y.view(1), noise_generator=gen)
            styles.append(style)
            defects.append(defect)
        defect = None if defects[0] is None else torch.cat(defects)
        return self._with_anchors(sources, torch.cat(styles), defect)

    @torch.no_grad()
    def reference(self, sources: torch.Tensor, references: torch.Tensor, domains: list[str]) -> Translation:
        style, defect = self.encoder(to_device(references, self.device), self._labels(domains))
        return self._with_anchors(sources, style, defect)


def load_translator(model_dir: Path, device_name: str) -> DtganTranslator:
    """The EMA networks written by `train_gan` in ``model_dir``."""
    device = pick_device(device_name)
    nets, config = load_ema(model_dir, device)
    return DtganTranslator(nets.generator.eval(), nets.mapping.eval(), nets.encoder.eval(),
                           int(config["gan"]["latent_dim"]), device, config["variant"],
                           int(config.get("image_channels", 3)))
