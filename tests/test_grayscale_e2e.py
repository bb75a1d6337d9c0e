"""End-to-end on grayscale data in MTD's folder layout: the GAN works in one channel and every synthetic PNG is grey.

A tiny MTD-shaped tree (``MT_Free`` / ``MT_Crack`` / ``MT_Blowhole``, ``Imgs/NAME.jpg`` with ``NAME.png`` masks) goes
through the real prepare, split, train_gan (variant e, a few steps) and synthesize stages. Colour casts on grey
tiles were a reported bug: the channel count must follow the data.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from stages import prepare, split, synthesize, train_gan
from tests.conftest import tiny_params, write_params

pytestmark = pytest.mark.slow

COUNTS = {"MT_Free": 36, "MT_Crack": 14, "MT_Blowhole": 14}


def _write_mtd_tree(root, rng: np.random.Generator) -> None:
    for folder, n in COUNTS.items():
        imgs = root / folder / "Imgs"
        imgs.mkdir(parents=True)
        for i in range(n):
            grey = np.clip(128 + 20 * np.sin(np.arange(48) / 3 + rng.uniform(0, 6))[None, :]
                           + rng.normal(0, 8, (48, 48)), 0, 255)
            mask = np.zeros((48, 48), np.uint8)
            if folder == "MT_Crack":
                row = rng.integers(10, 38)
                mask[row:row + 2, 8:40] = 255
            elif folder == "MT_Blowhole":
                r, c = rng.integers(12, 36, 2)
                mask[r - 3:r + 3, c - 3:c + 3] = 255
            grey[mask > 0] = 30
            Image.fromarray(grey.astype(np.uint8), mode="L").save(imgs / f"img_{i}.jpg", quality=95)
            Image.fromarray(mask, mode="L").save(imgs / f"img_{i}.png")


def test_grayscale_data_gives_grayscale_outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # manifests list synthetic PNGs relative to the workspace
    _write_mtd_tree(tmp_path / "mtd", np.random.default_rng(0))
    params = tiny_params(gan={"warmup_iters": 10, "iterations": 4, "ds_decay_iters": 4, "checkpoint_every": 4,
                              "device": "cpu"},
                         split={"holdout_per_domain": 4, "gan_normals_per_product": 12},
                         synthesis={"device": "cpu"})
    params["data"].update({"source": "mtd", "root": str(tmp_path / "mtd")})
    path = write_params(tmp_path / "params.yaml", params)
    common = ["--params", str(path)]
    assert prepare.main([*common, "--out", str(tmp_path / "prepared")]) in (0, None)
    split.main([*common, "--prepared", str(tmp_path / "prepared"), "--out", str(tmp_path / "splits"),
                "--summary", str(tmp_path / "split_summary.csv")])
    data = [*common, "--prepared", str(tmp_path / "prepared"), "--splits", str(tmp_path / "splits")]
    train_gan.main([*data, "--variant", "e", "--out", str(tmp_path / "gan"), "--reports", str(tmp_path / "rep")])
    config = json.loads((tmp_path / "gan" / "config.json").read_text())
    assert config["image_channels"] == 1
    synthesize.main([*data, "--model", str(tmp_path / "gan"), "--set", "main", "--out", str(tmp_path / "synth")])
    manifest = pd.read_csv(tmp_path / "synth" / "manifest.csv", keep_default_na=False)
    assert len(manifest) > 0
    for rel in manifest["path"]:
        with Image.open(tmp_path / rel) as img:
            pixels = np.asarray(img.convert("RGB")).astype(int)
        assert (pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all(), rel
    grid = np.asarray(Image.open(tmp_path / "rep" / "grid_reference.png").convert("RGB")).astype(int)
    assert np.abs(grid[..., 0] - grid[..., 2]).max() == 0  # sample grids are grey too
