"""The activation-memory meter of benchmarks/bench_device.py counts what autograd saves, once per storage."""

from __future__ import annotations

import torch

from benchmarks.bench_device import SavedTensorMeter


def test_meter_counts_saved_storages_once_and_frees_them_after_backward():
    x = torch.randn(256, 256, requires_grad=True)  # 256 KiB in fp32
    with SavedTensorMeter() as meter:
        y = x * x  # saves x twice: one storage
        loss = (y.exp() * 2).sum()  # exp saves its output: a second storage
        assert meter.current == 2 * x.numel() * 4
        loss.backward()
        del y, loss
    assert meter.peak == 2 * x.numel() * 4 and meter.current == 0
    assert torch.allclose(x.grad, 4 * x * torch.exp(x * x))  # the hooks do not change the maths
