"""Train one DT-GAN variant with the real train_gan stage under params overrides and score it on the VALIDATION split.

Settings of the CPU default are chosen with this script, never on the test split: every validation normal is
translated (latent- and reference-guided, ``--repeats`` outputs per domain) and scored with the issue's three bars,
(1) source-identity ratio outside the anchor-mask defect region, (2) target-domain accuracy of the evaluation
classifier (trained on real training images only, the train_eval_classifier stage), (3) latent diversity, plus D's
held-out accuracy and the stage's wall time.

    python -m benchmarks.bench_gan_quality --prepared data/prepared --splits data/splits \
        --eval-classifier models/eval_classifier --out /tmp/q --set gan.iterations=400 --set-top lambda_cyc=2
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from types import SimpleNamespace

import torch
import yaml

from dtgan.data.cache import load_prepared
from dtgan.evaluation.classifier import load_eval_classifier, predict_domains, target_accuracy
from dtgan.evaluation.quality import defect_regions, diversity_by_group
from dtgan.evaluation.run import cache_rows_of, source_identity_section
from dtgan.evaluation.synthetic import load_synthetic_set
from dtgan.gans.dtgan.synthesize import load_translator
from dtgan.params import load_section
from dtgan.runtime import setup_logging, write_json
from dtgan.synthesis.config import SynthesisConfig
from dtgan.synthesis.run import synthesize_set

log = logging.getLogger(__name__)


def parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        out[key] = yaml.safe_load(value)
    return out


def apply(params: dict, dotted: dict, top: dict) -> dict:
    for key, value in dotted.items():
        section, _, name = key.partition(".")
        node = params[section]
        parts = name.split(".")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    params.update(top)
    return params


def score(synth_dir: Path, prepared_dir: Path, classifier_dir: Path, dilation_px: int) -> dict:
    prepared = load_prepared(prepared_dir)
    synth = load_synthetic_set(synth_dir, prepared.image_size)
    manifest = synth.manifest
    sources = prepared.images[cache_rows_of(prepared, manifest["source_id"], "source")]
    regions, how = defect_regions(sources, synth.images, synth.masks, 0.1)
    inputs = SimpleNamespace(prepared=prepared, synth=synth)
    model, info = load_eval_classifier(classifier_dir, torch.device("cpu"))
    predicted = predict_domains(model, synth.images, 256, torch.device("cpu"))
    out = {"defect_region": how, "eval_classifier_val_error": info["val_error"]}
    for mode in ("latent", "reference"):
        rows = manifest.index[manifest["mode"] == mode].to_numpy()
        ident = source_identity_section(inputs, rows, regions, dilation_px)
        out[f"source_identity_{mode}"] = ident["source_identity_ratio"]
        out[f"source_identity_{mode}_per_product"] = ident["source_identity_ratio_per_product"]
        out[f"target_acc_{mode}"] = target_accuracy(predicted[rows], manifest["target_domain"].iloc[rows])
        targets = manifest["target_domain"].iloc[rows]
        out[f"target_acc_{mode}_per_domain"] = {
            d: target_accuracy(predicted[rows][(targets == d).to_numpy()], targets[targets == d])
            for d in ("Scratches", "Spots")}
        out[f"diversity_l1_{mode}"] = diversity_by_group(manifest[manifest["mode"] == mode], synth.images)[0]
        out[f"mask_fraction_{mode}"] = float(regions[rows].mean())
    return out


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--prepared", required=True, type=Path)
    parser.add_argument("--splits", required=True, type=Path)
    parser.add_argument("--eval-classifier", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--variant", default="e")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--set", action="append", default=[], help="section.key=value override")
    parser.add_argument("--set-top", action="append", default=[], help="top-level key=value override")
    args = parser.parse_args(argv)
    from stages import train_gan

    params = apply(yaml.safe_load(Path(args.params).read_text()), parse_overrides(args.set),
                   parse_overrides(args.set_top))
    params["synthesis"]["eval_repeats"] = args.repeats
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    start = time.perf_counter()
    train_gan.main(["--params", str(args.out / "params.yaml"), "--prepared", str(args.prepared), "--splits",
                    str(args.splits), "--variant", args.variant, "--out", str(args.out / "model"),
                    "--reports", str(args.out)])
    seconds = time.perf_counter() - start
    cfg = load_section(SynthesisConfig, args.out / "params.yaml", "synthesis")
    synthesize_set(load_translator(args.out / "model", "cpu"), cfg, "val", args.prepared, args.splits,
                   args.out / "synth_val")
    result = {"variant": args.variant, "overrides": {**parse_overrides(args.set), **parse_overrides(args.set_top)},
              "train_gan_seconds": round(seconds, 1),
              "discriminator": json.loads((args.out / "discriminator.json").read_text()),
              **score(args.out / "synth_val", args.prepared, args.eval_classifier, 3)}
    write_json(args.out / "quality.json", result)
    keys = ("train_gan_seconds", "source_identity_latent", "source_identity_reference", "target_acc_latent",
            "target_acc_reference", "diversity_l1_latent")
    print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items() if k in keys}))
    print("per domain:", result["target_acc_latent_per_domain"], result["target_acc_reference_per_domain"],
          "D:", result["discriminator"]["fg_accuracy"], result["discriminator"]["bg_accuracy"])


if __name__ == "__main__":
    main()
