"""Data-parallel DT-GAN training (dtgan/distributed.py) on CPU with gloo: 2 processes spawned from the test.

- Equivalence: one step on 2 ranks with b/2 images each gives the parameters one process gets with the b images.
- Resume: a 2-rank run killed after a checkpoint and resumed ends bit-identical to an uninterrupted 2-rank run.
- The real stage under torchrun finishes, rank 0 alone writes and logs, and a second launch resumes.
- The per-rank batch must divide; the helpers are no-ops for a single process.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp
import yaml

from dtgan.distributed import SINGLE, World, per_rank_batch, process_group, rank_seed, world_from_env
from dtgan.errors import ParamsError
from dtgan.gans.dtgan.config import GanConfig, LossWeights
from dtgan.gans.dtgan.nets.build import build_nets
from dtgan.gans.dtgan.training.checkpoint import resolved_config, save_checkpoint, try_resume
from dtgan.gans.dtgan.training.data import GanData
from dtgan.gans.dtgan.training.loop import _optimise, build_run, train
from dtgan.gans.dtgan.training.objectives import discriminator_loss, generator_loss, latent_codes
from dtgan.gans.dtgan.training.sampler import Batch, GanBatchSampler
from dtgan.gans.dtgan.training.schedules import discriminator_weights, generator_weights
from tests.conftest import ROOT

WORLD_SIZE = 2
BATCH = 4  # global batch: 2 images per rank
TINY = {"max_channels": 16, "fg_channels": 4, "style_dim": 8, "latent_dim": 4, "mapping_hidden": 16,
        "batch_size": BATCH, "warmup_iters": 0, "iterations": 4, "ds_decay_iters": 4, "checkpoint_every": 2,
        "log_every": 1, "device": "cpu", "seed": 5, "lr": 1e-3, "f_lr": 1e-3}
# Variant d: every network and loss of DT-GAN (defect codes, FG/BG classifiers, separate decoding) but no per-pixel
# noise in M, whose draws would come from each rank's own stream and so differ from the single process's.
VARIANT = "d"
# Tolerances. Every DT-GAN loss is a mean over the batch of per-sample terms and every normalisation is per sample
# (instance norm, AdaIN; no BatchNorm), so the mean of the two ranks' gradients IS the whole batch's gradient; only
# the float reduction order differs (one process sums 4 terms, two ranks sum 2 each and average).
# - float64: that order costs ~1e-16 relative; the parameters after one Adam step then agree to ~1e-15 (measured:
#   max |difference| ~1e-16 at lr 1e-3), so 1e-6 * lr leaves a large margin while any real error (a rank's gradient
#   not averaged, a loss not averaged correctly) moves parameters by ~lr, 10^6 times more.
# - float32: the G step's gradients (through G, E and D, with instance norms over small maps) agree to 1.7e-4 of each
#   tensor's largest gradient (D step: 3e-6); the same split in float64 agrees to 7e-14, so this is rounding. The
#   parameters are not compared in float32: Adam's first step is lr * g / (|g| + 1e-8), which turns the rounding
#   noise of gradients that are exactly 0 in exact arithmetic (conv biases before an instance norm) into steps of
#   up to +-lr, in a single process as much as in two.
PARAM_ATOL_FLOAT64 = 1e-6 * TINY["lr"]
GRAD_RTOL_FLOAT32 = 1e-3  # of each tensor's largest |gradient|
GRAD_ATOL_FLOAT32 = 1e-7  # tensors whose gradient is all rounding noise (~1e-8)


def tiny_cfg(**overrides) -> GanConfig:
    return dataclasses.replace(GanConfig(), **{**TINY, **overrides})


def toy_data(dtype: torch.dtype = torch.float32) -> GanData:
    """32x32 random images, every domain and 3 products present (no files: the workers build it themselves)."""
    g = torch.Generator().manual_seed(0)
    domains = np.arange(24) % 3
    return GanData(images=(torch.rand(24, 3, 32, 32, generator=g) * 2 - 1).to(dtype), domains=domains,
                   products=(np.arange(24) // 3) % 3, product_names=("A", "B", "C"))


def _run(cfg: GanConfig, world: World = SINGLE, dtype: torch.dtype = torch.float32):
    data = toy_data(dtype)
    nets = build_nets(cfg, VARIANT, data.image_size, data.num_domains, data.num_products, seed=cfg.seed)
    for net in nets.as_dict().values():
        net.to(dtype)
    return build_run(cfg, data, nets, torch.device("cpu"), world)


def global_batch(cfg: GanConfig, dtype: torch.dtype = torch.float32) -> Batch:
    """The same BATCH images on every process (a sampler of its own, independent of the ranks' samplers)."""
    data = toy_data(dtype)
    sampler = GanBatchSampler(data.images, data.domains, data.products, data.num_domains, BATCH, cfg.latent_dim,
                              cfg.randcrop_prob, seed=123)
    batch = sampler.next_batch()
    return dataclasses.replace(batch, z1=batch.z1.to(dtype), z2=batch.z2.to(dtype))


def rank_slice(batch: Batch, world: World) -> Batch:
    share = BATCH // world.world_size
    part = slice(world.rank * share, (world.rank + 1) * share)
    return Batch(**{f.name: getattr(batch, f.name)[part] for f in dataclasses.fields(batch)})


def one_step(phase: str, world: World, dtype: torch.dtype) -> dict[str, dict[str, torch.Tensor]]:
    """One optimiser step of ``phase`` (d: D with R1 on latent codes; g: G, M, E on latent codes) on this rank's
    share of the global batch; returns every parameter after the step and its (rank-averaged) gradient."""
    cfg, weights = tiny_cfg(), LossWeights()
    run = _run(cfg, world, dtype)
    batch, nets = rank_slice(global_batch(cfg, dtype), world).to(run.device), run.nets
    if phase == "d":
        with torch.no_grad():
            codes = nets.mapping(batch.z1, batch.y_trg)
        _optimise(run, ("discriminator",), lambda: discriminator_loss(nets, batch, codes, discriminator_weights(
            weights, cfg.lambda_reg)))
    else:
        _optimise(run, ("generator", "mapping", "encoder"), lambda: generator_loss(
            nets, batch, latent_codes(nets, batch, run.noise_generator), generator_weights(weights, 0, 4),
            keep_trim=cfg.keep_trim))
    named = [(f"{name}.{k}", v) for name in ("generator", "mapping", "encoder", "discriminator")
             for k, v in getattr(nets, name).named_parameters()]
    return {"params": {k: v.detach().clone() for k, v in named},
            "grads": {k: v.grad.clone() for k, v in named if v.grad is not None}}


class _Killed(Exception):
    pass


def resume_run(out: Path, world: World) -> dict:
    """Uninterrupted 4 steps; then 2 steps, checkpoint, 'kill', resume from the checkpoint, finish."""
    cfg, weights = tiny_cfg(), LossWeights()
    config = resolved_config(cfg, VARIANT, weights, toy_data(), world.world_size)
    straight = _run(cfg, world)
    train(straight, cfg, weights, on_checkpoint=lambda run: None)

    def save_then_die(run):
        save_checkpoint(out / "checkpoint.pt", run, config, "test code")
        raise _Killed

    first = _run(cfg, world)
    with pytest.raises(_Killed):
        train(first, cfg, weights, on_checkpoint=save_then_die)
    torch.distributed.barrier()  # rank 0 has written the checkpoint every rank now reads
    resumed = _run(cfg, world)
    assert try_resume(out / "checkpoint.pt", resumed, config, cfg, "test code") and resumed.step == 2
    train(resumed, cfg, weights, on_checkpoint=lambda run: None)
    return {"straight": _state(straight), "resumed": _state(resumed), "history": (straight.history, resumed.history),
            "batch_x": train_iteration_batch(resumed)}


def train_iteration_batch(run) -> torch.Tensor:
    """The next batch this rank would draw (ranks must draw different ones)."""
    return run.sampler.next_batch().x


def _state(run) -> dict[str, torch.Tensor]:
    out = {}
    for group, nets in (("nets", run.nets), ("ema", run.ema)):
        for name in ("generator", "mapping", "encoder", "discriminator"):
            module = getattr(nets, name)
            if module is not None:
                out.update({f"{group}.{name}.{k}": v.clone() for k, v in module.state_dict().items()})
    return out


def _worker(rank: int, port: int, out: str, job: str) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port)})
    torch.set_num_threads(1)
    world = World(rank=rank, world_size=WORLD_SIZE, local_rank=rank)
    with process_group(world, torch.device("cpu")) as joined:
        if job == "resume":
            result = resume_run(Path(out), joined)
        else:
            result = {f"{phase}_{dtype}": one_step(phase, joined, dtype) for phase in ("d", "g")
                      for dtype in (torch.float64, torch.float32)}
    torch.save(result, Path(out) / f"{job}_rank{rank}.pt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn(job: str, out: Path) -> list[dict]:
    mp.spawn(_worker, args=(_free_port(), str(out), job), nprocs=WORLD_SIZE, join=True)
    return [torch.load(out / f"{job}_rank{r}.pt", weights_only=True) for r in range(WORLD_SIZE)]


def _worst(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max(float((a[k].detach() - b[k].detach()).abs().max()) for k in a)


@pytest.mark.parametrize("phase", ["d", "g"], ids=["d_step_with_r1", "g_step"])
def test_two_ranks_equal_one_process_with_the_whole_batch(two_rank_steps, phase):
    for dtype in (torch.float64, torch.float32):
        key, single = f"{phase}_{dtype}", one_step(phase, SINGLE, dtype)
        for result in two_rank_steps:
            assert result[key]["grads"].keys() == single["grads"].keys(), key
            # every rank holds the same weights, bit for bit (one all-reduce result, the same Adam step)
            assert _worst(result[key]["params"], two_rank_steps[0][key]["params"]) == 0.0, key
        ranked = two_rank_steps[0][key]
        if dtype == torch.float64:
            assert _worst(ranked["params"], single["params"]) <= PARAM_ATOL_FLOAT64, key
            before = {f"{n}.{k}": p for n, m in _run(tiny_cfg(), dtype=dtype).nets.as_dict().items()
                      for k, p in m.named_parameters()}
            assert _worst(ranked["params"], before) > 0.5 * TINY["lr"]  # the step moved them: not a vacuous check
        for k, grad in single["grads"].items():
            error = float((ranked["grads"][k] - grad).abs().max())
            assert error <= GRAD_RTOL_FLOAT32 * float(grad.abs().max()) + GRAD_ATOL_FLOAT32, (key, k, error)


@pytest.fixture(scope="module")
def two_rank_steps(tmp_path_factory):
    """Both phases in float64 and float32, each from fresh nets, on 2 spawned gloo ranks (one spawn for all)."""
    return spawn("step", tmp_path_factory.mktemp("steps"))


def test_two_rank_resume_is_bit_identical(tmp_path):
    ranks = spawn("resume", tmp_path)
    for result in ranks:
        a, b = result["straight"], result["resumed"]
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), [k for k in a if not
                                                                                 torch.equal(a[k], b[k])][:5]
        assert result["history"][0] == result["history"][1]
        assert all(torch.equal(result["straight"][k], ranks[0]["straight"][k]) for k in a)  # ranks agree
    assert not torch.equal(ranks[0]["batch_x"], ranks[1]["batch_x"])  # but draw different batches


def test_per_rank_batch_must_divide():
    assert per_rank_batch(8, World(0, 2, 0)) == 4
    with pytest.raises(ParamsError, match=r"gan.batch_size=5 does not divide over 2 processes"):
        per_rank_batch(5, World(1, 2, 1))


def test_world_from_env_and_rank_seeds():
    assert world_from_env({}) == SINGLE and not SINGLE.distributed
    assert world_from_env({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == World(3, 4, 1)
    assert rank_seed(777, World(0, 4, 0), 0) == 777  # rank 0 = the single process's streams
    seeds = {rank_seed(777, World(r, 4, r), s) for r in range(1, 4) for s in (0, 1)}
    assert len(seeds) == 6 and 777 not in seeds  # every other rank and stream draws its own


def test_torchrun_stage_trains_and_rank0_writes_the_outputs(tiny_dataset, tmp_path):
    """The real stage under torchrun (2 CPU processes, gloo): it finishes, writes its outputs once, resumes."""
    params = yaml.safe_load(tiny_dataset["params"].read_text())
    params["gan"] = {**params["gan"], **TINY, "iterations": 2, "ds_decay_iters": 2}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    out, reports = tmp_path / "model", tmp_path / "reports"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={WORLD_SIZE}",
           "-m", "stages.train_gan", "--params", str(tmp_path / "params.yaml"), "--prepared",
           str(tiny_dataset["prepared"]), "--splits", str(tiny_dataset["splits"]), "--variant", "e", "--out", str(out),
           "--reports", str(reports)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    first = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    assert json.loads((out / "config.json").read_text())["world_size"] == WORLD_SIZE
    for name in ("ema.pt", "checkpoint.pt", "config.json"):
        assert (out / name).is_file(), name
    assert (reports / "grid_reference.png").is_file() and (reports / "discriminator.json").is_file()
    assert first.stderr.count("process group: 2 ranks, backend gloo") == 1  # rank 0 logs, the other rank does not
    again = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "training already complete" in again.stderr, again.stderr[-3000:]
