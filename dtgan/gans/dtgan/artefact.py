"""The trained DT-GAN that later stages read: ``ema.pt`` (state_dicts of the EMA G, M and E only, no pickled code)
and ``config.json`` beside it (the resolved config: how to rebuild the networks)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from dtgan.errors import CheckpointError, ParamsError
from dtgan.gans.dtgan.config import GanConfig
from dtgan.gans.dtgan.nets.build import build_nets
from dtgan.params import from_mapping
from dtgan.runtime import save_torch, to_device, write_json

EMA_NAME = "ema.pt"
CONFIG_NAME = "config.json"
EMA_MODULES: tuple[str, ...] = ("generator", "mapping", "encoder")


@dataclass
class EmaNets:
    """The EMA generator, mapping network and style-defect encoder, in eval mode."""

    generator: nn.Module
    mapping: nn.Module
    encoder: nn.Module


def save_ema(out_dir: str | Path, ema: Any, config: dict[str, Any]) -> None:
    """``ema.pt`` (state_dicts of the EMA G, M, E in ``ema``) and ``config.json`` in ``out_dir``."""
    out_dir = Path(out_dir)
    save_torch(out_dir / EMA_NAME, {name: getattr(ema, name).state_dict() for name in EMA_MODULES})
    write_json(out_dir / CONFIG_NAME, config)


def load_ema(out_dir: str | Path, device: str | torch.device = "cpu") -> tuple[EmaNets, dict[str, Any]]:
    """Rebuild the EMA G, M, E written by the train_gan stage; returns (nets in eval mode, config dict)."""
    out_dir = Path(out_dir)
    for name in (EMA_NAME, CONFIG_NAME):
        if not (out_dir / name).is_file():
            msg = f"{out_dir / name} not found: run the train_gan stage for this variant first"
            raise CheckpointError(msg)
    config = json.loads((out_dir / CONFIG_NAME).read_text())
    try:
        cfg = from_mapping(GanConfig, config["gan"], f"{out_dir / CONFIG_NAME}:gan")
    except (KeyError, ParamsError) as exc:
        msg = f"{out_dir / CONFIG_NAME} does not describe a DT-GAN of this version ({exc}); rerun train_gan"
        raise CheckpointError(msg) from None
    nets = build_nets(cfg, config["variant"], config["image_size"], len(config["domains"]), len(config["products"]),
                      image_channels=int(config.get("image_channels", 3)))
    weights = torch.load(out_dir / EMA_NAME, map_location="cpu", weights_only=True)
    modules = {}
    for name in EMA_MODULES:
        module = getattr(nets, name)
        module.load_state_dict(weights[name])
        modules[name] = to_device(module, device).eval()
    return EmaNets(**modules), config
