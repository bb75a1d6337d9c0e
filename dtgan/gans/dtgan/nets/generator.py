"""DT-GAN generator G (spec dtgan.md §2.1, supplement Table 11) and its ablation forms.

Widths derive from ``max_channels`` (paper 512) and ``fg_channels`` (paper 64), so the CPU default and the paper
configuration are the same code. The encoder downsamples ``n = log2(image_size) - 4`` times, so the bottleneck is
16x16 at every resolution as in StarGAN v2 (n = 3 at 128 px). Widths double from ``max / 2**(n-1)`` up to ``max``
(paper: 128 -> 256 -> 512 -> 512), which with max = 512 is exactly StarGAN v2's ``dim_in = 2**14 / img_size``
at every resolution (256 at 64 px, 512 at 32 px).

Forms:
- (a) StarGAN v2 with w_hpf = 0: 3x3 from_rgb, AdaIN decoder over all channels, no defect code.
- (b), (c): Table 11 encoder (1x1 from_rgb); the last ``fg_channels`` bottleneck channels are replaced by the
  defect code, then the StarGAN v2 AdaIN decoder runs over all channels.
- (d), (e): the background (first ``max - fg`` channels) goes through plain IN ResBlks that never see style or
  defect; the defect code goes through AdaIN ResBlks driven by the style; the two 128 px maps are concatenated and
  fused by a 1x1 conv to RGB (supplement Table 11 / spec §2.1; no tanh, like StarGAN v2's to_rgb). Spec §10's
  guess of an IN -> LReLU prefix (StarGAN v2's to_rgb) is not used: without a style to restore them, IN there erases
  each image's per-channel means, i.e. the background's colour and illumination. Training G + E to reconstruct
  (300 steps, `python -m benchmarks.bench_gan_design`) reached held-out PSNR 27.7 dB with it and 31.6 dB without
  (both with the small init of dtgan.gans.dtgan.nets.build.init_fusion; a flat mean-colour image scores 24.6 dB).
"""

from __future__ import annotations

import torch
from torch import nn

from dtgan.gans.dtgan.nets.blocks import (
    CODE_SIZE,
    AdainResBlk,
    InstanceNorm,
    ResBlk,
    UpResBlk,
    check_image_batch,
    downsamples_to_code,
)


def encoder_widths(max_channels: int, num_downsamples: int) -> list[int]:
    """Channels after from_rgb and after each downsampling block; paper (3 downsamples): [max/4, max/2, max, max]."""
    stem = max(1, max_channels // 2 ** (num_downsamples - 1))
    return [stem] + [min(max_channels, stem * 2 ** (i + 1)) for i in range(num_downsamples)]


def _to_rgb(channels: int, image_channels: int) -> nn.Sequential:
    return nn.Sequential(InstanceNorm(channels, affine=True), nn.LeakyReLU(0.2),
                         nn.Conv2d(channels, image_channels, 1, 1, 0))


class Generator(nn.Module):
    """Encoder -> (defect swap) -> decoder(s) -> RGB; see the module docstring for the variant forms."""

    def __init__(
        self,
        image_size: int = 128,  # input/output side in pixels (power of two, >= 8)
        style_dim: int = 64,  # style code length s
        max_channels: int = 512,  # widest layer; every width derives from it
        fg_channels: int = 64,  # bottleneck channels holding the foreground/defect code
        defect_code: bool = True,  # (b)+: swap the fg slice of the bottleneck with a defect code
        separate_decoding: bool = True,  # (d)+: background and foreground decoders fused at the end
        from_rgb_kernel: int = 1,  # Table 11 uses 1x1; StarGAN v2 (variant a) uses 3x3
        encoder_norm: bool = True,  # instance norm in the encoder ResBlks (Table 11 / StarGAN v2: True)
        fg_relative: bool = False,  # (d)+: the foreground decoder's output minus its output for the zero code
        image_channels: int = 3,  # 3 (RGB, the paper) or 1 for grayscale data: in and out channels follow the data
    ) -> None:
        super().__init__()
        _check_generator_args(image_size, max_channels, fg_channels, defect_code, separate_decoding)
        self.image_size = image_size
        self.style_dim = style_dim
        self.max_channels = max_channels
        self.fg_channels = fg_channels if defect_code else 0
        self.defect_code = defect_code
        self.separate_decoding = separate_decoding
        self.image_channels = image_channels
        self.fg_relative = fg_relative and separate_decoding
        self.code_size = CODE_SIZE
        downsamples = downsamples_to_code(image_size)
        widths = encoder_widths(max_channels, downsamples)
        self.from_rgb = nn.Conv2d(image_channels, widths[0], from_rgb_kernel, 1, from_rgb_kernel // 2)
        self.encode = nn.ModuleList(
            [ResBlk(widths[i], widths[i + 1], normalize=encoder_norm, downsample=True) for i in range(downsamples)]
            + [ResBlk(max_channels, max_channels, normalize=encoder_norm) for _ in range(2)]
        )
        if separate_decoding:
            self.bg_decode, self.fg_decode = _separate_decoders(widths, fg_channels, style_dim)
            self.fuse = nn.Conv2d(max_channels, image_channels, 1, 1, 0)  # concat (bg + fg channels) -> image
        else:
            self.decode_blocks = _stargan_decoder(widths, style_dim)
            self.to_rgb = _to_rgb(widths[0], image_channels)

    @property
    def bg_channels(self) -> int:
        return self.max_channels - self.fg_channels

    def encode_features(self, x: torch.Tensor) -> torch.Tensor:
        """Bottleneck features (B, max_channels, 16, 16)."""
        check_image_batch(x, self.image_size, "Generator", self.image_channels)
        h = self.from_rgb(x)
        for block in self.encode:
            h = block(h)
        return h

    def split(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Depth-wise split: first ``max - fg`` channels = background BG_G, last ``fg`` = pop-out FG_G."""
        return features[:, : self.bg_channels], features[:, self.bg_channels :]

    def decode_background(self, background: torch.Tensor) -> torch.Tensor:
        """(d)+: background decoder, (B, max-fg, h, w) -> (B, max-fg, H, W); sees neither style nor defect."""
        for block in self.bg_decode:
            background = block(background)
        return background

    def decode_foreground(self, defect: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """(d)+: foreground decoder, defect code (B, fg, h, w) modulated by style -> (B, fg, H, W)."""
        for block in self.fg_decode:
            defect = block(defect, style)
        return defect

    def forward(self, x: torch.Tensor, style: torch.Tensor, defect: torch.Tensor | None = None) -> torch.Tensor:
        """Translate ``x`` (B,3,H,W in [-1,1]) with style (B, style_dim) and defect code (None in variant a)."""
        return self.decode(self.encode_features(x), style, defect)

    def decode(self, features: torch.Tensor, style: torch.Tensor, defect: torch.Tensor | None = None) -> torch.Tensor:
        """Bottleneck features of :meth:`encode_features` -> RGB, with the target codes swapped in.

        Split from :meth:`forward` so that one encoding of an image serves every translation of it (the diversity
        outputs and L_d_rec's pop-out reuse it in training): same values and gradients, far fewer encoder passes.
        """
        self._check_codes(features.size(0), style, defect)
        if self.defect_code:
            background = self.split(features)[0]
            if self.separate_decoding:
                merged = torch.cat([self.decode_background(background), self._foreground(defect, style)], 1)
                return self.fuse(merged)
            features = torch.cat([background, defect], dim=1)
        for block in self.decode_blocks:
            features = block(features, style)
        return self.to_rgb(features)

    def decode_each(self, features: torch.Tensor, codes: list[tuple[torch.Tensor, torch.Tensor]],
                    with_anchor: bool = False) -> list[torch.Tensor]:
        """(d)/(e): ``decode(features, s, d)`` for every (s, d) in ``codes``, with the background path run once;
        ``with_anchor`` (fg_relative only) appends the anchor output :meth:`background_output` from that same pass.

        The background decoder sees neither style nor code, so one pass serves every translation of the same
        sources, and the foreground decoder runs once on the stacked codes: the same values and gradients as one
        decode() per pair, without decoding the widest part of G again for each (benchmarks/bench_gan.py).
        """
        if not self.separate_decoding:
            msg = "Generator.decode_each needs separate decoders (variants d, e); use decode() per code pair"
            raise ValueError(msg)
        for style, defect in codes:
            self._check_codes(features.size(0), style, defect)
        background = self.decode_background(self.split(features)[0])
        foreground = self._foreground(torch.cat([d for _, d in codes]), torch.cat([s for s, _ in codes]))
        outputs = [self.fuse(torch.cat([background, part], 1)) for part in foreground.chunk(len(codes))]
        return outputs + [self._anchor(background)] if with_anchor else outputs

    def background_output(self, features: torch.Tensor) -> torch.Tensor:
        """(d)/(e) with ``fg_relative``: the anchor output G(x, s, 0), which is the background path alone and the same
        for every style s (the zero code adds exactly nothing), without running the foreground decoder."""
        return self._anchor(self.decode_background(self.split(features)[0]))

    def _anchor(self, background: torch.Tensor) -> torch.Tensor:
        """The fused output of the background decoder's ``background`` with nothing from the foreground decoder."""
        if not self.fg_relative:
            msg = ("Generator: the anchor output G(x, s, 0) is the background path alone only with fg_relative "
                   "(variants d, e); otherwise it depends on s")
            raise ValueError(msg)
        nothing = background.new_zeros(background.size(0), self.fg_channels, *background.shape[2:])
        return self.fuse(torch.cat([background, nothing], 1))

    def _foreground(self, defect: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """The foreground decoder's output; with ``fg_relative`` minus its output for the all-zero (anchor) code,
        so the zero code adds exactly nothing and the style shapes only what a defect code adds (one 2B call)."""
        if not self.fg_relative:
            return self.decode_foreground(defect, style)
        both = self.decode_foreground(torch.cat([defect, torch.zeros_like(defect)]), torch.cat([style, style]))
        return both[: len(defect)] - both[len(defect):]

    def _check_codes(self, batch: int, style: torch.Tensor, defect: torch.Tensor | None) -> None:
        if style.shape != (batch, self.style_dim):
            msg = f"Generator: style must have shape ({batch}, {self.style_dim}), got {tuple(style.shape)}"
            raise ValueError(msg)
        if not self.defect_code:
            if defect is not None:
                msg = "Generator: this variant (a) has no defect code; pass defect=None"
                raise ValueError(msg)
            return
        expected = (batch, self.fg_channels, self.code_size, self.code_size)
        if defect is None or defect.shape != expected:
            got = None if defect is None else tuple(defect.shape)
            msg = f"Generator: defect code must have shape {expected}, got {got}"
            raise ValueError(msg)


def _stargan_decoder(widths: list[int], style_dim: int) -> nn.ModuleList:
    """StarGAN v2 decoder: 2 AdaIN bottleneck blocks, then AdaIN up-blocks mirroring the encoder widths."""
    top = widths[-1]
    blocks: list[nn.Module] = [AdainResBlk(top, top, style_dim) for _ in range(2)]
    for i in reversed(range(len(widths) - 1)):
        blocks.append(AdainResBlk(widths[i + 1], widths[i], style_dim, upsample=True))
    return nn.ModuleList(blocks)


def _separate_decoders(widths: list[int], fg: int, style_dim: int) -> tuple[nn.ModuleList, nn.ModuleList]:
    """Table 11 decoders: three 16x16 blocks each, then the upsampling blocks.

    Paper widths: background 448 -> 448 -> 512 -> 512, up 512, 256, 448; foreground 64 -> 64 -> 256 -> 256, up 256,
    128, 64 (supplement Table 11 (b) and (c)).
    """
    top = widths[-1]
    bg = top - fg
    mirrored = widths[-2:0:-1]  # encoder widths in reverse, without the stem (paper: 512, 256)
    bg_outs = [*mirrored, bg]  # last = bg so that bg + fg = max channels
    bg_blocks: list[nn.Module] = [ResBlk(bg, bg, normalize=True), ResBlk(bg, top, normalize=True),
                                  ResBlk(top, top, normalize=True)]
    bg_blocks += [UpResBlk(i, o) for i, o in zip([top, *bg_outs[:-1]], bg_outs, strict=True)]
    fg_mid = top // 2
    fg_outs = [*(w // 2 for w in mirrored), fg]  # half the background widths (Table 11: 256, 128, 64)
    fg_blocks: list[nn.Module] = [AdainResBlk(fg, fg, style_dim), AdainResBlk(fg, fg_mid, style_dim),
                                  AdainResBlk(fg_mid, fg_mid, style_dim)]
    fg_blocks += [
        AdainResBlk(i, o, style_dim, upsample=True) for i, o in zip([fg_mid, *fg_outs[:-1]], fg_outs, strict=True)
    ]
    return nn.ModuleList(bg_blocks), nn.ModuleList(fg_blocks)


def _check_generator_args(
    image_size: int, max_channels: int, fg_channels: int, defect_code: bool, separate_decoding: bool
) -> None:
    downsamples_to_code(image_size)  # raises on a size that is not a power of two >= 32
    if max_channels < 8 or max_channels % 8:
        msg = f"Generator max_channels must be a multiple of 8 (widths use max/8 .. max), got {max_channels}"
        raise ValueError(msg)
    if defect_code and not 0 < fg_channels < max_channels:
        msg = f"Generator fg_channels must lie in (0, max_channels={max_channels}), got {fg_channels}"
        raise ValueError(msg)
    if separate_decoding and not defect_code:
        msg = "Generator separate_decoding needs defect_code (variants d, e build on b)"
        raise ValueError(msg)
