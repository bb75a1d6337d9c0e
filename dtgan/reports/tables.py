"""Paper-style result tables built from the stages' JSON outputs, with the paper's numbers beside ours.

Every table carries a header saying what was run: dataset, profile, data scale, classifier backbone and weights,
seeds, feature extractor. The aggregation loops over what params.yaml declares (scales, settings, variants), so a
value removed from params leaves no stale row; a declared cell whose output is missing is an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtgan.errors import DataError
from dtgan.gans.methods import METHODS
from dtgan.reports import paper

SETTING_LABELS = {"trad_aug": "Trad-Aug", "latent": "Latent", "reference": "Reference", "mix": "Mix"}


def setting_label(setting: str) -> str:
    if setting.startswith("reference_"):
        ref = setting.removeprefix("reference_")
        return f"v-{'ABC' if ref == 'all' else ref}"
    if setting in METHODS:  # a GAN baseline's Table 15 cell (Trad-Aug + its synthetic set)
        return METHODS[setting].label
    return SETTING_LABELS.get(setting, setting)


def fmt(mean: float | str | None, std: float | None = None, digits: int = 2) -> str:
    if isinstance(mean, str):  # a metric that was not computed (its reason is in the stage's metrics.json)
        return "not computed"
    if mean is None or (isinstance(mean, float) and np.isnan(mean)):
        return "–"
    no_std = std is None or (isinstance(std, float) and np.isnan(std))
    return f"{mean:.{digits}f}" if no_std else f"{mean:.{digits}f} ± {std:.{digits}f}"


def read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        msg = f"report input {path} is missing: run the stage that writes it (dvc repro)"
        raise DataError(msg)
    return json.loads(path.read_text())


def read_predictions(cell_dir: Path) -> pd.DataFrame:
    """A classifier cell's per-image test predictions of every seed (results/classifier/<cell>/predictions.csv)."""
    path = cell_dir / "predictions.csv"
    if not path.is_file():
        msg = f"report input {path} is missing: run the classifier cell that writes it (dvc repro)"
        raise DataError(msg)
    return pd.read_csv(path, dtype={"sample_id": str, "product": str})


def classifier_cell_name(setting: str, scale: int, augment: str) -> str:
    return f"{setting}_N{scale}_{augment}"


@dataclass(frozen=True)
class ClassifierCells:
    """Per-cell classifier results, long format: one row per (setting, scale, augment, product)."""

    rows: pd.DataFrame
    meta: dict[str, Any]  # backbone, pretrained, weights, input size, epochs, seeds, dataset, profile


def load_classifier_cells(folder: Path, cells: list[tuple[str, int, str]]) -> ClassifierCells:
    """Every declared cell's per-product results; ``meta`` describes the first (main-matrix) cell."""
    rows, meta = [], {}
    for setting, scale, augment in cells:
        data = read_json(folder / f"{classifier_cell_name(setting, scale, augment)}.json")
        meta = meta or {k: data[k] for k in ("dataset", "profile", "backbone", "pretrained", "weights", "input_size",
                                             "epochs", "seeds")}
        for product, res in data["products"].items():
            rows.append({"setting": setting, "scale": scale, "augment": augment, "product": product,
                         "error_mean": res["error_mean"], "error_std": res["error_std"],
                         "auroc_defect": res.get("auroc_defect_mean"), "n_test": res["n_test"],
                         "n_train": res["n_train"], "n_synthetic": res.get("n_synthetic", 0),
                         "n_seeds": len(data["seeds"])})
    return ClassifierCells(pd.DataFrame(rows), meta)


def select_rows(rows: pd.DataFrame, **equal: Any) -> pd.DataFrame:
    """Rows whose columns equal the given values (e.g. product="A", scale=100)."""
    mask = np.ones(len(rows), bool)
    for column, value in equal.items():
        mask &= (rows[column] == value).to_numpy()
    return rows[mask]


def one_row(rows: pd.DataFrame, **equal: Any) -> Any:
    hit = select_rows(rows, **equal)
    if len(hit) != 1:
        msg = f"expected one classifier result for {equal}, found {len(hit)}; rerun the classifier cells (dvc repro)"
        raise DataError(msg)
    return next(hit.itertuples())


def classifier_header(meta: dict[str, Any], what: str, seeds_per_row: bool = False) -> str:
    """What was run. ``seeds_per_row``: the table's rows differ in seeds (column ``runs``, the first n of them)."""
    seeds = meta["seeds"]
    runs = (f"the first `runs` of seeds {list(seeds)} (column runs)" if seeds_per_row
            else f"{len(seeds)} seed(s) {list(seeds)}")
    return (f"{what}. Ours: dataset `{meta['dataset']}`, profile `{meta['profile']}`, classifier "
            f"`{meta['backbone']}` ({meta['weights']}), input {meta['input_size']} px, up to {meta['epochs']} epochs, "
            f"{runs}; error (%) on the held-out test set, mean ± std over seeds (the mean alone for one seed). "
            "Paper: SDI, ImageNet-pretrained ResNet-50 (Table 15: EfficientNet-b4), 5 runs.")


SYNTHETIC_SHARE = "synthetic share"


def _our_rows(cells: ClassifierCells, product: str, scales: tuple[int, ...], settings: list[str],
              augment: str) -> list[dict[str, Any]]:
    """One row per scale: mean ± std error of each setting for ``product`` (Tables 10 and 17).

    ``synthetic share`` is the fraction of synthetic images in the training sets of the DT-GAN settings (they add
    the same number), so a row where the real defects already reach N — and every setting sees the same real
    data — cannot pass for evidence about synthetic data.
    """
    rows = []
    for scale in scales:
        row = {"product": product, "source": "ours", "N": scale, "size 3N": 3 * scale}
        share = 0.0
        for s in settings:
            hit = one_row(cells.rows, product=product, scale=scale, setting=s, augment=augment)
            row[setting_label(s)] = fmt(hit.error_mean, hit.error_std)
            share = max(share, hit.n_synthetic / hit.n_train)
        row[SYNTHETIC_SHARE] = f"{100 * share:.0f} %"
        rows.append(row)
    return rows


def table10(cells: ClassifierCells, scales: tuple[int, ...], settings: tuple[str, ...], augment: str) -> pd.DataFrame:
    """Error vs data scale per product and setting (ours), followed by the paper's Table 10 rows."""
    main = [s for s in settings if not s.startswith("reference_")]
    out = []
    for product in sorted(cells.rows["product"].unique()):
        out += _our_rows(cells, product, scales, main, augment)
        for size, values in paper.TABLE10.get(product, {}).items():
            out.append({"product": product, "source": "paper", "N": size // 3, "size 3N": size,
                        **{setting_label(s): fmt(*values[s]) for s in main if s in values},
                        SYNTHETIC_SHARE: f"{100 * paper.paper_synthetic_share(product, size):.0f} %"})
    return pd.DataFrame(out)


def synthetic_label(setting: str) -> str:
    """Table 15's "synthetic" column: none for Trad-Aug, DT-GAN for its Mix data (the paper's rows)."""
    if setting == "trad_aug":
        return "none"
    return "DT-GAN" if setting == "mix" else f"DT-GAN {setting_label(setting)}"


def table15(cells: ClassifierCells, augments: tuple[str, ...], settings: tuple[str, ...], scale: int) -> pd.DataFrame:
    """Augmentation baselines without and with DT-GAN data at one scale, beside the paper's Table 15."""
    out = []
    for augment in augments:
        for setting in settings:
            synthetic = synthetic_label(setting)
            hit = select_rows(cells.rows, augment=augment, setting=setting, scale=scale)
            row = {"augmentation": augment, "synthetic": synthetic, "runs": int(hit["n_seeds"].max())}
            for r in hit.itertuples():
                row[f"{r.product} ours"] = fmt(r.error_mean, r.error_std)
                ref = paper.TABLE15.get((augment, synthetic), {}).get(r.product)
                row[f"{r.product} paper"] = fmt(*ref) if ref else "–"
            out.append(row)
    return pd.DataFrame(out)


def table15_baselines(cells: ClassifierCells, methods: tuple[str, ...], augment: str, scale: int) -> pd.DataFrame:
    """Table 15's GAN-baseline rows: Trad-Aug plus each method's synthetic set (its own guidance), at one scale."""
    out = []
    for name in methods:
        method = METHODS[name]
        hit = select_rows(cells.rows, augment=augment, setting=name, scale=scale)
        row = {"augmentation": augment, "synthetic": method.label, "runs": int(hit["n_seeds"].max())}
        for r in hit.itertuples():
            row[f"{r.product} ours"] = fmt(r.error_mean, r.error_std)
            ref = paper.TABLE15.get(("trad", method.table15_paper), {}).get(r.product) if method.table15_paper else None
            row[f"{r.product} paper"] = fmt(*ref) if ref else "–"
        out.append(row)
    return pd.DataFrame(out)


def table17(cells: ClassifierCells, scales: tuple[int, ...], ref_settings: list[str], augment: str) -> pd.DataFrame:
    """Cross-product reference sets (v-A, v-B, v-C, v-ABC) against Trad-Aug, followed by the paper's Table 17."""
    settings = ["trad_aug", *ref_settings]
    out = []
    for product in sorted(cells.rows["product"].unique()):
        out += _our_rows(cells, product, scales, settings, augment)
        for size, values in paper.TABLE17.get(product, {}).items():
            row = {"product": product, "source": "paper", "N": size // 3, "size 3N": size,
                   SYNTHETIC_SHARE: f"{100 * paper.paper_synthetic_share(product, size):.0f} %"}
            row.update({setting_label(k if k == "trad_aug" else f"reference_{k}"): fmt(v) for k, v in values.items()})
            out.append(row)
    return pd.DataFrame(out)


def eval_header(evals: dict[str, dict[str, Any]], dataset: str, profile: str) -> str:
    first = next(iter(evals.values()))
    return (f"Ours: dataset `{dataset}`, profile `{profile}`; synthetic sets translate held-out test normals "
            f"({first['n_synthetic']} images per variant); distances against the real training defects of each "
            f"product and domain, averaged. Headline `{first['headline']}` = Fréchet distance on ImageNet "
            f"EfficientNet-Lite0 features ({first['feature_weights']}), NOT Inception FID; FID: {first['fid_status']}. "
            "Paper: FID (Inception-V3) averaged over SDI, MVTec AD and MTD.")


def _percent(value: float | None) -> str:
    return "–" if value is None else fmt(100 * value, digits=1)


def table14(evals: dict[str, dict[str, Any]], discriminators: dict[str, dict[str, Any]] | None = None
            ) -> pd.DataFrame:
    """Ablation (a)-(e): distances per guidance, background preservation, target-domain accuracy and (when given)
    D's FG/BG classifier accuracy on held-out real images (train_gan's discriminator.json)."""
    discriminators = discriminators or {}
    out = []
    for variant, ev in evals.items():
        head = ev["headline"]
        kid = head.replace("fd_", "kid_")
        row = {"variant": paper.VARIANT_NAMES.get(variant, variant)}
        for mode in ("latent", "reference", "mix"):
            row[f"{head} {mode}"] = fmt(ev["modes"][mode][head])
        for mode in ("latent", "reference", "mix"):
            row[f"{kid} {mode}"] = fmt(ev["modes"][mode][kid], digits=4)
        for mode in ("latent", "reference", "mix"):
            fid = ev["modes"][mode].get("fid")
            row[f"FID {mode}"] = fmt(fid) if isinstance(fid, (int, float)) else "not computed"
        for mode in ("latent", "reference", "mix"):
            row[f"FID {mode} (paper)"] = fmt(paper.TABLE14.get(variant, {}).get(mode))
        for mode in ("latent", "reference"):
            bg = ev["background"][mode]
            row[f"PSNR {mode}"] = fmt(bg["psnr"])
            row[f"PSNR outside defect {mode}"] = fmt(bg["psnr_outside_defect"])
            row[f"source-identity ratio {mode}"] = fmt(bg["source_identity_ratio"], digits=3)
            row[f"target acc. {mode}"] = fmt(100 * ev["target_accuracy"][mode], digits=1)
        row["diversity L1 latent"] = fmt(ev["diversity_l1"]["latent"], digits=4)
        if variant in discriminators:
            row["D FG acc. (held-out real)"] = _percent(discriminators[variant]["fg_accuracy"])
            row["D BG acc. (held-out real)"] = _percent(discriminators[variant]["bg_accuracy"])
        out.append(row)
    return pd.DataFrame(out)


def _table18_rows(ev: dict[str, Any], label: str, mode: str, paper_row: str) -> list[dict[str, Any]]:
    head = ev["headline"]
    kid = head.replace("fd_", "kid_")
    paper_values = dict(zip(paper.TABLE18_COLUMNS, paper.TABLE18[paper_row], strict=True))
    memo = ev["memorisation"]
    out = []
    for product, values in ev["per_product"].items():
        per_mode = ev["target_accuracy_per_product"].get(product, {})
        # The Mix set is half latent, half reference: its accuracy is the mean of the two.
        accuracy = (np.mean([per_mode["latent"], per_mode["reference"]]) if mode == "mix" else per_mode.get(mode))
        out.append({"method": label, "set": mode, "product": product, head: fmt(values[f"{head}_{mode}"]),
                    kid: fmt(values[f"{kid}_{mode}"], digits=4),
                    "target acc. %": "–" if accuracy is None else fmt(100 * accuracy, digits=1),
                    "NN pixel ratio (all products)": fmt(memo.get("synthetic_to_val_pixel_nn_ratio"), digits=2),
                    "paper FID (SDI product of that name)": fmt(paper_values.get(product))})
    return out


def table18(evals: dict[str, dict[str, Any]], baselines: dict[str, dict[str, Any]] | None = None,
            variant: str = "e") -> pd.DataFrame:
    """Distances per product: DT-GAN (``variant``, its Mix set) and each GAN baseline (its own guidance), beside
    the paper's FID row of that method in Table 18."""
    rows = _table18_rows(evals[variant], "DT-GAN", "mix", "DT-GAN")
    if "a" in evals:  # the ablation's variant (a) is StarGAN v2 (the paper's Table 18 row of that name)
        rows += _table18_rows(evals["a"], paper.VARIANT_NAMES["a"], "mix", "StarGAN v2")
    for name, ev in (baselines or {}).items():
        method = METHODS[name]
        rows += _table18_rows(ev, method.label, method.guidance, method.table18_paper)
    return pd.DataFrame(rows)


def to_markdown(frame: pd.DataFrame, title: str, header: str) -> str:
    return f"### {title}\n\n{header}\n\n{frame.to_markdown(index=False)}\n"


def anomaly_table(anomaly: dict[str, Any], cells: ClassifierCells, scale: int, augment: str) -> pd.DataFrame:
    """Per product: f-AnoGAN image AUROC (A, A_R, A_D, pixel) beside the DT-GAN Mix classifier's defect AUROC and
    error, on the same test images."""
    out = []
    for product in sorted(cells.rows["product"].unique()):
        mix = one_row(cells.rows, product=product, scale=scale, setting="mix", augment=augment)
        trad = one_row(cells.rows, product=product, scale=scale, setting="trad_aug", augment=augment)
        key = f"fanogan/{product}"
        out.append({"product": product,
                    "f-AnoGAN AUROC A": fmt(anomaly.get(f"{key}/auroc_A"), digits=3),
                    "f-AnoGAN AUROC A_R": fmt(anomaly.get(f"{key}/auroc_A_R"), digits=3),
                    "f-AnoGAN AUROC A_D": fmt(anomaly.get(f"{key}/auroc_A_D"), digits=3),
                    "f-AnoGAN pixel AUROC": fmt(anomaly.get(f"{key}/pixel_auroc"), digits=3),
                    "classifier (Mix) defect AUROC": fmt(mix.auroc_defect, digits=3),
                    "classifier (Trad-Aug) defect AUROC": fmt(trad.auroc_defect, digits=3),
                    "classifier (Mix) 3-class error %": fmt(mix.error_mean, mix.error_std)})
    return pd.DataFrame(out)


def anomaly_header(anomaly: dict[str, Any], meta: dict[str, Any], scale: int) -> str:
    return ("Same held-out test images. f-AnoGAN is trained on Normal images only (no defect labels); see "
            "reports/anomaly/auroc.md for its configuration (residual type, conditional or per-product model). "
            f"Classifiers: `{meta['backbone']}` at N = {scale}, defect AUROC = 1 − p(Normal), mean over "
            f"{len(meta['seeds'])} seeds. Reference points (anomalib, MVTec AD textures, image AUROC): "
            "PatchCore WRN50 0.98–1.00, PaDiM WRN50 0.97–1.00.")
