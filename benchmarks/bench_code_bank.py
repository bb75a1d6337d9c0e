"""Latent outputs from a bank of real defect codes: does a geometric transform of one real code keep it a defect?

    python -m benchmarks.bench_code_bank --model models/gan/e --prepared data/prepared --splits data/splits \
        --eval-classifier models/eval_classifier --out /tmp/bank [--repeats 2]

Stop 37 measured that M's drawn codes are blends of E's ~30 real codes per domain and that a blend renders as a
blotch; the next idea was to keep one real code whole and vary it geometrically. This probe replaces M, at
synthesis only (the trained networks are unchanged), by a bank: E's (style, defect code) of every real defect of
the GAN training set (the gan_train split). For each latent job its seed picks one entry of the target domain and,
by ``transform``: nothing (``none``); a random horizontal flip of the 16x16 code grid (``flip``); a random element
of the grid's dihedral group, flips and quarter turns (``dihedral``); that plus a random circular shift
(``dihedral_shift``); or the code E gives a randomly flipped / turned copy of the defect image (``image_dihedral``,
the same group applied before E). The VALIDATION normals are translated (``--repeats`` per domain and mode) and
scored exactly as benchmarks/bench_gan_quality.py scores a run: source identity, the evaluation classifier's
target-domain accuracy (overall and per domain), diversity L1.

``none`` is the same distribution as reference guidance from all products (each output takes one real defect's E
code), so it is the ceiling a transform can keep. What a code transform costs against it says whether G renders
a moved code as the moved defect; ``image_dihedral`` says whether a moved defect is still read as its domain at
all (embedded defects have uniform orientation and position, so it should be).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch

from benchmarks.bench_gan_quality import score
from benchmarks.bench_mapping_fit import real_codes
from dtgan.constants import DEFECT_DOMAINS, DOMAIN_INDEX
from dtgan.data.cache import load_prepared
from dtgan.gans.dtgan.synthesize import DtganTranslator, load_translator
from dtgan.params import load_section
from dtgan.runtime import setup_logging, write_json
from dtgan.synthesis.config import SynthesisConfig
from dtgan.synthesis.run import Translation, synthesize_set

TRANSFORMS = ("none", "flip", "dihedral", "dihedral_shift", "image_dihedral")
DIHEDRAL = [(flip, turns) for flip in (False, True) for turns in range(4)]


def dihedral(x: torch.Tensor, flip: bool, turns: int) -> torch.Tensor:
    return torch.rot90(x.flip(-1) if flip else x, turns, dims=(-2, -1))


def transform_code(code: torch.Tensor, transform: str, rng: np.random.Generator) -> torch.Tensor:
    """One (1, C, S, S) code moved by ``transform``, every random choice from ``rng``."""
    if transform in ("none", "image_dihedral"):
        return code
    if transform == "flip":
        return dihedral(code, bool(rng.random() < 0.5), 0)
    code = dihedral(code, *DIHEDRAL[int(rng.integers(len(DIHEDRAL)))])
    if transform == "dihedral_shift":
        size = code.shape[-1]
        code = torch.roll(code, (int(rng.integers(size)), int(rng.integers(size))), dims=(-2, -1))
    return code


def code_bank(translator: DtganTranslator, prepared_dir: Path, splits_dir: Path) -> dict:
    """E's (styles, defect codes) of every gan_train defect, per (defect domain, dihedral move of the image)."""
    prepared = load_prepared(prepared_dir)
    bank = {}
    for flip, turns in DIHEDRAL:
        def moved_encoder(x, y, flip=flip, turns=turns):
            return translator.encoder(dihedral(x.to(translator.device), flip, turns), y.to(translator.device))
        y, style, code = real_codes(prepared, splits_dir, moved_encoder, translator.image_channels)
        for domain in DEFECT_DOMAINS:
            rows = y == DOMAIN_INDEX[domain]
            bank[domain, flip, turns] = (style[rows], code[rows])
    return bank


@dataclass(frozen=True)
class CodeBankTranslator(DtganTranslator):
    """DT-GAN whose latent-guided outputs take a (transformed) real code from the bank instead of M(z)."""

    bank: dict | None = None
    transform: str = "none"

    @torch.no_grad()
    def latent(self, sources: torch.Tensor, domains: list[str], seeds: list[int]) -> Translation:
        styles, codes = [], []
        for seed, domain in zip(seeds, domains, strict=True):
            rng = np.random.default_rng(seed)
            i = int(rng.integers(len(self.bank[domain, False, 0][1])))
            moved = DIHEDRAL[int(rng.integers(len(DIHEDRAL)))] if self.transform == "image_dihedral" else (False, 0)
            style, code = self.bank[(domain, *moved)]
            styles.append(style[i:i + 1])
            codes.append(transform_code(code[i:i + 1], self.transform, rng))
        return self._with_anchors(sources, torch.cat(styles), torch.cat(codes))


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, type=Path)
    parser.add_argument("--params", default="params.yaml", type=Path)
    parser.add_argument("--prepared", required=True, type=Path)
    parser.add_argument("--splits", required=True, type=Path)
    parser.add_argument("--eval-classifier", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args(argv)
    base = load_translator(args.model, "cpu")
    bank = code_bank(base, args.prepared, args.splits)
    cfg = replace(load_section(SynthesisConfig, args.params, "synthesis"), eval_repeats=args.repeats)
    keys = ("source_identity_latent", "target_acc_latent", "target_acc_latent_per_domain", "diversity_l1_latent",
            "target_acc_reference", "diversity_l1_reference")
    results = {"model": str(args.model), "repeats": args.repeats,
               "bank_sizes": {d: len(bank[d, False, 0][1]) for d in DEFECT_DOMAINS}, "transforms": {}}
    for transform in TRANSFORMS:
        translator = CodeBankTranslator(**{f.name: getattr(base, f.name) for f in fields(base)}, bank=bank,
                                        transform=transform)
        synthesize_set(translator, cfg, "val", args.prepared, args.splits, args.out / transform)
        scored = score(args.out / transform, args.prepared, args.eval_classifier, 3)
        results["transforms"][transform] = {k: scored[k] for k in keys}
        print(transform, json.dumps({k: results["transforms"][transform][k] for k in keys[:4]}))
    write_json(args.out / "code_bank.json", results)


if __name__ == "__main__":
    main()
