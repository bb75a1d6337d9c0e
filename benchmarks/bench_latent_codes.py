"""Why latent-guided outputs fail where reference-guided ones work: M's codes against E's, swapped one half at a time.

    python -m benchmarks.bench_latent_codes --prepared data/prepared --splits data/splits --model models/gan/e \
        --eval-classifier models/eval_classifier [--per-domain 64] [--seed 0]

On the validation normals only (never the test split): for each defect domain, every source is translated with
four (style, defect code) pairs — (s_M, d_M) from the mapping network M(z) (latent-guided), (s_E, d_E) from the
style-defect encoder E(x_ref) of a real training defect of the source's product (reference-guided), and the two
swaps (s_M, d_E) and (s_E, d_M) — and the evaluation classifier (real images only) says how often each output is
the intended defect. A swap that recovers the reference-guided accuracy names the half of M that fails. Beside it,
how alike the codes are: the mean pairwise cosine similarity of the defect codes of different z (M) and of
different references (E), and of their spatial energy maps (channel-mean |d|): near 1 for M alone = one mark for
every z. And where M's variation comes from: the spread of its defect codes over different z, and over one z
with fresh noise draws (about equal = z does not move the code, the noise injections alone do); and how
``lambda_imle``'s match (nearest of 8 M codes by style + defect-code L1) sees these codes: each part's mean |value|,
how often the candidate it picks is also the nearest by defect code alone (chance 1/8), and that candidate's defect
code distance to its target (the zero code's is E's mean |d|).
"""

from __future__ import annotations

import json

import numpy as np
import torch

from benchmarks.trained_model import load_model_inputs, model_parser
from dtgan.constants import DEFECT_DOMAINS, DOMAIN_INDEX, NORMAL
from dtgan.data.split import load_split
from dtgan.data.tensors import images_to_tensor, tensor_to_uint8
from dtgan.evaluation.classifier import predict_domains
from dtgan.runtime import setup_logging


def mean_pairwise_cosine(rows: torch.Tensor) -> float:
    """Mean cosine similarity over all pairs of different rows of (N, ...)."""
    flat = torch.nn.functional.normalize(rows.flatten(1), dim=1)
    sims = flat @ flat.T
    n = len(flat)
    return float((sims.sum() - sims.diagonal().sum()) / (n * (n - 1)))


@torch.no_grad()
def domain_report(translator, prepared, sources, references, domain: str, classifier, seed: int) -> dict:
    """Target accuracy of the four (style, code) pairings and the similarity of M's and E's codes for one domain."""
    rng = np.random.default_rng(seed)
    x = images_to_tensor(np.asarray(prepared.images[sources["cache_index"].to_numpy()]), translator.image_channels)
    refs = []
    for product in sources["product"]:
        pool = references[(references["product"] == product) & (references["domain"] == domain)]
        refs.append(int(pool["cache_index"].iloc[rng.integers(len(pool))]))
    x_ref = images_to_tensor(np.asarray(prepared.images[refs]), translator.image_channels)
    y = torch.full((len(x),), DOMAIN_INDEX[domain], dtype=torch.long)
    z = torch.randn(len(x), translator.latent_dim, generator=torch.Generator().manual_seed(seed))
    s_m, d_m = translator.mapping(z, y, noise_generator=torch.Generator().manual_seed(seed + 1))
    s_e, d_e = translator.encoder(x_ref, y)
    features = translator.generator.encode_features(x)
    pairs = {"latent (s_M, d_M)": (s_m, d_m), "reference (s_E, d_E)": (s_e, d_e),
             "M's style + E's code (s_M, d_E)": (s_m, d_e), "E's style + M's code (s_E, d_M)": (s_e, d_m)}
    accuracy = {}
    for name, (style, code) in pairs.items():
        images = tensor_to_uint8(translator.generator.decode(features, style, code))
        predicted = predict_domains(classifier, images, 256, torch.device("cpu"))
        accuracy[name] = round(float((predicted == DOMAIN_INDEX[domain]).mean()), 3)
    energy = {"M": d_m.abs().mean(1), "E": d_e.abs().mean(1)}
    _, d_one_z = translator.mapping(z[:1].expand_as(z), y, noise_generator=torch.Generator().manual_seed(seed + 2))
    return {"n": len(x), "target_accuracy": accuracy,
            "code_cosine": {"M (different z)": round(mean_pairwise_cosine(d_m), 3),
                            "E (different references)": round(mean_pairwise_cosine(d_e), 3)},
            "energy_map_cosine": {k: round(mean_pairwise_cosine(v), 3) for k, v in energy.items()},
            "code_norm": {"M": round(float(d_m.flatten(1).norm(dim=1).mean()), 3),
                          "E": round(float(d_e.flatten(1).norm(dim=1).mean()), 3)},
            "style_cosine_M_vs_E": round(float(torch.nn.functional.cosine_similarity(s_m, s_e).mean()), 3),
            "code_spread_M": {"different z": relative_spread(d_m), "one z, fresh noise": relative_spread(d_one_z)},
            "imle_match": imle_match(translator.mapping, y, s_e, d_e, seed)}


def imle_match(mapping, y: torch.Tensor, style_target: torch.Tensor, defect_target: torch.Tensor, seed: int,
               candidates: int = 8) -> dict:
    """lambda_imle's nearest-candidate choice on these references' E codes (its distance: mean L1 of style plus
    mean L1 of defect code), against the choice by defect code alone."""
    z = torch.randn(candidates * len(y), mapping.latent_dim, generator=torch.Generator().manual_seed(seed + 3))
    style, defect = mapping(z, y.repeat(candidates), noise_generator=torch.Generator().manual_seed(seed + 4))
    style, defect = style.view(candidates, *style_target.shape), defect.view(candidates, *defect_target.shape)
    style_distance = (style - style_target).abs().flatten(2).mean(2)
    defect_distance = (defect - defect_target).abs().flatten(2).mean(2)
    picked = (style_distance + defect_distance).argmin(0)
    return {"mean_abs": {"style M": _mean_abs(style), "style E": _mean_abs(style_target),
                         "defect M": _mean_abs(defect), "defect E": _mean_abs(defect_target)},
            "picked_is_nearest_by_defect_code": round(float((picked == defect_distance.argmin(0)).float().mean()), 3),
            # the zero code's distance to the targets is mean_abs["defect E"]
            "picked_defect_distance": round(float(defect_distance.gather(0, picked[None]).mean()), 5)}


def _mean_abs(t: torch.Tensor) -> float:
    return round(float(t.abs().mean()), 5)


def relative_spread(codes: torch.Tensor) -> float:
    """Mean per-element standard deviation over the rows of (N, ...) codes, over their mean |value|."""
    return round(float(codes.std(0).mean() / codes.abs().mean()), 3)


def main() -> None:
    parser = model_parser(__doc__)
    parser.add_argument("--per-domain", type=int, default=64, help="validation normals per domain (all if fewer)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    setup_logging()
    torch.manual_seed(args.seed)
    prepared, translator, classifier = load_model_inputs(args)
    val = load_split(args.splits, "val")
    sources = val[val["domain"] == NORMAL].sort_values("sample_id").reset_index(drop=True)
    sources = sources.iloc[np.random.default_rng(args.seed).permutation(len(sources))[:args.per_domain]]
    references = load_split(args.splits, "gan_train")
    report = {d: domain_report(translator, prepared, sources, references, d, classifier, args.seed + k)
              for k, d in enumerate(DEFECT_DOMAINS)}
    print(json.dumps({"model": str(args.model), "split": "val", **report}, indent=2))


if __name__ == "__main__":
    main()
