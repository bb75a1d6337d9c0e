"""On-the-fly batch augmentation for classifier training (``classifier.augment``), built on torchvision.transforms.v2.

Every augmenter maps float images in [0, 1] (B, 3, H, W) with integer class labels and real(0)/synthetic(1) source
flags to (images, soft class targets (B, C), soft source targets (B, 2)). Targets are always probabilities so one
loss handles the mixing augmentations too.

Source label of a mixed pair (CutMix/MixUp): the class and the source are encoded as one joint label
``source * C + class`` and mixed by torchvision's CutMix/MixUp itself; the class and source targets are the two
marginals of the mixed joint target. So an image pasted 70 % from a real and 30 % from a synthetic image has the
source target (0.7 real, 0.3 synthetic), the same weights as its class target.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torchvision.transforms import v2

from dtgan.classify.config import ClassifierConfig
from dtgan.classify.models import IMAGENET_MEAN

Augmenter = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


def one_hot_targets(labels: torch.Tensor, sources: torch.Tensor, num_classes: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Hard labels as probability targets: (B, num_classes) and (B, 2)."""
    classes = torch.nn.functional.one_hot(labels.long(), num_classes).float()
    return classes, torch.nn.functional.one_hot(sources.long(), 2).float()


def _per_sample(transform: v2.Transform, num_classes: int) -> Augmenter:
    """Apply ``transform`` to each image separately (a v2 transform on a batch would share one random draw)."""

    def augment(images: torch.Tensor, labels: torch.Tensor, sources: torch.Tensor):
        out = torch.stack([transform(img) for img in images])
        return (out, *one_hot_targets(labels, sources, num_classes))

    return augment


def _mixing(mixer_cls: type[v2.Transform], alpha: float, num_classes: int) -> Augmenter:
    # Joint (source, class) labels let torchvision mix both with the same weights (see the module docstring).
    mixer = mixer_cls(alpha=alpha, num_classes=2 * num_classes)

    def augment(images: torch.Tensor, labels: torch.Tensor, sources: torch.Tensor):
        joint = sources.long() * num_classes + labels.long()
        mixed, soft = mixer(images, joint)
        soft = soft.view(-1, 2, num_classes)
        return mixed, soft.sum(dim=1), soft.sum(dim=2)

    return augment


def _identity(num_classes: int) -> Augmenter:
    def augment(images: torch.Tensor, labels: torch.Tensor, sources: torch.Tensor):
        return (images, *one_hot_targets(labels, sources, num_classes))

    return augment


def trad_transform(rotation: float, jitter: float) -> v2.Transform:
    """Traditional augmentation: flips, small rotations, brightness/contrast jitter (parameters not in the paper)."""
    return v2.Compose([
        v2.RandomHorizontalFlip(),
        v2.RandomVerticalFlip(),  # surface textures have no canonical up
        v2.RandomRotation(degrees=rotation, interpolation=v2.InterpolationMode.BILINEAR),
        v2.ColorJitter(brightness=jitter, contrast=jitter),
        v2.Lambda(lambda x: x.clamp(0.0, 1.0)),
    ])


def cutout_transform(prob: float, scale: tuple[float, float]) -> v2.Transform:
    """CutOut (DeVries & Taylor 2017) as square RandomErasing holes filled with the mean colour.

    The mean (ImageNet) colour is 0 after the model's normalisation, as in CutOut's zero-valued holes.
    """
    return v2.RandomErasing(p=prob, scale=scale, ratio=(1.0, 1.0), value=list(IMAGENET_MEAN))


def build_augmenter(cfg: ClassifierConfig, num_classes: int) -> Augmenter:
    """The augmenter selected by ``classifier.augment``."""
    settings = cfg.augment_settings()
    if cfg.augment == "none":
        return _identity(num_classes)
    if cfg.augment == "trad":
        return _per_sample(trad_transform(settings.rotation, settings.jitter), num_classes)
    if cfg.augment == "cutout":
        return _per_sample(cutout_transform(settings.prob, tuple(settings.scale)), num_classes)
    if cfg.augment == "cutmix":
        return _mixing(v2.CutMix, settings.alpha, num_classes)
    if cfg.augment == "mixup":
        return _mixing(v2.MixUp, settings.alpha, num_classes)
    msg = f"classifier.augment must be one of none, trad, cutmix, cutout, mixup; got {cfg.augment!r}"
    raise ValueError(msg)
