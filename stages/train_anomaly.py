"""Stage train_anomaly: f-AnoGAN (WGAN-GP, then the izi_f encoder) on the Normal images of the train split.

    python -m stages.train_anomaly --params params.yaml --prepared data/prepared --splits data/splits \
        --out models/anomaly

Resumes from the checkpoints in ``--out`` when they match the params and data (keep the out ``persist: true``).
Writes ``meta.json``, ``model_<unit>.pt`` per model and ``train_summary.json`` (incl. validation-normal scores,
used only for monitoring).
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from dtgan.anomaly.config import AnomalyConfig
from dtgan.anomaly.run import load_models, score_table, train_all
from dtgan.constants import NORMAL
from dtgan.data import load_prepared, load_split
from dtgan.params import load_section
from dtgan.runtime import pick_device, seed_everything, setup_logging, write_json

log = logging.getLogger(__name__)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--prepared", required=True, help="output folder of the prepare stage")
    parser.add_argument("--splits", required=True, help="output folder of the split stage")
    parser.add_argument("--out", required=True, help="model folder (checkpoints live here too)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging()
    cfg = load_section(AnomalyConfig, args.params, "anomaly")
    seed_everything(cfg.seed)
    device = pick_device(cfg.device)
    start = time.perf_counter()
    prepared = load_prepared(args.prepared)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = train_all(prepared, load_split(args.splits, "train"), cfg, out, device)
    val = load_split(args.splits, "val")
    val_normals = val[val["domain"] == NORMAL]
    if not val_normals.empty:  # monitoring only: reconstruction quality on unseen normals
        meta, nets = load_models(out, device)
        frame, _ = score_table(prepared, val_normals, meta, nets, cfg, device)
        summary["val_normal_mean"] = frame.groupby("product")[["A", "A_R", "A_D"]].mean().to_dict(orient="index")
    summary["seconds"] = round(time.perf_counter() - start, 2)
    write_json(out / "train_summary.json", summary)
    log.info("train_anomaly done in %.1f s", summary["seconds"])


if __name__ == "__main__":
    main()
