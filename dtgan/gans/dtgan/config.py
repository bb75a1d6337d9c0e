"""The ``gan`` params section and the top-level DT-GAN loss weights.

The ablation variant (a)-(e) is not a params key: every variant is its own `train_gan` matrix cell
(``--variant``), so the variant is passed beside this section (see :mod:`dtgan.gans.dtgan.variants`).

Paper values (spec dtgan.md §5, §8.3, §10) are noted beside each field; the CPU defaults live in params.yaml and
the paper profile in profiles/paper.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass

from dtgan.params import field_spec

AMP_MODES: tuple[str, ...] = ("none", "bf16", "fp16")  # gan.amp (training/precision.py)
COMPILE_BACKENDS: tuple[str, ...] = ("none", "inductor", "aot_eager")  # gan.compile (training/compile.py)


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
    # NOT the paper's generator (False there): in the variants with a foreground decoder (d, e), G adds the foreground
    # decoder's output minus its output for the all-zero defect code. The anchor code then adds exactly nothing,
    # G(x, s, 0) is the background path alone whatever the style, and a style can only shape what a defect code
    # adds; without it the style's AdaIN repaints the whole background (README: "what the CPU default changes").
    fg_relative: bool = False
    iterations: int = field_spec(100_000, low=1)  # paper 100k (GAN iterations, after the warm-up)
    # Non-adversarial warm-up steps before the GAN iterations (not in the paper: 0 there). A CPU-budget device: a
    # warm-up step costs about a tenth of a GAN iteration and trains what the GAN phase otherwise spends its first
    # thousands of iterations on: G and E reconstruct real images (L_cyc's target with x_f = x, and the real-image
    # half of L_d_rec) and D's FG/BG classifiers learn the real images (D's own L_FG/L_BG terms). See warmup_loss.
    warmup_iters: int = field_spec(0, low=0)
    # Adam lr of the warm-up steps; None = lr. The GAN phase starts with fresh Adam moments when
    # warmup_resets_optimizers: the warm-up's small reconstruction gradients leave second moments that would turn
    # the first adversarial gradients into huge steps (they overwrote the warm-up; see the README).
    warmup_lr: float | None = field_spec(None, low=0, low_open=True)
    warmup_resets_optimizers: bool = False
    # GAN-phase lr of G's background path (encoder, background decoder, fusion) in the variants with separate
    # decoders; None = lr (paper: one lr for all of G). Lets the defect path learn fast while the background the
    # warm-up built is only refined.
    background_lr: float | None = field_spec(None, low=0, low_open=True)
    batch_size: int = field_spec(4, low=1)       # paper 4
    lr: float = field_spec(1e-4, low=0, low_open=True)        # G, E, D (StarGAN v2)
    f_lr: float = field_spec(1e-6, low=0, low_open=True)      # mapping network (StarGAN v2)
    # Adam lr of M's convolutional defect branches; None = f_lr (paper/StarGAN v2: one lr for all of M). Spec §10
    # suggests a higher lr there, since 1e-6 was tuned for StarGAN v2's MLP mapping network.
    defect_branch_lr: float | None = field_spec(None, low=0, low_open=True)
    # Side of the map M's defect branches start from. 1 = the paper (Table 12: the trunk's output viewed as a 1x1 map,
    # upsampled 1 -> 2 -> 4 -> 8 -> 16). NOT the paper when > 1: a Linear projects the trunk's output to a
    # (max_channels, s, s) map (DCGAN's first layer) and log2(16 / s) up-blocks follow. From a 1x1 map the code's
    # spatial layout can only come from the convs' zero padding and the noise, so z hardly moves the mark (README).
    defect_start_size: int = field_spec(1, choices=(1, 2, 4, 8))
    # Initial weight of M's per-pixel noise injections (paper: not stated; spec §10 default: StyleGAN's 0). Zero
    # noise leaves M's spatial defect code z-independent until the weights have grown, which a few hundred CPU
    # iterations do not do: the latent-guided outputs then hardly vary with z.
    noise_init: float = field_spec(0.0, low=0)
    # Only the noise injections on maps of side <= this start at noise_init; the finer ones start at 0. 16 (every
    # level) is the meaning noise_init always had. NOT the paper when below 16 (it states no noise init at all):
    # noise on the 2x2 or 4x4 maps can move where the mark sits, per-pixel noise on the 16x16 code only speckles it.
    noise_init_max_size: int = field_spec(16, choices=(2, 4, 8, 16))
    # Codes M draws per reference for lambda_imle's nearest-neighbour match (not the paper: no such term there).
    imle_samples: int = field_spec(8, low=1)
    # Share of each defect source's pixels lambda_keep leaves out (not the paper: no such term there). 0.25, the one
    # value tried (validation): about twice the 13-14 % of pixels the outputs' dilated defect regions cover.
    keep_trim: float = field_spec(0.25, low=0, high=0.99)
    beta1: float = field_spec(0.0, low=0, high=1, high_open=True)
    beta2: float = field_spec(0.99, low=0, high=1, high_open=True)
    weight_decay: float = field_spec(1e-4, low=0)
    lambda_reg: float = field_spec(1.0, low=0)   # R1 weight
    ema_beta: float = field_spec(0.999, low=0, high=1)
    ds_decay_iters: int = field_spec(100_000, low=1)  # lambda_ds decays linearly to 0 over this many GAN iterations
    randcrop_prob: float = field_spec(0.5, low=0, high=1)
    # Not the paper (0, its default here): the share of GAN training images that are also flipped vertically (p 0.5)
    # and turned by a random multiple of 90 degrees, on top of StarGAN v2's horizontal flip, so E and G see every
    # real defect in all 8 orientations. Only for data without a fixed orientation (the embedded data draw scratch
    # angles uniformly); chosen on validation at three GAN seeds (README, "Training DT-GAN in five CPU minutes").
    dihedral_prob: float = field_spec(0.0, low=0, high=1)
    checkpoint_every: int = field_spec(1000, low=1, result=False)  # how often to save; not what is trained
    log_every: int = field_spec(10, low=1)
    seed: int = 777
    device: str = field_spec("auto", result=False)
    # Mixed precision of the forward passes (training/precision.py): none (fp32, the paper), bf16, or fp16 with a
    # GradScaler. A result key: bf16/fp16 round differently, so they train (slightly) different weights.
    amp: str = field_spec("none", choices=AMP_MODES)
    # torch.compile of the networks' blocks (training/compile.py): none (eager, the default and the paper's code),
    # inductor (generated kernels: worth it on GPUs; on this CPU 209 s of compiling bought a 17 % faster step, see
    # README), or aot_eager (the same graph capture without code generation: checks the path, not faster). A result
    # key like amp: fused kernels round differently.
    compile: str = field_spec("none", choices=COMPILE_BACKENDS)

    @property
    def total_steps(self) -> int:
        """Warm-up steps plus GAN iterations: what the step counter, checkpoints and progress bar run up to."""
        return self.warmup_iters + self.iterations


@dataclass(frozen=True)
class LossWeights:
    """Top-level ``lambda_*`` keys of params.yaml, so `dvc exp run -S lambda_cyc=1` works. The paper's seven are all 1
    there; ``lambda_src`` is this project's CPU-budget addition (0 in the paper profile)."""

    lambda_adv: float = field_spec(1.0, low=0)
    lambda_sd_rec: float = field_spec(1.0, low=0)
    lambda_d_rec: float = field_spec(1.0, low=0)
    lambda_ds: float = field_spec(1.0, low=0)
    lambda_cyc: float = field_spec(1.0, low=0)
    lambda_fg: float = field_spec(1.0, low=0)
    lambda_bg: float = field_spec(1.0, low=0)
    # NOT a term of the paper (0 there): L1(x_f, x) between each translation and its own source in G's objective,
    # a CPU-budget device that keeps the source's background while few adversarial iterations cannot (README).
    lambda_src: float = field_spec(0.0, low=0)
    # NOT a term of the paper (0 there): L1(G(x, s~, 0), x) for Normal sources x and every target style s~ (from M
    # or E): the anchor output, the source rendered as Normal, must be the source itself whatever the style, so that
    # the defect code alone changes the image and the background path carries the source (README).
    lambda_anchor: float = field_spec(0.0, low=0)
    # NOT a term of the paper (0 there): conditional IMLE of M's codes on E's codes of the batch's references (each
    # reference pulls the nearest of gan.imle_samples codes M draws for its domain), in the warm-up and in the latent
    # G step. M otherwise learns only from D through G and starts the GAN phase untrained; with it, latent outputs
    # are recognised as their domain more often, though each domain still shows one mark for every z (README).
    lambda_imle: float = field_spec(0.0, low=0)
    # NOT a term of the paper (0 there): D's FG classifier (frozen for this term: it learns from real images only)
    # must read the background path G(x, s, 0) of every defect source x as Normal, in the warm-up and both G steps
    # (d, e: fg_relative). Otherwise the background path carries the source's defect, the warm-up's G(x, E(x)) = x
    # never needs the defect code, and the defect path draws a fixed mark whatever the reference's defect (README).
    lambda_clean: float = field_spec(0.0, low=0)
    # NOT a term of the paper (0 there): trimmed L1(G(x, s, 0), x) over the same defect sources, the gan.keep_trim
    # share of largest pixel errors left out. lambda_clean alone drops the defect by smearing the whole background
    # (source-identity ratio 0.58-0.75); with this, the background path may change only its largest-error pixels.
    # 0 here (the paper's value); the CPU default's params.yaml sets clean 1 and keep 3, which kept the texture and
    # drew the reference's defect in place at three GAN seeds of three (keep 1: at one of three; README, "ck4").
    lambda_keep: float = field_spec(0.0, low=0)
