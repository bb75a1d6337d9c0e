"""Stage `report`: paper-style tables (beside the paper's numbers), plots and reports/metrics.json.

    python -m stages.report --params params.yaml --prepared data/prepared --classifier reports/classifier \
        --eval reports/eval --gan reports/gan --anomaly reports/anomaly/metrics.json --out reports
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dtgan.cli import run_stage, stage_parser
from dtgan.params import read_params
from dtgan.reports.build import ReportInputs, ReportPlan, build_report
from dtgan.sections import load_all_sections


def make_plan(params: dict, prepared: Path) -> ReportPlan:
    loaded = load_all_sections(params)
    run, assemble = loaded["run"], loaded["assemble"]
    dataset = json.loads((prepared / "meta.json").read_text())["source"]
    return ReportPlan(scales=assemble.scales, settings=assemble.settings, augment=loaded["classifier"].augment,
                      table15_augments=run.table15_augments, table15_scale=run.table15_scale,
                      variants=run.ablation_variants, dataset=dataset, profile=run.profile)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared", default="data/prepared", type=Path)
    parser.add_argument("--classifier", default="reports/classifier", type=Path)
    parser.add_argument("--eval", default="reports/eval", type=Path)
    parser.add_argument("--gan", default="reports/gan", type=Path)
    parser.add_argument("--anomaly", default="reports/anomaly/metrics.json", type=Path)
    parser.add_argument("--out", default="reports", type=Path)

    def body(args: argparse.Namespace) -> None:
        plan = make_plan(read_params(args.params), args.prepared)
        build_report(plan, ReportInputs(args.classifier, args.eval, args.gan, args.anomaly), args.out)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
