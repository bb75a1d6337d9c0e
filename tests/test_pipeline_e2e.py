"""End-to-end at a tiny scale: the outputs of train_gan -> synthesize (main + eval) -> assemble -> train_classifier,
as the whole dvc.yaml pipeline produced them (the shared ``tiny_run`` of tests/conftest.py)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

from dtgan.data.cache import load_prepared
from dtgan.data.split import load_split
from stages import synthesize, train_classifier
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pipeline(tiny_run):
    workspace, _ = tiny_run
    paths = {"prepared": workspace / "data/prepared", "splits": workspace / "data/splits",
             "params": workspace / "params.yaml"}
    common = ["--params", str(paths["params"]), "--prepared", str(paths["prepared"]), "--splits", str(paths["splits"])]
    return {**paths, "root": workspace, "common": common, "gan": workspace / "models/gan/e",
            "gan_reports": workspace / "reports/gan/e", "main": workspace / "data/synth/main",
            "eval": workspace / "data/synth_eval/e", "assembled": workspace / "data/assembled"}


def test_gan_stage_outputs(pipeline):
    assert {p.name for p in pipeline["gan"].iterdir()} >= {"ema.pt", "config.json", "checkpoint.pt"}
    for name in ("grid_reference.png", "grid_latent_Scratches.png", "grid_latent_Spots.png",
                 "curves/plots/metrics/g_latent/cyc.tsv"):
        assert (pipeline["gan_reports"] / name).stat().st_size > 0
    config = json.loads((pipeline["gan"] / "config.json").read_text())
    assert config["variant"] == "e" and config["image_size"] == 32
    d_report = json.loads((pipeline["gan_reports"] / "discriminator.json").read_text())
    held_out = len(load_split(pipeline["splits"], "val")) + len(load_split(pipeline["splits"], "test"))
    assert d_report["n_images"] == held_out and d_report["fg_chance"] == 1 / 3
    assert 0 <= d_report["fg_accuracy"] <= 1 and 0 <= d_report["bg_accuracy"] <= 1


def test_four_outputs_per_pool_normal(pipeline):
    manifest = pd.read_csv(pipeline["main"] / "manifest.csv", keep_default_na=False)
    pool = load_split(pipeline["splits"], "pool")
    assert len(manifest) == 4 * len(pool)
    per_source = manifest.groupby("source_id")[["target_domain", "mode"]].apply(
        lambda g: sorted(zip(g["target_domain"], g["mode"], strict=True)))
    expected = [("Scratches", "latent"), ("Scratches", "reference"), ("Spots", "latent"), ("Spots", "reference")]
    assert all(v == expected for v in per_source)
    for path, sha256 in zip(manifest["path"], manifest["sha256"], strict=True):
        with Image.open(pipeline["root"] / path) as img:
            assert img.size == (32, 32)
        assert hashlib.sha256((pipeline["root"] / path).read_bytes()).hexdigest() == sha256
    refs = manifest[manifest["mode"] == "reference"]
    gan = load_split(pipeline["splits"], "gan_train").set_index("sample_id")
    assert (gan.loc[refs["reference_id"], "domain"].to_numpy() == refs["target_domain"].to_numpy()).all()


def test_synthesis_is_byte_identical(pipeline, tmp_path):
    synthesize.main([*pipeline["common"], "--model", str(pipeline["gan"]), "--set", "main",
                     "--out", str(tmp_path / "again")])
    first = pd.read_csv(pipeline["main"] / "manifest.csv", keep_default_na=False)
    second = pd.read_csv(tmp_path / "again" / "manifest.csv", keep_default_na=False)
    paths = ["path", "soft_mask_path", "mask_path"]
    assert first.drop(columns=paths).equals(second.drop(columns=paths))
    for column in paths:  # the PNGs themselves, images and masks
        for a, b in zip(first[column], second[column], strict=True):
            assert (pipeline["root"] / a).read_bytes() == Path(b).read_bytes()


def test_eval_set_uses_test_normals_only(pipeline):
    manifest = pd.read_csv(pipeline["eval"] / "manifest.csv", keep_default_na=False)
    test = load_split(pipeline["splits"], "test")
    test_normals = set(test.loc[test["domain"] == "Normal", "sample_id"])
    assert set(manifest["source_id"]) == test_normals
    assert len(manifest) == len(test_normals) * 2 * 2 * 2  # domains x modes x repeats


def test_assembled_sets_exclude_val_and_test(pipeline):
    held_out = set(load_split(pipeline["splits"], "val")["sample_id"]) | set(
        load_split(pipeline["splits"], "test")["sample_id"])
    for path in pipeline["assembled"].glob("train_*.csv"):
        manifest = pd.read_csv(path, keep_default_na=False)
        assert not set(manifest["sample_id"]) & held_out, path.name
        synthetic = manifest["source"] == "synthetic"
        assert (manifest.loc[synthetic, "sha256"].str.len() == 64).all()
        assert (manifest.loc[~synthetic, "sha256"] == "").all()
        real_ids = set(manifest.loc[manifest["source"] == "real", "sample_id"])
        assert real_ids <= set(load_split(pipeline["splits"], "train")["sample_id"])
        assert (manifest.groupby(["product", "label"]).size() == int(path.stem.split("_N")[1])).all()


def test_classifier_cell_runs_and_reports(pipeline, tmp_path, monkeypatch):
    monkeypatch.chdir(pipeline["root"])  # manifests list synthetic PNGs relative to the workspace
    root, assembled = tmp_path, pipeline["assembled"]
    out = root / "cls"
    train_classifier.main(["--params", str(pipeline["params"]), "--prepared", str(pipeline["prepared"]),
                           "--manifest", str(assembled / "train_mix_N12.csv"), "--val", str(assembled / "val.csv"),
                           "--test", str(assembled / "test.csv"), "--augment", "cutmix", "--out", str(out),
                           "--metrics", str(root / "cell.json")])
    cell = json.loads((root / "cell.json").read_text())
    assert cell["augment"] == "cutmix" and set(cell["products"]) == {"A", "B", "C"}
    for result in cell["products"].values():
        assert 0 <= result["error_mean"] <= 100 and result["source_head"] is True
        assert result["n_synthetic"] > 0 and result["n_test"] == 21
    predictions = pd.read_csv(out / "predictions.csv")
    assert len(predictions) == 3 * 21


def test_classifier_cell_under_torchrun_matches_one_process(pipeline, tmp_path):
    """The cell's (product, seed) runs spread over 2 torchrun processes (gloo) give the single process's results:
    each run is trained whole by one rank from its own seed. Both sides use one thread per process."""
    assembled = pipeline["assembled"]
    params = tmp_path / "params.yaml"
    config = yaml.safe_load(pipeline["params"].read_text())
    config["classifier"]["seeds"] = [0, 1]  # 3 products x 2 seeds = 6 runs, 3 per rank
    params.write_text(yaml.safe_dump(config))

    def cell(launcher: list[str], name: str) -> pd.DataFrame:
        cmd = [*launcher, "-m", "stages.train_classifier", "--params", str(params), "--prepared",
               str(pipeline["prepared"]), "--manifest", str(assembled / "train_mix_N12.csv"), "--val",
               str(assembled / "val.csv"), "--test", str(assembled / "test.csv"), "--out", str(tmp_path / name),
               "--metrics", str(tmp_path / f"{name}.json")]
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        done = subprocess.run(cmd, cwd=pipeline["root"], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        return pd.read_csv(tmp_path / name / "predictions.csv")

    one = cell([sys.executable], "one")
    two = cell([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"], "two")
    assert len(one) == 3 * 2 * 21 and sorted(two.columns) == sorted(one.columns)
    key = ["product", "seed", "sample_id"]
    one, two = one.sort_values(key).reset_index(drop=True), two.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(one, two, check_exact=False, rtol=0, atol=1e-5)
    summary = [json.loads((tmp_path / f"{name}.json").read_text())["products"] for name in ("one", "two")]
    assert {p: r["errors"] for p, r in summary[0].items()} == {p: r["errors"] for p, r in summary[1].items()}


def _own_and_other_distances(pipeline) -> tuple[np.ndarray, np.ndarray]:
    """Per evaluation output: mean |output - its source| and mean |output - the other sources of its product|
    (0-255 scale)."""
    manifest = pd.read_csv(pipeline["eval"] / "manifest.csv", keep_default_na=False)
    prepared = load_prepared(pipeline["prepared"])
    by_id = prepared.table.set_index("sample_id")["cache_index"]
    own, other = [], []
    for _, rows in manifest.groupby("product"):
        sources = rows["source_id"].unique()
        for row in rows.itertuples():
            out = np.asarray(Image.open(pipeline["root"] / row.path), dtype=float)
            own.append(np.abs(out - prepared.images[by_id[row.source_id]]).mean())
            others = [s for s in sources if s != row.source_id]
            other.append(np.mean([np.abs(out - prepared.images[by_id[s]]).mean() for s in others]))
    return np.array(own), np.array(other)


# Measured once on this fixture (100 warm-up steps + 12 GAN iterations): mean own / other distance 0.91, and 67 %
# of the outputs closer to their own source than to the other sources of their product (chance: 50 %).
MAX_OWN_OTHER_RATIO = 0.95
MIN_CLOSER_TO_OWN = 0.6


def test_translation_is_neither_its_unchanged_source_nor_unrelated_to_it(pipeline):
    own, other = _own_and_other_distances(pipeline)
    assert own.mean() > 2.0  # not the unchanged source (or a copy of it up to rounding)
    assert own.mean() < MAX_OWN_OTHER_RATIO * other.mean(), (own.mean(), other.mean())
    assert np.mean(own < other) >= MIN_CLOSER_TO_OWN, np.mean(own < other)


# Source kept, the pipeline's own metric (dtgan/evaluation/run.py): mean |output - own source| / mean |output -
# another normal of the product| outside the dilated anchor-mask defect region. On this fixture (100 warm-up steps +
# 12 GAN iterations on 12 normals per product) it was measured at 0.68 / 0.74 (latent / reference) with today's
# default switches of stop 33 (lambda_imle on), and at 0.80 / 0.81 with stop 34's lambda_clean 1 and lambda_keep 3,
# whose background-path terms have had 100 steps to act here; on another CPU (stop 37: a Xeon with AVX-512, whose
# kernels round differently, and 12 GAN iterations amplify it) the same code gave 0.80 / 0.86. The bound keeps a
# margin below 1.0 (an output no closer to its own source than to another normal fails; the starting point,
# a generator that ignored its source, measured 0.99 in the default run) and above both CPUs' values; the issue's
# bar of 0.5 is for the full default run and is checked on its committed metrics below.
MAX_TINY_SOURCE_IDENTITY_RATIO = 0.9
MAX_SOURCE_IDENTITY_RATIO = 0.5


def test_translation_preserves_its_source_background(pipeline):
    metrics = json.loads((pipeline["root"] / "reports/eval/e/metrics.json").read_text())
    for mode in ("latent", "reference"):
        background = metrics["background"][mode]
        assert background["defect_region"].startswith("anchor mask"), background["defect_region"]
        assert background["source_identity_ratio"] < MAX_TINY_SOURCE_IDENTITY_RATIO, (mode, background)


def test_committed_default_run_keeps_its_sources():
    """The committed reports/metrics.json (the default `dvc repro`, kept in sync by `dvc status`) meets the bar."""
    gan = json.loads((ROOT / "reports/metrics.json").read_text())["gan"]["e"]
    for mode in ("latent", "reference"):
        assert gan[f"source_identity_ratio_{mode}"] <= MAX_SOURCE_IDENTITY_RATIO, (mode, gan)


def test_baseline_sets_match_dtgan_counts_and_reach_tables_15_and_18(pipeline):
    """Each baseline of the tiny run writes as many images per (product, domain) as DT-GAN's main set, and its rows
    reach Tables 15 and 18 and metrics.json."""
    import yaml

    from dtgan.gans.methods import METHODS

    methods = yaml.safe_load(pipeline["params"].read_text())["baseline_methods"]
    dtgan_counts = pd.read_csv(pipeline["main"] / "manifest.csv").groupby(["product", "target_domain"]).size()
    table15 = pd.read_csv(pipeline["root"] / "reports/tables/table15_augmentation.csv")
    table18 = pd.read_csv(pipeline["root"] / "reports/tables/table18_distances.csv")
    metrics = json.loads((pipeline["root"] / "reports/metrics.json").read_text())
    for name in methods:
        manifest = pd.read_csv(pipeline["root"] / f"data/synth_baselines/{name}/main/manifest.csv")
        assert manifest.groupby(["product", "target_domain"]).size().equals(dtgan_counts), name
        assert set(manifest["mode"]) == {METHODS[name].guidance}
        label = METHODS[name].label
        assert (table15["synthetic"] == label).sum() == 1
        assert (table18["method"] == label).sum() == dtgan_counts.index.get_level_values("product").nunique()
        assert name in metrics["baselines"]
        assert (pipeline["root"] / f"reports/eval_baselines/{name}/nn_grid.png").stat().st_size > 0
