"""Networks of Mask Based Unsupervised Content Transfer (official ``mask_models.py``), for any power-of-two size.

Every block is a 4x4 stride-2 (transposed) conv + BatchNorm + LeakyReLU(0.2), as the official code; the official
nets are these with ``n_blocks=6, channels=32, code_channels=512, separate_channels=25`` at 128 px. Codes are kept
as (N, channels, s, s) maps with s = image_size / 2**n_blocks: the official flattened vectors, concatenated and
viewed as (512, s, s), are exactly these maps concatenated along channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from dtgan.gans.mokady.config import MokadyConfig, check_geometry

LEAK = 0.2


def _down(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(LEAK)]


def _up(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1), nn.BatchNorm2d(c_out), nn.LeakyReLU(LEAK)]


def common_widths(channels: int, n_blocks: int, common_channels: int) -> list[int]:
    """E_c: doubling widths, then the last two blocks at the common-code width (official 32..256, 487, 487)."""
    return [channels * 2**i for i in range(n_blocks - 2)] + [common_channels] * 2


def separate_widths(channels: int, n_blocks: int, separate_channels: int) -> list[int]:
    """E_s: doubling widths capped at 4x the base (official 32, 64, 128, 128, 128), then the separate code."""
    return [min(channels * 2**i, 4 * channels) for i in range(n_blocks - 1)] + [separate_channels]


def decoder_widths(channels: int, n_blocks: int) -> list[int]:
    """Hidden widths of both decoders, halving to the base width (official 512, 256, 128, 64, 32)."""
    return [channels * 2 ** (n_blocks - 2 - j) for j in range(n_blocks - 1)]


class Encoder(nn.Module):
    """A stack of down blocks: image (N, C, H, W) -> code map (N, widths[-1], H / 2**len(widths), same)."""

    def __init__(self, image_channels: int, widths: list[int]):
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in zip([image_channels, *widths[:-1]], widths, strict=True):
            layers += _down(c_in, c_out)
        self.net = nn.Sequential(*layers)
        self.out_channels = widths[-1]

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


def _decoder_trunk(code_channels: int, widths: list[int], out_channels: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for c_in, c_out in zip([code_channels, *widths[:-1]], widths, strict=True):
        layers += _up(c_in, c_out)
    # The last up-conv has no norm/activation: its outputs are squashed by the caller (tanh / sigmoid).
    layers.append(nn.ConvTranspose2d(widths[-1], out_channels, 4, 2, 1))
    return nn.Sequential(*layers)


class NormalDecoder(nn.Module):
    """D_A (official D_A): code (common, separate) -> image in [-1, 1]; fed a zero separate code it renders A."""

    def __init__(self, code_channels: int, widths: list[int], image_channels: int):
        super().__init__()
        self.net = _decoder_trunk(code_channels, widths, image_channels)

    def forward(self, code: Tensor) -> Tensor:
        return torch.tanh(self.net(code))


def compose(content: Tensor, mask: Tensor, base: Tensor) -> Tensor:
    """m * content + (1 - m) * base: outside the mask the base image's own pixels pass through unchanged."""
    return mask * content + (1 - mask) * base


class MaskDecoder(nn.Module):
    """D_B (official D_B): code -> (content in [-1, 1], mask in [0, 1]), pasted over ``base`` by :func:`compose`."""

    def __init__(self, code_channels: int, widths: list[int], image_channels: int):
        super().__init__()
        self.net = _decoder_trunk(code_channels, widths, 1 + image_channels)

    def forward(self, code: Tensor, base: Tensor) -> tuple[Tensor, Tensor]:
        """Returns (output (N, C, H, W), mask (N, 1, H, W)); ``base`` is the image the content is added to."""
        raw = self.net(code)
        mask = torch.sigmoid(raw[:, :1])
        content = torch.tanh(raw[:, 1:])
        if content.shape != base.shape:
            msg = f"MaskDecoder: base image {tuple(base.shape)} does not match the decoded {tuple(content.shape)}"
            raise ValueError(msg)
        return compose(content, mask, base), mask


class CodeDiscriminator(nn.Module):
    """C (official Disc): flattened common code -> logit of "this code came from a B (defect) image"."""

    def __init__(self, code_numel: int, hidden: int):
        super().__init__()
        # Official: Linear-LeakyReLU-Linear-Sigmoid + BCELoss; here logits + BCE-with-logits (same loss, stabler).
        self.net = nn.Sequential(nn.Linear(code_numel, hidden), nn.LeakyReLU(LEAK), nn.Linear(hidden, 1))

    def forward(self, common: Tensor) -> Tensor:
        return self.net(common.flatten(1)).squeeze(1)


@dataclass
class MokadyNets:
    """The five networks; ``code_disc`` is only needed for training."""

    common_encoder: Encoder     # E_c, shared by both domains
    separate_encoder: Encoder   # E_s, the content only B has
    normal_decoder: NormalDecoder  # D_A
    mask_decoder: MaskDecoder   # D_B
    code_disc: CodeDiscriminator   # C

    def as_dict(self) -> dict[str, nn.Module]:
        return {name: getattr(self, name) for name in
                ("common_encoder", "separate_encoder", "normal_decoder", "mask_decoder", "code_disc")}

    def autoencoder_parameters(self) -> list[nn.Parameter]:
        """Everything the official ``ae_optimizer`` trains (all but C)."""
        modules = (self.common_encoder, self.separate_encoder, self.normal_decoder, self.mask_decoder)
        return [p for m in modules for p in m.parameters()]

    def parameter_counts(self) -> dict[str, int]:
        return {name: sum(p.numel() for p in m.parameters()) for name, m in self.as_dict().items()}

    def zero_separate(self, common: Tensor) -> Tensor:
        """The all-zero separate code matching a batch of common codes (official ``B_separate``)."""
        n, _, h, w = common.shape
        return common.new_zeros(n, self.separate_encoder.out_channels, h, w)


TRANSFER_MODULES = ("common_encoder", "separate_encoder", "mask_decoder")  # what synthesis needs


def build_networks(cfg: MokadyConfig, image_size: int, image_channels: int, seed: int) -> MokadyNets:
    """The one place that reads the config. PyTorch default init as the official code, drawn from ``seed``
    without touching torch's global RNG."""
    side = check_geometry(cfg, image_size, image_channels)
    common_channels = cfg.code_channels - cfg.separate_channels
    dec = decoder_widths(cfg.channels, cfg.n_blocks)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MokadyNets(
            common_encoder=Encoder(image_channels, common_widths(cfg.channels, cfg.n_blocks, common_channels)),
            separate_encoder=Encoder(image_channels,
                                     separate_widths(cfg.channels, cfg.n_blocks, cfg.separate_channels)),
            normal_decoder=NormalDecoder(cfg.code_channels, dec, image_channels),
            mask_decoder=MaskDecoder(cfg.code_channels, dec, image_channels),
            code_disc=CodeDiscriminator(common_channels * side * side, cfg.disc_hidden),
        )
