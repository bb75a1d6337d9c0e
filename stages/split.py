"""Stage `split`: hold-out val/test per (product, domain), GAN-training set and synthesis pool.

    python -m stages.split --params params.yaml --prepared data/prepared --out data/splits \
        --summary reports/split_summary.csv
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from dtgan.cli import run_stage, stage_parser
from dtgan.data.cache import load_prepared
from dtgan.data.config import SplitConfig
from dtgan.data.split import ALL_SPLITS, select, split_summary, split_table
from dtgan.params import load_section
from dtgan.runtime import write_csv, write_text

log = logging.getLogger(__name__)


def run_split(cfg: SplitConfig, prepared_dir: Path, out: Path, summary_path: Path) -> None:
    table = load_prepared(prepared_dir).table
    split = split_table(table, cfg.seed, cfg.holdout_per_domain, cfg.val_fraction, cfg.gan_normals_per_product,
                        dict(cfg.limit_defects))
    for name in ALL_SPLITS:
        write_csv(out / f"{name}.csv", select(split, name))
    summary = split_summary(split)
    write_csv(summary_path, summary)
    header = (f"Split of data/prepared (seed {cfg.seed}, hold-out {cfg.holdout_per_domain} per product x domain, "
              f"{cfg.val_fraction:.0%} validation, {cfg.gan_normals_per_product} GAN normals per product"
              f"{', real defects limited to ' + str(dict(cfg.limit_defects)) if cfg.limit_defects else ''}).\n\n")
    write_text(summary_path.with_suffix(".md"), header + summary.to_markdown(index=False) + "\n")
    log.info("split summary:\n%s", summary.to_string(index=False))


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", default="data/prepared", type=Path)
    parser.add_argument("--out", default="data/splits", type=Path)
    parser.add_argument("--summary", default="reports/split_summary.csv", type=Path)

    def body(args: argparse.Namespace) -> None:
        run_split(load_section(SplitConfig, args.params, "split"), args.prepared, args.out, args.summary)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
