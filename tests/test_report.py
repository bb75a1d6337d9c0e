"""Report stage: tables beside the paper's numbers, plots, metrics.json, and the offline plots page."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dtgan.errors import DataError
from dtgan.gans.dtgan.curves import CURVES_DIR, write_curves
from dtgan.reports.build import ReportInputs, ReportPlan, build_report, classifier_cells
from dtgan.reports.offline_html import external_resources, offline_template
from dtgan.reports.tables import classifier_cell_name

PRODUCTS = ("A", "B", "C")


def _plan(**kw) -> ReportPlan:
    base = dict(scales=(40, 80), settings=("trad_aug", "latent", "reference", "mix"), augment="trad",
                table15_augments=("none", "mixup"), table15_settings=("trad_aug", "mix"), table15_scale=80,
                variants=("a", "e"), dataset="embedded",
                profile="default")
    base.update(kw)
    return ReportPlan(**base)


def _write_inputs(root: Path, plan: ReportPlan, table15_seeds: tuple[int, ...] = (0, 1)) -> ReportInputs:
    rng = np.random.default_rng(0)
    main_cells = len(plan.scales) * len(plan.settings)
    for i, (setting, scale, augment) in enumerate(classifier_cells(plan)):
        seeds = [0, 1] if i < main_cells else list(table15_seeds)
        std = 1.0 if len(seeds) > 1 else None
        n_synthetic = 0 if setting == "trad_aug" else scale // 2  # half of each defect class is synthetic
        products = {p: {"error_mean": float(rng.uniform(2, 20)), "error_std": std, "auroc_defect_mean": 0.9,
                        "n_test": 42, "n_train": 3 * scale, "n_synthetic": n_synthetic} for p in PRODUCTS}
        cell = {"dataset": "embedded", "profile": "default", "backbone": "efficientnet_lite0", "pretrained": "imagenet",
                "weights": "ImageNet EfficientNet-Lite0", "input_size": 64, "epochs": 4, "seeds": seeds,
                "products": products}
        path = root / "classifier" / f"{classifier_cell_name(setting, scale, augment)}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cell))
        _write_predictions(root / "results" / classifier_cell_name(setting, scale, augment), seeds,
                           better=setting == "mix" and scale == plan.scales[0])
    for v in plan.variants:
        modes = {m: {"fd_effnet_lite0": 50.0, "kid_effnet_lite0": 0.01, "fid": "not computed: no weights"}
                 for m in ("latent", "reference", "mix")}
        ev = {"variant": v, "headline": "fd_effnet_lite0", "feature_weights": "lite0 579344248a93",
              "fid_status": "not computed: no weights", "modes": modes, "n_synthetic": 672,
              "per_product": {p: {f"{k}_effnet_lite0_{m}": 40.0 for m in ("latent", "reference", "mix")
                                  for k in ("fd", "kid")} for p in PRODUCTS},
              "target_accuracy_per_product": {p: {"latent": 0.8, "reference": 0.7} for p in PRODUCTS},
              "memorisation": {"synthetic_to_val_pixel_nn_ratio": 0.9},
              "background": {m: {"psnr": 30.0, "ssim": 0.9, "psnr_outside_defect": 33.0, "ssim_outside_defect": 0.95,
                                 "source_identity_ratio": 0.3} for m in ("latent", "reference")},
              "target_accuracy": {"latent": 0.8, "reference": 0.7, "mix": 0.75}, "diversity_l1": {"latent": 0.02}}
        (root / "eval" / v).mkdir(parents=True, exist_ok=True)
        (root / "eval" / v / "metrics.json").write_text(json.dumps(ev))
        (root / "gan" / v).mkdir(parents=True, exist_ok=True)
        write_curves(root / "gan" / v / CURVES_DIR, [{"step": s, "d/adv": 1.0 - s / 10, "g/cyc": 0.5 - s / 10}
                                                     for s in (1, 2, 3)])
        fg = None if v == "a" else 0.75
        (root / "gan" / v / "discriminator.json").write_text(json.dumps({"fg_accuracy": fg, "bg_accuracy": fg}))
    anomaly = {f"fanogan/{p}/auroc_A": 0.8 for p in PRODUCTS}
    (root / "anomaly.json").write_text(json.dumps(anomaly))
    return ReportInputs(root / "classifier", root / "eval", root / "gan", root / "anomaly.json", root / "results")


def _write_predictions(folder: Path, seeds: list[int], better: bool) -> None:
    """100 test images per product; the baseline errs on images 0-29, a 'better' setting only on 0-9."""
    rows = []
    for product in PRODUCTS:
        for seed in seeds:
            for i in range(100):
                wrong = i < (10 if better else 30)
                rows.append({"sample_id": f"{product}/{i}", "product": product, "label": 1, "pred": 0 if wrong else 1,
                             "seed": seed})
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(folder / "predictions.csv", index=False)


def test_report_tables_plots_and_metrics(tmp_path):
    plan = _plan()
    build_report(plan, _write_inputs(tmp_path / "in", plan), tmp_path / "out")
    out = tmp_path / "out"
    for name in ("table10_error_vs_scale", "table14_ablation", "table15_augmentation", "table18_distances",
                 "anomaly_vs_classifier"):
        assert (out / "tables" / f"{name}.md").is_file() and (out / "tables" / f"{name}.csv").is_file()
    for name in ("error_vs_scale", "ablation", "training_curves"):
        assert (out / "plots" / f"{name}.png").stat().st_size > 1000
    t10 = pd.read_csv(out / "tables" / "table10_error_vs_scale.csv")
    assert set(t10["source"]) == {"ours", "paper"}
    assert t10[(t10["source"] == "paper") & (t10["product"] == "A") & (t10["size 3N"] == 12000)]["Mix"].item() \
        == "6.72 ± 1.65"
    assert sorted(t10[t10["source"] == "ours"]["N"].unique()) == [40, 80]
    assert set(t10[t10["source"] == "ours"]["synthetic share"]) == {"17 %"}  # N/2 of 3N
    paper_a = t10[(t10["source"] == "paper") & (t10["product"] == "A") & (t10["size 3N"] == 4500)]
    assert paper_a["synthetic share"].item() == "59 %"  # (1500 - 290 + 1500 - 58) / 4500
    text = (out / "tables" / "table14_ablation.md").read_text()
    assert "NOT Inception FID" in text and "not computed" in text and "226.26" in text
    metrics = json.loads((out / "metrics.json").read_text())

    def keys(d, prefix=""):
        for k, v in d.items():
            yield k
            if isinstance(v, dict):
                yield from keys(v)
    assert not [k for k in keys(metrics) if "." in k]
    assert set(metrics["classifier_error"]["A"]) == {"N40", "N80"}
    assert metrics["gan"]["e"]["fd_effnet_lite0_mix"] == 50.0
    assert metrics["gan"]["e"]["d_fg_acc_heldout"] == 0.75 and "d_fg_acc_heldout" not in metrics["gan"]["a"]
    paired = pd.read_csv(out / "tables" / "table10_paired_differences.csv")
    mix40 = paired[(paired["setting"] == "Mix") & (paired["N"] == 40) & (paired["product"] == "A")].iloc[0]
    assert mix40["minus Trad-Aug (pp)"] == -20.0 and mix40["95% high"] < 0 and mix40["verdict"] == "better"
    assert (paired[paired["setting"] == "Latent"]["verdict"] == "no difference").all()
    assert metrics["classifier_minus_trad_aug"]["A"]["N40"]["mix"]["minus_trad_aug"] == -20.0
    assert metrics["gan"]["e"]["source_identity_ratio_reference"] == 0.3
    t14 = pd.read_csv(out / "tables" / "table14_ablation.csv", keep_default_na=False)
    assert t14["D FG acc. (held-out real)"].tolist() == ["–", "75.0"]


def test_table15_says_how_many_runs_each_row_has(tmp_path):
    plan = _plan()
    build_report(plan, _write_inputs(tmp_path / "in", plan, table15_seeds=(0,)), tmp_path / "out")
    t15 = pd.read_csv(tmp_path / "out" / "tables" / "table15_augmentation.csv", keep_default_na=False)
    runs = dict(zip(t15["augmentation"] + "/" + t15["synthetic"], t15["runs"], strict=True))
    assert runs["trad/none"] == 2 and runs["mixup/none"] == 1 and runs["none/DT-GAN"] == 1
    one_seed = t15[t15["augmentation"] == "mixup"]["A ours"]
    assert not one_seed.str.contains("±").any()  # one run: the mean alone, no fake std
    assert t15[t15["augmentation"] == "trad"]["A ours"].str.contains("± 1.00").all()
    t10 = (tmp_path / "out" / "tables" / "table10_error_vs_scale.md").read_text()
    assert "2 seed(s) [0, 1]" in t10  # the main matrix's seeds, not the Table 15 cells'
    assert "column runs" in (tmp_path / "out" / "tables" / "table15_augmentation.md").read_text()


def test_report_follows_params_not_folders(tmp_path):
    plan = _plan()
    inputs = _write_inputs(tmp_path / "in", plan)
    build_report(_plan(scales=(80,)), inputs, tmp_path / "out")  # a scale removed from params: no stale rows
    t10 = pd.read_csv(tmp_path / "out" / "tables" / "table10_error_vs_scale.csv")
    assert sorted(t10[t10["source"] == "ours"]["N"].unique()) == [80]
    with pytest.raises(DataError, match=r"trad_aug_N160_trad\.json is missing"):
        build_report(_plan(scales=(80, 160)), inputs, tmp_path / "out2")


def test_offline_template_has_no_external_resources():
    html = offline_template()
    assert "{plot_divs}" in html and "window.vegaEmbed" in html
    assert external_resources(html) == []
    assert external_resources('<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>')


@pytest.mark.skipif(shutil.which("dvc", path=str(Path(sys.executable).parent)) is None, reason="dvc not installed")
def test_dvc_plots_show_renders_offline(tmp_path):
    dvc = str(Path(sys.executable).parent / "dvc")
    subprocess.run([dvc, "init", "--no-scm", "-q"], cwd=tmp_path, check=True)
    pd.DataFrame({"step": [1, 2, 3], "loss": [1.0, 0.5, 0.2]}).to_csv(tmp_path / "losses.tsv", sep="\t", index=False)
    (tmp_path / "dvc.yaml").write_text("plots:\n  - losses.tsv:\n      x: step\n      y: loss\n")
    (tmp_path / "t.html").write_text(offline_template())
    subprocess.run([dvc, "plots", "show", "--html-template", "t.html", "-o", "out"], cwd=tmp_path, check=True,
                   capture_output=True)
    page = (tmp_path / "out" / "index.html").read_text()
    assert "vegaEmbed(" in page and external_resources(page) == []
