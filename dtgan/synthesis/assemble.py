"""Classifier training sets at each data scale N and setting (protocol.md §4, supplement C.2, Tables 10/16/17).

Per product: N real Normal images; each defect class brought to N, either by oversampling its real images
(``trad_aug``) or by adding synthetic images of that product and class from the latent set (``latent``), the
reference set (``reference`` = the first of synthesis.reference_sets; ``reference_<set>`` for the others, Table 17),
or half from each (``mix``: the two halves differ by at most one); ``synthetic`` takes the set's own guidance (Mix
when it has both, else its one mode: a GAN baseline's Table 15 set). Validation and test stay the split's.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from dtgan.classify.data import real_rows, synthetic_rows
from dtgan.constants import DEFECT_DOMAINS, NORMAL
from dtgan.errors import DataError
from dtgan.runtime import derive_seed

log = logging.getLogger(__name__)


class AssembleError(DataError):
    """Not enough real or synthetic images for a requested data scale; says how many and what to change."""


def _draw(frame: pd.DataFrame, n: int, rng: np.random.Generator, replace: bool = False) -> pd.DataFrame:
    frame = frame.sort_values("sample_id" if "sample_id" in frame else "synth_id")
    return frame.iloc[rng.choice(len(frame), size=n, replace=replace)] if n else frame.iloc[:0]


def synthetic_pool(synth: pd.DataFrame, product: str, domain: str, mode: str, ref_set: str = "") -> pd.DataFrame:
    keep = (synth["product"] == product) & (synth["target_domain"] == domain) & (synth["mode"] == mode)
    if mode == "reference":
        keep &= synth["reference_set"] == ref_set
    return synth[keep]


def _take_synthetic(pool: pd.DataFrame, n: int, rng: np.random.Generator, what: str) -> pd.DataFrame:
    if len(pool) < n:
        msg = (f"{what}: needs {n} synthetic images but only {len(pool)} are available; lower assemble.scales, or "
               "synthesise from more normals (a larger synthesis pool: data.embedded.counts Normal, or "
               "split.gan_normals_per_product smaller)")
        raise AssembleError(msg)
    return synthetic_rows(_draw(pool, n, rng))


def fill_class(real: pd.DataFrame, synth: pd.DataFrame, product: str, domain: str, needed: int, setting: str,
               reference_sets: tuple[str, ...], rng: np.random.Generator) -> pd.DataFrame:
    """The rows that bring one defect class of one product from its real count up to N (``needed`` more)."""
    if needed == 0:
        return real_rows(real.iloc[:0])
    what = f"product {product!r}, class {domain}, setting {setting}"
    if setting == "trad_aug":
        if real.empty:
            msg = f"{what}: no real images to oversample for trad_aug"
            raise AssembleError(msg)
        return real_rows(_draw(real, needed, rng, replace=True))
    if setting == "synthetic":  # the set's own guidance (a GAN baseline's Table 15 row): Mix when it has both
        modes = set(synth["mode"])
        setting = "mix" if len(modes) > 1 else modes.pop()
    if setting == "latent":
        return _take_synthetic(synthetic_pool(synth, product, domain, "latent"), needed, rng, what)
    if setting == "mix":  # 50% from each subnetwork (supplement C.1); halves differ by at most one
        n_latent = (needed + 1) // 2
        latent = _take_synthetic(synthetic_pool(synth, product, domain, "latent"), n_latent, rng, what)
        ref = synthetic_pool(synth, product, domain, "reference", reference_sets[0])
        return pd.concat([latent, _take_synthetic(ref, needed - n_latent, rng, what)])
    ref_set = reference_sets[0] if setting == "reference" else setting.removeprefix("reference_")
    if ref_set not in reference_sets:
        msg = f"setting {setting!r} needs reference set {ref_set!r} in synthesis.reference_sets {list(reference_sets)}"
        raise AssembleError(msg)
    return _take_synthetic(synthetic_pool(synth, product, domain, "reference", ref_set), needed, rng, what)


def training_set(train: pd.DataFrame, synth: pd.DataFrame, scale: int, setting: str,
                 reference_sets: tuple[str, ...], seed: int, excess: str = "subsample") -> pd.DataFrame:
    """The classifier training manifest for one (scale, setting), all products (one classifier per product)."""
    parts = []
    for product in sorted(train["product"].unique()):
        rng = np.random.default_rng(derive_seed(seed, scale, setting, product))
        rows = train[train["product"] == product]
        normals = rows[rows["domain"] == NORMAL]
        if len(normals) < scale:
            msg = (f"product {product!r} has {len(normals)} real Normal training images but scale N={scale} needs "
                   f"{scale}; lower assemble.scales (or add Normal images: data.embedded.counts)")
            raise AssembleError(msg)
        parts.append(real_rows(_draw(normals, scale, rng)))
        for domain in DEFECT_DOMAINS:
            real = rows[rows["domain"] == domain]
            if len(real) > scale:
                if excess == "error":
                    msg = f"product {product!r} has {len(real)} real {domain} images, more than N={scale}"
                    raise AssembleError(msg)
                real = _draw(real, scale, rng)
            if len(real) == scale and setting != "trad_aug":
                log.warning("scale N=%d, product %r, %s: the %d real images already reach N, so setting %s adds no "
                            "synthetic %s (raise assemble.scales above the real counts)", scale, product, domain,
                            len(real), setting, domain)
            try:
                fill = fill_class(real, synth, product, domain, scale - len(real), setting, reference_sets, rng)
            except AssembleError as exc:
                raise AssembleError(f"scale N={scale}, {exc}") from None
            parts += [real_rows(real), fill]
    return pd.concat(parts, ignore_index=True)


def summarise(manifests: dict[tuple[int, str], pd.DataFrame]) -> pd.DataFrame:
    """Counts per product x class x source x setting x scale."""
    frames = []
    for (scale, setting), manifest in manifests.items():
        counts = manifest.groupby(["product", "label", "source"]).size().rename("count").reset_index()
        frames.append(counts.assign(setting=setting, scale=scale))
    out = pd.concat(frames, ignore_index=True)
    return out[["scale", "setting", "product", "label", "source", "count"]]


def manifest_name(setting: str, scale: int) -> str:
    return f"train_{setting}_N{scale}.csv"
