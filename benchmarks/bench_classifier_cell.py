"""One classifier cell of the default run, under several training settings: test error and wall time.

Runs what a `train_classifier` cell runs (one classifier per product and seed on the assembled manifest, best
validation epoch tested once) with overrides of the ``classifier`` section, e.g. the learning rate, the number of
epochs or frozen BatchNorm statistics, and prints the per-run test errors, their mean and the wall time. This is
how the CPU default (lr 0.001, frozen BN statistics, 4 epochs) was chosen; numbers are indicative on a shared machine.

    python -m benchmarks.bench_classifier_cell --manifest data/assembled/train_trad_aug_N30.csv \
        --setting lr=0.01 --setting lr=0.001,freeze_bn=true --setting lr=0.001,freeze_bn=true,epochs=5
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import time

import numpy as np
import pandas as pd
import torch
import yaml

from dtgan.classify.config import ClassifierConfig
from dtgan.classify.data import image_set
from dtgan.classify.train import train_classifier
from dtgan.data.cache import load_prepared
from dtgan.params import from_mapping, load_section
from dtgan.runtime import pick_device, setup_logging

log = logging.getLogger(__name__)


def parse_overrides(text: str) -> dict:
    """'lr=0.001,freeze_bn=true' -> {'lr': 0.001, 'freeze_bn': True} (values parsed as YAML scalars)."""
    pairs = [item.split("=", 1) for item in text.split(",") if item]
    return {key.strip(): yaml.safe_load(value) for key, value in pairs}


def run_setting(base: ClassifierConfig, overrides: dict, manifests: dict[str, pd.DataFrame], images: np.ndarray,
                device: torch.device) -> dict:
    cfg = from_mapping(ClassifierConfig, {**dataclasses.asdict(base), **overrides}, "classifier")
    start = time.perf_counter()
    errors = []
    for product in sorted(manifests["train"]["product"].unique()):
        sets = {name: image_set(m[m["product"] == product], images, f"{name} ({product})")
                for name, m in manifests.items()}
        errors += [train_classifier(sets["train"], sets["val"], sets["test"], cfg, seed, device).metrics["error"]
                   for seed in cfg.seeds]
    return {"overrides": overrides, "errors": [round(e, 1) for e in errors], "mean_error": float(np.mean(errors)),
            "seconds": time.perf_counter() - start}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--prepared", default="data/prepared")
    parser.add_argument("--manifest", default="data/assembled/train_trad_aug_N30.csv")
    parser.add_argument("--val", default="data/assembled/val.csv")
    parser.add_argument("--test", default="data/assembled/test.csv")
    parser.add_argument("--setting", action="append", default=[], help="comma-separated classifier overrides")
    args = parser.parse_args(argv)
    setup_logging(logging.WARNING)
    base = load_section(ClassifierConfig, args.params, "classifier")
    manifests = {name: pd.read_csv(path, keep_default_na=False)
                 for name, path in (("train", args.manifest), ("val", args.val), ("test", args.test))}
    images = load_prepared(args.prepared).images
    device = pick_device(base.device)
    for text in args.setting or [""]:
        row = run_setting(base, parse_overrides(text), manifests, images, device)
        print(f"{text or 'params.yaml':45s} errors {row['errors']}  mean {row['mean_error']:5.1f} %  "
              f"{row['seconds']:5.1f} s", flush=True)


if __name__ == "__main__":
    main()
