"""Stage `synthesize_baseline`: a GAN baseline's two synthetic sets (dtgan/gans/methods.py), with DT-GAN's counts.

    python -m stages.synthesize_baseline --params params.yaml --prepared data/prepared --splits data/splits \
        --method stylegan2 --model models/baselines/stylegan2 --out data/synth_baselines/stylegan2

Writes ``<out>/main`` (the classifier's set: as many images per product and domain as DT-GAN's main set) and
``<out>/eval`` (as many as DT-GAN's evaluation set, for Table 18). Latent methods generate from noise; Mokady et al.
transfers a real reference defect onto each Normal source (reference guidance only).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dtgan.cli import run_stage, stage_parser
from dtgan.gans.biggan.synthesize import load_generator as load_biggan
from dtgan.gans.methods import get_method
from dtgan.gans.mokady.translator import load_mokady
from dtgan.gans.shared.models import model_folders
from dtgan.gans.stylegan2.synthesize import load_generator as load_stylegan2
from dtgan.params import load_section
from dtgan.runtime import pick_device
from dtgan.synthesis.config import SynthesisConfig
from dtgan.synthesis.noise import NoiseFamily, synthesize_from_noise
from dtgan.synthesis.run import synthesize_set

NOISE_LOADERS = {"stylegan2": load_stylegan2, "biggan": load_biggan}
SETS = ("main", "eval")


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", required=True, type=Path)
    parser.add_argument("--splits", required=True, type=Path)
    parser.add_argument("--method", required=True, help="a baseline method of dtgan/gans/methods.py")
    parser.add_argument("--model", required=True, type=Path, help="the method's model folder")
    parser.add_argument("--out", required=True, type=Path, help="folder of the main/ and eval/ sets")

    def body(args: argparse.Namespace) -> None:
        method = get_method(args.method)
        cfg = load_section(SynthesisConfig, args.params, "synthesis")
        device = pick_device(cfg.device)
        if method.family == "mokady":
            translator = load_mokady(args.model, device, method.name)
            for which in SETS:
                synthesize_set(translator, cfg, which, args.prepared, args.splits, args.out / which)
            return
        _ = cfg.mask_threshold  # every cell of the matrix stage reads the same params (noise sets have no masks)
        loader = NOISE_LOADERS[method.family]
        generator = NoiseFamily(method.family, method.name,
                                tuple(loader(folder, device) for folder in model_folders(args.model)))
        for which in SETS:
            synthesize_from_noise(generator, cfg, which, args.splits, args.out / which)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
