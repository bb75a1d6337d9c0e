"""What the defect masks cost the `synthesize` stage: the main synthetic set written with and without masks.

    python -m benchmarks.bench_mask_writing --prepared data/prepared --splits data/splits --model models/gan/e \
        [--params params.yaml] [--rounds 3] [--scratch data]

"With masks" is the stage as it runs: one encoding of each source, one decode of the output and its anchor
G(x, s, 0) together (the background decoded once), the soft and binary masks, two more PNGs and their sha256 per
image. "Without" decodes the output alone and writes no mask (what a family without an anchor does); "full anchor
decode" is the earlier way, output and anchor decoded in full as one double batch. The three alternate for
``--rounds`` rounds in this process, each into a fresh temporary folder under ``--scratch`` (default ``data``,
where the stage writes; ``/dev/shm`` leaves out the disk: creating a file on this machine's disk cost 0.05-1 ms of
kernel time, varying from run to run); the minimum time of each is compared (issue 18's budget: masks add at most
20 %). Run it with nothing else running.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import tempfile
import time
from pathlib import Path

import torch

from dtgan.gans.dtgan.synthesize import DtganTranslator, load_translator
from dtgan.params import load_section, read_params
from dtgan.runtime import setup_logging, to_device
from dtgan.synthesis.config import SynthesisConfig
from dtgan.synthesis.run import Translation, synthesize_set


@dataclasses.dataclass(frozen=True)
class _WithoutMasks(DtganTranslator):
    """The same translator, but the output alone is decoded and no anchor is returned (so no mask is written)."""

    def _with_anchors(self, sources: torch.Tensor, style: torch.Tensor, defect: torch.Tensor | None) -> Translation:
        features = self.generator.encode_features(to_device(sources, self.device))
        return self.generator.decode(features, style, defect), None


@dataclasses.dataclass(frozen=True)
class _FullAnchorDecode(DtganTranslator):
    """Masks as before the shared background decode: output and anchor decoded in full, as one 2B batch."""

    def _with_anchors(self, sources: torch.Tensor, style: torch.Tensor, defect: torch.Tensor | None) -> Translation:
        features = self.generator.encode_features(to_device(sources, self.device))
        both = self.generator.decode(torch.cat([features, features]), torch.cat([style, style]),
                                     torch.cat([defect, torch.zeros_like(defect)]))
        return both[: len(sources)], both[len(sources):]


def _seconds(translator, cfg: SynthesisConfig, prepared: Path, splits: Path, scratch: Path) -> float:
    with tempfile.TemporaryDirectory(dir=scratch, prefix="bench_mask_writing_") as out:
        start = time.perf_counter()
        synthesize_set(translator, cfg, "main", prepared, splits, Path(out) / "main")
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prepared", type=Path, required=True)
    parser.add_argument("--splits", type=Path, required=True)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--params", default="params.yaml")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scratch", type=Path, default=Path("data"), help="folder for the temporary outputs")
    args = parser.parse_args()
    setup_logging()
    logging.getLogger("dtgan").setLevel(logging.WARNING)
    cfg = load_section(SynthesisConfig, read_params(args.params), "synthesis")
    with_masks = load_translator(args.model, cfg.device)
    fields = {f.name: getattr(with_masks, f.name) for f in dataclasses.fields(with_masks)}
    translators = {"without_masks": _WithoutMasks(**fields), "with_masks": with_masks,
                   "with_masks_full_anchor_decode": _FullAnchorDecode(**fields)}
    times: dict[str, list[float]] = {name: [] for name in translators}
    for _ in range(args.rounds):
        for name, translator in translators.items():
            times[name].append(_seconds(translator, cfg, args.prepared, args.splits, args.scratch))
    best = {k: min(v) for k, v in times.items()}
    print(json.dumps({"seconds": {k: [round(t, 2) for t in v] for k, v in times.items()},
                      "min_seconds": {k: round(v, 2) for k, v in best.items()},
                      "mask_overhead": round(best["with_masks"] / best["without_masks"] - 1, 3),
                      "mask_overhead_full_anchor_decode": round(
                          best["with_masks_full_anchor_decode"] / best["without_masks"] - 1, 3),
                      "threads": torch.get_num_threads()}, indent=2))


if __name__ == "__main__":
    main()
