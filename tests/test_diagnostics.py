"""D's held-out classifier accuracy (train_gan's discriminator.json)."""

from __future__ import annotations

import torch

from dtgan.gans.dtgan.diagnostics import classifier_accuracy
from dtgan.gans.dtgan.nets.discriminator import Discriminator


def test_accuracy_counts_hits_in_every_batch_and_names_chance():
    d = Discriminator(image_size=32, max_channels=16, fg_channels=4, num_domains=3, num_products=2)
    images = torch.rand(5, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        out = d(images, torch.zeros(5, dtype=torch.long))
    domains, products = out.fg_logits.argmax(1), out.bg_logits.argmax(1)
    products_wrong = (products + 1) % 2
    result = classifier_accuracy(d, images, domains, products_wrong, batch_size=2)  # 3 batches
    assert result["fg_accuracy"] == 1.0 and result["bg_accuracy"] == 0.0
    assert result["fg_chance"] == 1 / 3 and result["bg_chance"] == 1 / 2 and result["n_images"] == 5
    assert d.training  # mode restored


def test_variants_without_classifiers_report_none():
    d = Discriminator(image_size=32, max_channels=16, fg_channels=4, num_domains=3, num_products=2, classifiers=False)
    result = classifier_accuracy(d, torch.zeros(2, 3, 32, 32), torch.zeros(2, dtype=torch.long),
                                 torch.zeros(2, dtype=torch.long))
    assert result["fg_accuracy"] is None and result["bg_accuracy"] is None
