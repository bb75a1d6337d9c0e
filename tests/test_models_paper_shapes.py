"""Paper configuration (128 px, max 512, fg 64, style 64, latent 16, K = 3, P = 3): every layer of spec dtgan.md
§2.1-2.4 (supplement Tables 11-13) has the listed output shape. Expected shapes are written out literally from the
spec, not derived from the code. Batch 1, no grad; the generator forward dominates (~2-4 s on 2 CPU cores)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from dtgan.gans.dtgan.config import GanConfig
from dtgan.gans.dtgan.nets.blocks import NoiseInjection
from dtgan.gans.dtgan.nets.build import build_nets

PAPER = GanConfig(max_channels=512, fg_channels=64, style_dim=64, latent_dim=16, mapping_hidden=512)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """On the shared 2-core box, spinning OpenMP workers made the 128 px forward ~3x slower with 2 threads."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def paper_nets():
    return build_nets(PAPER, "e", image_size=128, num_domains=3, num_products=3, seed=0)


def _record_shapes(net: nn.Module, names: list[str], run) -> dict[str, tuple[int, ...]]:
    """Run ``run()`` with forward hooks on the named submodules; return their output shapes."""
    modules = dict(net.named_modules())
    shapes: dict[str, tuple[int, ...]] = {}
    handles = [
        modules[name].register_forward_hook(lambda _m, _i, out, name=name: shapes.__setitem__(name, tuple(out.shape)))
        for name in names
    ]
    try:
        with torch.no_grad():
            run()
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def test_generator_table11_shapes(paper_nets):
    g = paper_nets.generator
    expected = {
        "from_rgb": (1, 128, 128, 128),  # 1x1 conv 3 -> 128
        "encode.0": (1, 256, 64, 64),
        "encode.1": (1, 512, 32, 32),
        "encode.2": (1, 512, 16, 16),
        "encode.3": (1, 512, 16, 16),  # two IN-ResBlks at 16x16x512
        "encode.4": (1, 512, 16, 16),
        "bg_decode.0": (1, 448, 16, 16),  # Table 11 (b): 448 -> 448 -> 512 -> 512 at 16x16
        "bg_decode.1": (1, 512, 16, 16),
        "bg_decode.2": (1, 512, 16, 16),
        "bg_decode.3": (1, 512, 32, 32),
        "bg_decode.4": (1, 256, 64, 64),
        "bg_decode.5": (1, 448, 128, 128),
        "fg_decode.0": (1, 64, 16, 16),  # Table 11 (c): 64 -> 64 -> 256 -> 256 at 16x16
        "fg_decode.1": (1, 256, 16, 16),
        "fg_decode.2": (1, 256, 16, 16),
        "fg_decode.3": (1, 256, 32, 32),
        "fg_decode.4": (1, 128, 64, 64),
        "fg_decode.5": (1, 64, 128, 128),
        "fuse": (1, 3, 128, 128),
    }
    x = torch.randn(1, 3, 128, 128)
    style, defect = torch.randn(1, 64), torch.randn(1, 64, 16, 16)
    assert _record_shapes(g, list(expected), lambda: g(x, style, defect)) == expected
    assert g.from_rgb.kernel_size == (1, 1)
    # Fusion = a 1x1 conv of the concatenation (448 + 64 = 512 channels) to RGB, no normalisation before it.
    assert isinstance(g.fuse, nn.Conv2d) and g.fuse.in_channels == 512 and g.fuse.kernel_size == (1, 1)
    assert g.bg_decode[0].conv1.in_channels == 448 and g.fg_decode[0].conv1.in_channels == 64
    assert len(g.bg_decode) == len(g.fg_decode) == 6  # three 16x16 blocks + three upsampling blocks each
    background, foreground = g.split(torch.zeros(1, 512, 16, 16))  # depth-wise split of the bottleneck
    assert background.shape == (1, 448, 16, 16) and foreground.shape == (1, 64, 16, 16)


def test_mapping_table12_shapes(paper_nets):
    m = paper_nets.mapping
    linears = [layer for layer in m.shared if isinstance(layer, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(16, 512)] + [(512, 512)] * 3
    style_linears = [layer for layer in m.unshared[1] if isinstance(layer, nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in style_linears] == [(512, 512)] * 3 + [(512, 64)]
    expected = {
        "shared": (1, 512),
        "unshared.1": (1, 64),
        "defect_branches.1.blocks.0": (1, 512, 2, 2),
        "defect_branches.1.blocks.1": (1, 512, 4, 4),
        "defect_branches.1.blocks.2": (1, 256, 8, 8),
        "defect_branches.1.blocks.3": (1, 128, 16, 16),
        "defect_branches.1.to_code": (1, 64, 16, 16),  # 1x1 conv
        "defect_branches.1.norm": (1, 64, 16, 16),
        "defect_branches.1.noise": (1, 64, 16, 16),
    }
    y = torch.tensor([1])
    shapes = _record_shapes(m, list(expected), lambda: m(torch.randn(1, 16), y))
    assert shapes == expected
    assert len(m.defect_branches["1"].blocks) == 4 and len(m.unshared) == 3
    with torch.no_grad():
        style, defect = m(torch.randn(1, 16), y)
    assert style.shape == (1, 64) and defect.shape == (1, 64, 16, 16)


def _trunk_expectations(prefix: str = "trunk.") -> dict[str, tuple[int, ...]]:
    return {
        prefix + "stem": (1, 64, 128, 128),  # 1x1 conv 3 -> 64
        prefix + "shared.0": (1, 256, 64, 64),
        prefix + "shared.1": (1, 512, 32, 32),
        prefix + "shared.2": (1, 512, 16, 16),
        prefix + "head.0": (1, 512, 8, 8),
        prefix + "head.1": (1, 512, 4, 4),
        prefix + "head_conv": (1, 512, 1, 1),  # 4x4 valid conv
    }


def test_encoder_table13_shapes(paper_nets):
    e = paper_nets.encoder
    expected = _trunk_expectations() | {"unshared.2": (1, 64), "defect": (1, 64 * 3, 16, 16)}
    x, y = torch.randn(1, 3, 128, 128), torch.tensor([2])
    assert _record_shapes(e, list(expected), lambda: e(x, y)) == expected
    assert e.trunk.stem.kernel_size == (1, 1) and e.defect[1].kernel_size == (1, 1)
    assert [(h.in_features, h.out_features) for h in e.unshared] == [(512, 64)] * 3
    with torch.no_grad():
        style, defect = e(x, y)
    assert style.shape == (1, 64) and defect.shape == (1, 64, 16, 16)


def test_discriminator_shapes(paper_nets):
    d = paper_nets.discriminator
    expected = _trunk_expectations() | {
        "logits": (1, 3),  # one real/fake logit per domain
        "bg_cls": (1, 3),  # Linear 512 -> P, parallel to the logit layer
        "defect": (1, 192, 16, 16),  # 1x1 conv 512 -> 64K
        "fg_cls.blocks.0": (1, 192, 8, 8),
        "fg_cls.blocks.1": (1, 192, 4, 4),
        "fg_cls.blocks.2": (1, 192, 2, 2),
        "fg_cls.blocks.3": (1, 192, 1, 1),  # 4 pre-activation ResBlks, 16 -> 1
        "fg_cls.fc": (1, 3),
    }
    x, y = torch.randn(1, 3, 128, 128), torch.tensor([0])
    assert _record_shapes(d, list(expected), lambda: d(x, y)) == expected
    assert d.bg_cls.in_features == 512 and d.logits.in_features == 512
    with torch.no_grad():
        out = d(x, y)
    assert out.logit.shape == (1,) and out.fg_logits.shape == (1, 3) and out.bg_logits.shape == (1, 3)


def test_noise_after_every_conv_of_mapping_defect_branch(paper_nets):
    branch = paper_nets.mapping.defect_branches["1"]
    noise_layers = [m for m in branch.modules() if isinstance(m, NoiseInjection)]
    assert len(noise_layers) == 2 * 4 + 1  # two 3x3 convs per up-block + the final 1x1 conv
    assert all(float(n.weight.detach().abs().sum()) == 0 for n in noise_layers)  # StyleGAN init
    assert not any(isinstance(m, NoiseInjection) for m in paper_nets.generator.modules())
    assert not any(isinstance(m, NoiseInjection) for m in paper_nets.mapping.unshared.modules())


def _count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_variant_a_is_stargan_v2_parameter_for_parameter():
    """Variant (a) at 128 px, K = 3, w_hpf = 0 has exactly StarGAN v2's parameter counts (computed independently
    from its core/model.py layer list: G 33,632,003, F 3,259,072, E 20,832,576, D 20,735,619 = 78.46 M)."""
    with torch.device("meta"):  # shapes only: no memory, no init cost
        nets = build_nets(GanConfig(), "a", 128, 3, 3)
    assert _count(nets.generator) == 33_632_003
    assert _count(nets.mapping) == 3_259_072
    assert _count(nets.encoder) == 20_832_576
    assert _count(nets.discriminator) == 20_735_619
    assert nets.generator.from_rgb.kernel_size == (3, 3) and nets.encoder.trunk.stem.out_channels == 128
