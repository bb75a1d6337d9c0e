"""Can the mapping network M learn E's defect codes at all? A fresh M fitted alone to E's codes of real defects.

    python -m benchmarks.bench_mapping_fit --prepared data/prepared --splits data/splits --model models/gan/e \
        [--steps 1500] [--samples 16] [--seed 0]

The trained model's encoder E codes every real defect of the GAN training set (the gan_train split; validation
and test images are never read). A fresh M, built from the model's own config, is fitted to those codes alone
(no G, no D): batch 8, Adam at the config's defect-branch lr for the whole of M, beta1 0 as in training. Each
objective runs with M's codes as built (its defect branch ends in an affine instance norm: unit scale) and with
them multiplied by a fixed 0.01 (about E's code scale, mean |d| ~0.005-0.01):

- ``fixed_z``: every real code gets its own fixed z, a plain regression (relative L1): can M tell z's apart?
- ``imle_l1``: ``lambda_imle``'s term as trained (dtgan.gans.dtgan.losses.code_imle_loss: nearest of K fresh
  draws by the sum of the mean L1 of style and of defect code);
- ``imle_cosine`` (a probe, not a training option): the candidate nearest by the defect code's cosine distance,
  pulled by that distance plus the code's relative size error plus the style's L1 over its mean |value|.

Reported per defect domain, from 256 fresh z: how alike the drawn codes are (mean pairwise cosine; the real
codes' own value beside it), how many distinct real codes are the nearest of some draw (of ``n_real``), the mean
cosine of each draw to its nearest real code (precision) and of each real code to its nearest draw (coverage),
and the draws' mean |d| over the real codes'. For ``fixed_z`` also the share of real codes whose own z draws a code
nearer to them than to any other real code. Everything is seeded; the six fits took 258 s on the 2-core CPU of
stop 37 (``fit_seconds``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.bench_latent_codes import mean_pairwise_cosine
from dtgan.constants import DEFECT_DOMAINS, DOMAIN_INDEX, NORMAL
from dtgan.data.cache import load_prepared
from dtgan.data.split import load_split
from dtgan.data.tensors import images_to_tensor
from dtgan.gans.dtgan.artefact import load_ema
from dtgan.gans.dtgan.config import GanConfig
from dtgan.gans.dtgan.losses import code_imle_loss
from dtgan.gans.dtgan.nets.build import build_nets
from dtgan.params import from_mapping
from dtgan.runtime import setup_logging

BATCH = 8
DRAWS = 256
OBJECTIVES = ("fixed_z", "imle_l1", "imle_cosine")
CODE_SCALES = (1.0, 0.01)


def real_codes(prepared, splits: Path, encoder, channels: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(domain labels, E's styles, E's defect codes) of every defect image of the gan_train split."""
    rows = load_split(splits, "gan_train")
    rows = rows[rows["domain"] != NORMAL].sort_values("sample_id")
    y = torch.tensor([DOMAIN_INDEX[d] for d in rows["domain"]])
    x = images_to_tensor(np.asarray(prepared.images[rows["cache_index"].to_numpy()]), channels)
    with torch.no_grad():
        style, code = encoder(x, y)
    return y, style, code


def fresh_mapping(config: dict, seed: int) -> torch.nn.Module:
    cfg = from_mapping(GanConfig, config["gan"], "config.json:gan")
    nets = build_nets(cfg, config["variant"], config["image_size"], len(config["domains"]), len(config["products"]),
                      seed=seed, image_channels=int(config.get("image_channels", 3)))
    return nets.mapping


def cosine_imle(style, code, style_target, code_target) -> torch.Tensor:
    """The probe's IMLE distance (K, B, ...) candidates against (B, ...) targets; see the module docstring."""
    cand, target = code.flatten(2), code_target.flatten(1)
    cos_distance = 1 - (F.normalize(cand, dim=2) * F.normalize(target, dim=1)).sum(dim=2)
    size_error = (cand.abs().mean(2) / target.abs().mean(1).clamp_min(1e-8) - 1).abs()
    style_error = (style - style_target).abs().flatten(2).mean(2) / style_target.abs().mean().clamp_min(1e-8)
    pick = cos_distance.detach().argmin(0, keepdim=True)
    return (cos_distance + size_error + style_error).gather(0, pick).mean()


def objective_loss(objective: str, mapping, scale: float, y, style, code, fixed_z, rows, samples, rng):
    if objective == "fixed_z":
        s, d = mapping(fixed_z[rows], y[rows], noise_generator=rng)
        d = d * scale
        return ((d - code[rows]).abs().mean() / code.abs().mean()
                + (s - style[rows]).abs().mean() / style.abs().mean())
    z = torch.randn(samples * len(rows), mapping.latent_dim, generator=rng)
    s, d = mapping(z, y[rows].repeat(samples), noise_generator=rng)
    s, d = s.view(samples, *style[rows].shape), (d * scale).view(samples, *code[rows].shape)
    if objective == "imle_l1":
        return code_imle_loss(s, d, style[rows], code[rows])
    return cosine_imle(s, d, style[rows], code[rows])


def pairwise_cosine(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Cosine similarity of every row of (N, ...) ``a`` with every row of (M, ...) ``b``: (N, M)."""
    return F.normalize(a.flatten(1), dim=1) @ F.normalize(b.flatten(1), dim=1).T


@torch.no_grad()
def draw_report(mapping, scale: float, y, code, seed: int) -> dict:
    report = {}
    for domain in DEFECT_DOMAINS:
        k = DOMAIN_INDEX[domain]
        real = code[y == k]
        z = torch.randn(DRAWS, mapping.latent_dim, generator=torch.Generator().manual_seed(seed + k))
        _, drawn = mapping(z, torch.full((DRAWS,), k), noise_generator=torch.Generator().manual_seed(seed + 10 + k))
        drawn = drawn * scale
        to_real = pairwise_cosine(drawn, real)
        report[domain] = {
            "draws_pairwise_cosine": round(mean_pairwise_cosine(drawn), 3),
            "real_pairwise_cosine": round(mean_pairwise_cosine(real), 3),
            "distinct_nearest_real": int(to_real.argmax(1).unique().numel()), "n_real": len(real),
            "precision": round(float(to_real.max(1).values.mean()), 3),
            "coverage": round(float(to_real.max(0).values.mean()), 3),
            "size_vs_real": round(float(drawn.abs().mean() / real.abs().mean()), 2),
        }
    return report


def fit(objective: str, scale: float, config: dict, y, style, code, steps: int, samples: int, seed: int) -> dict:
    mapping = fresh_mapping(config, seed).train()
    lr = config["gan"]["defect_branch_lr"] or config["gan"]["f_lr"]
    optimizer = torch.optim.Adam(mapping.parameters(), lr=lr, betas=(0.0, config["gan"]["beta2"]))
    rng = torch.Generator().manual_seed(seed)
    fixed_z = torch.randn(len(y), mapping.latent_dim, generator=rng)
    start = time.perf_counter()
    for _ in range(steps):
        rows = torch.randint(len(y), (BATCH,), generator=rng)
        loss = objective_loss(objective, mapping, scale, y, style, code, fixed_z, rows, samples, rng)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    mapping.eval()
    result = {"objective": objective, "code_scale": scale, "final_loss": round(float(loss.detach()), 3),
              "fit_seconds": round(time.perf_counter() - start, 1), "draws": draw_report(mapping, scale, y, code, seed)}
    if objective == "fixed_z":
        with torch.no_grad():
            own = mapping(fixed_z, y, noise_generator=torch.Generator().manual_seed(seed))[1] * scale
        nearest = pairwise_cosine(own, code).argmax(1)
        result["own_code_is_nearest"] = round(float((nearest == torch.arange(len(y))).float().mean()), 3)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in ("--prepared", "--splits", "--model"):
        parser.add_argument(name, type=Path, required=True)
    parser.add_argument("--steps", type=int, default=1500, help="fitting steps (default: the warm-up + GAN steps)")
    parser.add_argument("--samples", type=int, default=16, help="IMLE draws per target")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    setup_logging()
    nets, config = load_ema(args.model, "cpu")
    y, style, code = real_codes(load_prepared(args.prepared), args.splits, nets.encoder,
                              int(config.get("image_channels", 3)))
    runs = [fit(o, s, config, y, style, code, args.steps, args.samples, args.seed)
            for s in CODE_SCALES for o in OBJECTIVES]
    print(json.dumps({"model": str(args.model), "split": "gan_train (defects)", "n_codes": len(y),
                      "steps": args.steps, "samples": args.samples,
                      "e_mean_abs": {"style": round(float(style.abs().mean()), 4),
                                     "defect": round(float(code.abs().mean()), 5)}, "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
