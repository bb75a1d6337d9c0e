"""The paper profile reproduces protocol.md's numbers; every section of params.yaml and the profile validates."""

from __future__ import annotations

import pandas as pd
import pytest

from dtgan.constants import DOMAINS
from dtgan.data.split import holdout_sizes, select, split_table
from dtgan.errors import ParamsError
from dtgan.profiles import deep_merge, main, profile_params
from dtgan.sections import load_all_sections
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def paper():
    return load_all_sections(profile_params("paper", ROOT / "params.yaml"))


def test_default_and_paper_profiles_validate(paper):
    load_all_sections(profile_params("default", ROOT / "params.yaml"))
    assert paper["data"].image_size == 128


def test_paper_gan_values(paper):
    gan = paper["gan"]
    assert (gan.max_channels, gan.fg_channels, gan.style_dim, gan.latent_dim) == (512, 64, 64, 16)
    assert (gan.iterations, gan.batch_size, gan.ds_decay_iters) == (100_000, 4, 100_000)
    assert (gan.lr, gan.f_lr, gan.beta1, gan.beta2, gan.weight_decay) == (1e-4, 1e-6, 0.0, 0.99, 1e-4)
    assert gan.ema_beta == 0.999
    assert gan.warmup_iters == 0 and gan.encoder_norm  # no warm-up: adversarial from the first step, as the paper
    # every CPU-default departure is off in the paper profile
    assert not gan.fg_relative and not gan.warmup_resets_optimizers and gan.noise_init == 0.0
    assert gan.warmup_lr is None and gan.background_lr is None and gan.defect_branch_lr is None
    weights = paper["loss_weights"]
    added = ("lambda_src", "lambda_anchor", "lambda_imle", "lambda_clean", "lambda_keep")  # CPU-default terms
    paper_terms = [f for f in weights.__dataclass_fields__ if f not in added]
    assert len(paper_terms) == 7 and all(getattr(weights, f) == 1.0 for f in paper_terms)
    assert all(getattr(weights, f) == 0.0 for f in added)


def test_paper_split_and_scales(paper):
    assert paper["split"].holdout_per_domain == 50
    assert holdout_sizes(50, paper["split"].val_fraction) == (15, 35)
    assert paper["split"].gan_normals_per_product == 700
    assert paper["assemble"].scales == (1500, 2200, 4000, 6200)
    assert [3 * n for n in paper["assemble"].scales] == [4500, 6600, 12000, 18600]
    assert paper["synthesis"].reference_sets[0] == "all"


def test_paper_counts_split_into_sdi_gan_training_set(paper):
    """protocol.md §1.1: DT-GAN training set 700/290/58, 700/117/620, 700/71/208 from SDI's full counts."""
    counts = paper["data"].embedded.counts
    rows = [{"sample_id": f"{p}/{d}/{i}", "product": p, "domain": d}
            for p in counts for d in DOMAINS for i in range(counts[p][d])]
    split = split_table(pd.DataFrame(rows), 0, 50, 0.3, 700)
    gan = select(split, "gan_train").groupby(["product", "domain"]).size().unstack()[list(DOMAINS)]
    assert gan.loc["A"].tolist() == [700, 290, 58]
    assert gan.loc["B"].tolist() == [700, 117, 620]
    assert gan.loc["C"].tolist() == [700, 71, 208]
    assert len(split) == 20_414  # protocol.md §1.1: 20,414 images


def test_stale_profile_key_is_an_error():
    with pytest.raises(ParamsError, match="profile key gan.widht does not exist"):
        deep_merge({"gan": {"width": 1}}, {"gan": {"widht": 2}})


def test_apply_profile_writes_valid_params(tmp_path):
    target = tmp_path / "params.yaml"
    target.write_text((ROOT / "params.yaml").read_text())
    main(["paper", "--params", str(target)])
    applied = load_all_sections(profile_params("default", target))
    assert applied["data"].image_size == 128 and applied["gan"].iterations == 100_000


def test_paper_classifier_and_anomaly_values(paper):
    """protocol.md §4 (ResNet-50, SGD lr 0.001, momentum 0.9, wd 1e-4, batch 64, 100 epochs, x0.1 after 5, 5 runs)
    and fanogan.md §1 (official f-AnoGAN values)."""
    cls = paper["classifier"]
    assert (cls.backbone, cls.pretrained, cls.epochs, cls.batch_size) == ("resnet50", "imagenet", 100, 64)
    assert (cls.lr, cls.momentum, cls.weight_decay) == (0.001, 0.9, 1e-4)
    assert (cls.plateau_patience, cls.plateau_factor, len(cls.seeds)) == (5, 0.1, 5)
    anomaly = paper["anomaly"]
    assert (anomaly.lambda_gp, anomaly.n_critic, anomaly.lr, anomaly.beta1, anomaly.beta2) == (10.0, 5, 1e-4, 0.0, 0.9)
    assert (anomaly.z_dim, anomaly.width, anomaly.kappa, anomaly.residual) == (128, 64, 1.0, "mse")
    assert (anomaly.encoder_optimizer, anomaly.encoder_lr, anomaly.mode) == ("rmsprop", 5e-5, "per_product")
    assert paper["run"].profile == "paper"


def test_run_profile_resolves_the_dataset_root_against_the_checkout(tmp_path):
    from dtgan.run_profile import profile_run_params

    params = profile_run_params("mtd", ROOT / "params.yaml")
    assert params["data"]["source"] == "mtd" and params["profile"] == "mtd"
    assert params["data"]["root"] == str((ROOT / "../shared/datasets/mtd").resolve())
    bad = tmp_path / "params.yaml"
    bad.write_text((ROOT / "params.yaml").read_text().replace('  root: ""', '  root: "no/such/folder"', 1))
    with pytest.raises(ParamsError, match=r"data.root no/such/folder .* is not a folder"):
        profile_run_params("default", bad)


def test_paper_baselines_are_the_official_recipes(paper):
    """Issue 16: the paper profile trains every GAN baseline with its official values, one model per product."""
    from dtgan.sections import SECTIONS

    for section in ("stylegan2", "biggan", "mokady"):
        official = SECTIONS[section]()  # each dataclass's defaults are the official recipe (noted per field)
        loaded = paper[section]
        differs = [f for f in official.__dataclass_fields__ if f not in ("device", "log_every")
                   and getattr(loaded, f) != getattr(official, f) and not (section, f) == ("stylegan2", "ema_rampup")]
        assert not differs, f"{section}: paper profile departs from the official values in {differs}"
    assert paper["stylegan2"].per_product and paper["biggan"].per_product
    assert paper["stylegan2"].ema_rampup is None  # --cfg stylegan2, whose widths (channel_base 32768) it uses
    assert (paper["stylegan2"].channel_base, paper["stylegan2"].r1_gamma) == (32768, 10.0)
    assert (paper["biggan"].channels, paper["biggan"].batch_size) == (96, 2048)
    assert (paper["mokady"].code_channels, paper["mokady"].separate_channels, paper["mokady"].lr) == (512, 25, 2e-4)


def test_profile_run_starts_without_the_committed_reports(tmp_path):
    from dtgan.run_profile import drop_committed_reports

    stale = tmp_path / "reports" / "classifier" / "latent_N20_trad.json"  # a default-run cell, not the profile's
    stale.parent.mkdir(parents=True)
    stale.write_text("{}")
    (tmp_path / "params.yaml").write_text("x: 1")
    drop_committed_reports(tmp_path)
    assert not (tmp_path / "reports").exists() and (tmp_path / "params.yaml").exists()
