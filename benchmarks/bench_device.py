"""DT-GAN training speed and memory on whatever device runs it: one command for a GPU owner, the same on a CPU.

    python -m benchmarks.bench_device                       # default + paper configuration, every gan.amp mode
    python -m benchmarks.bench_device --profiles paper --amp none bf16 --iters 20 --out gpu.json

Per (configuration, gan.amp, gan.compile): ms per GAN iteration of variant (e) (2 D steps with R1 + 2 G steps + EMA, one
process; the minimum over ``--repeats`` timings of ``--iters`` iterations), iterations/s, wall time per 1k
iterations, FLOP per iteration (counted by torch.utils.flop_counter, fp32 graph) and achieved FLOP/s against the
device's measured GEMM peak in the same dtype. Memory of one process (= one GPU under torchrun, which splits the
batch: run with ``--batch-size`` = batch_size / world_size for the per-GPU figure):

- ``weights_gb``: parameters of G, M, E, D + their gradients + Adam's two moments + the EMA copies of G, M, E (fp32);
- ``activations_gb``: the peak of the tensors autograd keeps for backward during one iteration (counted by
  saved-tensor hooks, each storage once), i.e. what the forward passes hold until their backward frees them;
- on CUDA also ``cuda_peak_allocated_gb`` (torch.cuda.max_memory_allocated, the real figure, workspace included);
  on the CPU ``peak_rss_gb`` of the whole process (data, libraries and allocator caches included).

Random images stand in for data. Nothing else may run on the machine meanwhile.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import resource
import time
import weakref
from pathlib import Path
from typing import Any

import torch

from benchmarks.bench_gan import (
    PAPER,
    PAPER_IMAGE_SIZE,
    count_iteration_flops,
    matmul_peak_gflops,
    random_data,
    synchronize,
)
from dtgan.gans.dtgan.config import COMPILE_BACKENDS, GanConfig, LossWeights
from dtgan.gans.dtgan.nets.build import build_nets
from dtgan.gans.dtgan.training.loop import MODULES, build_run, train_iteration
from dtgan.gans.dtgan.training.precision import AMP_DTYPES
from dtgan.params import load_section, read_params
from dtgan.runtime import pick_device, setup_logging, write_json

log = logging.getLogger(__name__)

GB = 1024**3
ADAM_COPIES = 4  # weight, gradient, exp_avg, exp_avg_sq
EMA_MODULES = ("generator", "mapping", "encoder")


class SavedTensorMeter:
    """Peak bytes of the tensors autograd saves for backward while the meter is entered.

    Each saved storage is counted once however many ops save it; a storage's bytes leave the count when the
    last graph node holding it is freed (after its backward), so the peak is the activation memory of the most
    demanding phase of the iteration, not the sum over phases."""

    def __init__(self) -> None:
        self.live: dict[int, list[int]] = {}  # storage pointer -> [bytes, references]
        self.current = self.peak = 0

    def _pack(self, tensor: torch.Tensor) -> Any:
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        entry = self.live.setdefault(key, [storage.nbytes(), 0])
        if entry[1] == 0:
            self.current += entry[0]
            self.peak = max(self.peak, self.current)
        entry[1] += 1
        holder = _Saved(tensor)
        weakref.finalize(holder, self._release, key)
        return holder

    def _release(self, key: int) -> None:
        entry = self.live[key]
        entry[1] -= 1
        if entry[1] == 0:
            self.current -= entry[0]
            del self.live[key]

    def __enter__(self) -> SavedTensorMeter:
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda holder: holder.tensor)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hooks.__exit__(*exc)


class _Saved:
    """What autograd holds instead of the tensor (so the meter sees when it is let go)."""

    __slots__ = ("tensor", "__weakref__")

    def __init__(self, tensor: torch.Tensor) -> None:
        self.tensor = tensor


def weights_bytes(nets: Any) -> int:
    """fp32 parameters, gradients and Adam moments of every trained module, plus the EMA copies."""
    count = {name: sum(p.numel() for p in getattr(nets, name).parameters()) for name in MODULES}
    return 4 * (ADAM_COPIES * sum(count.values()) + sum(count[name] for name in EMA_MODULES))


def measure(cfg: GanConfig, image_size: int, device: torch.device, iters: int, repeats: int) -> dict[str, Any]:
    """Speed and memory of variant (e)'s GAN iteration at ``cfg`` (warm-up off: always an adversarial iteration)."""
    cfg = dataclasses.replace(cfg, warmup_iters=0)
    data = random_data(image_size)
    nets = build_nets(cfg, "e", image_size, data.num_domains, data.num_products, seed=cfg.seed)
    run = build_run(cfg, data, nets, device)
    weights = LossWeights()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    with SavedTensorMeter() as meter:
        train_iteration(run, cfg, weights)  # also the untimed first iteration (allocator, kernels, compiling)
    best = float("inf")
    for _ in range(repeats):
        synchronize(device)
        start = time.perf_counter()
        for _ in range(iters):
            train_iteration(run, cfg, weights)
        synchronize(device)
        best = min(best, (time.perf_counter() - start) / iters)
    result = {"ms_per_iteration": 1000 * best, "iterations_per_s": 1 / best,
              "minutes_per_1k_iterations": best * 1000 / 60,
              "weights_gb": weights_bytes(run.nets) / GB, "activations_gb": meter.peak / GB}
    if device.type == "cuda":
        result["cuda_peak_allocated_gb"] = torch.cuda.max_memory_allocated(device) / GB
    else:
        result["peak_rss_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return result


def count_flops(cfg: GanConfig, image_size: int) -> int:
    """FLOP of one fp32 GAN iteration (counted on the CPU: the count does not depend on the device)."""
    cfg = dataclasses.replace(cfg, warmup_iters=0, amp="none")
    data = random_data(image_size)
    nets = build_nets(cfg, "e", image_size, data.num_domains, data.num_products, seed=cfg.seed)
    return count_iteration_flops(build_run(cfg, data, nets, torch.device("cpu")), cfg, LossWeights())


def profile_config(name: str, params: Path, batch_size: int | None) -> tuple[GanConfig, int]:
    """The gan section of params.yaml (``default``) or the paper's sizes (``paper``: 128 px, batch 4, 512 channels)."""
    if name == "paper":
        cfg, image_size = dataclasses.replace(GanConfig(), **PAPER), PAPER_IMAGE_SIZE
    else:
        cfg = load_section(GanConfig, params, "gan")
        image_size = int(read_params(params)["data"]["image_size"])
    return (dataclasses.replace(cfg, batch_size=batch_size) if batch_size else cfg), image_size


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto", help="auto (cuda when present), cpu, cuda, cuda:1 ...")
    parser.add_argument("--profiles", nargs="+", choices=("default", "paper"), default=["default", "paper"])
    parser.add_argument("--amp", nargs="+", choices=("none", *AMP_DTYPES), default=None,
                        help="gan.amp modes to time (default: none bf16, and fp16 on CUDA)")
    parser.add_argument("--compile", nargs="+", choices=COMPILE_BACKENDS, default=["none"],
                        help="gan.compile backends to time (inductor compiles for minutes on a CPU)")
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--batch-size", type=int, default=None, help="per-process batch (default: the profile's)")
    parser.add_argument("--iters", type=int, default=10, help="timed iterations per repeat (paper profile: 2)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="JSON of the results (default: log only)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    setup_logging()
    args = parse_args(argv)
    device = pick_device(args.device)
    amps = args.amp or (["none", "bf16", "fp16"] if device.type == "cuda" else ["none", "bf16"])
    peaks = {amp: _peak(device, amp) for amp in amps}
    report: dict[str, Any] = {"device": str(device), "device_name": _device_name(device),
                              "threads": torch.get_num_threads(), "torch": torch.__version__,
                              "matmul_peak_gflops": peaks, "results": []}
    for name in args.profiles:
        cfg, image_size = profile_config(name, args.params, args.batch_size)
        flops = count_flops(cfg, image_size)
        iters = args.iters if name == "default" or device.type == "cuda" else min(args.iters, 2)
        for amp, backend in ((a, c) for a in amps for c in args.compile):
            row = {"profile": name, "image_size": image_size, "batch_size": cfg.batch_size,
                   "max_channels": cfg.max_channels, "amp": amp, "compile": backend, "gflop_per_iteration": flops / 1e9,
                   **measure(dataclasses.replace(cfg, amp=amp, compile=backend), image_size, device, iters,
                             args.repeats)}
            row["achieved_gflops"] = flops / (row["ms_per_iteration"] / 1000) / 1e9
            row["fraction_of_peak"] = row["achieved_gflops"] / peaks[amp]
            log.info("%s", json.dumps(row))
            report["results"].append(row)
    if args.out:
        write_json(args.out, report)
    log.info("%s", json.dumps(report, indent=2))


def _peak(device: torch.device, amp: str) -> float:
    """GEMM peak in the dtype of ``amp``. CPUs without native bf16/fp16 (no AVX512-BF16/AMX) run those GEMMs at
    ~1 GFLOP/s, where a 2048^3 product takes a quarter of a minute; 512 is plenty to measure that."""
    dtype = AMP_DTYPES.get(amp, torch.float32)
    n = 512 if device.type == "cpu" and dtype != torch.float32 else 2048
    return matmul_peak_gflops(n=n, device=device, dtype=dtype)


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        return next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name"))
    except (OSError, StopIteration):
        return "cpu"


if __name__ == "__main__":
    main()
