"""Evaluate one synthesis set (one ablation variant): distribution metrics, background preservation, target-domain
accuracy, diversity and memorisation, written as ``metrics.json``, ``per_cell.csv`` and ``nn_grid.png``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dtgan.constants import DEFECT_DOMAINS
from dtgan.data.cache import PreparedData, load_prepared
from dtgan.data.split import load_split
from dtgan.errors import DataError
from dtgan.evaluation.classifier import load_eval_classifier, predict_domains, target_accuracy
from dtgan.evaluation.config import EvaluateConfig
from dtgan.evaluation.distribution import all_cell_metrics, long_frame, mean_over_cells, mode_summary, per_cell_rows
from dtgan.evaluation.features import RealFeatures, build_feature_extractor, check_store_matches, load_real_features
from dtgan.evaluation.quality import background_metrics, defect_regions, diversity_by_group, source_identity
from dtgan.evaluation.synthetic import ALL_MODES, MODES, SyntheticSet, cell_rows, load_synthetic_set
from dtgan.metrics.distances import not_computed_metrics
from dtgan.metrics.features import WeightsResolution, extract_features, resolve_fid_weights
from dtgan.metrics.memorisation import nearest_real_table, save_nearest_neighbour_grid, summarise
from dtgan.metrics.quality import outside_defect_mask
from dtgan.metrics.values import (
    EFFNET_LITE0,
    HEADLINE_METRIC,
    INCEPTION_FID,
    NotComputed,
    frechet_key,
    json_ready,
    kid_key,
)
from dtgan.runtime import pick_device, write_csv, write_json

log = logging.getLogger(__name__)

EXTRACTORS = (EFFNET_LITE0, INCEPTION_FID)
NO_SOURCE = "the images have no source image (a family that generates from noise, e.g. StyleGAN2)"


def has_sources(manifest: pd.DataFrame) -> bool:
    """Every image translates a source Normal (else background and diversity per source mean nothing)."""
    return bool((manifest["source_id"] != "").all())


@dataclass(frozen=True)
class Inputs:
    """Everything one evaluation reads, loaded and cross-checked."""

    prepared: PreparedData
    store: RealFeatures
    synth: SyntheticSet
    cells: dict[tuple[str, str, str], np.ndarray]  # (product, domain, mode) -> synthetic rows (mix included)
    train_cache_rows: np.ndarray  # cache rows of the store's train images, in store order


def cache_rows_of(prepared: PreparedData, sample_ids: pd.Series, what: str) -> np.ndarray:
    """Rows of the prepared image cache for sample ids (an unknown id means the inputs are out of sync)."""
    lookup = prepared.table.set_index("sample_id")["cache_index"]
    missing = sorted(set(sample_ids) - set(lookup.index))
    if missing:
        msg = f"{len(missing)} {what} id(s) not in data/prepared, e.g. {missing[:3]}; re-run the upstream stages"
        raise DataError(msg)
    return lookup.loc[sample_ids].to_numpy(dtype=int)


def check_store_split(store: RealFeatures, splits_dir: Path) -> None:
    """The feature store must describe the current train split (else its features are stale)."""
    current = set(load_split(splits_dir, "train")["sample_id"])
    stored = set(store.index["sample_id"].iloc[store.rows("train")])
    if current != stored:
        msg = (f"the real-feature store lists {len(stored)} train images but {splits_dir}/train.csv has "
               f"{len(current)} ({len(current ^ stored)} differ); re-run real_features")
        raise DataError(msg)


def load_inputs(cfg: EvaluateConfig, prepared_dir: Path, splits_dir: Path, features_dir: Path, synth_dir: Path,
                fid: WeightsResolution) -> Inputs:
    prepared = load_prepared(prepared_dir)
    store = load_real_features(features_dir)
    check_store_matches(store, cfg, fid)
    check_store_split(store, splits_dir)
    synth = load_synthetic_set(synth_dir, prepared.image_size)
    train_ids = store.index["sample_id"].iloc[store.rows("train")]
    return Inputs(prepared, store, synth, cell_rows(synth.manifest, cfg.seed),
                  cache_rows_of(prepared, train_ids, "real-feature"))


def synthetic_features(cfg: EvaluateConfig, inputs: Inputs, fid: WeightsResolution,
                       device: object) -> dict[str, np.ndarray | NotComputed]:
    """Features of the synthetic images per extractor, or why that extractor is not computed."""
    out: dict[str, np.ndarray | NotComputed] = {}
    for name in EXTRACTORS:
        status = inputs.store.status(name)
        if status is None and name == INCEPTION_FID and not fid.ok:
            status = fid.not_computed()  # the store has Inception features but this run cannot rebuild the net
        if status is not None:
            out[name] = status
            continue
        extractor = build_feature_extractor(name, cfg, fid)
        out[name] = extract_features(extractor, inputs.synth.images, cfg.feature_batch_size, device)
    return out


def distribution_section(cfg: EvaluateConfig, inputs: Inputs,
                         feats: dict[str, np.ndarray | NotComputed]) -> tuple[dict, dict, list[dict]]:
    """(modes, per_product, long rows) of the Fréchet / KID metrics."""
    store = inputs.store
    real_rows = {(p, d): store.rows("train", p, d) for p in sorted(set(store.index["product"])) for d in DEFECT_DOMAINS}
    modes: dict[str, dict] = {mode: {} for mode in ALL_MODES}
    products = sorted(set(inputs.synth.manifest["product"]))
    per_product: dict[str, dict] = {p: {} for p in products}
    rows: list[dict] = []
    for name, fake in feats.items():
        if isinstance(fake, NotComputed):
            for mode in ALL_MODES:
                modes[mode].update(not_computed_metrics(name, fake))
            continue
        metrics = all_cell_metrics(inputs.cells, fake, real_rows, store.features[name], name, cfg.kid_subsets,
                                   cfg.kid_subset_size, cfg.seed)
        rows += per_cell_rows(metrics)
        for mode in ALL_MODES:
            modes[mode].update(mode_summary(metrics, name, mode))
            for product in products:
                for key in (frechet_key(name), kid_key(name)):
                    per_product[product][f"{key}_{mode}"] = mean_over_cells(metrics, key, mode, product)
    return modes, per_product, rows


def background_section(cfg: EvaluateConfig, inputs: Inputs) -> dict[str, dict]:
    """Background preservation per mode: each translation against its own source test normal, outside its defect
    region (PSNR / SSIM), and the source-identity ratio against the other test normals of its product."""
    manifest = inputs.synth.manifest
    if not has_sources(manifest):
        return {mode: {"not_computed": NO_SOURCE} for mode in MODES}
    source_rows = cache_rows_of(inputs.prepared, manifest["source_id"], "synthesis source")
    sources, outputs = inputs.prepared.images[source_rows], inputs.synth.images
    regions, how = defect_regions(sources, outputs, inputs.synth.masks, cfg.change_threshold)
    out = {}
    for mode in MODES:
        rows = manifest.index[manifest["mode"] == mode].to_numpy()
        if len(rows):
            out[mode] = background_metrics(sources[rows], outputs[rows], regions[rows], cfg.background_dilation_px)
            out[mode].update(source_identity_section(inputs, rows, regions, cfg.background_dilation_px))
            out[mode]["defect_region"] = how
    return out


def source_identity_section(inputs: Inputs, rows: np.ndarray, regions: np.ndarray, dilation_px: int) -> dict:
    """Source-identity ratio of the outputs ``rows`` (overall and per product): mean |output - own source| over
    mean |output - another normal of the product|, outside the dilated defect region. The candidates are the
    evaluation set's sources of that product (every test normal of it)."""
    manifest = inputs.synth.manifest
    own_d, other_d, per_product = [], [], {}
    for product, group in manifest.iloc[rows].groupby("product", sort=True):
        ids = sorted(set(manifest.loc[manifest["product"] == product, "source_id"]))
        candidates = inputs.prepared.images[cache_rows_of(inputs.prepared, pd.Series(ids), "synthesis source")]
        own_index = group["source_id"].map({sid: i for i, sid in enumerate(ids)}).to_numpy()
        sel = group.index.to_numpy()
        keep = outside_defect_mask(regions[sel], dilation_px)
        own, other = source_identity(inputs.synth.images[sel], candidates[own_index], candidates, own_index, keep)
        per_product[product] = own / other
        own_d.append(own * len(sel))
        other_d.append(other * len(sel))
    own_mean, other_mean = sum(own_d) / len(rows), sum(other_d) / len(rows)
    return {"source_identity_ratio": own_mean / other_mean, "l1_to_own_source": own_mean,
            "l1_to_other_normals": other_mean, "source_identity_ratio_per_product": per_product}


def accuracy_section(inputs: Inputs, predicted: np.ndarray) -> tuple[dict, dict, list[dict]]:
    """Target-domain accuracy per mode (mix = the mixture sets), per product and per cell (long rows)."""
    manifest = inputs.synth.manifest
    per_mode, per_product, rows = {}, {}, []
    for mode in ALL_MODES:
        picked = [r for (_, _, m), r in inputs.cells.items() if m == mode]
        if picked:
            sel = np.concatenate(picked)
            per_mode[mode] = target_accuracy(predicted[sel], manifest["target_domain"].iloc[sel])
    for (product, domain, mode), sel in sorted(inputs.cells.items()):
        value = target_accuracy(predicted[sel], manifest["target_domain"].iloc[sel])
        rows.append({"product": product, "domain": domain, "mode": mode, "metric": "target_accuracy", "value": value})
    for product in sorted(set(manifest["product"])):
        for mode in MODES:
            sel = manifest.index[(manifest["product"] == product) & (manifest["mode"] == mode)].to_numpy()
            if len(sel):
                per_product.setdefault(product, {})[mode] = target_accuracy(predicted[sel],
                                                                            manifest["target_domain"].iloc[sel])
    return per_mode, per_product, rows


def diversity_section(inputs: Inputs) -> dict[str, float | NotComputed]:
    manifest = inputs.synth.manifest
    out: dict[str, float | NotComputed] = {}
    if not has_sources(manifest):
        return dict.fromkeys(MODES, NotComputed(NO_SOURCE))
    for mode in MODES:
        value, groups = diversity_by_group(manifest[manifest["mode"] == mode], inputs.synth.images)
        out[mode] = value if groups else NotComputed("needs >= 2 repeats per (source, domain, mode)")
    return out


def memorisation_section(cfg: EvaluateConfig, inputs: Inputs, effnet: np.ndarray, out_dir: Path) -> dict:
    """Nearest training image of every synthetic image (and of every real val defect image, the baseline)."""
    store = inputs.store
    train_images = inputs.prepared.images[inputs.train_cache_rows]
    train_feats = store.features[EFFNET_LITE0][store.rows("train")]
    table = nearest_real_table(inputs.synth.images, train_images, effnet, train_feats)
    save_nearest_neighbour_grid(out_dir / "nn_grid.png", inputs.synth.images, train_images, table,
                                rows=cfg.nn_grid_rows, feature_label=EFFNET_LITE0)
    summary = summarise(table, "synthetic")
    val = store.index.iloc[store.rows("val")]
    val = val[val["domain"].isin(DEFECT_DOMAINS)]
    if val.empty:
        reason = NotComputed("no real validation defect images")
        summary.update({k.replace("synthetic_", "val_", 1): reason for k in list(summary)})
    else:
        val_images = inputs.prepared.images[cache_rows_of(inputs.prepared, val["sample_id"], "val")]
        val_table = nearest_real_table(val_images, train_images, store.features[EFFNET_LITE0][val.index.to_numpy()],
                                       train_feats)
        summary.update(summarise(val_table, "val"))
        summary["synthetic_to_val_pixel_nn_ratio"] = (summary["synthetic_pixel_nn_rms_median"]
                                                      / max(summary["val_pixel_nn_rms_median"], 1e-12))
    return summary


def evaluate_variant(cfg: EvaluateConfig, prepared_dir: Path, splits_dir: Path, features_dir: Path,
                     classifier_dir: Path, synth_dir: Path, out_dir: Path) -> dict:
    """All metrics of one synthesis set; writes metrics.json, per_cell.csv and nn_grid.png to ``out_dir``."""
    fid = resolve_fid_weights(cfg.fid_weights or None)
    inputs = load_inputs(cfg, prepared_dir, splits_dir, features_dir, synth_dir, fid)
    device = pick_device(cfg.device)
    feats = synthetic_features(cfg, inputs, fid, device)
    modes, per_product, rows = distribution_section(cfg, inputs, feats)
    model, classifier_info = load_eval_classifier(classifier_dir, device)
    predicted = predict_domains(model, inputs.synth.images, classifier_info["config"]["eval_batch_size"], device)
    accuracy, accuracy_per_product, accuracy_rows = accuracy_section(inputs, predicted)
    fid_reason = feats[INCEPTION_FID]
    metrics = {
        "variant": inputs.synth.variant,
        "headline": HEADLINE_METRIC,
        "feature_weights": inputs.store.meta["extractors"][EFFNET_LITE0]["weights"],
        "effnet_input_size": cfg.effnet_input_size,
        "fid_status": str(fid_reason) if isinstance(fid_reason, NotComputed) else "computed",
        "modes": modes,
        "per_product": per_product,
        "background": background_section(cfg, inputs),
        "target_accuracy": accuracy,
        "target_accuracy_per_product": accuracy_per_product,
        "eval_classifier_test_error": classifier_info["test_error"] / 100.0,  # fraction, like the accuracies
        "eval_classifier_val_error": classifier_info["val_error"] / 100.0,
        "diversity_l1": diversity_section(inputs),
        "memorisation": memorisation_section(cfg, inputs, feats[EFFNET_LITE0], out_dir),
        "n_synthetic": len(inputs.synth.images),
        "n_synthetic_per_mode": {m: int((inputs.synth.manifest["mode"] == m).sum()) for m in MODES},
        "n_real": real_counts(inputs),
    }
    write_csv(out_dir / "per_cell.csv", long_frame(rows + accuracy_rows))
    metrics = json_ready(metrics)
    write_json(out_dir / "metrics.json", metrics)
    log.info("variant %s: %s latent %s / reference %s / mix %s", metrics["variant"], HEADLINE_METRIC,
             *(metrics["modes"][m].get(HEADLINE_METRIC) for m in ALL_MODES))
    return metrics


def real_counts(inputs: Inputs) -> dict[str, dict[str, int]]:
    """Real training images per (product, defect domain) of the products in the synthesis set."""
    store = inputs.store
    products = sorted(set(inputs.synth.manifest["product"]))
    return {p: {d: len(store.rows("train", p, d)) for d in DEFECT_DOMAINS} for p in products}
