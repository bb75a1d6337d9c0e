"""The ``biggan`` params section.

The dataclass defaults are the official recipe of BigGAN-PyTorch's ImageNet 128x128 launch script
(``scripts/launch_BigGAN_bs256x8.sh``, the SA-GAN optimiser settings its README documents); the values of the BigGAN
paper and of DiffAugment's BigGAN CIFAR scripts are noted where they differ. The CPU defaults live in params.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass

from dtgan.gans.biggan.diffaugment import policy_problem
from dtgan.params import field_spec


def _attention_problem(value: int) -> str | None:
    """0 (off) or a power of two >= 8: G's first block already outputs 8x8, so 4x4 attention never exists in G."""
    if value == 0 or (value >= 8 and value & (value - 1) == 0):
        return None
    return "must be 0 (no self-attention) or a power of two >= 8 (the resolution of the attention block)"


@dataclass(frozen=True)
class BigganConfig:
    # Models per product as the supplement trains its StyleGAN2 ("one model for each product"; it says nothing else
    # for BigGAN, so the paper profile treats both alike). False = one conditional model over every (product,
    # defect domain) class, the CPU default (README deviations table).
    per_product: bool = True
    channels: int = field_spec(96, low=1)         # base width ch (G_ch = D_ch = 96; BigGAN paper ch = 96)
    z_dim: int = field_spec(120, low=1)           # dim_z 120, split hierarchically into (G blocks + 1) chunks
    shared_dim: int = field_spec(128, low=1)      # shared class embedding (shared_dim 128)
    # Self-attention at this resolution in G and D, 0 = off (G_attn = D_attn = 64; DiffAugment/BigGAN CIFAR: 0).
    attention_resolution: int = field_spec(64, low=0, check=_attention_problem)
    iterations: int = field_spec(150_000, low=1)  # BigGAN-PyTorch README: 150k iterations for this script
    # Images per D and per G step (256 x 8 gradient accumulations = 2048, the paper's batch; DiffAugment CIFAR 50).
    batch_size: int = field_spec(2048, low=1)
    g_lr: float = field_spec(1e-4, low=0, low_open=True)  # script / SA-GAN 1e-4 (paper 5e-5; DiffAugment CIFAR 2e-4)
    d_lr: float = field_spec(4e-4, low=0, low_open=True)  # script / SA-GAN 4e-4 (paper 2e-4; DiffAugment CIFAR 2e-4)
    beta1: float = field_spec(0.0, low=0, high=1, high_open=True)   # 0 (paper and every script)
    beta2: float = field_spec(0.999, low=0, high=1, high_open=True)  # 0.999 (paper and every script)
    d_steps: int = field_spec(1, low=1)           # D steps per G step: script 1 (paper 2; DiffAugment CIFAR 4)
    ema_beta: float = field_spec(0.9999, low=0, high=1)  # ema_decay 0.9999 (DiffAugment CIFAR too)
    ema_start: int = field_spec(20_000, low=0)    # EMA copies G until this iteration (DiffAugment CIFAR 1000)
    # Policy when augment = "diffaug": any subset of color,translation,cutout ("" = off). DiffAugment recommends all
    # three; its BigGAN CIFAR scripts use "translation,cutout".
    diffaugment_policy: str = field_spec("color,translation,cutout", check=policy_problem)
    checkpoint_every: int = field_spec(1000, low=1, result=False)  # save_every 1000; how often, not what is trained
    log_every: int = field_spec(10, low=1, result=False)
    seed: int = 0                                 # seed 0 (every script)
    device: str = field_spec("auto", result=False)
