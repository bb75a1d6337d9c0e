"""BigGAN's hinge losses (Lim & Ye 2017; Miyato et al. 2018), pure functions of D's logits."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def discriminator_hinge_loss(real_logits: Tensor, fake_logits: Tensor) -> tuple[Tensor, dict[str, float]]:
    """mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))): D is only pushed until reals score >= 1, fakes <= -1."""
    real = F.relu(1.0 - real_logits).mean()
    fake = F.relu(1.0 + fake_logits).mean()
    total = real + fake
    return total, {"d_real": float(real.detach()), "d_fake": float(fake.detach()), "d_loss": float(total.detach())}


def generator_hinge_loss(fake_logits: Tensor) -> tuple[Tensor, dict[str, float]]:
    """-mean(D(G(z))): G's side of the hinge loss is unbounded, so G keeps raising its fakes' scores."""
    total = -fake_logits.mean()
    return total, {"g_loss": float(total.detach())}
