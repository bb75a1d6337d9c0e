"""ADA (Karras et al. 2020, "Training GANs with Limited Data"): differentiable augmentations and the p controller.

Every image D sees, real or fake, in G and D steps alike, goes through :func:`augment`. Each transform is applied
to each image independently with probability ``p``, so at p < ~0.8 the augmented distributions of reals and fakes
only match when the un-augmented ones do (the augmentations do not leak into G's outputs).

Transforms, in the official order and with its parameter distributions: x-flip, rotation by a multiple of 90
degrees, integer translation by up to 1/8 of the side (reflect padding), brightness (add N(0, 0.2)), contrast
(multiply by 2^N(0, 0.5)), saturation (scale the deviation from the per-pixel channel mean by 2^N(0, 1); RGB only).
The official pipeline's general geometric (scale, rotation, anisotropy, fractional translation), luma flip, hue,
filtering, noise and cutout transforms are not implemented. Like the official pipeline, the colour transforms do
not clamp: an augmented image may leave [-1, 1]. Clamping would zero D's gradient with respect to those pixels and
would also change fakes that G renders slightly outside [-1, 1] whenever p > 0; the geometric transforms only
move pixels, so they keep the value range exactly.

All random numbers come from a ``torch.Generator`` (drawn on the CPU, then moved), so a run is reproducible.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

TRANSFORMS = ("xflip", "rotate90", "translate", "brightness", "contrast", "saturation")
TRANSLATE_MAX = 0.125  # fraction of the side (official xint_max)
BRIGHTNESS_STD = 0.2
CONTRAST_LOG2_STD = 0.5
SATURATION_LOG2_STD = 1.0


def _chosen(batch: int, p: float, generator: torch.Generator, device: torch.device) -> Tensor:
    """(B,) bool: which images get this transform."""
    return (torch.rand(batch, generator=generator) < p).to(device)


def _per_image(values: Tensor, device: torch.device) -> Tensor:
    return values.to(device)[:, None, None, None]


def _xflip(x: Tensor, p: float, g: torch.Generator) -> Tensor:
    apply = _chosen(x.shape[0], p, g, x.device)
    return torch.where(_per_image(apply, x.device), x.flip(3), x)


def _rotate90(x: Tensor, p: float, g: torch.Generator) -> Tensor:
    quarter_turns = torch.randint(0, 4, (x.shape[0],), generator=g)
    quarter_turns = torch.where(_chosen(x.shape[0], p, g, torch.device("cpu")), quarter_turns, 0).to(x.device)
    rotations = torch.stack([torch.rot90(x, k, dims=(2, 3)) for k in range(4)])  # (4, B, C, H, W)
    return rotations[quarter_turns, torch.arange(x.shape[0], device=x.device)]


def _translate(x: Tensor, p: float, g: torch.Generator) -> Tensor:
    batch, _, height, width = x.shape
    max_shift = max(1, math.ceil(TRANSLATE_MAX * max(height, width)))
    size = torch.tensor([width, height], dtype=torch.float32)
    shift = torch.round((torch.rand(batch, 2, generator=g) * 2 - 1) * TRANSLATE_MAX * size).long()
    shift = torch.where(_chosen(batch, p, g, torch.device("cpu"))[:, None], shift, 0).to(x.device)
    # Reflect-pad once by the largest possible shift, then crop every image at its own offset (one gather).
    padded = F.pad(x, [max_shift] * 4, mode="reflect")
    rows = torch.arange(height, device=x.device)[None, :] + max_shift - shift[:, 1:2]  # (B, H)
    cols = torch.arange(width, device=x.device)[None, :] + max_shift - shift[:, 0:1]  # (B, W)
    index = torch.arange(batch, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[index, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2)


def _brightness(x: Tensor, p: float, g: torch.Generator) -> Tensor:
    offset = torch.randn(x.shape[0], generator=g) * BRIGHTNESS_STD
    offset = torch.where(_chosen(x.shape[0], p, g, torch.device("cpu")), offset, 0.0)
    return x + _per_image(offset, x.device)


def _contrast(x: Tensor, p: float, g: torch.Generator) -> Tensor:
    # About 0, the middle of [-1, 1] (the official colour matrix acts on [-1, 1] images too).
    factor = torch.exp2(torch.randn(x.shape[0], generator=g) * CONTRAST_LOG2_STD)
    factor = torch.where(_chosen(x.shape[0], p, g, torch.device("cpu")), factor, 1.0)
    return x * _per_image(factor, x.device)


def _saturation(x: Tensor, p: float, g: torch.Generator) -> Tensor:
    if x.shape[1] == 1:  # a grey image has no saturation (official: skipped for 1 channel)
        return x
    factor = torch.exp2(torch.randn(x.shape[0], generator=g) * SATURATION_LOG2_STD)
    apply = _chosen(x.shape[0], p, g, torch.device("cpu"))
    luma = x.mean(dim=1, keepdim=True)  # projection on the grey axis (1, 1, 1) / sqrt(3)
    saturated = luma + (x - luma) * _per_image(factor, x.device)
    return torch.where(_per_image(apply, x.device), saturated, x)


_FUNCTIONS = {
    "xflip": _xflip,
    "rotate90": _rotate90,
    "translate": _translate,
    "brightness": _brightness,
    "contrast": _contrast,
    "saturation": _saturation,
}


def augment(images: Tensor, p: float, generator: torch.Generator, transforms: tuple[str, ...] = TRANSFORMS) -> Tensor:
    """Apply each of ``transforms`` to each image with probability ``p``; differentiable in ``images``.

    p = 0 returns ``images`` itself and draws nothing from ``generator``. Images must be square (rotations).
    """
    unknown = set(transforms) - set(TRANSFORMS)
    if unknown:
        msg = f"unknown augmentation(s) {sorted(unknown)}; known: {TRANSFORMS}"
        raise ValueError(msg)
    if not 0.0 <= p <= 1.0:
        msg = f"augmentation probability p must be in [0, 1], got {p}"
        raise ValueError(msg)
    if p == 0.0:
        return images
    if images.shape[-1] != images.shape[-2]:
        msg = f"augment needs square images, got {tuple(images.shape)}"
        raise ValueError(msg)
    for name in TRANSFORMS:  # the fixed order, whatever the order of ``transforms``
        if name in transforms:
            images = _FUNCTIONS[name](images, p, generator)
    return images


def ada_adjust(p: float, sign_mean: float, *, target: float, batch_size: int, interval: int, ada_kimg: float) -> float:
    """One controller update: p += sign(r_t - target) * batch * interval / (ada_kimg * 1000), clamped to [0, 1].

    ``sign_mean`` is r_t = E[sign(D(real))] over the last ``interval`` D steps: near 1 when D is confidently right
    on every real image (overfitting), so p rises; below the target p falls. The official loop clamps only at 0;
    p > 1 would mean nothing for a probability, so it is clamped at 1 too.
    """
    step = batch_size * interval / (ada_kimg * 1000.0)
    direction = math.copysign(1.0, sign_mean - target) if sign_mean != target else 0.0
    return min(1.0, max(0.0, p + direction * step))
