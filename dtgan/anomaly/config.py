"""The ``anomaly`` params section: the f-AnoGAN unsupervised baseline (spec fanogan.md).

The dataclass defaults are the official f-AnoGAN values (tSchlegl/f-AnoGAN, spec fanogan.md §1), noted beside each
field, like the other sections; the CPU-sized default profile (smaller nets, far fewer steps, one conditional model)
lives in params.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dtgan.params import field_spec

Mode = Literal["conditional", "per_product"]
Residual = Literal["mse", "mae"]
EncoderOptimizer = Literal["rmsprop", "adam"]
ColorMode = Literal["auto", "gray", "rgb"]


def _power_of_two_ok(value: int) -> str | None:
    return None if value >= 1 and value & (value - 1) == 0 else "must be a power of two"


@dataclass(frozen=True)
class AnomalyConfig:
    # "conditional": one model for all products, conditioned by a learned product embedding (the seed blog);
    # "per_product": one unconditional model per product, as in the f-AnoGAN paper.
    mode: Mode = "per_product"
    residual: Residual = "mse"              # pixel residual of the encoder loss and A_R: official code mse, blog mae
    color: ColorMode = "auto"               # auto = grayscale when every training image has R == G == B (MTD)
    z_dim: int = field_spec(128, low=1)     # official ZDIM 128
    width: int = field_spec(64, low=1, check=_power_of_two_ok)  # base channels w; official DIM 64; spec CPU 16-32
    embed_dim: int = field_spec(16, low=1)  # product embedding concatenated to z (conditional only); spec: no value
    gan_steps: int = field_spec(100_000, low=1)  # generator iterations; dbbbbm 100k (official: 7 epochs of its data)
    n_critic: int = field_spec(5, low=1)    # official CRITIC_ITERS 5
    lambda_gp: float = field_spec(10.0, low=0)  # official LAMBDA 10
    batch_size: int = field_spec(64, low=2)  # official BATCH_SIZE 64 (GAN and encoder)
    lr: float = field_spec(1e-4, low=0, low_open=True)  # G and D Adam, official 1e-4
    beta1: float = field_spec(0.0, low=0, high=1, high_open=True)  # official 0.0
    beta2: float = field_spec(0.9, low=0, high=1, high_open=True)  # official 0.9
    encoder_steps: int = field_spec(50_000, low=1)  # official ITERS_ENC 50,000
    encoder_optimizer: EncoderOptimizer = "rmsprop"  # official RMSProp; dbbbbm Adam(1e-4, (0, 0.9)) with beta1/beta2
    encoder_lr: float = field_spec(5e-5, low=0, low_open=True)  # official RMSProp lr 5e-5
    kappa: float = field_spec(1.0, low=0)   # weight of the critic-feature residual, official 1.0
    map_sigma: float = field_spec(0.0, low=0)  # Gaussian smoothing (px) of the pixel map; spec: optional, 0 = off
    eval_batch_size: int = field_spec(128, low=1)
    figure_examples: int = field_spec(4, low=1)  # test images per product in examples.png
    checkpoint_every: int = field_spec(1000, low=1, result=False)  # steps between resumable checkpoints
    log_every: int = field_spec(50, low=1)
    seed: int = 1234
    device: str = field_spec("auto", result=False)
