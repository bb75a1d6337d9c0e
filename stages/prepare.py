"""Stage `prepare`: dataset -> validated sample table + resized uint8 image/mask cache.

    python -m stages.prepare --params params.yaml --out data/prepared
"""

from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from dtgan.cli import run_stage, stage_parser
from dtgan.data.cache import build_cache, check_rejects, prepared_meta
from dtgan.data.config import DataConfig
from dtgan.data.embedded import write_embedded_dataset
from dtgan.data.sources import index_dataset
from dtgan.data.table import check_mask_sizes, count_table, make_table, validate_table
from dtgan.params import load_section
from dtgan.runtime import save_npy, write_csv, write_json

log = logging.getLogger(__name__)


def prepare(cfg: DataConfig, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    embedded_root = out / "embedded_raw"
    if cfg.source == "embedded":
        shutil.rmtree(embedded_root, ignore_errors=True)  # regenerate from the seed, never mix old files in
        e = cfg.embedded
        write_embedded_dataset(embedded_root, e.counts, e.size, e.seed)
    table = make_table(index_dataset(cfg, embedded_root))
    validate_table(table)
    check_mask_sizes(table)
    accepted, images, masks, rejects = build_cache(table, cfg.image_size, cfg.resize)
    write_csv(out / "rejects.csv", rejects)
    check_rejects(rejects, len(table), cfg.max_reject_fraction)
    save_npy(out / "images.npy", images)
    save_npy(out / "masks.npy", masks)
    write_csv(out / "samples.csv", accepted)
    write_json(out / "meta.json", prepared_meta(accepted, cfg.image_size, cfg.source, images))
    log.info("prepared %d images (%d rejected):\n%s", len(accepted), len(rejects), count_table(accepted))


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--out", default="data/prepared", type=Path)

    def body(args: argparse.Namespace) -> None:
        prepare(load_section(DataConfig, args.params, "data"), args.out)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
