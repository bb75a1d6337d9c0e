"""DT-GAN networks at a small CPU configuration: variants, anchor rule, noise, block maths, builder."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import fields

import pytest
import torch
from torch import nn

from dtgan.errors import ParamsError
from dtgan.gans.dtgan.config import GanConfig
from dtgan.gans.dtgan.nets.blocks import AdaIN, AdainResBlk, InstanceNorm, NoiseInjection, ResBlk, UpResBlk
from dtgan.gans.dtgan.nets.build import GanNets, build_nets
from dtgan.gans.dtgan.training.objectives import _translations
from dtgan.gans.dtgan.variants import variant_flags

SIZE, K, P, FG, STYLE, LATENT, CODE = 64, 3, 3, 8, 16, 16, 16  # CODE: 16x16 at every size


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors gain nothing from intra-op threads, and on a shared 2-core box spinning OpenMP workers made
    these tests ~50x slower; restore the caller's setting afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def small_config() -> GanConfig:
    return GanConfig(max_channels=64, fg_channels=FG, style_dim=STYLE, latent_dim=LATENT, mapping_hidden=64)


def pop_out(generator: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    """FG_G(x): the last fg bottleneck channels (None without a defect code, variant a)."""
    return generator.split(generator.encode_features(x))[1] if generator.defect_code else None


@pytest.fixture(scope="module")
def nets_by_variant() -> dict[str, GanNets]:
    return {v: build_nets(small_config(), v, SIZE, K, P, seed=1) for v in "abcde"}


def _inputs(batch: int = 3, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((batch, 3, SIZE, SIZE), generator=gen) * 2 - 1
    z = torch.randn((batch, LATENT), generator=gen)
    y = torch.arange(batch) % K  # mixed domains incl. Normal
    return x, z, y


# ---------------------------------------------------------------- variants and forward shapes


def test_variant_flags_are_cumulative_and_validated():
    flags = [variant_flags(v) for v in "abcde"]
    as_tuples = [tuple(getattr(f, fld.name) for fld in fields(f)) for f in flags]
    assert as_tuples == [
        (False, False, False, False),
        (True, False, False, False),
        (True, True, False, False),
        (True, True, True, False),
        (True, True, True, True),
    ]
    with pytest.raises(ValueError, match="allowed values: a, b, c, d, e"):
        variant_flags("f")


@pytest.mark.parametrize("variant", list("abcde"))
def test_forward_shapes_every_variant(nets_by_variant, variant):
    nets = nets_by_variant[variant]
    x, z, y = _inputs()
    with torch.no_grad():
        style, defect = nets.mapping(z, y)
        style_e, defect_e = nets.encoder(x, y)
        fake = nets.generator(x, style, defect)
        out = nets.discriminator(fake, y)
        pop = pop_out(nets.generator, x)
    assert style.shape == style_e.shape == (3, STYLE)
    assert fake.shape == x.shape and torch.isfinite(fake).all()
    assert out.logit.shape == (3,)
    if variant == "a":
        assert defect is None and defect_e is None and pop is None
    else:
        assert defect.shape == defect_e.shape == pop.shape == (3, FG, CODE, CODE)
    if variant in "ab":
        assert out.fg_logits is None and out.bg_logits is None
    else:
        assert out.fg_logits.shape == (3, K) and out.bg_logits.shape == (3, P)


def test_pop_out_is_the_last_fg_bottleneck_channels(nets_by_variant):
    g = nets_by_variant["e"].generator
    x = _inputs()[0]
    with torch.no_grad():
        features = g.encode_features(x)
        torch.testing.assert_close(pop_out(g, x), features[:, -FG:])
        assert g.split(features)[0].shape[1] == 64 - FG


def test_logit_is_selected_by_domain(nets_by_variant):
    d = nets_by_variant["c"].discriminator
    x = _inputs()[0]
    with torch.no_grad():
        all_logits = d.logits(d.trunk.pooled(d.trunk.shared_features(x, "test")))
        for k in range(K):
            torch.testing.assert_close(d(x, torch.full((3,), k)).logit, all_logits[:, k])


def test_fg_classifier_pools_to_one_pixel(nets_by_variant):
    fg_cls = nets_by_variant["c"].discriminator.fg_cls
    assert len(fg_cls.blocks) == int(math.log2(CODE))  # 8 -> 4 -> 2 -> 1 at 64 px (16 -> 1 in 4 blocks at 128)
    assert fg_cls.fc.in_features == FG * K


# ---------------------------------------------------------------- anchor rule


def test_anchor_rule_zeroes_normal_rows_in_variant_e(nets_by_variant):
    nets = nets_by_variant["e"]
    x, z, y = _inputs(batch=6)
    with torch.no_grad():
        for _, defect in (nets.mapping(z, y), nets.encoder(x, y)):
            normal = y == 0
            assert torch.equal(defect[normal], torch.zeros_like(defect[normal]))
            assert (defect[~normal].flatten(1).abs().sum(1) > 0).all()
    assert "0" not in nets.mapping.defect_branches  # never-used branch is not built


@pytest.mark.parametrize("variant", list("bcd"))
def test_no_anchor_before_variant_e(nets_by_variant, variant):
    nets = nets_by_variant[variant]
    x, z, _ = _inputs()
    y = torch.zeros(3, dtype=torch.long)
    with torch.no_grad():
        for _, defect in (nets.mapping(z, y), nets.encoder(x, y)):
            assert (defect.flatten(1).abs().sum(1) > 0).all()


def test_anchor_codes_send_no_gradient(nets_by_variant):
    nets = nets_by_variant["e"]
    x, z, _ = _inputs()
    y = torch.zeros(3, dtype=torch.long)
    mapping, encoder = nets.mapping, nets.encoder
    mapping.zero_grad(set_to_none=True)
    encoder.zero_grad(set_to_none=True)
    (mapping(z, y)[1].sum() + encoder(x, y)[1].sum()).backward()
    assert all(p.grad is None for p in mapping.parameters())
    assert all(p.grad is None or float(p.grad.abs().sum()) == 0 for p in encoder.parameters())


def test_mapping_rows_are_independent_of_batch_composition(nets_by_variant):
    mapping = nets_by_variant["d"].mapping  # no noise: deterministic
    _, z, y = _inputs(batch=5)
    with torch.no_grad():
        style, defect = mapping(z, y)
        for i in range(5):
            s_i, d_i = mapping(z[i : i + 1], y[i : i + 1])
            torch.testing.assert_close(s_i, style[i : i + 1], rtol=1e-4, atol=1e-4)  # batched BLAS rounding
            torch.testing.assert_close(d_i, defect[i : i + 1], rtol=1e-4, atol=1e-4)


# ---------------------------------------------------------------- noise injection


def test_noise_modules_only_in_variant_e(nets_by_variant):
    for variant, nets in nets_by_variant.items():
        count = sum(isinstance(m, NoiseInjection) for n in nets.as_dict().values() for m in n.modules())
        per_branch = 2 * int(math.log2(CODE)) + 1
        assert count == (per_branch * (K - 1) if variant == "e" else 0), variant


def _set_noise_weights(net: nn.Module, value: float) -> None:
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, NoiseInjection):
                module.weight.fill_(value)


def test_noise_zero_weight_is_identity_and_seeded_noise_is_deterministic():
    nets = build_nets(small_config(), "e", SIZE, K, P, seed=3)
    mapping = nets.mapping
    _, z, _ = _inputs()
    y = torch.tensor([1, 2, 1])
    with torch.no_grad():
        base = mapping(z, y, noise_generator=torch.Generator().manual_seed(0))[1]
        other = mapping(z, y, noise_generator=torch.Generator().manual_seed(1))[1]
        torch.testing.assert_close(base, other, rtol=0, atol=0)  # w_c = 0: noise has no effect
        _set_noise_weights(mapping, 0.5)
        first = mapping(z, y, noise_generator=torch.Generator().manual_seed(0))[1]
        again = mapping(z, y, noise_generator=torch.Generator().manual_seed(0))[1]
        changed = mapping(z, y, noise_generator=torch.Generator().manual_seed(1))[1]
    torch.testing.assert_close(first, again, rtol=0, atol=0)
    assert not torch.allclose(first, changed)
    assert not torch.allclose(first, base)


def test_noise_injection_formula():
    layer = NoiseInjection(2)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.0, 2.0]).view(1, 2, 1, 1))
    x = torch.zeros(1, 2, 3, 3)
    out = layer(x, torch.Generator().manual_seed(5))
    noise = torch.randn((1, 1, 3, 3), generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(out[:, 0], torch.zeros(1, 3, 3))
    torch.testing.assert_close(out[:, 1:], 2 * noise)  # same (B,1,H,W) noise map scaled per channel


# ---------------------------------------------------------------- block maths


def test_adain_matches_hand_computation():
    adain = AdaIN(style_dim=2, num_features=2)
    with torch.no_grad():
        adain.fc.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]))
        adain.fc.bias.copy_(torch.tensor([0.0, 0.0, 0.0, 3.0]))
    x = torch.tensor([[[[1.0, 3.0]], [[2.0, 2.0 + 1e-3]]]])  # (1, 2, 1, 2)
    s = torch.tensor([[0.5, -1.0]])
    out = adain(x, s)
    # gamma = (0.5, -1), beta = (-0.5, 3); channel 0 normalises to (-1, 1) (eps 1e-5 aside)
    norm0 = torch.tensor([-1.0, 1.0]) / math.sqrt(1 + 1e-5)
    torch.testing.assert_close(out[0, 0, 0], 1.5 * norm0 - 0.5)
    torch.testing.assert_close(out[0, 1, 0], torch.tensor([3.0, 3.0]))  # (1 + gamma) = 0 kills the content


def _zero_last_conv(block: nn.Module) -> None:
    with torch.no_grad():
        block.conv2.weight.zero_()
        block.conv2.bias.zero_()


def test_resblk_identity_shortcut_and_sqrt2_scaling():
    block = ResBlk(4, 4, normalize=True)
    _zero_last_conv(block)
    x = torch.randn(2, 4, 8, 8)
    torch.testing.assert_close(block(x), x / math.sqrt(2))
    assert not hasattr(block, "conv1x1")


def test_resblk_learned_shortcut_has_no_bias_and_downsamples():
    block = ResBlk(4, 6, downsample=True)
    assert block.conv1x1.bias is None and block.conv1x1.kernel_size == (1, 1)
    _zero_last_conv(block)
    x = torch.randn(2, 4, 8, 8)
    expected = nn.functional.avg_pool2d(block.conv1x1(x), 2) / math.sqrt(2)
    torch.testing.assert_close(block(x), expected)


@pytest.mark.parametrize("kind", ["adain", "plain"])
def test_upsampling_blocks_shortcut(kind):
    block = AdainResBlk(4, 6, style_dim=3, upsample=True) if kind == "adain" else UpResBlk(4, 6, upsample=True)
    _zero_last_conv(block)
    x = torch.randn(2, 4, 4, 4)
    out = block(x, torch.randn(2, 3)) if kind == "adain" else block(x)
    expected = block.conv1x1(nn.functional.interpolate(x, scale_factor=2, mode="nearest")) / math.sqrt(2)
    torch.testing.assert_close(out, expected)


# ---------------------------------------------------------------- background / foreground separation


@pytest.mark.parametrize("variant", ["d", "e"])
def test_background_decoder_never_sees_style_or_defect(nets_by_variant, variant):
    g = nets_by_variant[variant].generator
    x = _inputs(batch=2)[0]
    captured: list[torch.Tensor] = []
    handle = g.bg_decode[-1].register_forward_hook(lambda _m, _i, out: captured.append(out))
    gen = torch.Generator().manual_seed(9)
    try:
        with torch.no_grad():
            outs = [
                g(x, torch.randn((2, STYLE), generator=gen), torch.randn((2, FG, CODE, CODE), generator=gen))
                for _ in range(2)
            ]
    finally:
        handle.remove()
    torch.testing.assert_close(captured[0], captured[1], rtol=0, atol=0)
    assert not torch.allclose(outs[0], outs[1])  # the codes do change the image, via the fg path only


@pytest.mark.parametrize("variant", ["b", "c"])
def test_joint_decoder_uses_swapped_defect_code(nets_by_variant, variant):
    g = nets_by_variant[variant].generator
    x = _inputs(batch=2)[0]
    style = torch.randn(2, STYLE)
    with torch.no_grad():
        zero = g(x, style, torch.zeros(2, FG, CODE, CODE))
        ones = g(x, style, torch.ones(2, FG, CODE, CODE))
    assert not torch.allclose(zero, ones)
    assert not hasattr(g, "bg_decode")


# ---------------------------------------------------------------- input checks


def test_bad_inputs_get_clear_errors(nets_by_variant):
    nets_a, nets_e = nets_by_variant["a"], nets_by_variant["e"]
    x, z, y = _inputs()
    with pytest.raises(ValueError, match="LongTensor"):
        nets_e.mapping(z, y.float())
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        nets_e.encoder(x, torch.tensor([0, 1, 3]))
    with pytest.raises(ValueError, match="expected a float image batch"):
        nets_e.discriminator(x[:, :, :32, :32], y)
    with pytest.raises(ValueError, match="defect=None"):
        nets_a.generator(x, torch.randn(3, STYLE), torch.zeros(3, FG, CODE, CODE))
    with pytest.raises(ValueError, match="defect code must have shape"):
        nets_e.generator(x, torch.randn(3, STYLE), None)
    with pytest.raises(ValueError, match="style must have shape"):
        nets_e.generator(x, torch.randn(3, STYLE + 1), torch.zeros(3, FG, CODE, CODE))


# ---------------------------------------------------------------- builder


class _RecordingConfig:
    """Wraps a GanConfig and records which attributes build_nets reads."""

    def __init__(self, cfg: GanConfig) -> None:
        self._cfg, self.read = cfg, set()

    def __getattr__(self, name: str):
        self.read.add(name)
        return getattr(self._cfg, name)


def test_build_nets_reads_only_architecture_keys_of_gan_config():
    cfg = GanConfig(max_channels=32, fg_channels=4, style_dim=8, latent_dim=5, mapping_hidden=24)
    recorder = _RecordingConfig(cfg)
    nets = build_nets(recorder, "e", 32, K, 2, seed=0)
    architecture = {"max_channels", "fg_channels", "style_dim", "latent_dim", "mapping_hidden", "encoder_norm",
                    "fg_relative", "noise_init", "noise_init_max_size", "defect_start_size"}
    assert recorder.read == architecture
    assert nets.mapping.shared[0].in_features == 5 and nets.mapping.shared[0].out_features == 24
    assert nets.encoder.unshared[0].out_features == 8 and nets.discriminator.bg_cls.out_features == 2
    assert nets.generator.encode[-1].conv2.out_channels == 32
    with torch.no_grad():
        assert pop_out(nets.generator, torch.zeros(1, 3, 32, 32)).shape == (1, 4, 16, 16)


@pytest.mark.parametrize(("image_size", "downsamples", "stem"), [(32, 1, 512), (64, 2, 256), (128, 3, 128)])
def test_bottleneck_is_16x16_at_every_size_with_stargan_v2_widths(image_size, downsamples, stem):
    """StarGAN v2: repeat_num = log2(img_size) - 4 downsamplings and dim_in = 2**14 / img_size (max 512)."""
    from dtgan.gans.dtgan.nets.blocks import downsamples_to_code
    from dtgan.gans.dtgan.nets.generator import encoder_widths

    assert downsamples_to_code(image_size) == downsamples
    assert encoder_widths(512, downsamples)[0] == stem == 2**14 // image_size
    assert encoder_widths(512, downsamples)[-1] == 512


@pytest.mark.parametrize("image_size", [32, 64])
def test_codes_and_bottleneck_shapes_at_small_sizes(image_size):
    cfg = GanConfig(max_channels=32, fg_channels=4, style_dim=8, latent_dim=5, mapping_hidden=24)
    nets = build_nets(cfg, "e", image_size, K, 2, seed=0)
    x, y = torch.zeros(2, 3, image_size, image_size), torch.tensor([1, 2])
    with torch.no_grad():
        assert nets.generator.encode_features(x).shape == (2, 32, 16, 16)
        style, defect = nets.encoder(x, y)
        assert defect.shape == nets.mapping(torch.zeros(2, 5), y)[1].shape == (2, 4, 16, 16)
        assert nets.generator(x, style, defect).shape == x.shape
        assert nets.discriminator(x, y).fg_logits.shape == (2, K)


@pytest.mark.parametrize("encoder_norm", [True, False])
def test_encoder_norm_switches_instance_norm_in_g_encoder_only(encoder_norm):
    cfg = GanConfig(max_channels=32, fg_channels=4, style_dim=8, latent_dim=5, mapping_hidden=24,
                    encoder_norm=encoder_norm)
    g = build_nets(cfg, "e", 32, K, 2, seed=0).generator
    assert any(isinstance(m, InstanceNorm) for m in g.encode.modules()) is encoder_norm
    assert any(isinstance(m, InstanceNorm) for m in g.bg_decode.modules())  # decoders keep theirs


@pytest.mark.parametrize(
    ("change", "image_size", "match"),
    [
        ({"max_channels": 60}, 64, "gan.max_channels"),
        ({"fg_channels": 64}, 64, "gan.fg_channels"),
        ({}, 48, "data.image_size"),
        ({}, 16, "data.image_size"),
    ],
)
def test_build_nets_rejects_bad_values(change, image_size, match):
    cfg = GanConfig(**{**small_config().__dict__, **change})
    with pytest.raises(ParamsError, match=match):
        build_nets(cfg, "e", image_size, K, P)


def test_he_init_and_seeded_build():
    nets = build_nets(small_config(), "c", SIZE, K, P, seed=7)
    again = build_nets(small_config(), "c", SIZE, K, P, seed=7)
    torch.testing.assert_close(nets.generator.state_dict(), again.generator.state_dict(), rtol=0, atol=0)
    conv = nets.generator.encode[0].conv1  # 3x3, fan_in = 16 * 9
    fan_in = conv.in_channels * 9
    assert abs(float(conv.weight.detach().std()) - math.sqrt(2 / fan_in)) < 0.1 * math.sqrt(2 / fan_in)
    assert float(conv.bias.detach().abs().sum()) == 0
    linear = nets.mapping.shared[2]
    expected_std = math.sqrt(2 / linear.in_features)
    assert abs(float(linear.weight.detach().std()) - expected_std) < 0.1 * expected_std


def test_ema_copy_is_equal_but_separate(nets_by_variant):
    nets = nets_by_variant["e"]
    ema = nets.ema_copy()
    assert ema.discriminator is None
    for name in ("generator", "mapping", "encoder"):
        live, copy_ = getattr(nets, name), getattr(ema, name)
        pairs = list(zip(live.parameters(), copy_.parameters(), strict=True))
        assert all(torch.equal(a, b) and a.data_ptr() != b.data_ptr() for a, b in pairs)
    with torch.no_grad():
        next(ema.generator.parameters()).add_(1.0)
    assert not torch.equal(next(ema.generator.parameters()), next(nets.generator.parameters()))


def test_fusion_layer_starts_small_and_other_layers_he():
    from dtgan.gans.dtgan.nets.build import FUSION_INIT_STD

    for variant in ("d", "e"):
        cfg = dataclasses.replace(GanConfig(), max_channels=64, fg_channels=8, style_dim=8, mapping_hidden=32)
        g = build_nets(cfg, variant, 32, 3, 3, seed=0).generator
        assert isinstance(g.fuse, torch.nn.Conv2d) and g.fuse.kernel_size == (1, 1)
        with torch.no_grad():  # reading weights as floats: no graph
            assert abs(float(g.fuse.weight.std()) - FUSION_INIT_STD) < 0.01 and float(g.fuse.bias.abs().max()) == 0
            # He init (fan_in, relu): std sqrt(2 / fan_in) on every other conv, e.g. the first background block
            conv = g.bg_decode[0].conv1
            fan_in = conv.in_channels * 9
            assert abs(float(conv.weight.std()) / (2 / fan_in) ** 0.5 - 1) < 0.15


def test_fg_relative_makes_the_zero_code_add_nothing_whatever_the_style():
    cfg = dataclasses.replace(small_config(), fg_relative=True)
    g = build_nets(cfg, "e", SIZE, K, P, seed=2).generator
    x = _inputs()[0]
    zero = torch.zeros(3, FG, CODE, CODE)
    with torch.no_grad():
        a = g(x, torch.randn(3, STYLE), zero)
        b = g(x, torch.randn(3, STYLE), zero)
        background_only = g.fuse(torch.cat([g.decode_background(g.split(g.encode_features(x))[0]),
                                            torch.zeros(3, FG, SIZE, SIZE)], 1))
        with_defect = g(x, torch.randn(3, STYLE), torch.randn(3, FG, CODE, CODE))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, background_only)
    assert (with_defect - a).abs().mean() > 1e-3  # a defect code still changes the image
    plain = build_nets(small_config(), "e", SIZE, K, P, seed=2).generator
    with torch.no_grad():
        assert (plain(x, torch.randn(3, STYLE), zero) - plain(x, torch.randn(3, STYLE), zero)).abs().max() > 1e-4


@pytest.mark.parametrize("start_size", [1, 4, 8])
def test_defect_start_size_keeps_the_code_shape_and_sets_the_number_of_up_blocks(start_size):
    cfg = dataclasses.replace(small_config(), defect_start_size=start_size)
    mapping = build_nets(cfg, "e", SIZE, K, P, seed=3).mapping
    branch = mapping.defect_branches["1"]
    assert len(branch.blocks) == int(math.log2(CODE // start_size))
    assert (branch.project is None) == (start_size == 1)  # the paper's branch has no projection layer
    x, z, y = _inputs()
    with torch.no_grad():
        _, defect = mapping(z, y, noise_generator=torch.Generator().manual_seed(0))
    assert defect.shape == (3, FG, CODE, CODE)
    assert torch.all(defect[y == 0] == 0)  # the anchor rule holds whatever the start size


def test_defect_start_size_must_be_a_listed_power_of_two():
    from dtgan.params import load_section

    assert load_section(GanConfig, {"gan": {"defect_start_size": 4}}, "gan").defect_start_size == 4
    with pytest.raises(ParamsError, match="gan.defect_start_size"):
        load_section(GanConfig, {"gan": {"defect_start_size": 3}}, "gan")


@pytest.mark.parametrize("start_size", [1, 2])
def test_noise_init_max_size_starts_only_the_coarse_noise_injections(start_size):
    cfg = dataclasses.replace(small_config(), defect_start_size=start_size, noise_init=0.5, noise_init_max_size=4)
    mapping = build_nets(cfg, "e", SIZE, K, P, seed=3).mapping
    seen: dict[int, int] = {}  # id(module) -> side of the map it actually perturbed
    hooks = [noise.register_forward_hook(lambda m, args, out: seen.__setitem__(id(m), args[0].shape[-1]))
             for branch in mapping.defect_branches.values() for _, noise in branch.noise_injections()]
    _, z, y = _inputs()
    with torch.no_grad():
        mapping(z, y, noise_generator=torch.Generator().manual_seed(0))
    for hook in hooks:
        hook.remove()
    for branch in mapping.defect_branches.values():
        listed = branch.noise_injections()
        assert len(listed) == 2 * len(branch.blocks) + 1
        for side, noise in listed:
            assert seen[id(noise)] == side
            assert torch.all(noise.weight == (0.5 if side <= 4 else 0.0))


@pytest.mark.parametrize("fg_relative", [False, True])
def test_decode_each_equals_one_decode_per_code_pair(fg_relative):
    cfg = dataclasses.replace(small_config(), fg_relative=fg_relative)
    g = build_nets(cfg, "e", SIZE, K, P, seed=4).generator
    x = _inputs()[0]
    codes = [(torch.randn(3, STYLE), torch.randn(3, FG, CODE, CODE)) for _ in range(4)]
    with torch.no_grad():
        features = g.encode_features(x)
        together = g.decode_each(features, codes)
        for output, (style, defect) in zip(together, codes, strict=True):
            torch.testing.assert_close(output, g.decode(features, style, defect), rtol=1e-4, atol=1e-5)
    joint = build_nets(small_config(), "c", SIZE, K, P, seed=4).generator
    with pytest.raises(ValueError, match="separate decoders"):
        joint.decode_each(joint.encode_features(x), codes)


def test_background_output_is_the_anchor_output_for_every_style():
    cfg = dataclasses.replace(small_config(), fg_relative=True)
    g = build_nets(cfg, "e", SIZE, K, P, seed=4).generator
    with torch.no_grad():
        features = g.encode_features(_inputs()[0])
        zero = torch.zeros(3, FG, CODE, CODE)
        anchor = g.background_output(features)
        for _ in range(2):
            torch.testing.assert_close(anchor, g.decode(features, torch.randn(3, STYLE), zero), rtol=1e-4, atol=1e-5)
    absolute = build_nets(small_config(), "e", SIZE, K, P, seed=4).generator  # fg_relative off: depends on s
    with pytest.raises(ValueError, match="fg_relative"):
        absolute.background_output(features)


def test_decode_each_appends_the_anchor_output_of_its_own_background_pass():
    cfg = dataclasses.replace(small_config(), fg_relative=True)
    g = build_nets(cfg, "e", SIZE, K, P, seed=4).generator
    codes = [(torch.randn(3, STYLE), torch.randn(3, FG, CODE, CODE)) for _ in range(2)]
    with torch.no_grad():
        features = g.encode_features(_inputs()[0])
        *translations, anchor = g.decode_each(features, codes, with_anchor=True)
        for output, expected in zip(translations, g.decode_each(features, codes), strict=True):
            torch.testing.assert_close(output, expected)
        torch.testing.assert_close(anchor, g.background_output(features))
    absolute = build_nets(small_config(), "e", SIZE, K, P, seed=4).generator
    with pytest.raises(ValueError, match="fg_relative"):
        absolute.decode_each(absolute.encode_features(_inputs()[0]), codes, with_anchor=True)


def test_translations_share_the_background_pass_with_the_same_gradients():
    """objectives._translations in (e): four outputs from one background pass, G22 detached; the values and G's
    gradients equal the plain form (G11, G12, G21 in one 3x call, G22 under no_grad)."""
    cfg = dataclasses.replace(small_config(), fg_relative=True)
    g = build_nets(cfg, "e", SIZE, K, P, seed=5).generator
    x = _inputs()[0]
    codes = tuple((torch.randn(3, STYLE), torch.randn(3, FG, CODE, CODE)) for _ in range(2))

    def grads(outputs_of):
        g.zero_grad(set_to_none=True)
        x11, (o11, o22, o12, o21) = outputs_of(g.encode_features(x))
        ((o11 - o22).abs().mean() + (o12 - o21).abs().mean() + x11.square().mean()).backward()
        return [p.grad.clone() for p in g.parameters() if p.grad is not None], [x11, o22, o12, o21]

    def plain(features):
        (s1, d1), (s2, d2) = codes
        with torch.no_grad():
            x22 = g.decode(features, s2, d2)
        x11, x12, x21 = g.decode(features.repeat(3, 1, 1, 1), torch.cat([s1, s1, s2]),
                                 torch.cat([d1, d2, d1])).chunk(3)
        return x11, [x11, x22, x12, x21]

    shared_grads, shared_out = grads(lambda features: _translations(g, features, codes, with_anchor=False)[:2])
    plain_grads, plain_out = grads(plain)
    assert len(shared_grads) == len(plain_grads)
    for a, b in zip(shared_out + shared_grads, plain_out + plain_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
