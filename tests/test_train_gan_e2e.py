"""End-to-end: the default GAN configuration (params.yaml `gan`, variant e) learns on the tiny embedded dataset.

Trains briefly and checks that learning happened: the cycle loss falls by a clear margin and D's background (product)
classifier beats chance on held-out real images. Thresholds were set once from measurement (see comments) and must
not be lowered to make a failing run pass. D's FOREGROUND classifier is not asserted: measured at chance after 60
iterations here (0.37 on 27 held-out images, 0.39 on the 54 training images, chance 1/3; 0.41 held-out after 150
iterations). The default run reports it per variant: reports/gan/<variant>/discriminator.json and Table 14.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch

from dtgan.constants import DOMAIN_INDEX
from dtgan.data import images_to_tensor, load_prepared, load_split
from dtgan.models.build import build_nets
from dtgan.params import load_section
from dtgan.training.config import GanConfig, LossWeights
from dtgan.training.data import gan_training_data
from dtgan.training.diagnostics import classifier_accuracy
from dtgan.training.loop import build_run, train
from tests.conftest import ROOT

E2E_ITERATIONS = 60
# Measured once with the proposed default gan section (max_channels 32, batch 8, lr 2e-4, seed 777) on the tiny
# dataset: g_latent/cyc per 10-iteration block 0.818 -> 0.622 (ratio 0.76); held-out BG accuracy 0.78 (chance 1/3).
# Re-measured with today's default (16x16 code, no IN in G's encoder, lr 1e-3): 0.618 -> 0.207 (ratio 0.33), BG 1.00.
MAX_CYCLE_RATIO = 0.85  # last block's cycle loss / first block's
MIN_BG_ACCURACY = 0.6  # 3 products: chance = 1/3


def test_default_gan_learns(tiny_dataset):
    default = load_section(GanConfig, ROOT / "params.yaml", "gan")
    cfg = dataclasses.replace(
        default, variant="e", iterations=E2E_ITERATIONS, ds_decay_iters=E2E_ITERATIONS, log_every=10, device="cpu"
    )
    prepared = load_prepared(tiny_dataset["prepared"])
    data = gan_training_data(prepared, load_split(tiny_dataset["splits"], "gan_train"))
    nets = build_nets(cfg, data.image_size, data.num_domains, data.num_products, seed=cfg.seed)
    run = build_run(cfg, data, nets, torch.device("cpu"))
    train(run, cfg, LossWeights(), on_checkpoint=lambda state: None)

    cycle = [row["g_latent/cyc"] for row in run.history]
    assert cycle[-1] <= MAX_CYCLE_RATIO * cycle[0], cycle

    held_out = load_split(tiny_dataset["splits"], "val")
    images = images_to_tensor(prepared.images[held_out["cache_index"].to_numpy()])
    domains = torch.as_tensor(held_out["domain"].map(DOMAIN_INDEX).to_numpy(dtype=np.int64).copy())
    products = torch.as_tensor(held_out["product"].map(data.product_names.index).to_numpy(dtype=np.int64))
    accuracy = classifier_accuracy(run.nets.discriminator, images, domains, products)
    assert accuracy["bg_accuracy"] >= MIN_BG_ACCURACY, accuracy
