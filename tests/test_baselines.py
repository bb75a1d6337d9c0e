"""GAN baselines' shared plumbing: the method registry, labelled data and sampler, the resumable loop, the model
artefact, the synthesis of noise-only and reference-only families with DT-GAN's counts, the assemble `synthetic`
setting and the report rows of Tables 15 and 18."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from dtgan.errors import CheckpointError, DataError, ParamsError
from dtgan.gans.methods import METHODS, get_method
from dtgan.gans.shared.data import BatchSampler, LabelledImages, class_name, defect_classes
from dtgan.gans.shared.models import model_folders
from dtgan.gans.shared.training import (
    TrainingState,
    ema_update,
    load_model,
    save_model,
    train_steps,
    write_history,
)
from dtgan.reports import paper
from dtgan.synthesis.assemble import training_set
from dtgan.synthesis.jobs import plan_jobs
from dtgan.synthesis.noise import NoiseFamily, slot_counts
from tests.test_assemble import _synth, _train


def test_methods_name_the_papers_rows():
    assert set(METHODS) == {"stylegan2", "stylegan2_ada", "biggan", "biggan_diffaug", "mokady"}
    for method in METHODS.values():
        assert method.table18_paper in paper.TABLE18
        assert method.table15_paper is None or ("trad", method.table15_paper) in paper.TABLE15
    assert get_method("mokady").guidance == "reference"
    with pytest.raises(ParamsError, match="stylegan2_ada"):
        get_method("biggan", family="stylegan2")


def _prepared(n: int = 12) -> object:
    @dataclass
    class Prepared:
        images: np.ndarray
        channels: int = 3

    return Prepared(np.random.default_rng(0).integers(0, 256, (n, 8, 8, 3), dtype=np.uint8))


def _split() -> pd.DataFrame:
    rows = [("B", "Spots"), ("A", "Scratches"), ("A", "Normal"), ("B", "Scratches"), ("A", "Spots")] * 2
    return pd.DataFrame([{"sample_id": f"{p}/{d}/{i}", "product": p, "domain": d, "cache_index": i}
                         for i, (p, d) in enumerate(rows)])


def test_defect_classes_label_product_and_domain():
    data = defect_classes(_prepared(), _split())
    assert data.class_names == ("A/Scratches", "A/Spots", "B/Scratches", "B/Spots")
    assert len(data.labels) == 8 and data.images.shape == (8, 3, 8, 8)
    assert data.labels.bincount().tolist() == [2, 2, 2, 2]
    only_b = defect_classes(_prepared(), _split(), ("B",))
    assert only_b.class_names == ("B/Scratches", "B/Spots")
    assert data.fingerprint() != only_b.fingerprint()
    with pytest.raises(DataError, match="no defect images"):
        defect_classes(_prepared(), _split(), ("C",))


def test_batch_sampler_is_seeded_and_resumable():
    a, b = BatchSampler(10, 4, seed=3), BatchSampler(10, 4, seed=3)
    first = a.next()
    assert torch.equal(first, b.next()) and len(set(first.tolist())) == 4
    state = a.state_dict()
    nxt = a.next()
    b.load_state_dict(state)
    assert torch.equal(nxt, b.next())
    assert len(BatchSampler(3, 8, seed=0).next()) == 8  # more than n: with replacement


def _toy_state(seed: int) -> TrainingState:
    torch.manual_seed(seed)
    net = nn.Linear(3, 1)
    return TrainingState({"net": net}, {"net": torch.optim.SGD(net.parameters(), lr=0.1)}, BatchSampler(16, 4, seed))


def _toy_step(state: TrainingState) -> dict[str, float]:
    x = torch.randn(4, 3, generator=state.sampler.generator)
    loss = (state.modules["net"](x) - 1).pow(2).mean()
    state.optimizers["net"].zero_grad()
    loss.backward()
    state.optimizers["net"].step()
    return {"loss": loss.item()}


def test_train_steps_resumes_bit_identically(tmp_path):
    straight = _toy_state(0)
    train_steps(straight, _toy_step, iterations=6, log_every=2, checkpoint_every=3,
                checkpoint_path=tmp_path / "a.pt", config={"k": 1}, desc="toy", family_root=tmp_path)
    first = _toy_state(0)
    train_steps(first, _toy_step, iterations=3, log_every=2, checkpoint_every=3,
                checkpoint_path=tmp_path / "b.pt", config={"k": 1}, desc="toy", family_root=tmp_path)
    resumed = _toy_state(0)
    train_steps(resumed, _toy_step, iterations=6, log_every=2, checkpoint_every=3,
                checkpoint_path=tmp_path / "b.pt", config={"k": 1}, desc="toy", family_root=tmp_path)
    assert resumed.step == 6
    assert torch.equal(resumed.modules["net"].weight, straight.modules["net"].weight)
    other = _toy_state(0)  # another config: the checkpoint is ignored, training restarts from step 0
    train_steps(other, _toy_step, iterations=3, log_every=2, checkpoint_every=3,
                checkpoint_path=tmp_path / "b.pt", config={"k": 2}, desc="toy", family_root=tmp_path)
    assert [h["step"] for h in other.history] == [2, 3]
    write_history(tmp_path / "curves.csv", straight.history)
    assert pd.read_csv(tmp_path / "curves.csv")["step"].tolist() == [2, 4, 6]
    shorter = _toy_state(0)  # fewer iterations than the checkpoint's 6: retrained, not the longer run handed back
    train_steps(shorter, _toy_step, iterations=3, log_every=2, checkpoint_every=3,
                checkpoint_path=tmp_path / "a.pt", config={"k": 1}, desc="toy", family_root=tmp_path)
    short_alone = _toy_state(0)
    train_steps(short_alone, _toy_step, iterations=3, log_every=2, checkpoint_every=3,
                checkpoint_path=tmp_path / "c.pt", config={"k": 1}, desc="toy", family_root=tmp_path)
    assert shorter.step == 3 and [h["step"] for h in shorter.history] == [2, 3]
    assert torch.equal(shorter.modules["net"].weight, short_alone.modules["net"].weight)


def test_train_steps_ignores_a_checkpoint_of_other_training_code(tmp_path):
    # DVC keeps a persisted checkpoint when the family's code changes: resuming it would re-emit the old model.
    family = tmp_path / "family"
    family.mkdir()
    (family / "losses.py").write_text("WEIGHT = 1\n")
    steps_run: list[int] = []

    def counted_step(state: TrainingState) -> dict[str, float]:
        steps_run.append(state.step)
        return _toy_step(state)

    def run() -> list[int]:
        steps_run.clear()
        train_steps(_toy_state(0), counted_step, iterations=3, log_every=1, checkpoint_every=3,
                    checkpoint_path=tmp_path / "c.pt", config={"k": 1}, desc="toy", family_root=family)
        return list(steps_run)

    assert run() == [0, 1, 2]
    assert run() == []  # same code: the finished checkpoint is resumed
    (family / "losses.py").write_text("WEIGHT = 2\n")
    assert run() == [0, 1, 2]  # other code: trained again from step 0

def test_ema_update_and_model_artefact(tmp_path):
    live, ema = nn.Linear(2, 2), nn.Linear(2, 2)
    with torch.no_grad():
        live.weight.fill_(1.0)
        ema.weight.fill_(0.0)
    ema_update(ema, live, beta=0.75)
    assert torch.allclose(ema.weight, torch.full((2, 2), 0.25))
    save_model(tmp_path / "m", {"g": ema}, {"classes": ("A/Spots",)})
    states, config = load_model(tmp_path / "m", torch.device("cpu"))
    assert torch.equal(states["g"]["weight"], ema.weight) and config == {"classes": ["A/Spots"]}
    assert model_folders(tmp_path / "m") == [tmp_path / "m"]
    assert model_folders(tmp_path) == [tmp_path / "m"]  # per-product layout: the sub-folders
    with pytest.raises(CheckpointError, match="no trained model"):
        model_folders(tmp_path / "m" / "missing")


def test_reference_only_jobs_match_dtgan_counts():
    sources = pd.DataFrame({"sample_id": ["A/Normal/1", "A/Normal/2"]})
    with_latent = plan_jobs(sources, ("Scratches", "Spots"), ("all", "A"), repeats=2)
    reference_only = plan_jobs(sources, ("Scratches", "Spots"), ("all", "A"), repeats=2, latent=False)
    assert len(with_latent) == len(reference_only) == 2 * 2 * 2 * 3
    assert {j.mode for j in reference_only} == {"reference"}
    keys = {(j.source_row, j.target_domain, j.reference_set, j.repeat) for j in reference_only}
    assert len(keys) == len(reference_only)  # every output has its own file name and seed


class _FakeSampler:
    image_channels = 3

    def __init__(self, names: tuple[str, ...]) -> None:
        self.class_names = names

    def sample(self, labels: torch.Tensor, seeds: list[int]) -> torch.Tensor:
        return torch.stack([torch.full((3, 4, 4), (s % 100) / 100) for s in seeds])


def test_noise_family_routes_classes_and_counts():
    family = NoiseFamily("stylegan2", "stylegan2", (_FakeSampler(("A/Scratches",)), _FakeSampler(("B/Spots",))))
    sampler, label = family.owner(class_name("B", "Spots"))
    assert sampler.class_names == ("B/Spots",) and label == 0
    with pytest.raises(DataError, match="A/Spots"):
        family.owner("A/Spots")
    sources = pd.DataFrame({"product": ["A", "A", "B"]})
    assert slot_counts(sources, guidances=2, repeats=3) == {("A", "Scratches"): 12, ("A", "Spots"): 12,
                                                            ("B", "Scratches"): 6, ("B", "Spots"): 6}


def test_assemble_synthetic_setting_takes_the_sets_own_guidance():
    synth = _synth()
    only_latent = synth[synth["mode"] == "latent"]
    latent = training_set(_train(), only_latent, 40, "synthetic", ("all",), seed=0)
    assert set(latent.loc[latent["source"] == "synthetic", "mode"]) == {"latent"}
    only_reference = synth[(synth["mode"] == "reference") & (synth["reference_set"] == "all")]
    reference = training_set(_train(), only_reference, 40, "synthetic", ("all",), seed=0)
    assert set(reference.loc[reference["source"] == "synthetic", "mode"]) == {"reference_all"}
    both = training_set(_train(), synth, 40, "synthetic", ("all",), seed=0)
    modes = both.loc[both["source"] == "synthetic", "mode"].value_counts()
    assert set(modes.index) == {"latent", "reference_all"} and abs(modes["latent"] - modes["reference_all"]) <= 4


def test_labelled_images_properties():
    data = LabelledImages(torch.zeros(2, 1, 16, 16), torch.tensor([0, 1]), ("A/Scratches", "A/Spots"))
    assert (data.image_size, data.image_channels, data.num_classes) == (16, 1, 2)
