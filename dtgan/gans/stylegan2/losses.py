"""StyleGAN2 losses as pure functions of tensors, each returning ``(total, dict of floats)``.

Non-saturating logistic loss (official ``StyleGAN2Loss``) and R1 with lazy regularisation. Path-length
regularisation is NOT implemented: it needs a second backward pass through G (double backprop) every 4th G step,
too costly for a CPU budget of about a minute per model, and StyleGAN2-ADA itself turns it off (with style mixing)
only in its ``cifar`` preset for 32x32 data, not for small data sets in general; its other presets keep it
(pl_weight 2). So omitting it follows the official small-image preset, not a general small-data rule.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def generator_loss(fake_logits: Tensor) -> tuple[Tensor, dict[str, float]]:
    """G maximises log sigmoid(D(G(z))): mean softplus(-logits)."""
    loss = F.softplus(-fake_logits).mean()
    return loss, {"g_adv": loss.item()}


def discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, dict[str, float]]:
    """D's logistic loss: mean softplus(-D(real)) + mean softplus(D(fake))."""
    real = F.softplus(-real_logits).mean()
    fake = F.softplus(fake_logits).mean()
    total = real + fake
    return total, {"d_real": real.item(), "d_fake": fake.item(), "d_adv": total.item()}


def r1_penalty(real_logits: Tensor, real_images: Tensor) -> Tensor:
    """Per-image squared gradient norm |d D(x) / d x|^2, averaged over the batch; ``real_images`` must require grad.

    Gradients are taken with respect to the images BEFORE augmentation (the pipeline is differentiable), as
    StyleGAN2-ADA does.
    """
    if not real_images.requires_grad:
        msg = "r1_penalty needs real_images.requires_grad=True (set it before augmenting and running D)"
        raise ValueError(msg)
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.square().sum(dim=(1, 2, 3)).mean()


def lazy_r1_loss(penalty: Tensor, gamma: float, interval: int) -> tuple[Tensor, dict[str, float]]:
    """gamma / 2 * R1, times ``interval``: applied every ``interval`` D steps it matches an every-step penalty."""
    loss = penalty * (gamma / 2) * interval
    return loss, {"r1_penalty": penalty.item(), "d_r1": loss.item()}


def real_sign_mean(real_logits: Tensor) -> float:
    """Mean of sign(D(real)), the overfitting statistic ADA's controller averages into r_t."""
    return real_logits.detach().sign().mean().item()
