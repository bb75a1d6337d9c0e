"""The GAN baselines data parallel (dtgan/gans/shared/training.py) on CPU with gloo: 2 processes spawned from the test.

Each family trains a tiny model on 2 ranks that draw different batches. With the gradients averaged every rank must
end with the same weights bit for bit (without the averaging they drift apart after the first step), ADA's p must
agree, rank 0 alone writes the model, and a run killed at its checkpoint resumes bit-identically on 2 ranks.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from dtgan.distributed import World, process_group
from dtgan.gans.biggan.config import BigganConfig
from dtgan.gans.biggan.train import train_model as train_biggan
from dtgan.gans.mokady.config import MokadyConfig
from dtgan.gans.mokady.train import train_model as train_mokady
from dtgan.gans.shared.data import LabelledImages
from dtgan.gans.shared.training import CHECKPOINT_NAME, MODEL_NAME
from dtgan.gans.stylegan2.config import Stylegan2Config
from dtgan.gans.stylegan2.train import train_model as train_stylegan2
from tests.test_distributed import WORLD_SIZE, _free_port

pytestmark = pytest.mark.slow

COMMON = {"batch_size": 4, "checkpoint_every": 2, "log_every": 1, "device": "cpu"}
CONFIGS = {
    "stylegan2": Stylegan2Config(channel_base=64, channel_max=16, z_dim=16, w_dim=16, mapping_layers=2, iterations=4,
                                 r1_gamma=1.0, r1_interval=2, ema_kimg=0.01, ada_interval=1, ada_kimg=0.002,
                                 **COMMON),
    "biggan": BigganConfig(channels=2, z_dim=12, shared_dim=4, attention_resolution=0, iterations=4, ema_start=1,
                           **COMMON),
    "mokady": MokadyConfig(channels=4, code_channels=16, separate_channels=4, n_blocks=3, disc_hidden=8, iterations=4,
                           seed=5, **COMMON),
}
STOP_AT = 2  # the "killed" run stops after its step-2 checkpoint


def _images(n: int, seed: int) -> torch.Tensor:
    return torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def _train(family: str, out: Path, world: World, iterations: int) -> dict[str, torch.Tensor]:
    """Train (or resume) a tiny model of ``family`` in ``out``; this rank's weights afterwards (every module)."""
    cfg = dataclasses.replace(CONFIGS[family], iterations=iterations)
    if family == "mokady":
        state = train_mokady(cfg, _images(12, 1), _images(8, 2), out / "model", out / "reports",
                             translation="Spots", world=world)
    else:
        data = LabelledImages(_images(12, 3), torch.tensor([0, 1, 2] * 4), ("A/Scratches", "A/Spots", "B/Spots"))
        train = train_stylegan2 if family == "stylegan2" else train_biggan
        augment = "ada" if family == "stylegan2" else "diffaug"
        state = train(cfg, data, out / "model", out / "reports", augment=augment, world=world)
    weights = {f"{m}.{k}": v.clone() for m, module in state.modules.items() for k, v in module.state_dict().items()}
    return {**weights, **{f"extra.{k}": torch.tensor(v) for k, v in state.extra.items()}}  # ADA's p among them


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    world = World(rank=rank, world_size=WORLD_SIZE, local_rank=rank)
    result: dict[str, dict] = {}
    with process_group(world, torch.device("cpu")) as joined:
        for family, cfg in CONFIGS.items():
            straight, resumed = Path(out) / family / "straight", Path(out) / family / "resumed"
            result[family] = {"straight": _train(family, straight, joined, cfg.iterations)}
            _train(family, resumed, joined, STOP_AT)  # a run that stopped at its checkpoint ...
            result[family]["resumed"] = _train(family, resumed, joined, cfg.iterations)  # ... and continued
    torch.save(result, Path(out) / f"rank{rank}.pt")


@pytest.fixture(scope="module")
def two_rank_runs(tmp_path_factory) -> tuple[Path, list[dict]]:
    out = tmp_path_factory.mktemp("baselines_ddp")
    mp.spawn(_worker, args=(_free_port(), str(out)), nprocs=WORLD_SIZE, join=True)
    return out, [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(WORLD_SIZE)]


@pytest.mark.parametrize("family", list(CONFIGS))
def test_ranks_keep_equal_weights_and_resume_bit_identically(two_rank_runs, family):
    _, ranks = two_rank_runs
    for result in ranks:
        straight, resumed = result[family]["straight"], result[family]["resumed"]
        assert straight.keys() == resumed.keys()
        assert all(torch.equal(straight[k], resumed[k]) for k in straight), family  # killed at step 2, resumed
        assert all(torch.equal(straight[k], ranks[0][family]["straight"][k]) for k in straight)  # ranks agree


@pytest.mark.parametrize("family", list(CONFIGS))
def test_rank0_writes_one_model_that_records_the_world(two_rank_runs, family):
    out, _ = two_rank_runs
    model_dir = out / family / "straight" / "model"
    config = json.loads((model_dir / "config.json").read_text())
    assert config["world_size"] == WORLD_SIZE and (model_dir / MODEL_NAME).is_file()
    checkpoint = torch.load(model_dir / CHECKPOINT_NAME, weights_only=True)
    assert checkpoint["config"]["world_size"] == WORLD_SIZE and checkpoint["step"] == CONFIGS[family].iterations
    samplers = [rank["samplers"]["main"]["generator"] for rank in checkpoint["ranks"]]
    assert len(samplers) == WORLD_SIZE and not torch.equal(*samplers)  # each rank drew its own batches
    assert (out / family / "straight" / "reports" / "samples.png").is_file()
