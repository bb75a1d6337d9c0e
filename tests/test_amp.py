"""gan.amp: each mixed-precision mode trains a few tiny steps on the CPU with finite losses; bad values rejected."""

from __future__ import annotations

import math

import pytest
import torch

from dtgan.errors import ParamsError
from dtgan.gans.dtgan.config import AMP_MODES, GanConfig, LossWeights
from dtgan.gans.dtgan.training.loop import train
from dtgan.gans.dtgan.training.objectives import discriminator_loss
from dtgan.gans.dtgan.training.precision import AMP_DTYPES, autocast
from dtgan.gans.dtgan.training.schedules import discriminator_weights
from dtgan.params import from_mapping
from tests.test_distributed import _run, global_batch, tiny_cfg


@pytest.mark.parametrize("amp", ["none", "bf16", "fp16"])
def test_amp_modes_give_finite_losses(amp):
    cfg = tiny_cfg(amp=amp, warmup_iters=1, iterations=1, log_every=1)
    run = _run(cfg)
    assert (run.scaler is not None) == (amp == "fp16")  # loss scaling for fp16 only
    train(run, cfg, LossWeights(), on_checkpoint=lambda state: None)
    assert run.step == 2 and len(run.history) == 2  # one warm-up step, one GAN iteration
    assert all(math.isfinite(v) for row in run.history for v in row.values()), run.history
    # the weights, their EMA and Adam's state stay fp32 whatever the forward passes ran in
    assert all(p.dtype == torch.float32 for p in run.nets.generator.parameters())
    assert all(p.dtype == torch.float32 for p in run.ema.generator.parameters())


def test_r1_runs_in_fp32_under_bf16_autocast():
    cfg = tiny_cfg(amp="bf16")
    run = _run(cfg)
    batch = global_batch(cfg)
    dtypes = []
    hook = run.nets.discriminator.register_forward_hook(lambda m, args, out: dtypes.append(out.logit.dtype))
    with autocast("bf16", run.device), torch.no_grad():
        codes = run.nets.mapping(batch.z1, batch.y_trg)
    with autocast("bf16", run.device):
        total, logged = discriminator_loss(run.nets, batch, codes, discriminator_weights(LossWeights(), 1.0))
    hook.remove()
    assert dtypes == [torch.float32, torch.bfloat16]  # real pass (R1's) in fp32, the fake pass in bf16
    assert math.isfinite(logged["r1"]) and logged["r1"] > 0


def test_amp_rejects_unknown_modes():
    with pytest.raises(ParamsError, match="gan.amp"):
        from_mapping(GanConfig, {"amp": "fp8"}, "gan")


def test_every_amp_mode_has_a_dtype():
    assert set(AMP_MODES) == {"none", *AMP_DTYPES}
