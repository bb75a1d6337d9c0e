"""Load a trained Mokady model and transfer a reference's defect content onto Normal sources."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from dtgan.errors import CheckpointError
from dtgan.gans.mokady.config import MokadyConfig
from dtgan.gans.mokady.nets import TRANSFER_MODULES, Encoder, MaskDecoder, build_networks
from dtgan.gans.shared.training import load_model
from dtgan.params import from_mapping

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MokadyTransfer:
    """The three networks transfer needs, in eval mode (BatchNorm uses its running statistics, so an image's
    output does not depend on the rest of its batch)."""

    common_encoder: Encoder
    separate_encoder: Encoder
    mask_decoder: MaskDecoder
    image_channels: int
    image_size: int
    translation: str

    @torch.no_grad()
    def transfer(self, sources: Tensor, references: Tensor) -> tuple[Tensor, Tensor]:
        """Outputs (N, C, H, W) in [-1, 1] and masks (N, 1, H, W) in [0, 1] for paired sources and references.

        The output is D_B(E_c(source), E_s(reference)) pasted over the source: m * content + (1 - m) * source.
        """
        if sources.shape != references.shape:
            msg = f"transfer: sources {tuple(sources.shape)} and references {tuple(references.shape)} differ"
            raise ValueError(msg)
        expected = (self.image_channels, self.image_size, self.image_size)
        if sources.dim() != 4 or tuple(sources.shape[1:]) != expected:
            msg = f"transfer: expected images of shape (N, {', '.join(map(str, expected))}), got {tuple(sources.shape)}"
            raise ValueError(msg)
        code = torch.cat([self.common_encoder(sources), self.separate_encoder(references)], dim=1)
        return self.mask_decoder(code, sources)


def transfer_from_nets(nets: Any, image_channels: int, image_size: int, translation: str) -> MokadyTransfer:
    """A MokadyTransfer over (copies of the references to) trained networks, switched to eval mode."""
    modules = {name: getattr(nets, name).eval() for name in TRANSFER_MODULES}
    return MokadyTransfer(**modules, image_channels=image_channels, image_size=image_size, translation=translation)


def load_transfer(model_dir: Path, device: torch.device) -> MokadyTransfer:
    """Rebuild the networks from ``model_dir``'s config.json and load their weights from model.pt."""
    state_dicts, config = load_model(Path(model_dir), device)
    try:
        cfg = from_mapping(MokadyConfig, config["mokady"], "mokady")
        image_size, image_channels = int(config["image_size"]), int(config["image_channels"])
        translation = str(config["translation"])
    except KeyError as err:
        msg = f"{model_dir}/config.json is not a Mokady model config (missing {err}); retrain with train_mokady"
        raise CheckpointError(msg) from err
    nets = build_networks(cfg, image_size, image_channels, seed=cfg.seed)
    for name in TRANSFER_MODULES:
        if name not in state_dicts:
            msg = f"{model_dir}/model.pt has no '{name}' weights (has {sorted(state_dicts)})"
            raise CheckpointError(msg)
        module = getattr(nets, name)
        module.load_state_dict(state_dicts[name])
        module.to(device)
    log.info("loaded Mokady %s model from %s (%d px, %d channels)", translation, model_dir, image_size, image_channels)
    return transfer_from_nets(nets, image_channels, image_size, translation)
