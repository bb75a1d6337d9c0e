"""The ``gan`` params section and the top-level DT-GAN loss weights.

The ablation variant (a)-(e) is not a params key: every variant is its own `train_gan` matrix cell
(``--variant``), so the variant is passed beside this section (see :mod:`dtgan.gans.dtgan.variants`).

Paper values (spec dtgan.md §5, §8.3, §10) are noted beside each field; the CPU defaults live in params.yaml and
the paper profile in profiles/paper.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass

from dtgan.params import field_spec


@dataclass(frozen=True)
class GanConfig:
    max_channels: int = field_spec(512, low=8)   # paper 512 (Tables 11-13); every width derives from it
    fg_channels: int = field_spec(64, low=1)     # paper 64 of the 512 bottleneck channels are foreground
    style_dim: int = field_spec(64, low=1)       # paper 64
    latent_dim: int = field_spec(16, low=1)      # paper 16
    mapping_hidden: int = field_spec(512, low=1)  # paper 512
    # Instance norm in G's encoder ResBlks (Table 11; paper True). A switch for experiments: an earlier CPU default
    # turned it off, but the background loss blamed on it came from an IN in the fusion layer (see generator.py).
    encoder_norm: bool = True
    iterations: int = field_spec(100_000, low=1)  # paper 100k (GAN iterations, after the warm-up)
    # Non-adversarial warm-up steps before the GAN iterations (not in the paper: 0 there). A CPU-budget device: a
    # warm-up step costs about a tenth of a GAN iteration and trains what the GAN phase otherwise spends its first
    # thousands of iterations on: G and E reconstruct real images (L_cyc's target with x_f = x, and the real-image
    # half of L_d_rec) and D's FG/BG classifiers learn the real images (D's own L_FG/L_BG terms). See warmup_loss.
    warmup_iters: int = field_spec(0, low=0)
    batch_size: int = field_spec(4, low=1)       # paper 4
    lr: float = field_spec(1e-4, low=0, low_open=True)        # G, E, D (StarGAN v2)
    f_lr: float = field_spec(1e-6, low=0, low_open=True)      # mapping network (StarGAN v2)
    # Adam lr of M's convolutional defect branches; None = f_lr (paper/StarGAN v2: one lr for all of M). Spec §10
    # suggests a higher lr there, since 1e-6 was tuned for StarGAN v2's MLP mapping network.
    defect_branch_lr: float | None = field_spec(None, low=0, low_open=True)
    beta1: float = field_spec(0.0, low=0, high=1, high_open=True)
    beta2: float = field_spec(0.99, low=0, high=1, high_open=True)
    weight_decay: float = field_spec(1e-4, low=0)
    lambda_reg: float = field_spec(1.0, low=0)   # R1 weight
    ema_beta: float = field_spec(0.999, low=0, high=1)
    ds_decay_iters: int = field_spec(100_000, low=1)  # lambda_ds decays linearly to 0 over this many GAN iterations
    randcrop_prob: float = field_spec(0.5, low=0, high=1)
    checkpoint_every: int = field_spec(1000, low=1, result=False)  # how often to save; not what is trained
    log_every: int = field_spec(10, low=1)
    seed: int = 777
    device: str = field_spec("auto", result=False)

    @property
    def total_steps(self) -> int:
        """Warm-up steps plus GAN iterations: what the step counter, checkpoints and progress bar run up to."""
        return self.warmup_iters + self.iterations


@dataclass(frozen=True)
class LossWeights:
    """Top-level ``lambda_*`` keys of params.yaml (all 1 in the paper), so `dvc exp run -S lambda_cyc=1` works."""

    lambda_adv: float = field_spec(1.0, low=0)
    lambda_sd_rec: float = field_spec(1.0, low=0)
    lambda_d_rec: float = field_spec(1.0, low=0)
    lambda_ds: float = field_spec(1.0, low=0)
    lambda_cyc: float = field_spec(1.0, low=0)
    lambda_fg: float = field_spec(1.0, low=0)
    lambda_bg: float = field_spec(1.0, low=0)
