"""Mokady et al.'s two translation models as one :class:`dtgan.synthesis.run.Translator` (reference guidance only).

Each output's anchor is its own source: the model keeps the source's pixels outside its mask, so the defect mask
written with every image (|output - anchor|, :mod:`dtgan.synthesis.masks`) is where the transferred content went.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from dtgan.constants import DEFECT_DOMAINS
from dtgan.errors import DataError
from dtgan.gans.mokady.synthesize import MokadyTransfer, load_transfer
from dtgan.runtime import to_device
from dtgan.synthesis.run import Translation

FAMILY = "mokady"


@dataclass(frozen=True)
class MokadyTranslator:
    transfers: dict[str, MokadyTransfer]  # target domain -> its Normal -> domain model
    variant: str
    image_channels: int
    device: torch.device
    family: str = FAMILY
    has_latent: bool = False

    def latent(self, sources: torch.Tensor, domains: list[str], seeds: list[int]) -> Translation:
        msg = "Mokady et al. is reference-guided only; it has no latent guidance"
        raise DataError(msg)

    @torch.no_grad()
    def reference(self, sources: torch.Tensor, references: torch.Tensor, domains: list[str]) -> Translation:
        sources, references = to_device(sources, self.device), to_device(references, self.device)
        outputs = torch.empty_like(sources)
        for domain in sorted(set(domains)):
            rows = torch.tensor([i for i, d in enumerate(domains) if d == domain], device=self.device)
            outputs[rows] = self.transfers[domain].transfer(sources[rows], references[rows])[0]
        return outputs, sources


def load_mokady(model_dir: Path, device: torch.device, variant: str) -> MokadyTranslator:
    """Both translations of ``model_dir`` (its ``Scratches/`` and ``Spots/`` sub-folders, from `train_mokady`)."""
    transfers = {domain: load_transfer(Path(model_dir) / domain, device) for domain in DEFECT_DOMAINS}
    channels = {t.image_channels for t in transfers.values()}
    if len(channels) != 1:
        msg = f"{model_dir}: the translation models disagree on image channels ({sorted(channels)}); retrain them"
        raise DataError(msg)
    return MokadyTranslator(transfers, variant, channels.pop(), device)
