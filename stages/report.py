"""Stage `report`: paper-style tables (beside the paper's numbers), plots and reports/metrics.json.

    python -m stages.report --params params.yaml --prepared-meta data/prepared/meta.json \
        --classifier reports/classifier --eval reports/eval --gan reports/gan --anomaly reports/anomaly/metrics.json \
        --predictions results/classifier --masks reports/masks/defect_removal.md \
        --segmentation reports/segmentation/segmentation.md --baseline-eval reports/eval_baselines --out reports

``--masks`` / ``--segmentation`` (optional): sections appended to results.md as they are (issue 18's tables).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dtgan.classify.config import ClassifierConfig
from dtgan.cli import run_stage, stage_parser
from dtgan.params import load_section, read_params
from dtgan.reports.build import ReportInputs, ReportPlan, build_report
from dtgan.runinfo import check_table15, load_run_info
from dtgan.synthesis.config import AssembleConfig


def make_plan(params: dict, prepared_meta: Path) -> ReportPlan:
    run = load_run_info(params)
    assemble = load_section(AssembleConfig, params, "assemble")
    classifier = load_section(ClassifierConfig, params, "classifier")
    check_table15(run, assemble.scales, classifier.seeds)
    dataset = json.loads(prepared_meta.read_text())["source"]
    return ReportPlan(scales=assemble.scales, settings=assemble.settings, augment=classifier.augment,
                      table15_augments=run.table15_augments, table15_settings=run.table15_settings,
                      table15_scale=run.table15_scale, variants=run.ablation_variants, dataset=dataset,
                      profile=run.profile, baselines=run.baseline_methods)


def main(argv: list[str] | None = None) -> int:
    parser = stage_parser(__doc__.splitlines()[0])
    parser.add_argument("--prepared-meta", required=True, type=Path, help="data/prepared/meta.json (the dataset name)")
    parser.add_argument("--classifier", required=True, type=Path)
    parser.add_argument("--eval", required=True, type=Path)
    parser.add_argument("--gan", required=True, type=Path)
    parser.add_argument("--anomaly", required=True, type=Path)
    parser.add_argument("--predictions", required=True, type=Path, help="results/classifier (per-image predictions)")
    parser.add_argument("--masks", type=Path, help="check_masks' defect_removal.md")
    parser.add_argument("--segmentation", type=Path, help="segment's segmentation.md")
    parser.add_argument("--baseline-eval", type=Path, help="reports/eval_baselines (the GAN baselines' metrics)")
    parser.add_argument("--out", required=True, type=Path)

    def body(args: argparse.Namespace) -> None:
        plan = make_plan(read_params(args.params), args.prepared_meta)
        extra = tuple(p for p in (args.masks, args.segmentation) if p is not None)
        inputs = ReportInputs(args.classifier, args.eval, args.gan, args.anomaly, args.predictions, extra,
                              args.baseline_eval)
        build_report(plan, inputs, args.out)

    return run_stage(body, parser, argv)


if __name__ == "__main__":
    main()
