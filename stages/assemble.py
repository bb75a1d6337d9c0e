"""Stage `assemble`: classifier training manifests for every data scale and setting, plus val/test manifests.

    python -m stages.assemble --params params.yaml --splits data/splits --synth data/synth/main \
        --out data/assembled --summary reports/assemble_summary.csv

``--scale N --setting S`` builds one training manifest only (a GAN baseline's Table 15 set, setting
``synthetic``).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path

from dtgan.cli import run_stage, stage_parser
from dtgan.data.split import load_split
from dtgan.params import load_section, read_params
from dtgan.runtime import write_csv, write_text
from dtgan.synthesis.assemble import manifest_name, real_rows, summarise, training_set
from dtgan.synthesis.config import SETTINGS, AssembleConfig, SynthesisConfig
from dtgan.synthesis.manifest import read_manifest

log = logging.getLogger(__name__)


def assemble(cfg: AssembleConfig, reference_sets: tuple[str, ...], splits: Path, synth_dir: Path, out: Path,
             summary_path: Path) -> None:
    train = load_split(splits, "train")
    synth = read_manifest(synth_dir)
    manifests = {}
    for scale in cfg.scales:
        for setting in cfg.settings:
            manifest = training_set(train, synth, scale, setting, reference_sets, cfg.seed, cfg.excess_defects)
            write_csv(out / manifest_name(setting, scale), manifest)
            manifests[(scale, setting)] = manifest
    for name in ("val", "test"):
        write_csv(out / f"{name}.csv", real_rows(load_split(splits, name)))
    summary = summarise(manifests)
    write_csv(summary_path, summary)
    wide = summary.pivot_table(index=["scale", "setting", "product", "label"], columns="source", values="count",
                               fill_value=0).reset_index()
    header = "Classifier training sets: images per product x class x source, per setting and data scale N.\n\n"
    write_text(summary_path.with_suffix(".md"), header + wide.to_markdown(index=False) + "\n")
    log.info("assembled %d training manifests in %s", len(manifests), out)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--splits", default="data/splits", type=Path)
    parser.add_argument("--synth", default="data/synth/main", type=Path)
    parser.add_argument("--out", default="data/assembled", type=Path)
    parser.add_argument("--summary", default="reports/assemble_summary.csv", type=Path)
    parser.add_argument("--scale", type=int, default=None, help="only this data scale (default: assemble.scales)")
    parser.add_argument("--setting", default=None, choices=SETTINGS,
                        help="only this setting (default: assemble.settings)")

    def body(args: argparse.Namespace) -> None:
        params = read_params(args.params)
        cfg = load_section(AssembleConfig, params, "assemble")
        if args.scale is not None:  # a GAN baseline's Table 15 set: one scale, one setting
            cfg = dataclasses.replace(cfg, scales=(args.scale,))
        if args.setting is not None:
            cfg = dataclasses.replace(cfg, settings=(args.setting,))
        ref_sets = load_section(SynthesisConfig, params, "synthesis").reference_sets
        assemble(cfg, ref_sets, args.splits, args.synth, args.out, args.summary)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
