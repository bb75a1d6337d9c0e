"""DT-GAN networks: generator G, mapping network M, style-defect encoder E, discriminator D (spec dtgan.md §2)."""

from dtgan.models.build import GanNets, build_nets, he_init
from dtgan.models.discriminator import DiscOutput, Discriminator
from dtgan.models.encoder import StyleDefectEncoder
from dtgan.models.generator import Generator
from dtgan.models.mapping import MappingNetwork
from dtgan.models.variants import VARIANTS, VariantFlags, variant_flags

__all__ = [
    "VARIANTS",
    "DiscOutput",
    "Discriminator",
    "GanNets",
    "Generator",
    "MappingNetwork",
    "StyleDefectEncoder",
    "VariantFlags",
    "build_nets",
    "he_init",
    "variant_flags",
]
