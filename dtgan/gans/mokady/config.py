"""The ``mokady`` params section: hyperparameters of Mask Based Unsupervised Content Transfer.

Defaults are the official values (rmokady/mbu-content-tansfer, ``mask_train.py`` argparse defaults, i.e. the
Eyewear setting, and ``mask_models.py`` widths); the CPU defaults live in params.yaml. The official code calls the
loss weights alpha1/alpha2/beta1/beta2/gama/delta/discweight; the README maps them to the paper's terms, and the
names here are the paper's (A = Normal = the domain without the content, B = defect).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dtgan.errors import ParamsError
from dtgan.params import field_spec

MIN_IMAGE_SIZE = 16
MAX_IMAGE_SIZE = 128


@dataclass(frozen=True)
class MokadyConfig:
    # --- networks (mask_models.py) ---
    channels: int = field_spec(32, low=1)             # official 32: width of the first conv; doubles per block
    code_channels: int = field_spec(512, low=2)       # official 512: common + separate channels at the bottleneck
    separate_channels: int = field_spec(25, low=1)    # official --sep 25: channels of the separate code E_s(b)
    # official 6 stride-2 blocks (128 px -> 2x2 bottleneck); image_size / 2**n_blocks is the code's side
    n_blocks: int = field_spec(6, low=2, high=7)
    disc_hidden: int = field_spec(512, low=1)         # official 512: hidden units of the code discriminator C
    # --- optimisation (mask_train.py) ---
    iterations: int = field_spec(150_000, low=1)      # official --iters 150000
    batch_size: int = field_spec(32, low=2)           # official --bs 32 (A and B batches each); >= 2 for BatchNorm
    lr: float = field_spec(2e-4, low=0, low_open=True)       # official --lr 0.0002 (E_c, E_s, D_A, D_B)
    disc_lr: float = field_spec(2e-4, low=0, low_open=True)  # official --disclr 0.0002 (code discriminator)
    beta1: float = field_spec(0.5, low=0, high=1, high_open=True)    # official Adam betas (0.5, 0.999), both
    beta2: float = field_spec(0.999, low=0, high=1, high_open=True)
    grad_clip: float = field_spec(5.0, low=0, low_open=True)  # official clip_grad_norm_(..., 5) on both optimisers
    hflip: bool = True                                # official RandomHorizontalFlip on both domains
    # --- loss weights (official name in brackets) ---
    lambda_recon1_a: float = field_spec(5.0, low=0)   # [delta 5.0] L1(D_A(E_c(a), 0), a)
    lambda_recon1_b: float = field_spec(7.0, low=0)   # [gama 7.0] L1(D_B(E_c(b), E_s(b), D_A(E_c(b), 0)), b)
    lambda_recon2_a: float = field_spec(0.7, low=0)   # [alpha2 0.7] L1(D_B(E_c(a), 0, a), a)
    lambda_recon2_b: float = field_spec(0.7, low=0)   # [alpha1 0.7] L1(D_B(E_c(b), E_s(b), b), b)
    lambda_cycle_common: float = field_spec(0.0, low=0)     # [beta1 0.0] MSE(E_c(t), E_c(a)), t = a with b's content
    lambda_cycle_separate: float = field_spec(0.001, low=0)  # [beta2 0.001] MSE(E_s(t), E_s(b))
    lambda_dc: float = field_spec(0.005, low=0)       # [discweight 0.005] domain confusion on E_c's output
    # --- bookkeeping ---
    checkpoint_every: int = field_spec(25_000, low=1, result=False)  # official --save_iter 25000
    log_every: int = field_spec(2_500, low=1, result=False)          # official --progress_iter 2500
    seed: int = 0                                     # official: unseeded
    device: str = field_spec("auto", result=False)


def check_geometry(cfg: MokadyConfig, image_size: int, image_channels: int) -> int:
    """Validate image size / channels against the config; returns the side of the bottleneck code maps."""
    if image_channels not in (1, 3):
        msg = f"Mokady: image_channels must be 1 or 3, got {image_channels}"
        raise ParamsError(msg)
    if not (MIN_IMAGE_SIZE <= image_size <= MAX_IMAGE_SIZE) or 2 ** round(math.log2(image_size)) != image_size:
        msg = f"Mokady: image_size must be a power of two in [{MIN_IMAGE_SIZE}, {MAX_IMAGE_SIZE}], got {image_size}"
        raise ParamsError(msg)
    if 2**cfg.n_blocks > image_size:
        most = int(math.log2(image_size))
        msg = f"mokady.n_blocks={cfg.n_blocks} halves {image_size} px below 1 pixel; use at most {most}"
        raise ParamsError(msg)
    if cfg.separate_channels >= cfg.code_channels:
        msg = (f"mokady.separate_channels={cfg.separate_channels} must be < code_channels={cfg.code_channels} "
               "(the common code gets the rest)")
        raise ParamsError(msg)
    return image_size // 2**cfg.n_blocks
