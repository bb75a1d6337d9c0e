"""Training f-AnoGAN: WGAN-GP on normal images, then the izi_f encoder with G and D frozen (spec fanogan.md §1, §4).

Losses are pure functions returning ``(total, dict of floats)``. The two phases share one resumable checkpoint per
model (one file per product, or one for the conditional model): it holds the nets, the optimizers, the local RNG
state and the step counters, and a fingerprint of the config and data so a stale checkpoint is never resumed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm import tqdm

from dtgan.anomaly.config import AnomalyConfig
from dtgan.anomaly.models import Critic, Encoder, Generator, Networks
from dtgan.anomaly.score import feature_residual, pixel_residual
from dtgan.errors import ParamsError
from dtgan.runtime import save_torch

log = logging.getLogger(__name__)


def build_networks(hparams: dict[str, int]) -> Networks:
    """The one builder of the nets, from :func:`network_hparams` (also stored in every checkpoint)."""
    h = hparams
    return Networks(
        Generator(h["img_size"], h["channels"], h["z_dim"], h["width"], h["n_classes"], h["embed_dim"]),
        Critic(h["img_size"], h["channels"], h["width"], h["n_classes"]),
        Encoder(h["img_size"], h["channels"], h["z_dim"], h["width"], h["n_classes"]),
    )


def network_hparams(cfg: AnomalyConfig, img_size: int, channels: int, n_classes: int) -> dict[str, int]:
    """The net hyperparameters read from the config (``n_classes`` 0 = unconditional)."""
    if img_size < 8 or img_size & (img_size - 1):
        msg = f"f-AnoGAN needs data.image_size to be a power of two >= 8 (e.g. 32, 64, 128), got {img_size}"
        raise ParamsError(msg)
    return {"img_size": img_size, "channels": channels, "n_classes": n_classes, "z_dim": cfg.z_dim,
            "width": cfg.width, "embed_dim": cfg.embed_dim}


# ---------------------------------------------------------------- losses (pure functions)

def gradient_penalty(critic: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor, alpha: Tensor) -> Tensor:
    """Per-sample (||grad_x D(x_hat)||_2 - 1)^2 at x_hat = alpha * real + (1 - alpha) * fake, alpha (B,) per sample.

    The norm runs over all pixels of a sample (official code); ``create_graph`` lets the penalty train the critic.
    """
    if alpha.shape != (real.shape[0],):
        msg = f"alpha must hold one value per sample, shape ({real.shape[0]},), got {tuple(alpha.shape)}"
        raise ValueError(msg)
    a = alpha.view(-1, *([1] * (real.dim() - 1)))
    x_hat = (a * real.detach() + (1 - a) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return (grad.flatten(1).norm(2, dim=1) - 1).pow(2)


def critic_loss(d_real: Tensor, d_fake: Tensor, penalty: Tensor, lambda_gp: float) -> tuple[Tensor, dict]:
    """WGAN-GP critic loss mean(D(fake)) - mean(D(real)) + lambda * mean(GP)."""
    wasserstein = d_fake.mean() - d_real.mean()
    total = wasserstein + lambda_gp * penalty.mean()
    return total, {"d_loss": total.item(), "d_wasserstein": -wasserstein.item(), "d_gp": penalty.mean().item()}


def generator_loss(d_fake: Tensor) -> tuple[Tensor, dict]:
    """-mean(D(G(z)))."""
    total = -d_fake.mean()
    return total, {"g_loss": total.item()}


def encoder_loss(x: Tensor, x_rec: Tensor, feat: Tensor, feat_rec: Tensor, kappa: float,
                 residual: str) -> tuple[Tensor, dict]:
    """izi_f loss: mean image residual + kappa * mean critic-feature residual."""
    image_term = pixel_residual(x, x_rec, residual).mean()
    feature_term = feature_residual(feat, feat_rec).mean()
    total = image_term + kappa * feature_term
    return total, {"e_loss": total.item(), "e_image": image_term.item(), "e_feature": feature_term.item()}


# ---------------------------------------------------------------- data and optimizers

@dataclass
class TrainingData:
    """Normal training images (N, C, H, W) in [-1, 1] and their class labels (N,) or None (unconditional)."""

    images: Tensor
    labels: Tensor | None = None

    def __post_init__(self) -> None:
        if self.images.dim() != 4 or self.images.shape[0] < 1:
            msg = f"training images must be a non-empty (N, C, H, W) tensor, got shape {tuple(self.images.shape)}"
            raise ValueError(msg)
        if self.labels is not None and self.labels.shape != (self.images.shape[0],):
            msg = f"labels must have shape ({self.images.shape[0]},), got {tuple(self.labels.shape)}"
            raise ValueError(msg)

    def sample(self, batch_size: int, gen: torch.Generator) -> tuple[Tensor, Tensor | None]:
        """A batch drawn uniformly with replacement (products differ in size, so steps not epochs)."""
        idx = torch.randint(0, self.images.shape[0], (batch_size,), generator=gen, device=gen.device)
        idx = idx.to(self.images.device)
        return self.images[idx], None if self.labels is None else self.labels[idx]


def make_optimizers(nets: Networks, cfg: AnomalyConfig) -> dict[str, torch.optim.Optimizer]:
    """Adam(lr, (beta1, beta2)) for G and D; RMSProp(encoder_lr) (official) or Adam (dbbbbm) for E only."""
    betas = (cfg.beta1, cfg.beta2)
    if cfg.encoder_optimizer == "rmsprop":
        enc = torch.optim.RMSprop(nets.encoder.parameters(), lr=cfg.encoder_lr)
    else:
        enc = torch.optim.Adam(nets.encoder.parameters(), lr=cfg.encoder_lr, betas=betas)
    return {"generator": torch.optim.Adam(nets.generator.parameters(), lr=cfg.lr, betas=betas),
            "critic": torch.optim.Adam(nets.critic.parameters(), lr=cfg.lr, betas=betas),
            "encoder": enc}


def freeze(module: nn.Module) -> None:
    """Eval mode (BN running statistics) and no parameter gradients; gradients still flow *through* it."""
    module.eval()
    module.requires_grad_(False)


# ---------------------------------------------------------------- single steps

def _noise(batch: int, z_dim: int, gen: torch.Generator, device: torch.device) -> Tensor:
    return torch.randn(batch, z_dim, generator=gen, device=gen.device).to(device)  # z ~ N(0, I) (official)


def critic_step(nets: Networks, opt: torch.optim.Optimizer, data: TrainingData, cfg: AnomalyConfig,
                gen: torch.Generator) -> dict:
    """One critic update on a real batch and a detached fake batch with the same class labels."""
    real, labels = data.sample(cfg.batch_size, gen)
    with torch.no_grad():
        fake = nets.generator(_noise(real.shape[0], cfg.z_dim, gen, real.device), labels)
    alpha = torch.rand(real.shape[0], generator=gen, device=gen.device).to(real.device)  # one alpha per sample
    penalty = gradient_penalty(lambda x: nets.critic(x, labels), real, fake, alpha)
    loss, stats = critic_loss(nets.critic(real, labels), nets.critic(fake, labels), penalty, cfg.lambda_gp)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return stats


def generator_step(nets: Networks, opt: torch.optim.Optimizer, data: TrainingData, cfg: AnomalyConfig,
                   gen: torch.Generator) -> dict:
    """One generator update; labels are drawn like real batches so fakes follow the products' proportions."""
    real, labels = data.sample(cfg.batch_size, gen)
    nets.critic.requires_grad_(False)  # the critic's parameter gradients are not needed here
    try:
        fake = nets.generator(_noise(real.shape[0], cfg.z_dim, gen, real.device), labels)
        loss, stats = generator_loss(nets.critic(fake, labels))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    finally:
        nets.critic.requires_grad_(True)
    return stats


def encoder_step(nets: Networks, opt: torch.optim.Optimizer, data: TrainingData, cfg: AnomalyConfig,
                 gen: torch.Generator) -> dict:
    """One izi_f update of E; G and D must be frozen (see :func:`freeze`) and are not in ``opt``."""
    x, labels = data.sample(cfg.batch_size, gen)
    x_rec = nets.generator(nets.encoder(x, labels), labels)
    with torch.no_grad():
        feat = nets.critic.features(x, labels)
    loss, stats = encoder_loss(x, x_rec, feat, nets.critic.features(x_rec, labels), cfg.kappa, cfg.residual)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return stats


# ---------------------------------------------------------------- loops and checkpoints

@dataclass
class TrainState:
    gan_step: int = 0       # generator iterations done (each after n_critic critic iterations)
    encoder_step: int = 0
    history: list[dict] = field(default_factory=list)


def train_gan(nets: Networks, opts: dict, data: TrainingData, cfg: AnomalyConfig, state: TrainState,
              gen: torch.Generator, on_checkpoint: Callable[[], None], desc: str = "WGAN-GP") -> None:
    """Run WGAN-GP from ``state.gan_step`` to ``cfg.gan_steps``: n_critic critic steps per generator step."""
    nets.generator.train()
    nets.critic.train()
    for _ in tqdm(range(state.gan_step, cfg.gan_steps), initial=state.gan_step, total=cfg.gan_steps, desc=desc):
        for _ in range(cfg.n_critic):
            d_stats = critic_step(nets, opts["critic"], data, cfg, gen)
        g_stats = generator_step(nets, opts["generator"], data, cfg, gen)
        state.gan_step += 1
        if state.gan_step % cfg.log_every == 0 or state.gan_step == cfg.gan_steps:
            state.history.append({"phase": "gan", "step": state.gan_step, **d_stats, **g_stats})
            log.info("%s step %d: %s", desc, state.gan_step, _fmt(state.history[-1]))
        if state.gan_step % cfg.checkpoint_every == 0:
            on_checkpoint()


def train_encoder(nets: Networks, opts: dict, data: TrainingData, cfg: AnomalyConfig, state: TrainState,
                  gen: torch.Generator, on_checkpoint: Callable[[], None], desc: str = "izi_f encoder") -> None:
    """Train E alone from ``state.encoder_step`` to ``cfg.encoder_steps`` with G and D frozen."""
    freeze(nets.generator)
    freeze(nets.critic)
    nets.encoder.train()
    for _ in tqdm(range(state.encoder_step, cfg.encoder_steps), initial=state.encoder_step,
                  total=cfg.encoder_steps, desc=desc):
        stats = encoder_step(nets, opts["encoder"], data, cfg, gen)
        state.encoder_step += 1
        if state.encoder_step % cfg.log_every == 0 or state.encoder_step == cfg.encoder_steps:
            state.history.append({"phase": "encoder", "step": state.encoder_step, **stats})
            log.info("%s step %d: %s", desc, state.encoder_step, _fmt(state.history[-1]))
        if state.encoder_step % cfg.checkpoint_every == 0:
            on_checkpoint()


def _fmt(row: dict) -> str:
    return " ".join(f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float))


def save_checkpoint(path: Path, nets: Networks, opts: dict, state: TrainState, gen: torch.Generator,
                    meta: dict[str, Any]) -> None:
    """Everything needed to resume (atomic write)."""
    save_torch(path, {
        **meta, "nets": nets.state_dict(), "optimizers": {k: o.state_dict() for k, o in opts.items()},
        "rng": gen.get_state(), "gan_step": state.gan_step, "encoder_step": state.encoder_step,
        "history": state.history,
    })


def load_checkpoint(path: Path, fingerprint: str | None = None) -> dict | None:
    """The checkpoint at ``path`` if it exists and (when given) matches ``fingerprint``; else None with a warning."""
    if not path.is_file():
        return None
    ckpt = torch.load(path, map_location="cpu", weights_only=True)  # tensors and plain values only
    if fingerprint is not None and ckpt.get("fingerprint") != fingerprint:
        log.warning("ignoring checkpoint %s: made with other params or data (fingerprint mismatch)", path)
        return None
    return ckpt


def networks_from_checkpoint(ckpt: dict, device: torch.device) -> Networks:
    """Rebuild the nets of a checkpoint for scoring (eval mode)."""
    nets = build_networks(ckpt["hparams"])
    nets.load_state_dict(ckpt["nets"])
    return nets.to(device).eval()


def train_model(data: TrainingData, cfg: AnomalyConfig, hparams: dict[str, int], checkpoint: Path,
                fingerprint: str, seed: int, device: torch.device, name: str = "model") -> tuple[Networks, TrainState]:
    """Train (or resume) one f-AnoGAN model: WGAN-GP, then the encoder. The checkpoint file is also the result."""
    torch.manual_seed(seed)  # weight initialisation; every later draw comes from the local generator
    nets = build_networks(hparams).to(device)
    opts = make_optimizers(nets, cfg)
    gen = torch.Generator().manual_seed(seed)
    state = TrainState()
    ckpt = load_checkpoint(checkpoint, fingerprint)
    if ckpt is not None:
        nets.load_state_dict(ckpt["nets"])
        for key, opt in opts.items():
            opt.load_state_dict(ckpt["optimizers"][key])
        gen.set_state(ckpt["rng"])
        state = TrainState(ckpt["gan_step"], ckpt["encoder_step"], list(ckpt["history"]))
        log.info("%s: resuming from %s at GAN step %d, encoder step %d", name, checkpoint, state.gan_step,
                 state.encoder_step)
    meta = {"fingerprint": fingerprint, "hparams": hparams}
    data = TrainingData(data.images.to(device), None if data.labels is None else data.labels.to(device))

    def save() -> None:
        save_checkpoint(checkpoint, nets, opts, state, gen, meta)

    train_gan(nets, opts, data, cfg, state, gen, save, desc=f"{name} WGAN-GP")
    save()
    train_encoder(nets, opts, data, cfg, state, gen, save, desc=f"{name} encoder")
    save()
    return nets.eval(), state
