"""Does G's background path carry the defect? The anchor output G(x, s, 0) of real defect images, classified.

    python -m benchmarks.bench_background_defects --prepared data/prepared --splits data/splits \
        --model models/gan/e --eval-classifier models/eval_classifier [--split val]

In variants (d)/(e) with ``gan.fg_relative`` the anchor output G(x, s, 0) is the background path alone (the zero
code adds exactly nothing), so for a real defect image x it should show x *without* its defect. For every
validation defect image (never the test split) this prints how the evaluation classifier (trained on real images
only) labels x itself, its reconstruction G(x, E_y(x)) and its anchor output G(x, s_E, 0). Anchor outputs still
recognised as their defect mean the background path reproduces the defect, so the warm-up's reconstruction never
needed the defect code to draw it.
"""

from __future__ import annotations

import json

import numpy as np
import torch

from benchmarks.trained_model import load_model_inputs, model_parser
from dtgan.constants import DEFECT_DOMAINS, DOMAIN_INDEX, DOMAINS, NORMAL
from dtgan.data.split import load_split
from dtgan.data.tensors import images_to_tensor, tensor_to_uint8
from dtgan.evaluation.classifier import predict_domains
from dtgan.runtime import setup_logging


@torch.no_grad()
def domain_report(translator, images: np.ndarray, domain: str, classifier) -> dict:
    """Label counts of the real images, their reconstructions and their anchor outputs for one defect domain."""
    x = images_to_tensor(images, translator.image_channels)
    y = torch.full((len(x),), DOMAIN_INDEX[domain], dtype=torch.long)
    style, code = translator.encoder(x, y)
    features = translator.generator.encode_features(x)
    outputs = {"real x": x, "reconstruction G(x, E(x))": translator.generator.decode(features, style, code),
               "anchor G(x, s, 0)": translator.generator.decode(features, style, torch.zeros_like(code))}
    report = {}
    for name, batch in outputs.items():
        predicted = predict_domains(classifier, tensor_to_uint8(batch), 256, torch.device("cpu"))
        counts = np.bincount(predicted, minlength=len(DOMAINS))
        report[name] = {"labelled": dict(zip(DOMAINS, counts.tolist(), strict=True)),
                        "still_a_defect": round(float((predicted != DOMAIN_INDEX[NORMAL]).mean()), 3)}
    return {"n": len(x), **report}


def main() -> None:
    parser = model_parser(__doc__)
    parser.add_argument("--split", default="val", choices=("val", "gan_train"), help="never the test split")
    args = parser.parse_args()
    setup_logging()
    prepared, translator, classifier = load_model_inputs(args)
    rows = load_split(args.splits, args.split)
    report = {}
    for domain in DEFECT_DOMAINS:
        index = rows.loc[rows["domain"] == domain, "cache_index"].to_numpy()
        report[domain] = domain_report(translator, np.asarray(prepared.images[index]), domain, classifier)
    print(json.dumps({"model": str(args.model), "split": args.split, **report}, indent=2))


if __name__ == "__main__":
    main()
