"""Benchmark the evaluation stages as the default pipeline runs them: real_features, train_eval_classifier and
evaluate for N variants (budget: all of it in about 3 minutes on the 2-core CPU machine).

No trained GAN is needed: each "variant" is a stand-in synthesis set (real defect pixels pasted onto the held-out
test normals, :mod:`dtgan.evaluation.standin`) of exactly the default size (test normals x 2 domains x 2 modes x
``synthesis.eval_repeats``), so the timings match the real stage; the metric values themselves mean nothing.

    python -m benchmarks.bench_evaluate --params params.yaml --prepared data/prepared --splits data/splits \
        --variants 5 --out reports/bench_evaluate.json

If params.yaml has no ``evaluate`` / ``classifier`` section yet, the defaults are used (classifier: the CPU
candidate EfficientNet-Lite0 with its packaged ImageNet weights) and this is logged.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

import yaml

from dtgan.evaluation.standin import write_standin_set
from dtgan.params import read_params
from dtgan.runtime import setup_logging, write_json

log = logging.getLogger(__name__)

FALLBACK_CLASSIFIER = {"backbone": "efficientnet_lite0", "pretrained": "imagenet"}


def bench_params(params_path: str, work: Path) -> Path:
    params = dict(read_params(params_path))
    if "evaluate" not in params:
        log.warning("params has no evaluate section; benchmarking its defaults")
        params["evaluate"] = {}
    if "classifier" not in params:
        log.warning("params has no classifier section; using %s", FALLBACK_CLASSIFIER)
        params["classifier"] = FALLBACK_CLASSIFIER
    path = work / "params.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    return path


def timed(label: str, fn, *args) -> float:  # noqa: ANN001 - any stage main
    start = time.perf_counter()
    fn(*args)
    seconds = time.perf_counter() - start
    log.info("%s: %.1f s", label, seconds)
    return round(seconds, 2)


def run(args: argparse.Namespace, work: Path) -> dict:
    from stages import evaluate, real_features, train_eval_classifier

    params = bench_params(args.params, work)
    repeats = int(read_params(params).get("synthesis", {}).get("eval_repeats", 4))
    common = ["--params", str(params), "--prepared", str(args.prepared), "--splits", str(args.splits)]
    result = {"variants": args.variants, "eval_repeats": repeats, "seconds": {}}
    result["seconds"]["real_features"] = timed("real_features", real_features.main,
                                               [*common, "--out", str(work / "features")])
    result["seconds"]["train_eval_classifier"] = timed("train_eval_classifier", train_eval_classifier.main,
                                                       [*common, "--out", str(work / "clf")])
    evaluate_seconds = []
    for k in range(args.variants):
        synth = work / f"synth_{k}"
        manifest = write_standin_set(args.prepared, args.splits, synth, repeats, variant=f"v{k}", seed=k)
        result["n_synthetic_per_variant"] = len(manifest)
        evaluate_seconds.append(timed(f"evaluate v{k}", evaluate.main,
                                      [*common, "--features", str(work / "features"), "--eval-classifier",
                                       str(work / "clf"), "--synth", str(synth), "--out", str(work / f"eval_{k}")]))
    result["seconds"]["evaluate_each"] = evaluate_seconds
    result["seconds"]["total"] = round(result["seconds"]["real_features"]
                                       + result["seconds"]["train_eval_classifier"] + sum(evaluate_seconds), 2)
    meta = json.loads((work / "features" / "meta.json").read_text())
    result["n_real_feature_images"] = meta["n_images"]
    result["eval_classifier_test_error"] = json.loads((work / "clf" / "eval_classifier.json").read_text())["test_error"]
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--prepared", default="data/prepared", type=Path)
    parser.add_argument("--splits", default="data/splits", type=Path)
    parser.add_argument("--variants", default=5, type=int)
    parser.add_argument("--out", default=None, help="optional JSON output path")
    args = parser.parse_args(argv)
    setup_logging()
    with tempfile.TemporaryDirectory(prefix="bench_evaluate_") as tmp:
        result = run(args, Path(tmp))
    log.info("%s", json.dumps(result))
    if args.out:
        write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
