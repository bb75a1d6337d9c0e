"""What the GAN baselines cost the default run: each training stage, then its synthesis, timed as `dvc repro` runs
them (the real stage modules, in this process, one after another), into a scratch folder.

    python -m benchmarks.bench_baselines --prepared data/prepared --splits data/splits [--params params.yaml] \
        [--scratch data] [--methods stylegan2 mokady ...]

Prints seconds per trained model and per synthesis (issue 16's budgets: <= 2 CPU minutes per trained model, all
baselines together <= 10 minutes of the default run) and writes them as JSON with ``--json``. Training starts
from scratch (a fresh folder: no checkpoint to resume). Run it with nothing else running: this machine has two
cores, and anything beside it slows it down.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

from dtgan.gans.methods import METHODS
from dtgan.runtime import setup_logging
from stages import synthesize_baseline, train_biggan, train_mokady, train_stylegan2

log = logging.getLogger("bench_baselines")

TRAINERS = {"stylegan2": train_stylegan2, "biggan": train_biggan, "mokady": train_mokady}


def _timed(stage, argv: list[str]) -> float:  # noqa: ANN001
    start = time.perf_counter()
    code = stage.main(argv)
    if code:
        msg = f"{stage.__name__} {' '.join(argv)} exited with {code}"
        raise SystemExit(msg)
    return time.perf_counter() - start


def bench(methods: list[str], params: Path, prepared: Path, splits: Path, scratch: Path) -> dict[str, dict]:
    out = {}
    with tempfile.TemporaryDirectory(dir=scratch, prefix="bench_baselines_") as tmp:
        root = Path(tmp)
        for name in methods:
            family = METHODS[name].family
            common = ["--params", str(params), "--prepared", str(prepared), "--splits", str(splits)]
            model, reports = root / "models" / name, root / "reports" / name
            method_arg = [] if family == "mokady" else ["--method", name]
            train_s = _timed(TRAINERS[family], [*common, *method_arg, "--out", str(model), "--reports", str(reports)])
            synth_s = _timed(synthesize_baseline, [*common, "--method", name, "--model", str(model),
                                                   "--out", str(root / "synth" / name)])
            models = 2 if family == "mokady" else 1  # Mokady et al.: one model per translation
            out[name] = {"train_s": round(train_s, 1), "models": models,
                         "train_s_per_model": round(train_s / models, 1), "synthesize_s": round(synth_s, 1)}
            log.info("%s: train %.1f s (%d model(s)), synthesize %.1f s", name, train_s, models, synth_s)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default=Path("params.yaml"), type=Path)
    parser.add_argument("--prepared", default=Path("data/prepared"), type=Path)
    parser.add_argument("--splits", default=Path("data/splits"), type=Path)
    parser.add_argument("--scratch", default=Path("data"), type=Path)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--json", type=Path, help="also write the timings here")
    args = parser.parse_args(argv)
    setup_logging()
    timings = bench(args.methods, args.params, args.prepared, args.splits, args.scratch)
    total = sum(t["train_s"] + t["synthesize_s"] for t in timings.values())
    print("| method | models | train s | s per model | synthesize s |\n|---|---|---|---|---|")  # noqa: T201
    for name, t in timings.items():
        print(f"| {name} | {t['models']} | {t['train_s']} | {t['train_s_per_model']} | {t['synthesize_s']} |")  # noqa: T201
    print(f"total train + synthesize: {total:.1f} s ({total / 60:.1f} min)")  # noqa: T201
    if args.json:
        args.json.write_text(json.dumps({"timings": timings, "total_s": round(total, 1)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
