"""Stage `segment`: U-Nets trained on real defect masks with and without DT-GAN's image-mask pairs (issue 18).

    python -m stages.segment --params params.yaml --prepared data/prepared --splits data/splits \
        --synthetic data/synth/main --anomaly-maps results/anomaly/test_maps.npz --out reports/segmentation

Per product, training setting (segmentation.settings) and seed: a U-Net on the set, scored on the product's real
test images (pixel AUROC, pixel AP, IoU); f-AnoGAN's pixel maps of the same images beside them. Writes
``cells.csv``, ``differences.csv`` (setting - real, paired bootstrap), ``segmentation.md``, ``examples.png`` and
``metrics.json`` (keys ``segmentation/<product>/<setting>/...``).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dtgan.cli import run_stage, stage_parser
from dtgan.params import load_section, read_params
from dtgan.runinfo import load_run_info
from dtgan.segmentation.config import SegmentationConfig
from dtgan.segmentation.run import run_segmentation


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", required=True, type=Path)
    parser.add_argument("--splits", required=True, type=Path)
    parser.add_argument("--synthetic", required=True, type=Path, help="a synthetic set with masks (synthesize)")
    parser.add_argument("--anomaly-maps", required=True, type=Path, help="evaluate_anomaly's --maps file")
    parser.add_argument("--out", required=True, type=Path)

    def body(args: argparse.Namespace) -> None:
        params = read_params(args.params)
        cfg = load_section(SegmentationConfig, params, "segmentation")
        run_segmentation(cfg, load_run_info(params).profile, args.prepared, args.splits, args.synthetic,
                         args.anomaly_maps, args.out)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
