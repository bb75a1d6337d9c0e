"""The embedded default dataset: procedurally generated surfaces with drawn defects and ground-truth masks.

Three products that differ only in surface structure (A brushed metal with directional grain, B granular grains
and pebbles, C woven periodic grid; brightness and tint are drawn from one distribution for all), random
illumination gradients and sensor noise; defects are drawn on top:
Scratches (thin long strokes, straight or curved, light or dark) and Spots (round or irregular blobs, pits,
stains). Every image comes from its own seed ``(seed, product, domain, index)``, so the data set is identical
for the same seed whatever the other counts are. Images and masks are written in the generic folder layout
(``images/<product>/<domain>/<id>.png``, ``masks/<product>/<domain>/<id>.png``) so one loader serves all sources.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter
from tqdm import tqdm

from dtgan.constants import DOMAINS

log = logging.getLogger(__name__)

Texture = Callable[[np.random.Generator, int], np.ndarray]


def _smooth_noise(rng: np.random.Generator, size: int, blur: tuple[float, float]) -> np.ndarray:
    """Gaussian-ish smoothed noise via separable box blurs in Fourier space, normalised to unit std."""
    noise = rng.standard_normal((size, size))
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.fftfreq(size)[None, :]
    kernel = np.exp(-2 * (np.pi**2) * ((fy * blur[0]) ** 2 + (fx * blur[1]) ** 2))
    out = np.real(np.fft.ifft2(np.fft.fft2(noise) * kernel))
    return (out - out.mean()) / (out.std() + 1e-8)


# Every product draws its brightness and tint from the SAME distribution: a product can only be told from another by
# its surface structure, never by colour or light (otherwise a discriminator's product classifier, and with it
# L_BG, is satisfied by "right colour, any texture"). Texture scales are chosen for the default 32 px images
# (generated at `size`, 64 px, then resized): every texture detail is >= ~4 px at 32 px, within what G's 16x16
# bottleneck can carry (Nyquist: a period of 4 px at 32 px).
BASE_BRIGHTNESS = (0.42, 0.62)
TINT_SPREAD = 0.04  # each RGB channel scaled by 1 + U(-spread, spread), per image


def _scale(size: int) -> float:
    """Texture lengths are given for a 64 px image; other sizes scale them (the paper profile generates 192 px)."""
    return size / 64.0


def brushed_metal(rng: np.random.Generator, size: int) -> np.ndarray:
    """Product A: brushed metal, streaks along a near-horizontal random angle (across-grain std ~2.5 px at 64 px)."""
    k = _scale(size)
    grain = _smooth_noise(rng, size, (2.5 * k, 16.0 * k))
    angle = rng.uniform(-0.2, 0.2)
    grain = np.asarray(Image.fromarray(grain.astype(np.float32)).rotate(np.degrees(angle), resample=Image.BILINEAR))
    return 0.075 * grain + 0.01 * rng.standard_normal((size, size))


def granular(rng: np.random.Generator, size: int) -> np.ndarray:
    """Product B: granular surface, isotropic grains of ~6-10 px at 64 px with scattered bright pebbles."""
    k = _scale(size)
    coarse = _smooth_noise(rng, size, (3.0 * k, 3.0 * k))
    pebbles = np.clip(_smooth_noise(rng, size, (2.0 * k, 2.0 * k)) - 1.6, 0, None)
    return 0.06 * coarse + 0.09 * pebbles - 0.09 * pebbles.mean() + 0.01 * rng.standard_normal((size, size))


def woven(rng: np.random.Generator, size: int) -> np.ndarray:
    """Product C: woven texture, a periodic crossing grid of 5-6 cycles per image (period ~11-13 px at 64 px)."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    period = rng.uniform(5.0, 6.0)
    px, py = rng.uniform(0, 2 * np.pi, 2)
    weave = np.sin(2 * np.pi * period * xx + px) * np.sin(2 * np.pi * period * yy + py)
    k = _scale(size)
    noise = 0.015 * _smooth_noise(rng, size, (2.0 * k, 2.0 * k)) + 0.01 * rng.standard_normal((size, size))
    return 0.09 * weave + noise


TEXTURES: dict[str, Texture] = {"A": brushed_metal, "B": granular, "C": woven}


def _illumination(rng: np.random.Generator, size: int) -> np.ndarray:
    """A random linear light gradient plus a soft vignette."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1) - 0.5
    angle = rng.uniform(0, 2 * np.pi)
    gradient = rng.uniform(0.0, 0.18) * (np.cos(angle) * xx + np.sin(angle) * yy)
    vignette = -rng.uniform(0.0, 0.12) * (xx**2 + yy**2)
    return gradient + vignette


def _texture_for(product: str) -> Texture:
    if product in TEXTURES:
        return TEXTURES[product]
    # Further products cycle through the three surface families, so any product count works.
    names = sorted(TEXTURES)
    return TEXTURES[names[sum(map(ord, product)) % len(names)]]


def _scratch_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    """A thin long stroke, straight or curved (quadratic Bezier), of varying length, width and orientation."""
    canvas = Image.new("L", (size * 2, size * 2), 0)  # drawn at 2x then downsampled for anti-aliasing
    length = rng.uniform(0.35, 0.85) * size * 2
    angle = rng.uniform(0, np.pi)
    centre = rng.uniform(0.3, 0.7, 2) * size * 2
    d = np.array([np.cos(angle), np.sin(angle)]) * length / 2
    p0, p2 = centre - d, centre + d
    bend = rng.choice([0.0, rng.uniform(-0.35, 0.35)]) * length
    p1 = centre + np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-8) * bend
    t = np.linspace(0, 1, 64)[:, None]
    pts = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t**2 * p2
    width = max(2, int(round(rng.uniform(0.03, 0.075) * size * 2)))  # relative, so strokes survive resizing
    ImageDraw.Draw(canvas).line([tuple(p) for p in pts], fill=255, width=width, joint="curve")
    return np.asarray(canvas.resize((size, size), Image.BILINEAR), dtype=np.float32) / 255.0


def _spot_mask(rng: np.random.Generator, size: int) -> tuple[np.ndarray, str]:
    """A round or irregular blob, a pit, or a soft stain; returns (soft mask, kind)."""
    kind = str(rng.choice(["blob", "pit", "stain"], p=[0.45, 0.3, 0.25]))
    radius = {"blob": rng.uniform(0.04, 0.09), "pit": rng.uniform(0.025, 0.05), "stain": rng.uniform(0.08, 0.14)}[kind]
    radius *= size
    cy, cx = rng.uniform(0.2, 0.8, 2) * size
    yy, xx = np.mgrid[0:size, 0:size]
    theta = np.arctan2(yy - cy, xx - cx)
    wobble = 1 + (0.25 if kind != "pit" else 0.05) * np.sin(3 * theta + rng.uniform(0, 6)) * rng.uniform(0.3, 1)
    r = np.hypot(yy - cy, xx - cx) / (radius * wobble)
    edge = 0.25 if kind == "stain" else 0.08
    return np.clip((1 - r) / edge + 0.5, 0, 1).astype(np.float32), kind


def _apply_scratch(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    mask = _scratch_mask(rng, img.shape[0])
    target = rng.choice([rng.uniform(0.88, 1.0), rng.uniform(0.02, 0.15)])  # light or dark stroke
    strength = rng.uniform(0.75, 1.0)
    return img * (1 - strength * mask) + target * strength * mask, mask


def _apply_spot(img: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    mask, kind = _spot_mask(rng, img.shape[0])
    if kind == "pit":  # dark centre with a bright rim
        rim = np.clip(np.asarray(Image.fromarray((mask * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(3)),
                                 dtype=np.float32) / 255.0 - mask, 0, 1)
        out = img * (1 - mask) + 0.05 * mask
        return out * (1 - rim) + 0.9 * rim, np.maximum(mask, rim)
    contrast = rng.uniform(0.2, 0.45) if kind == "stain" else rng.uniform(0.35, 0.6)
    sign = rng.choice([-1.0, 1.0])
    return img + sign * contrast * mask, mask


def generate_sample(product: str, domain: str, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One RGB uint8 image (size, size, 3) and its uint8 mask (255 = defect)."""
    base = rng.uniform(*BASE_BRIGHTNESS)
    gray = base + _texture_for(product)(rng, size) + _illumination(rng, size)
    mask = np.zeros((size, size), np.float32)
    if domain == "Scratches":
        gray, mask = _apply_scratch(gray, rng)
    elif domain == "Spots":
        gray, mask = _apply_spot(gray, rng)
    tint = (1.0 + rng.uniform(-TINT_SPREAD, TINT_SPREAD, 3)).astype(np.float32)
    rgb = np.clip(gray[..., None] * tint, 0, 1)
    return (rgb * 255 + 0.5).astype(np.uint8), ((mask > 0.5) * 255).astype(np.uint8)


def write_embedded_dataset(root: str | Path, counts: Mapping[str, Mapping[str, int]], size: int, seed: int) -> int:
    """Write the dataset under ``root`` (images/ and masks/ trees); returns the number of images written."""
    root = Path(root)
    jobs = [(p, d, i) for p in sorted(counts) for d in DOMAINS for i in range(counts[p].get(d, 0))]
    for product, domain, index in tqdm(jobs, desc="embedded dataset", unit="img", mininterval=1.0):
        rng = np.random.default_rng([seed, _stable_id(product), DOMAINS.index(domain), index])
        image, mask = generate_sample(product, domain, size, rng)
        name = f"{product}_{domain.lower()}_{index:05d}.png"
        for tree, array in (("images", image), ("masks", mask)):
            if tree == "masks" and domain == "Normal":
                continue  # normal images have no defect: no mask file (an all-zero mask)
            out = root / tree / product / domain / name
            out.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(out)
    log.info("embedded dataset: %d images in %s", len(jobs), root)
    return len(jobs)


def _stable_id(name: str) -> int:
    """A process-independent integer for a product name (Python's hash() is salted per process)."""
    return int.from_bytes(name.encode()[:8].ljust(8, b"\0"), "little")
