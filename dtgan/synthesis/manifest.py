"""The one schema of a synthetic set, written by every generator family and read by everything downstream.

A synthetic set is a folder with ``manifest.csv`` and ``images/<product>/<target domain>/<mode dir>/<stem>_r<k>.png``.
One manifest row per image (:data:`COLUMNS`):

- ``synth_id``: the image path under ``images/`` without suffix (unique);
- ``source_id``: the Normal image it translates ("" for families that generate from noise alone);
- ``product``, ``target_domain`` (Scratches / Spots), ``mode`` (latent / reference);
- ``reference_set`` (all / same / a product; "" for latent) and ``reference_id`` (the real reference image, "");
- ``seed``: the recorded seed the image was drawn from; ``repeat``: its index among the outputs of one source;
- ``family`` (dtgan, ...) and ``variant`` (the family's model, e.g. DT-GAN's ablation step);
- ``path``: the PNG as the stages see it (repository-relative or absolute); ``sha256``: of the PNG's bytes;
- ``soft_mask_path`` / ``mask_path`` (+ ``_sha256``): the image's soft and binary defect masks (uint8 PNGs,
  255 = defect; :mod:`dtgan.synthesis.masks`) under ``masks/``, "" for a family that cannot produce them.

The sha256 is what makes downstream caching exact: the classifier manifests carry it, so a DVC stage that depends
on a manifest reruns exactly when its images change, and :func:`read_image` refuses an image that changed since.
"""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from dtgan.constants import DEFECT_DOMAINS
from dtgan.errors import DataError
from dtgan.runtime import write_csv

COLUMNS = ("synth_id", "source_id", "product", "target_domain", "mode", "reference_set", "seed", "reference_id",
           "repeat", "family", "variant", "path", "sha256", "soft_mask_path", "soft_mask_sha256", "mask_path",
           "mask_sha256")
MODES = ("latent", "reference")
MANIFEST_NAME = "manifest.csv"
IMAGES_DIR = "images"
MASKS_DIR = "masks"


def mode_dir(mode: str, reference_set: str) -> str:
    """Folder of a mode inside a (product, domain) folder: ``latent`` or ``reference_<set>``."""
    return mode if mode == "latent" else f"reference_{reference_set}"


def png_bytes(image: np.ndarray) -> bytes:
    """The PNG encoding every family uses (PIL defaults), so equal pixels give equal bytes and equal sha256."""
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


class ManifestWriter:
    """Streams PNGs into ``<out_dir>/images`` and collects their rows; :meth:`close` writes ``manifest.csv``.

    The images folder is emptied first, so a manifest never lists (or sits beside) images of an earlier run.
    """

    def __init__(self, out_dir: str | Path) -> None:
        self.out_dir = Path(out_dir)
        self.images_dir = self.out_dir / IMAGES_DIR
        self.masks_dir = self.out_dir / MASKS_DIR
        shutil.rmtree(self.images_dir, ignore_errors=True)
        shutil.rmtree(self.masks_dir, ignore_errors=True)
        self.rows: list[dict] = []

    def add(self, image: np.ndarray, *, source_id: str, product: str, target_domain: str, mode: str,
            reference_set: str, seed: int, reference_id: str, repeat: int, family: str, variant: str,
            stem: str, masks: tuple[np.ndarray, np.ndarray] | None = None) -> dict:
        """Write one uint8 (H, W, 3) image (and its soft and binary masks, uint8 (H, W)); ``stem`` names the
        file (the source id, or a per-image counter)."""
        if mode not in MODES or target_domain not in DEFECT_DOMAINS:
            msg = f"synthetic image of mode {mode!r} / domain {target_domain!r}; expected {MODES} / {DEFECT_DOMAINS}"
            raise ValueError(msg)
        relative = Path(product) / target_domain / mode_dir(mode, reference_set) / f"{stem}_r{repeat}.png"
        path = self.images_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        data = png_bytes(image)
        path.write_bytes(data)
        mask_columns = dict.fromkeys(("soft_mask_path", "soft_mask_sha256", "mask_path", "mask_sha256"), "")
        if masks is not None:
            mask_columns = self._write_masks(relative, masks)
        row = {"synth_id": relative.with_suffix("").as_posix(), "source_id": source_id, "product": product,
               "target_domain": target_domain, "mode": mode, "reference_set": reference_set, "seed": seed,
               "reference_id": reference_id, "repeat": repeat, "family": family, "variant": variant,
               "path": str(path), "sha256": hashlib.sha256(data).hexdigest(), **mask_columns}
        self.rows.append(row)
        return row

    def _write_masks(self, relative: Path, masks: tuple[np.ndarray, np.ndarray]) -> dict[str, str]:
        out = {}
        for kind, suffix, mask in zip(("soft_mask", "mask"), ("soft", "binary"), masks, strict=True):
            path = self.masks_dir / relative.with_name(f"{relative.stem}_{suffix}.png")
            path.parent.mkdir(parents=True, exist_ok=True)
            data = png_bytes(mask)
            path.write_bytes(data)
            out[f"{kind}_path"], out[f"{kind}_sha256"] = str(path), hashlib.sha256(data).hexdigest()
        return out

    def close(self) -> pd.DataFrame:
        frame = pd.DataFrame(self.rows, columns=list(COLUMNS))
        write_csv(self.out_dir / MANIFEST_NAME, frame)
        return frame


def read_manifest(synth_dir: str | Path) -> pd.DataFrame:
    """The manifest of a synthetic set with its columns, domains and modes checked (``repeat``/``seed`` as int)."""
    path = Path(synth_dir) / MANIFEST_NAME
    if not path.is_file():
        msg = f"{path} not found; run the stage that synthesises this set first"
        raise DataError(msg)
    manifest = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = sorted(set(COLUMNS) - set(manifest.columns))
    if missing:
        msg = f"{path} lacks column(s) {missing}; expected {list(COLUMNS)} (written by an older version? rerun it)"
        raise DataError(msg)
    if manifest.empty:
        msg = f"{path} lists no images"
        raise DataError(msg)
    for column, allowed in (("target_domain", DEFECT_DOMAINS), ("mode", MODES)):
        bad = sorted(set(manifest[column]) - set(allowed))
        if bad:
            msg = f"{path}: column {column} has value(s) {bad}; expected {list(allowed)}"
            raise DataError(msg)
    try:
        return manifest.astype({"repeat": int, "seed": np.int64})
    except ValueError as exc:
        msg = f"{path}: columns repeat and seed must be integers ({exc})"
        raise DataError(msg) from None


def read_image(path: str | Path, sha256: str = "", size: int | None = None) -> np.ndarray:
    """A synthetic PNG as uint8 RGB (H, W, 3), checked against the sha256 its manifest recorded and the image size."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        msg = f"synthetic image {path} could not be read ({exc}); rerun the stage that synthesised it"
        raise DataError(msg) from None
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        msg = (f"synthetic image {path} differs from the sha256 its manifest recorded: the images changed after the "
               "manifest was written; rerun `dvc repro`")
        raise DataError(msg)
    try:
        with Image.open(io.BytesIO(data)) as img:
            array = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except OSError as exc:
        msg = f"synthetic image {path} could not be decoded ({exc}); rerun the stage that synthesised it"
        raise DataError(msg) from None
    if size is not None and array.shape[:2] != (size, size):
        msg = f"synthetic image {path} is {array.shape[1]}x{array.shape[0]}, expected {size}x{size} (data.image_size)"
        raise DataError(msg)
    return array


def locate_image(synth_dir: str | Path, listed_path: str, synth_id: str, mask: str | None = None) -> Path:
    """The manifest's path, else where the writer puts it under ``synth_dir`` (a set moved since it was written):
    ``images/<synth_id>.png``, or for ``mask="soft"`` / ``"binary"`` ``masks/<synth_id>_<mask>.png``."""
    listed = Path(listed_path)
    if listed.is_file():
        return listed
    if mask is None:
        fallback = Path(synth_dir) / IMAGES_DIR / f"{synth_id}.png"
    else:
        fallback = Path(synth_dir) / MASKS_DIR / f"{synth_id}_{mask}.png"
    if fallback.is_file():
        return fallback
    what = f"{mask} mask" if mask else "image"
    msg = f"synthetic {what} {listed} (manifest of {synth_dir}) not found, nor {fallback}"
    raise DataError(msg)
