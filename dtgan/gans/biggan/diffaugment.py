"""DiffAugment (Zhao et al., NeurIPS 2020): differentiable augmentations applied to every image D sees.

The policy is a comma-separated subset of ``color``, ``translation`` and ``cutout`` ("" = off), applied in the order
written. Each image gets its own random parameters, drawn from a caller-given ``torch.Generator`` (the run's sampler
RNG), so a run is reproducible and resumes identically:

- ``color``: brightness + U[-0.5, 0.5), then saturation x U[0, 2), then contrast x U[0.5, 1.5), each around the
  image's own mean (saturation around the per-pixel channel mean, so it is the identity for grey images);
- ``translation``: an integer shift of up to 1/8 of the size per axis, the uncovered border zero-filled;
- ``cutout``: one square of half the size (per axis) set to zero, its corner uniform so it may be partly outside.

Every parameter depends on its image only, never on the other images of the batch: augmenting the concatenation
``[fakes, reals]`` in one call (as the D step does) gives each image the same result as augmenting it with its own
parameters, and real and fake images are augmented independently of each other.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

OPS = ("color", "translation", "cutout")
TRANSLATION_RATIO = 0.125  # DiffAugment's default shift: 1/8 of the image size
CUTOUT_RATIO = 0.5  # DiffAugment's default square: half the image size

AugmentParams = dict[str, Tensor]


def parse_policy(policy: str) -> tuple[str, ...]:
    """The ops of ``policy`` in order; ``ValueError`` for an unknown or repeated op."""
    problem = policy_problem(policy)
    if problem:
        msg = f"DiffAugment policy {policy!r} {problem}"
        raise ValueError(msg)
    return tuple(op.strip() for op in policy.split(",")) if policy.strip() else ()


def policy_problem(policy: str) -> str | None:
    """Why ``policy`` is invalid (for params validation), or None."""
    if not isinstance(policy, str):
        return "must be a string"
    ops = [op.strip() for op in policy.split(",")] if policy.strip() else []
    unknown = [op for op in ops if op not in OPS]
    if unknown:
        return f"has unknown op(s) {unknown}; allowed: a comma-separated subset of {list(OPS)} or ''"
    if len(set(ops)) != len(ops):
        return "names an op twice"
    return None


def _shift(size: int) -> int:
    return int(size * TRANSLATION_RATIO + 0.5)


def _cutout_size(size: int) -> int:
    return int(size * CUTOUT_RATIO + 0.5)


def draw_params(policy: str, n: int, height: int, width: int, generator: torch.Generator) -> AugmentParams:
    """Random parameters of ``policy`` for ``n`` images, drawn on the CPU from ``generator`` in policy order."""
    params: AugmentParams = {}
    for op in parse_policy(policy):
        if op == "color":
            params["brightness"] = torch.rand(n, generator=generator) - 0.5
            params["saturation"] = torch.rand(n, generator=generator) * 2.0
            params["contrast"] = torch.rand(n, generator=generator) + 0.5
        elif op == "translation":
            sy, sx = _shift(height), _shift(width)
            dy = torch.randint(-sy, sy + 1, (n,), generator=generator)
            dx = torch.randint(-sx, sx + 1, (n,), generator=generator)
            params["translation"] = torch.stack([dy, dx], dim=1)
        else:
            # Corner in [-size//2, dim - size//2]: the square's centre is uniform over the image (and one step past
            # it for even sizes, as in the reference), so squares near the border are clipped.
            ch, cw = _cutout_size(height), _cutout_size(width)
            top = torch.randint(-(ch // 2), height - ch // 2 + 1, (n,), generator=generator)
            left = torch.randint(-(cw // 2), width - cw // 2 + 1, (n,), generator=generator)
            params["cutout"] = torch.stack([top, left], dim=1)
    return params


def slice_params(params: AugmentParams, start: int, stop: int) -> AugmentParams:
    """The parameters of images ``start:stop`` (to augment part of a batch exactly as in the whole)."""
    return {key: value[start:stop] for key, value in params.items()}


def apply_params(x: Tensor, policy: str, params: AugmentParams) -> Tensor:
    """Augment ``x`` (N, C, H, W) with pre-drawn ``params``; differentiable in ``x``."""
    for op in parse_policy(policy):
        if op == "color":
            x = _color(x, params["brightness"], params["saturation"], params["contrast"])
        elif op == "translation":
            x = _translate(x, params["translation"])
        else:
            x = _cutout(x, params["cutout"])
    return x


def diff_augment(x: Tensor, policy: str, generator: torch.Generator) -> Tensor:
    """Augment ``x`` (N, C, H, W) with fresh per-image parameters from ``generator``; ``policy=""`` returns ``x``
    unchanged and draws nothing."""
    if not parse_policy(policy):
        return x
    n, _, height, width = x.shape
    return apply_params(x, policy, draw_params(policy, n, height, width, generator))


def _per_image(values: Tensor, x: Tensor) -> Tensor:
    """(N,) parameters as (N, 1, 1, 1) on x's device and dtype, to broadcast over an image."""
    return values.to(device=x.device, dtype=x.dtype).view(-1, 1, 1, 1)


def _color(x: Tensor, brightness: Tensor, saturation: Tensor, contrast: Tensor) -> Tensor:
    x = x + _per_image(brightness, x)
    grey = x.mean(dim=1, keepdim=True)
    x = (x - grey) * _per_image(saturation, x) + grey
    mean = x.mean(dim=(1, 2, 3), keepdim=True)  # per image: the batch must not leak into an image
    return (x - mean) * _per_image(contrast, x) + mean


def _translate(x: Tensor, shifts: Tensor) -> Tensor:
    """out[i, :, r, c] = x[i, :, r - dy_i, c - dx_i], zero where that pixel lies outside the image."""
    n, _, height, width = x.shape
    sy, sx = _shift(height), _shift(width)
    padded = F.pad(x, [sx, sx, sy, sy])  # zero padding: pixels shifted in from outside are 0
    shifts = shifts.to(x.device)
    rows = torch.arange(height, device=x.device).view(1, -1) + sy - shifts[:, :1]  # (N, H)
    cols = torch.arange(width, device=x.device).view(1, -1) + sx - shifts[:, 1:]  # (N, W)
    batch = torch.arange(n, device=x.device).view(-1, 1, 1)
    # Advanced indexing on a channels-last view gathers whole pixels; its backward scatters the gradient back.
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def _cutout(x: Tensor, corners: Tensor) -> Tensor:
    n, _, height, width = x.shape
    ch, cw = _cutout_size(height), _cutout_size(width)
    corners = corners.to(x.device)
    rows = torch.arange(height, device=x.device).view(1, -1) - corners[:, :1]  # (N, H), in [0, ch) inside the box
    cols = torch.arange(width, device=x.device).view(1, -1) - corners[:, 1:]
    inside = ((rows >= 0) & (rows < ch))[:, :, None] & ((cols >= 0) & (cols < cw))[:, None, :]  # (N, H, W)
    return x * (~inside).to(x.dtype).unsqueeze(1)
