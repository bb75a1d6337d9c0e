"""How well the trained discriminator's auxiliary classifiers work on real images it never trained on.

D's foreground (defect-type) classifier is what L_FG relies on to put the target defect into a translation, and its
background (product) classifier is what L_BG relies on to keep the product; if either is at chance on held-out real
images, the corresponding loss cannot have done its job. Written by `train_gan` as ``discriminator.json``.
"""

from __future__ import annotations

from typing import Any

import torch

from dtgan.gans.dtgan.nets.discriminator import Discriminator


@torch.no_grad()
def classifier_accuracy(discriminator: Discriminator, images: torch.Tensor, domains: torch.Tensor,
                        products: torch.Tensor, batch_size: int = 256) -> dict[str, Any]:
    """Held-out accuracy of D's FG (defect type, over all domains) and BG (product) heads, with chance levels.

    Accuracies are None for variants without those heads (a, b). ``domains``/``products`` are class indices.
    """
    was_training = discriminator.training
    discriminator.eval()
    fg_hits, bg_hits, has_heads = 0, 0, True
    for start in range(0, len(images), batch_size):
        part = slice(start, start + batch_size)
        out = discriminator(images[part], domains[part])
        if out.fg_logits is None or out.bg_logits is None:
            has_heads = False
            break
        fg_hits += int((out.fg_logits.argmax(1) == domains[part]).sum())
        bg_hits += int((out.bg_logits.argmax(1) == products[part]).sum())
    discriminator.train(was_training)
    n = len(images)
    return {
        "n_images": n,
        "fg_accuracy": fg_hits / n if has_heads and n else None,
        "fg_chance": 1 / discriminator.num_domains,
        "bg_accuracy": bg_hits / n if has_heads and n else None,
        "bg_chance": 1 / discriminator.bg_cls.out_features if discriminator.bg_cls is not None else None,
    }
