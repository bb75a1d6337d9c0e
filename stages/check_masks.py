"""Stage `check_masks`: DT-GAN's defect removal checked against the real test defects' ground-truth masks.

    python -m stages.check_masks --params params.yaml --prepared data/prepared --splits data/splits \
        --model models/gan/e --out reports/masks

Each real test defect is translated to Normal by the anchor code, G(x, s, 0); |x - G(x, s, 0)| is scored against
its mask (pixel AUROC; IoU of the binary mask by synthesis.mask_threshold, the rule the synthetic sets use).
Writes ``defect_removal.csv``, ``defect_removal.md`` and ``metrics.json`` (keys ``masks/<product>/<domain>/...``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dtgan.cli import run_stage, stage_parser
from dtgan.params import load_section, read_params
from dtgan.runinfo import load_run_info
from dtgan.segmentation.removal import run_mask_check
from dtgan.synthesis.config import SynthesisConfig


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", required=True, type=Path)
    parser.add_argument("--splits", required=True, type=Path)
    parser.add_argument("--model", required=True, type=Path, help="train_gan's output folder of variant e")
    parser.add_argument("--out", required=True, type=Path)

    def body(args: argparse.Namespace) -> None:
        params = read_params(args.params)
        cfg = load_section(SynthesisConfig, params, "synthesis")
        run_mask_check(cfg.mask_threshold, cfg.seed, cfg.device, load_run_info(params).profile, args.prepared,
                       args.splits, args.model, args.out)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
