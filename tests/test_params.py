from dataclasses import FrozenInstanceError

import pytest

from dtgan.data.config import DataConfig, SplitConfig
from dtgan.errors import ParamsError
from dtgan.gans.dtgan.config import LossWeights
from dtgan.params import from_mapping, load_section, load_top_level
from tests.conftest import ROOT, load_default_params


def test_default_params_sections_load():
    params = load_default_params()
    assert load_section(DataConfig, params, "data").image_size == params["data"]["image_size"]
    assert load_section(SplitConfig, params, "split").val_fraction == pytest.approx(0.3)


def test_unknown_key_is_named():
    with pytest.raises(ParamsError, match=r"split\.holdout_per_domian"):
        from_mapping(SplitConfig, {"holdout_per_domian": 3}, "split")


def test_out_of_range_value_message():
    with pytest.raises(ParamsError, match=r"split\.val_fraction must be in \(0, 1\), got 1\.5"):
        from_mapping(SplitConfig, {"val_fraction": 1.5}, "split")


def test_wrong_type_is_named():
    with pytest.raises(ParamsError, match=r"split\.holdout_per_domain must be an integer, got 'ten'"):
        from_mapping(SplitConfig, {"holdout_per_domain": "ten"}, "split")
    with pytest.raises(ParamsError, match=r"data\.resize must be one of"):
        from_mapping(DataConfig, {"resize": "sinc"}, "data")


def test_integer_accepted_for_float_like_dvc_exp_set():
    # `dvc exp run -S lambda_cyc=1` writes the integer 1.
    weights = load_top_level(LossWeights, {"lambda_cyc": 1, "lambda_ds": 2, "data": {}})
    assert weights.lambda_cyc == 1.0 and isinstance(weights.lambda_cyc, float)
    assert weights.lambda_ds == 2.0


def test_negative_loss_weight_rejected():
    with pytest.raises(ParamsError, match=r"lambda_fg must be in \[0, inf\)"):
        load_top_level(LossWeights, {"lambda_fg": -1})


def test_bool_not_accepted_as_number():
    with pytest.raises(ParamsError, match="split.seed must be an integer"):
        from_mapping(SplitConfig, {"seed": True}, "split")


def test_nested_embedded_counts_checked():
    with pytest.raises(ParamsError, match=r"data\.embedded\.counts has unknown domain"):
        from_mapping(DataConfig, {"embedded": {"counts": {"A": {"Normal": 3, "Cracks": 2}}}}, "data")
    with pytest.raises(ParamsError, match=r"data\.embedded\.bogus"):
        from_mapping(DataConfig, {"embedded": {"bogus": 1}}, "data")


def test_sections_are_frozen():
    cfg = from_mapping(SplitConfig, {}, "split")
    with pytest.raises(FrozenInstanceError):
        cfg.seed = 3  # type: ignore[misc]


def test_missing_section_named(tmp_path):
    (tmp_path / "p.yaml").write_text("data: {}\n")
    with pytest.raises(ParamsError, match="no section 'split'"):
        load_section(SplitConfig, tmp_path / "p.yaml", "split")


def test_loss_weights_are_top_level_keys_all_one():
    params = load_default_params()
    names = ["lambda_adv", "lambda_sd_rec", "lambda_d_rec", "lambda_ds", "lambda_cyc", "lambda_fg", "lambda_bg"]
    assert all(params[n] == 1.0 for n in names)
    assert (ROOT / "params.yaml").is_file()


def test_table15_num_seeds_must_fit_classifier_seeds():
    from dtgan.sections import load_all_sections
    params = load_default_params()
    assert load_all_sections(params)["run"].table15_num_seeds == params["table15_num_seeds"]
    bad = {**params, "table15_num_seeds": len(params["classifier"]["seeds"]) + 1}
    n = len(params["classifier"]["seeds"])
    with pytest.raises(ParamsError, match=f"table15_num_seeds {n + 1} exceeds the {n} seeds of classifier.seeds"):
        load_all_sections(bad)


def test_train_classifier_num_seeds_takes_the_first_seeds():
    from stages.train_classifier import first_seeds
    assert first_seeds((3, 1, 2), 2) == (3, 1)
    with pytest.raises(ParamsError, match=r"--num-seeds must be between 1 and the 3 seeds"):
        first_seeds((3, 1, 2), 0)
