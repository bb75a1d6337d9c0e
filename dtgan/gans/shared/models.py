"""Where a baseline method's trained models live and which images each one learns.

A class-conditional family (StyleGAN2, BigGAN) trains either one model over every (product, defect domain) class
(``per_product: false``, the CPU default) or, as the supplement says of StyleGAN2, one model per product whose
classes are that product's defect domains (``per_product: true``, the paper profile): the model folder then holds
one sub-folder per product. Either way :func:`model_folders` lists what synthesis loads.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from dtgan.data.cache import load_prepared
from dtgan.data.split import load_split
from dtgan.errors import CheckpointError
from dtgan.gans.shared.data import LabelledImages, defect_classes
from dtgan.gans.shared.training import CONFIG_NAME

TrainOne = Callable[[LabelledImages, Path, Path], None]  # (images, model folder, reports folder)


def train_class_models(train_one: TrainOne, per_product: bool, prepared_dir: Path, splits_dir: Path, out: Path,
                       reports: Path) -> None:
    """Train the method's model(s) on the real defect images of the GAN training split."""
    prepared = load_prepared(prepared_dir)
    gan_train = load_split(splits_dir, "gan_train")
    if not per_product:
        train_one(defect_classes(prepared, gan_train), out, reports)
        return
    for product in sorted(set(gan_train["product"])):
        train_one(defect_classes(prepared, gan_train, (product,)), out / product, reports / product)


def model_folders(model_dir: Path) -> list[Path]:
    """The folder itself when it holds one model, else its per-product sub-folders (sorted)."""
    if (model_dir / CONFIG_NAME).is_file():
        return [model_dir]
    folders = sorted(p for p in model_dir.iterdir() if (p / CONFIG_NAME).is_file()) if model_dir.is_dir() else []
    if not folders:
        msg = f"{model_dir} holds no trained model ({CONFIG_NAME} in it or in per-product sub-folders); train it first"
        raise CheckpointError(msg)
    return folders
