"""Mapping network M (spec dtgan.md §2.2, §3.2, §3.3; supplement Table 12).

z (latent_dim) -> shared trunk of 4 x (Linear + ReLU) -> per domain k:
- style branch: 3 x (Linear + ReLU) + Linear -> style_dim (exactly StarGAN v2's unshared branch);
- defect branch ((b)+): the trunk output viewed as a 1x1 map, log2(h) upsampling IN ResBlks (paper 1 -> 2, 4, 8, 16
  with 512, 512, 256, 128 channels), then 1x1 conv + IN (+ noise) -> (fg_channels, 16, 16).

Variant (e) adds the anchor rule (Normal, index 0, gets an all-zero defect code; its defect branch would never be
used, so it is not built) and StyleGAN noise after every conv of the defect branch.

Deterministic synthesis: ``forward(z, y, noise_generator=g)`` draws all noise from the ``torch.Generator`` ``g``
(on z's device); the same z, y and generator state give the same output. ``None`` uses torch's global RNG.
"""

from __future__ import annotations

import torch
from torch import nn

from dtgan.gans.dtgan.nets.blocks import (
    InstanceNorm,
    NoiseInjection,
    UpResBlk,
    check_domain_labels,
    log2_exact,
    select_by_domain,
)


def defect_branch_widths(max_channels: int, num_ups: int) -> list[int]:
    """Output widths of the upsampling blocks, ending at max/4 and doubling backwards up to max.

    Paper (max 512, 4 ups to 16x16): [512, 512, 256, 128]; at 64 px (3 ups to 8x8): [max, max/2, max/4].
    """
    return [min(max_channels, (max_channels // 4) * 2 ** (num_ups - 1 - i)) for i in range(num_ups)]


class DefectBranch(nn.Module):
    """One domain's defect branch: 1x1 vector -> (fg_channels, size, size) spatial defect code."""

    def __init__(self, hidden_dim: int, max_channels: int, fg_channels: int, code_size: int, noise: bool,
                 start_size: int = 1) -> None:
        super().__init__()
        if code_size % start_size:
            msg = f"DefectBranch: start size {start_size} must divide the code size {code_size}"
            raise ValueError(msg)
        num_ups = log2_exact(code_size // start_size, "defect code size / start size")
        widths = defect_branch_widths(max_channels, num_ups)
        self.start_size = start_size
        # start_size > 1 (not the paper): a Linear lays the trunk's output out as a (max_channels, s, s) map.
        self.project = nn.Linear(hidden_dim, max_channels * start_size**2) if start_size > 1 else None
        ins = [hidden_dim if self.project is None else max_channels, *widths[:-1]]
        # The paper's first block's input is a single pixel: instance norm there would zero it, so it is skipped.
        pairs = enumerate(zip(ins, widths, strict=True))
        self.blocks = nn.ModuleList(
            [UpResBlk(i, o, upsample=True, noise=noise, normalize_input=k > 0 or start_size > 1) for k, (i, o) in pairs]
        )
        self.to_code = nn.Conv2d(widths[-1], fg_channels, 1, 1, 0)
        self.norm = InstanceNorm(fg_channels, affine=True)
        self.noise = NoiseInjection(fg_channels) if noise else None

    def noise_injections(self) -> list[tuple[int, NoiseInjection]]:
        """(side of the map it perturbs, module) for every noise injection, coarsest first."""
        found: list[tuple[int, NoiseInjection]] = []
        for k, block in enumerate(self.blocks):
            side = self.start_size * 2 ** (k + 1)
            found += [(side, noise) for noise in (block.noise1, block.noise2) if noise is not None]
        if self.noise is not None:
            found.append((self.start_size * 2 ** len(self.blocks), self.noise))
        return found

    def forward(self, h: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.project is None:
            x = h.view(h.size(0), h.size(1), 1, 1)
        else:
            x = self.project(h).view(h.size(0), -1, self.start_size, self.start_size)
        for block in self.blocks:
            x = block(x, generator)
        x = self.norm(self.to_code(x))
        if self.noise is not None:
            x = self.noise(x, generator)
        return x


class MappingNetwork(nn.Module):
    """z, y -> (style (B, style_dim), defect (B, fg, h, h) or None in variant a)."""

    def __init__(
        self,
        latent_dim: int = 16,  # length of z ~ N(0, I)
        style_dim: int = 64,  # style code length
        num_domains: int = 3,  # K foreground domains, index 0 = Normal
        hidden_dim: int = 512,  # width of every Linear (paper 512)
        max_channels: int = 512,  # widest conv of the defect branch
        fg_channels: int = 64,  # defect code channels
        code_size: int = 16,  # defect code side (16 = G's bottleneck at every image size)
        defect_branches: bool = True,  # (b)+
        anchor_and_noise: bool = False,  # (e)
        defect_start_size: int = 1,  # 1 = paper: the defect branch starts from the trunk output as a 1x1 map
    ) -> None:
        super().__init__()
        self.latent_dim = latent_dim
        self.num_domains = num_domains
        self.anchor = anchor_and_noise
        self.fg_channels = fg_channels
        self.code_size = code_size
        trunk: list[nn.Module] = [nn.Linear(latent_dim, hidden_dim), nn.ReLU()]
        for _ in range(3):
            trunk += [nn.Linear(hidden_dim, hidden_dim), nn.ReLU()]
        self.shared = nn.Sequential(*trunk)
        self.unshared = nn.ModuleList([_style_branch(hidden_dim, style_dim) for _ in range(num_domains)])
        self.defect_branches: nn.ModuleDict | None = None
        if defect_branches:
            first = 1 if anchor_and_noise else 0  # the anchor domain's code is always zero: no branch to train
            self.defect_branches = nn.ModuleDict(
                {
                    str(k): DefectBranch(hidden_dim, max_channels, fg_channels, code_size, noise=anchor_and_noise,
                                    start_size=defect_start_size)
                    for k in range(first, num_domains)
                }
            )

    def forward(
        self, z: torch.Tensor, y: torch.Tensor, noise_generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if z.dim() != 2 or z.size(1) != self.latent_dim:
            msg = f"MappingNetwork: z must have shape (B, {self.latent_dim}), got {tuple(z.shape)}"
            raise ValueError(msg)
        check_domain_labels(y, z.size(0), self.num_domains, "MappingNetwork")
        h = self.shared(z)
        style = select_by_domain(torch.stack([branch(h) for branch in self.unshared], dim=1), y)
        if self.defect_branches is None:
            return style, None
        return style, self._defect_codes(h, y, noise_generator)

    def _defect_codes(self, h: torch.Tensor, y: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """Run each domain's branch on its own rows only (instance norm makes rows independent, so this equals
        StarGAN v2's run-all-then-index); rows without a branch (anchor domain) stay exactly zero."""
        codes = h.new_zeros(h.size(0), self.fg_channels, self.code_size, self.code_size)
        for key, branch in self.defect_branches.items():
            rows = (y == int(key)).nonzero(as_tuple=True)[0]
            if rows.numel():
                codes = codes.index_copy(0, rows, branch(h[rows], generator))
        return codes


def _style_branch(hidden_dim: int, style_dim: int) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(3):
        layers += [nn.Linear(hidden_dim, hidden_dim), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(hidden_dim, style_dim))
