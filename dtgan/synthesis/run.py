"""Library entry points of the synthesize stage: the main (pool) set and the evaluation sets."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pandas as pd

from dtgan.constants import DEFECT_DOMAINS, NORMAL
from dtgan.data import load_prepared, load_split
from dtgan.runtime import pick_device, write_csv
from dtgan.synthesis.config import SynthesisConfig
from dtgan.synthesis.translate import Translator, plan_jobs, run_translation
from dtgan.training.checkpoint import load_ema

log = logging.getLogger(__name__)

# The main set translates the synthesis pool (training normals held back from GAN training, supplement C.1);
# the evaluation set translates held-out test normals (protocol.md §5), never seen by the GAN.
SOURCE_SPLIT = {"main": "pool", "eval": "test"}


def load_translator(model_dir: Path, device_name: str) -> tuple[Translator, dict]:
    device = pick_device(device_name)
    nets, config = load_ema(model_dir, device)
    tr = Translator(nets.generator.eval(), nets.mapping.eval(), nets.encoder.eval(),
                    int(config["gan"]["latent_dim"]), device)
    return tr, config


def synthesize_set(cfg: SynthesisConfig, which: str, prepared_dir: Path, splits_dir: Path, model_dir: Path,
                   out_dir: Path) -> pd.DataFrame:
    """Translate every Normal image of the source split; writes ``images/`` and ``manifest.csv`` to ``out_dir``."""
    prepared = load_prepared(prepared_dir)
    sources = load_split(splits_dir, SOURCE_SPLIT[which])
    sources = sources[sources["domain"] == NORMAL].sort_values("sample_id").reset_index(drop=True)
    references = load_split(splits_dir, "gan_train")
    tr, config = load_translator(model_dir, cfg.device)
    ref_sets = cfg.reference_sets if which == "main" else ("all",)
    repeats = 1 if which == "main" else cfg.eval_repeats
    jobs = plan_jobs(sources, DEFECT_DOMAINS, ref_sets, repeats)
    image_dir = out_dir / "images"
    shutil.rmtree(image_dir, ignore_errors=True)  # never mix outputs of an earlier run into the manifest
    manifest = run_translation(tr, sources, prepared.images, references, jobs, cfg.seed, config["variant"],
                               image_dir, cfg.batch_size)
    write_csv(out_dir / "manifest.csv", manifest)
    log.info("%s set: %d images from %d sources -> %s", which, len(manifest), len(sources), out_dir)
    return manifest
