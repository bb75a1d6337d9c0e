"""Benchmark the metrics: EfficientNet-Lite0 feature throughput and Fréchet distance time (float64 torch vs scipy).

python -m benchmarks.bench_metrics                           # image size from params.yaml (data.image_size)
python -m benchmarks.bench_metrics --image-size 128 --images 256 --dims 1280 2048 --out reports/bench_metrics.json

Random uint8 images stand in for data (the cost does not depend on pixel values). The Fréchet part times the
covariance form (two symmetric eigendecompositions) against scipy.linalg.sqrtm as used by pytorch-fid, on features
of n samples and d dims, and also reports how far a float32 version of the same computation lands, to show why the
library works in float64.
"""

from __future__ import annotations

import argparse
import json
import logging
import time

import numpy as np
import torch
import yaml

from dtgan.metrics.features import build_extractor, extract_features
from dtgan.metrics.frechet import feature_stats, frechet_distance, frechet_distance_scipy
from dtgan.metrics.values import EFFNET_LITE0
from dtgan.runtime import pick_device, setup_logging, write_json

log = logging.getLogger(__name__)


def bench_features(image_size: int, n_images: int, batch_size: int, device: torch.device) -> dict:
    extractor = build_extractor(EFFNET_LITE0)
    images = np.random.default_rng(0).integers(0, 256, size=(n_images, image_size, image_size, 3), dtype=np.uint8)
    extract_features(extractor, images[:batch_size], batch_size=batch_size, device=device, progress=False)  # warm-up
    start = time.perf_counter()
    extract_features(extractor, images, batch_size=batch_size, device=device, progress=True)
    seconds = time.perf_counter() - start
    return {"extractor": EFFNET_LITE0, "image_size": image_size, "images": n_images, "batch_size": batch_size,
            "seconds": round(seconds, 3), "images_per_second": round(n_images / seconds, 2)}


def _float32_frechet(s1, s2) -> float:
    a, b = (torch.as_tensor(s.sigma, dtype=torch.float32) for s in (s1, s2))
    val, vec = torch.linalg.eigh(a)
    root = (vec * val.clamp_min(0).sqrt()) @ vec.T
    tr = torch.linalg.eigvalsh(root @ b @ root).clamp_min(0).sqrt().sum()
    diff = torch.as_tensor(s1.mu - s2.mu, dtype=torch.float32)
    return float(diff @ diff + a.trace() + b.trace() - 2 * tr)


def bench_frechet(n: int, d: int) -> dict:
    rng = np.random.default_rng(d)
    # Correlated, non-negative, roughly feature-like activations (post-ReLU pooled features are >= 0).
    mix = rng.normal(size=(d, d)) / np.sqrt(d)
    s1 = feature_stats(np.abs(rng.normal(size=(n, d)) @ mix))
    s2 = feature_stats(np.abs(rng.normal(0.1, 1.0, size=(n, d)) @ mix))
    timings = {}
    for name, fn in (("torch_float64", frechet_distance), ("scipy_sqrtm", frechet_distance_scipy)):
        start = time.perf_counter()
        value = fn(s1.mu, s1.sigma, s2.mu, s2.sigma)
        timings[name] = {"seconds": round(time.perf_counter() - start, 3), "value": value}
    value32 = _float32_frechet(s1, s2)
    reference = timings["scipy_sqrtm"]["value"]
    return {"n": n, "d": d, **timings,
            "abs_diff_torch64_vs_scipy": abs(timings["torch_float64"]["value"] - reference),
            "float32_value": value32, "abs_diff_float32_vs_scipy": abs(value32 - reference),
            "speedup": round(timings["scipy_sqrtm"]["seconds"] / max(timings["torch_float64"]["seconds"], 1e-9), 2)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml", help="read data.image_size from here")
    parser.add_argument("--image-size", type=int, default=None, help="overrides data.image_size")
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--n", type=int, default=2000, help="samples per feature set for the Fréchet timing")
    parser.add_argument("--dims", type=int, nargs="+", default=[1280, 2048])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", default=None, help="optional JSON output path")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    setup_logging()
    args = parse_args(argv)
    image_size = args.image_size
    if image_size is None:
        with open(args.params) as fh:
            image_size = int(yaml.safe_load(fh)["data"]["image_size"])
    device = pick_device(args.device)
    result = {
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "features": bench_features(image_size, args.images, args.batch_size, device),
        "frechet": [bench_frechet(args.n, d) for d in args.dims],
    }
    log.info("%s", json.dumps(result, indent=2))
    if args.out:
        write_json(args.out, result)
    return result


if __name__ == "__main__":
    main()
