"""Build every report table, plot and the headline metrics from the stages' outputs.

Loops over what params.yaml declares (scales, settings, variants, Table 15 augmentations), never over whatever
files happen to exist, so removing a value from params leaves no stale row behind.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dtgan.gans.dtgan.curves import CURVES_DIR, read_curves
from dtgan.reports import paired, plots, tables
from dtgan.runtime import write_csv, write_json, write_text

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportPlan:
    """What to aggregate (from params.yaml)."""

    scales: tuple[int, ...]
    settings: tuple[str, ...]
    augment: str  # the main matrix's augmentation (classifier.augment)
    table15_augments: tuple[str, ...]
    table15_settings: tuple[str, ...]
    table15_scale: int
    variants: tuple[str, ...]
    dataset: str
    profile: str
    baselines: tuple[str, ...] = ()  # GAN baselines (dtgan/gans/methods.py): Table 15 cells and Table 18 rows


@dataclass(frozen=True)
class ReportInputs:
    classifier_dir: Path  # reports/classifier/<setting>_N<scale>_<augment>.json
    eval_dir: Path  # reports/eval/<variant>/metrics.json
    gan_dir: Path  # reports/gan/<variant>/: discriminator.json, curves/ (DVCLive)
    anomaly_metrics: Path  # reports/anomaly/metrics.json
    predictions_dir: Path  # results/classifier/<cell>/predictions.csv (per test image and seed)
    extra_sections: tuple[Path, ...] = ()  # Markdown written by other stages, appended to results.md as is
    baseline_eval_dir: Path | None = None  # reports/eval_baselines/<method>/metrics.json


def paired_comparisons(plan: ReportPlan) -> list[tuple[tuple[str, int, str], tuple[str, int, str]]]:
    """(setting cell, its Trad-Aug baseline cell): every DT-GAN setting of the main matrix at every scale, and the
    Table 15 settings at each of their augmentations."""
    pairs = [((s, n, plan.augment), ("trad_aug", n, plan.augment)) for n in plan.scales for s in plan.settings
             if s != "trad_aug"]
    pairs += [((s, plan.table15_scale, a), ("trad_aug", plan.table15_scale, a)) for a in plan.table15_augments
              for s in plan.table15_settings if s != "trad_aug"]
    pairs += [((m, plan.table15_scale, plan.augment), ("trad_aug", plan.table15_scale, plan.augment))
              for m in plan.baselines]
    return pairs


def paired_differences(plan: ReportPlan, predictions_dir: Path) -> pd.DataFrame:
    """Per product: each setting's test error minus Trad-Aug's (pp), paired by seed, 95 % bootstrap interval over
    the test images (dtgan.reports.paired)."""
    rows = []
    for cell, base in paired_comparisons(plan):
        frames = [tables.read_predictions(predictions_dir / tables.classifier_cell_name(*c)) for c in (cell, base)]
        seeds = sorted(set(frames[0]["seed"]) & set(frames[1]["seed"]))
        for product in sorted(frames[0]["product"].unique()):
            ids = sorted(frames[0].loc[frames[0]["product"] == product, "sample_id"].unique())
            a, b = (paired.correctness_matrix(f[f["product"] == product], seeds, ids) for f in frames)
            diff = paired.paired_difference(a, b, seed=len(rows))
            rows.append({"product": product, "N": cell[1], "augmentation": cell[2],
                         "setting": tables.setting_label(cell[0]), "setting_key": cell[0],
                         "minus Trad-Aug (pp)": round(diff.mean, 2), "95% low": round(diff.low, 2),
                         "95% high": round(diff.high, 2), "verdict": diff.verdict, "seeds": diff.n_seeds,
                         "test images": diff.n_images})
    return pd.DataFrame(rows)


def classifier_cells(plan: ReportPlan) -> list[tuple[str, int, str]]:
    main = [(s, n, plan.augment) for n in plan.scales for s in plan.settings]
    extra = [(s, plan.table15_scale, a) for a in plan.table15_augments for s in plan.table15_settings]
    baselines = [(m, plan.table15_scale, plan.augment) for m in plan.baselines]
    return main + extra + baselines


def _write_table(out: Path, name: str, frame: pd.DataFrame, title: str, header: str) -> str:
    write_csv(out / f"{name}.csv", frame)
    text = tables.to_markdown(frame, title, header)
    write_text(out / f"{name}.md", text)
    return text


def build_tables(plan: ReportPlan, cells: tables.ClassifierCells, evals: dict[str, dict], anomaly: dict,
                 out: Path, discriminators: dict[str, dict] | None = None,
                 differences: pd.DataFrame | None = None, baseline_evals: dict[str, dict] | None = None) -> list[str]:
    ref_sets = [s for s in plan.settings if s.startswith("reference_")]
    sections = [
        _write_table(out, "table10_error_vs_scale", tables.table10(cells, plan.scales, plan.settings, plan.augment),
                     "Table 10 — classifier error (%) vs data scale",
                     tables.classifier_header(cells.meta, f"Settings Trad-Aug / Latent / Reference / Mix, "
                                              f"augmentation `{plan.augment}`; synthetic share = synthetic images "
                                              "in the Latent / Reference / Mix training sets (0 % = those columns "
                                              "saw only real data)")),
        *([] if differences is None else [_write_table(
            out, "table10_paired_differences", differences.drop(columns="setting_key"),
            "Table 10b — each DT-GAN setting minus Trad-Aug, with 95 % intervals",
            tables.classifier_header(cells.meta, "Test error of the setting minus that of Trad-Aug (percentage points; "
                                     "< 0 = the synthetic data helped), mean over the seeds both ran (paired by "
                                     "seed), 95 % interval from 2,000 bootstrap resamples of the test images (the "
                                     "same resample for both); an interval containing 0 is 'no difference'"))]),
        _write_table(out, "table14_ablation", tables.table14(evals, discriminators),
                     "Table 14 — ablation (a)–(e)",
                     tables.eval_header(evals, plan.dataset, plan.profile)
                     + " D acc.: accuracy of the discriminator's defect-type (FG, chance 1/3) and product (BG) "
                       "classifiers on the held-out real images after training (– = variant without them)."),
        _write_table(out, "table15_augmentation",
                     pd.concat([tables.table15(cells, (plan.augment, *plan.table15_augments), plan.table15_settings,
                                               plan.table15_scale),
                                tables.table15_baselines(cells, plan.baselines, plan.augment, plan.table15_scale)],
                               ignore_index=True),
                     f"Table 15 — augmentation and GAN baselines at N = {plan.table15_scale}",
                     tables.classifier_header(cells.meta, "Without (synthetic = none) and with DT-GAN Mix data; "
                                              f"the GAN baselines' rows: augmentation `{plan.augment}` plus each "
                                              "method's synthetic set (its own guidance) in DT-GAN's place. Their "
                                              "paired differences to Trad-Aug are in Table 10b",
                                              seeds_per_row=True)),
        _write_table(out, "table18_distances", tables.table18(evals, baseline_evals),
                     "Table 18 — distances per product: DT-GAN (e) and the GAN baselines",
                     tables.eval_header(evals, plan.dataset, plan.profile)
                     + " Baselines: the same metrics on their evaluation sets (as many images as DT-GAN's per "
                       "product and domain; latent methods generate from noise, Mokady et al. transfers a real "
                       "reference onto each test normal). NN pixel ratio = median pixel distance of a synthetic "
                       "image to its nearest real training image over that of the real validation defects (< 1: "
                       "closer to the training images than new real ones are, i.e. memorisation)."),
    ]
    if ref_sets:
        sections.append(_write_table(out, "table17_cross_product",
                                     tables.table17(cells, plan.scales, ref_sets, plan.augment),
                                     "Table 17 — cross-product reference sets",
                                     tables.classifier_header(cells.meta, "References from one product or all")))
    if anomaly:
        sections.append(_write_table(out, "anomaly_vs_classifier",
                                     tables.anomaly_table(anomaly, cells, plan.scales[-1], plan.augment),
                                     "f-AnoGAN (no defect labels) vs the DT-GAN-augmented classifier",
                                     tables.anomaly_header(anomaly, cells.meta, plan.scales[-1])))
    return sections


def headline_metrics(plan: ReportPlan, cells: tables.ClassifierCells, evals: dict[str, dict],
                     anomaly: dict, discriminators: dict[str, dict] | None = None,
                     differences: pd.DataFrame | None = None) -> dict[str, Any]:
    """reports/metrics.json: keys without dots, so `dvc metrics diff` stays readable."""
    classifier: dict[str, Any] = {}
    for row in tables.select_rows(cells.rows, augment=plan.augment).itertuples():
        classifier.setdefault(row.product, {}).setdefault(f"N{row.scale}", {})[row.setting] = round(row.error_mean, 4)
    gan = {}
    for variant, ev in evals.items():
        head = ev["headline"]
        gan[variant] = {f"{head}_{m}": round(ev["modes"][m][head], 4) for m in ("latent", "reference", "mix")}
        gan[variant].update({f"target_acc_{m}": round(ev["target_accuracy"][m], 4) for m in ("latent", "reference")})
        gan[variant]["psnr_latent"] = round(ev["background"]["latent"]["psnr"], 3)
        for m in ("latent", "reference"):
            gan[variant][f"source_identity_ratio_{m}"] = round(ev["background"][m]["source_identity_ratio"], 4)
        if isinstance(ev["diversity_l1"]["latent"], (int, float)):
            gan[variant]["diversity_l1_latent"] = round(ev["diversity_l1"]["latent"], 4)
        fg_accuracy = (discriminators or {}).get(variant, {}).get("fg_accuracy")
        if fg_accuracy is not None:
            gan[variant]["d_fg_acc_heldout"] = round(fg_accuracy, 4)
    out = {"classifier_error": classifier, "gan": gan}
    if differences is not None:
        delta: dict[str, Any] = {}
        for row in differences[differences["augmentation"] == plan.augment].to_dict("records"):
            delta.setdefault(row["product"], {}).setdefault(f"N{row['N']}", {})[row["setting_key"]] = {
                "minus_trad_aug": row["minus Trad-Aug (pp)"], "ci_low": row["95% low"], "ci_high": row["95% high"]}
        out["classifier_minus_trad_aug"] = delta
    if anomaly:
        out["fanogan_auroc"] = {k.split("/")[1]: round(v, 4) for k, v in anomaly.items()
                                if k.endswith("/auroc_A") and k.count("/") == 2}
    return out


def baseline_metrics(ev: dict[str, Any]) -> dict[str, float]:
    """A GAN baseline's headline numbers for `dvc metrics` (its own guidance's set)."""
    head = ev["headline"]
    mode = next(m for m in ("latent", "reference") if ev["n_synthetic_per_mode"].get(m))
    out = {f"{head}_{mode}": ev["modes"][mode][head], f"target_acc_{mode}": ev["target_accuracy"][mode],
           "nn_pixel_ratio": ev["memorisation"].get("synthetic_to_val_pixel_nn_ratio")}
    return {k: round(v, 4) for k, v in out.items() if isinstance(v, (int, float))}


def build_report(plan: ReportPlan, inputs: ReportInputs, out: Path) -> None:
    cells = tables.load_classifier_cells(inputs.classifier_dir, classifier_cells(plan))
    evals = {v: tables.read_json(inputs.eval_dir / v / "metrics.json") for v in plan.variants}
    baseline_evals = {m: tables.read_json(inputs.baseline_eval_dir / m / "metrics.json") for m in plan.baselines
                      } if inputs.baseline_eval_dir else {}
    anomaly = tables.read_json(inputs.anomaly_metrics) if inputs.anomaly_metrics else {}
    discriminators = {v: tables.read_json(inputs.gan_dir / v / "discriminator.json") for v in plan.variants}
    differences = paired_differences(plan, inputs.predictions_dir)
    sections = build_tables(plan, cells, evals, anomaly, out / "tables", discriminators, differences,
                            baseline_evals)
    sections += [path.read_text() for path in inputs.extra_sections]
    write_text(out / "results.md", "\n".join(sections))
    subtitle = (f"dataset {plan.dataset}, profile {plan.profile}, {cells.meta['backbone']}, "
                f"{len(cells.meta['seeds'])} seeds")
    main_settings = tuple(s for s in plan.settings if not s.startswith("reference_"))
    plots.error_vs_scale(cells, main_settings, plan.augment, out / "plots" / "error_vs_scale.png", subtitle)
    plots.ablation_bars(evals, out / "plots" / "ablation.png")
    losses = {v: read_curves(inputs.gan_dir / v / CURVES_DIR) for v in plan.variants}
    plots.training_curves(losses, out / "plots" / "training_curves.png")
    metrics = headline_metrics(plan, cells, evals, anomaly, discriminators, differences)
    metrics["baselines"] = {m: baseline_metrics(ev) for m, ev in baseline_evals.items()}
    write_json(out / "metrics.json", metrics)
    log.info("report written to %s", out)
