"""The GAN baselines of the supplement (Tables 15 and 18) besides DT-GAN's own ablation ladder: one place that
names each method, the family that trains it, its augmentation and guidance, and its rows in the paper's tables.

A method's synthetic sets are written through the shared manifest (:mod:`dtgan.synthesis.manifest`), so assemble,
evaluate, the classifiers and report treat every method alike; only the training stage is the family's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from dtgan.errors import ParamsError


@dataclass(frozen=True)
class Method:
    name: str  # params `baseline_methods` entry, folder name under models/ and reports/
    family: str  # the package under dtgan/gans/ that trains it
    augment: str  # the family's augmentation switch: none | ada | diffaug
    guidance: str  # latent (from noise) or reference (a defect image's content onto a Normal source)
    label: str  # the row label in our tables
    table15_paper: str | None  # the paper's Table 15 row (with Trad-Aug), None when the paper has none
    table18_paper: str  # the paper's Table 18 row


METHODS: dict[str, Method] = {m.name: m for m in (
    Method("stylegan2", "stylegan2", "none", "latent", "StyleGAN2", "StyleGAN2", "StyleGAN2"),
    Method("stylegan2_ada", "stylegan2", "ada", "latent", "StyleGAN2 + ADA", None, "StyleGAN2 + ADA"),
    Method("biggan", "biggan", "none", "latent", "BigGAN", None, "BigGAN"),
    # The paper's Table 15 has one BigGAN row, "BigGAN*" (* = trained with DiffAugment, Table 18's note).
    Method("biggan_diffaug", "biggan", "diffaug", "latent", "BigGAN + DiffAugment", "BigGAN*", "BigGAN + DiffAug"),
    Method("mokady", "mokady", "none", "reference", "Mokady et al.", "Mokady", "Mokady et al."),
)}


def get_method(name: str, family: str | None = None) -> Method:
    """The method called ``name`` (of ``family`` when given); a clear error otherwise."""
    method = METHODS.get(name)
    if method is None or (family is not None and method.family != family):
        allowed = sorted(n for n, m in METHODS.items() if family is None or m.family == family)
        msg = f"unknown baseline method {name!r}{'' if family is None else f' for family {family}'}; expected {allowed}"
        raise ParamsError(msg)
    return method
