"""The ``stylegan2`` params section (StyleGAN2 and StyleGAN2 + ADA baselines).

Every default is the official StyleGAN2-ADA value (NVlabs/stylegan2-ada-pytorch, ``train.py`` presets and
``training/training_loop.py`` defaults), noted beside each field; the CPU defaults live in params.yaml. Whether ADA
runs is not a key here: it is the ``augment`` argument of :func:`dtgan.gans.stylegan2.train.train_model`.
"""

from __future__ import annotations

from dataclasses import dataclass

from dtgan.params import field_spec


@dataclass(frozen=True)
class Stylegan2Config:
    # Width at resolution r is min(channel_base // r, channel_max), for G and D alike (official rule).
    # The supplement: "one model for each product" (its classes: that product's defect domains). False = one
    # conditional model over every (product, defect domain) class, the CPU default (README deviations table).
    per_product: bool = True
    channel_base: int = field_spec(32768, low=4)  # official 32768 (--cfg stylegan2; 'auto' uses 16384 below 512 px)
    channel_max: int = field_spec(512, low=1)  # official 512
    z_dim: int = field_spec(512, low=1)  # official 512
    w_dim: int = field_spec(512, low=1)  # official 512 (also the label embedding width)
    mapping_layers: int = field_spec(8, low=1)  # official 8 (--cfg stylegan2/paper*; 'auto' and 'cifar' use 2)
    mapping_lr_mult: float = field_spec(0.01, low=0, low_open=True)  # official 0.01 (G's and D's mapping MLPs)
    mbstd_group: int = field_spec(4, low=1)  # official min(4, batch); 'cifar' 32
    # 25000 kimg at batch 32 (official total_kimg); one iteration = 1 G step + 1 D step on `batch_size` images.
    iterations: int = field_spec(781_250, low=1)
    batch_size: int = field_spec(32, low=2)  # official 32 (--cfg stylegan2); >= 2 for the minibatch stddev
    lr: float = field_spec(0.0025, low=0, low_open=True)  # official 0.0025 below 1024 px (0.002 at 1024)
    beta1: float = field_spec(0.0, low=0, high=1, high_open=True)  # official Adam betas (0, 0.99), eps 1e-8
    beta2: float = field_spec(0.99, low=0, high=1, high_open=True)
    # R1 weight gamma (penalty gamma/2 * |grad D(x)|^2). Official 10 (--cfg stylegan2); 'auto' uses
    # 0.0002 * res^2 / batch, e.g. 0.026 at 32 px and batch 8; 'cifar' 0.01.
    r1_gamma: float = field_spec(10.0, low=0)
    r1_interval: int = field_spec(16, low=1)  # official D_reg_interval 16 (lazy regularisation)
    # EMA generator: half-life in thousands of images, beta = 0.5 ** (batch / (ema_kimg * 1000)). Official 10.
    ema_kimg: float = field_spec(10.0, low=0, low_open=True)
    # Half-life ramp-up: the half-life is at most ema_rampup * images seen so far; None = off. Official 0.05 for
    # --cfg auto / cifar, None for stylegan2 / paper*.
    ema_rampup: float | None = field_spec(0.05, low=0, low_open=True)
    ada_target: float = field_spec(0.6, low=0, high=1)  # official 0.6: target of r_t = E[sign(D(real))]
    ada_interval: int = field_spec(4, low=1)  # official 4: D steps between two adjustments of p
    # Images for p to move by 1 (official 500 kimg). p moves by batch * ada_interval / (ada_kimg * 1000) per
    # adjustment, so at the official value p could not leave 0 within a CPU run of a few thousand images.
    ada_kimg: float = field_spec(500.0, low=0, low_open=True)
    checkpoint_every: int = field_spec(1000, low=1, result=False)  # how often to save; not what is trained
    log_every: int = field_spec(10, low=1, result=False)
    seed: int = 0  # official random_seed 0
    device: str = field_spec("auto", result=False)
