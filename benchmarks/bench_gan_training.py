"""What a DT-GAN training schedule achieves in its time: train one variant with the real train_gan stage and score it.

    python -m benchmarks.bench_gan_training                                   # the committed gan section
    python -m benchmarks.bench_gan_training --set warmup_iters=0 iterations=320 ds_decay_iters=320 ema_beta=0.99
    python -m benchmarks.bench_gan_training --set batch_size=4 --set-top lambda_ds=0

Needs `dvc repro split train_eval_classifier` (prepared data, splits, the evaluation classifier). Writes the model,
loss curves and grids to a temporary folder (or --out) and logs one JSON line: stage seconds, D's held-out FG
accuracy, and on 20 pool normals per product the PSNR between source and translation and the fraction of
translations that the evaluation classifier (trained on real images only) assigns to the intended defect domain,
for reference- and latent-guided outputs into Scratches and Spots.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

from dtgan.constants import DEFECT_DOMAINS, DOMAIN_INDEX
from dtgan.data.cache import load_prepared
from dtgan.data.split import load_split
from dtgan.data.tensors import images_to_tensor, tensor_to_uint8
from dtgan.evaluation.classifier import load_eval_classifier, predict_domains
from dtgan.gans.dtgan.artefact import load_ema
from dtgan.metrics.quality import psnr
from dtgan.runtime import setup_logging

log = logging.getLogger(__name__)

SOURCES_PER_PRODUCT = 20


def parse_overrides(pairs: list[str]) -> dict:
    """key=value pairs, values parsed as YAML (numbers, booleans, null)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            msg = f"expected key=value, got {pair!r}"
            raise SystemExit(msg)
        out[key] = yaml.safe_load(value)
    return out


@torch.no_grad()
def score(model_dir: Path, prepared_dir: str, splits_dir: str, classifier_dir: str) -> dict:
    """PSNR to the source and target-domain accuracy of reference- and latent-guided translations."""
    ema, config = load_ema(model_dir)
    prepared = load_prepared(prepared_dir)
    pool, references = load_split(splits_dir, "pool"), load_split(splits_dir, "gan_train")
    pool = pool[pool["domain"] == "Normal"].groupby("product").sample(SOURCES_PER_PRODUCT, random_state=0)
    sources = images_to_tensor(prepared.images[pool["cache_index"].to_numpy()])
    sources_u8 = tensor_to_uint8(sources)
    classifier, _ = load_eval_classifier(classifier_dir, torch.device("cpu"))
    result = {}
    for domain in DEFECT_DOMAINS:
        y = torch.full((len(sources),), DOMAIN_INDEX[domain])
        refs = references[references["domain"] == domain].sample(len(sources), replace=True, random_state=1)
        codes = {"reference": ema.encoder(images_to_tensor(prepared.images[refs["cache_index"].to_numpy()]), y)}
        z = torch.randn(len(sources), config["gan"]["latent_dim"], generator=torch.Generator().manual_seed(3))
        codes["latent"] = ema.mapping(z, y, noise_generator=torch.Generator().manual_seed(4))
        for mode, (style, defect) in codes.items():
            out = tensor_to_uint8(ema.generator(sources, style, defect))
            hits = predict_domains(classifier, out, 256, torch.device("cpu")) == DOMAIN_INDEX[domain]
            result[f"target_acc_{mode}_{domain}"] = round(float(np.mean(hits)), 3)
            result[f"psnr_{mode}_{domain}"] = round(float(psnr(sources_u8, out).mean()), 2)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--variant", default="e")
    parser.add_argument("--set", nargs="*", default=[], help="gan.<key>=value overrides")
    parser.add_argument("--set-top", nargs="*", default=[], help="top-level overrides, e.g. lambda_ds=0")
    parser.add_argument("--prepared", default="data/prepared")
    parser.add_argument("--splits", default="data/splits")
    parser.add_argument("--eval-classifier", default="models/eval_classifier")
    parser.add_argument("--out", default=None, help="keep model and grids here (default: a temporary folder)")
    args = parser.parse_args(argv)
    setup_logging()
    from stages import train_gan

    params = yaml.safe_load(Path(args.params).read_text())
    params["gan"].update(parse_overrides(args.set))
    params.update(parse_overrides(args.set_top))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        out.mkdir(parents=True, exist_ok=True)
        (out / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        start = time.perf_counter()
        train_gan.main(["--params", str(out / "params.yaml"), "--prepared", args.prepared, "--splits", args.splits,
                        "--variant", args.variant, "--out", str(out / "model"), "--reports", str(out)])
        seconds = time.perf_counter() - start
        result = {"variant": args.variant, "overrides": {**parse_overrides(args.set), **parse_overrides(args.set_top)},
                  "stage_seconds": round(seconds, 1),
                  "d_fg_accuracy_held_out": json.loads((out / "discriminator.json").read_text())["fg_accuracy"],
                  **score(out / "model", args.prepared, args.splits, args.eval_classifier)}
    log.info("%s", json.dumps(result))


if __name__ == "__main__":
    main()
