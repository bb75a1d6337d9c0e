"""Stage `synthesize`: translate normal images into Scratches/Spots with a trained DT-GAN, latent- and reference-guided.

    python -m stages.synthesize --params params.yaml --prepared data/prepared --splits data/splits \
        --model models/gan/e --set main --out data/synth/main

``--set main`` translates the synthesis pool (4 outputs per normal: Scratches/Spots x latent/reference, and one
more reference output per extra reference set); ``--set eval`` translates held-out test normals for the
FID/ablation tables, ``synthesis.eval_repeats`` times per domain and mode.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dtgan.cli import run_stage, stage_parser
from dtgan.gans.dtgan.synthesize import load_translator
from dtgan.params import load_section
from dtgan.synthesis.config import SynthesisConfig
from dtgan.synthesis.run import SOURCE_SPLIT, synthesize_set


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", required=True, type=Path)
    parser.add_argument("--splits", required=True, type=Path)
    parser.add_argument("--model", required=True, type=Path, help="model folder of train_gan, e.g. models/gan/e")
    parser.add_argument("--set", dest="which", choices=sorted(SOURCE_SPLIT), required=True)
    parser.add_argument("--out", required=True, type=Path)

    def body(args: argparse.Namespace) -> None:
        cfg = load_section(SynthesisConfig, args.params, "synthesis")
        translator = load_translator(args.model, cfg.device)
        synthesize_set(translator, cfg, args.which, args.prepared, args.splits, args.out)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
