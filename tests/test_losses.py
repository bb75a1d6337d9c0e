"""Unit tests of the DT-GAN loss terms (dtgan/losses.py), the λ schedule and the label conventions of the objectives."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from dtgan.gans.dtgan.config import GanConfig, LossWeights
from dtgan.gans.dtgan.losses import (
    adversarial_loss,
    background_classification_loss,
    code_imle_loss,
    cycle_loss,
    defect_reconstruction_loss,
    diversity_loss,
    foreground_classification_loss,
    r1_penalty,
    style_defect_reconstruction_loss,
    trimmed_identity_loss,
    weighted_total,
)
from dtgan.gans.dtgan.training.objectives import discriminator_loss, generator_loss
from dtgan.gans.dtgan.training.sampler import Batch
from dtgan.gans.dtgan.training.schedules import discriminator_weights, generator_weights, lambda_ds_at


def test_adversarial_loss_values():
    zero = torch.zeros(4)
    assert adversarial_loss(zero, True).item() == pytest.approx(math.log(2))
    assert adversarial_loss(zero, False).item() == pytest.approx(math.log(2))
    confident = torch.full((4,), 20.0)
    assert adversarial_loss(confident, True).item() < 1e-6
    assert adversarial_loss(confident, False).item() == pytest.approx(20.0, rel=1e-4)


def test_r1_linear_discriminator_closed_form():
    # D(x) = <w, x> + b has gradient w for every sample, so R1 = 0.5 * ||w||^2 exactly.
    w = torch.tensor([[1.0, -2.0], [0.5, 3.0]])
    x = torch.randn(5, 1, 2, 2, requires_grad=True)
    logits = (x * w).flatten(1).sum(1) + 0.7
    expected = 0.5 * float((w**2).sum())
    assert r1_penalty(logits, x).item() == pytest.approx(expected)


def test_r1_quadratic_is_differentiable_for_d():
    # D(x) = a * sum(x^2): grad = 2ax, R1 = 0.5 * mean_b sum(4a^2 x^2) and dR1/da = 4a mean_b sum x^2.
    a = torch.tensor(0.3, requires_grad=True)
    x = torch.randn(3, 1, 2, 2, requires_grad=True)
    r1 = r1_penalty(a * x.pow(2).flatten(1).sum(1), x)
    sq = x.detach().pow(2).flatten(1).sum(1).mean()
    assert r1.item() == pytest.approx(float(2 * 0.09 * sq), rel=1e-5)
    (grad_a,) = torch.autograd.grad(r1, a)
    assert grad_a.item() == pytest.approx(float(4 * 0.3 * sq), rel=1e-5)


def test_r1_requires_grad_input():
    with pytest.raises(ValueError, match="requires_grad"):
        r1_penalty(torch.zeros(2), torch.zeros(2, 3))


def test_style_defect_reconstruction():
    s, s_hat = torch.zeros(2, 4), torch.ones(2, 4)
    d, d_hat = torch.zeros(2, 3, 2, 2), torch.full((2, 3, 2, 2), 0.5)
    assert style_defect_reconstruction_loss(s, s_hat).item() == pytest.approx(1.0)
    assert style_defect_reconstruction_loss(s, s_hat, d, d_hat).item() == pytest.approx(1.5)
    with pytest.raises(ValueError, match="both"):
        style_defect_reconstruction_loss(s, s_hat, d, None)


def test_defect_reconstruction_anchor_rule_pushes_pop_out_to_zero():
    fg_real = torch.full((2, 3, 2, 2), 0.25)
    zero_code = torch.zeros_like(fg_real)  # E's defect code of a Normal image under the anchor rule
    fg_fake, d_fake = torch.ones_like(fg_real), torch.ones_like(fg_real)
    loss = defect_reconstruction_loss(fg_real.requires_grad_(), zero_code, fg_fake, d_fake)
    assert loss.item() == pytest.approx(0.25)
    (grad,) = torch.autograd.grad(loss, fg_real)
    assert (grad > 0).all()  # gradient descent shrinks the normal image's pop-out towards 0


def test_diversity_two_outputs_is_stargan_pair_with_detached_second():
    a = torch.zeros(2, 3, 4, 4, requires_grad=True)
    b = torch.ones(2, 3, 4, 4, requires_grad=True)
    loss = diversity_loss([a, b])
    assert loss.item() == pytest.approx(1.0)
    loss.backward()
    assert b.grad is None and a.grad is not None


def test_diversity_four_outputs_uses_all_six_pairs():
    g11, g22, g12, g21 = (torch.full((1, 3, 2, 2), v) for v in (0.0, 1.0, 3.0, 7.0))
    pairs = [(g11, g22), (g12, g21), (g12, g11), (g12, g22), (g21, g11), (g21, g22)]
    expected = sum(float((p - q).abs().mean()) for p, q in pairs) / 6
    assert diversity_loss([g11, g22, g12, g21]).item() == pytest.approx(expected)
    with pytest.raises(ValueError, match="2 .* or 4"):
        diversity_loss([g11, g22, g12])


def test_ds_is_subtracted_in_objective():
    far = torch.tensor(2.0, requires_grad=True)
    total, logged = weighted_total({"ds": far, "cyc": torch.tensor(1.0)}, {"ds": 0.5, "cyc": 1.0})
    assert total.item() == pytest.approx(1.0 - 0.5 * 2.0)
    assert logged["ds"] == pytest.approx(2.0)  # logged unweighted and positive
    total.backward()
    assert far.grad.item() < 0  # minimising the total increases diversity


def test_weighted_total_skips_inactive_terms_and_checks_weights():
    total, logged = weighted_total({"adv": torch.tensor(0.5), "fg": None}, {"adv": 2.0, "fg": 1.0})
    assert total.item() == pytest.approx(1.0)
    assert logged == {"adv": 0.5, "fg": 0.0, "total": 1.0}
    with pytest.raises(KeyError, match="bg"):
        weighted_total({"bg": torch.tensor(1.0)}, {"adv": 1.0})


def test_cycle_and_classification_losses():
    x = torch.zeros(2, 3, 2, 2)
    assert cycle_loss(x, x + 0.2).item() == pytest.approx(0.2)
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
    labels = torch.tensor([0, 2])
    expected = F.cross_entropy(logits, labels).item()
    assert foreground_classification_loss(logits, labels).item() == pytest.approx(expected)
    assert background_classification_loss(logits, labels).item() == pytest.approx(expected)


def test_lambda_ds_linear_decay_matches_stargan_decrement():
    initial, iters = 2.0, 4
    stateful = initial
    for step in range(7):
        assert lambda_ds_at(step, initial, iters) == pytest.approx(max(stateful, 0.0))
        stateful -= initial / iters  # StarGAN v2 solver.py decrements after each iteration
    assert lambda_ds_at(4, initial, iters) == 0.0
    with pytest.raises(ValueError, match="step"):
        lambda_ds_at(-1, 1.0, 10)


def test_code_imle_pulls_only_the_nearest_candidate_of_each_target():
    style_target = torch.tensor([[0.0, 0.0], [1.0, 1.0]])
    defect_target = torch.zeros(2, 1, 2, 2)
    # K=3 candidates per row; row 0's nearest is candidate 1 (distance 0.1 + 0), row 1's is candidate 2 (0.5 + 0.2)
    style = torch.tensor([[[5.0, 5.0], [3.0, 3.0]], [[0.1, 0.1], [0.0, 0.0]], [[2.0, 2.0], [0.5, 0.5]]],
                         requires_grad=True)
    defect = torch.zeros(3, 2, 1, 2, 2)
    defect[2, 1] = 0.2
    defect.requires_grad_(True)
    loss = code_imle_loss(style, defect, style_target, defect_target)
    assert loss.item() == pytest.approx(((0.1 + 0.0) + (0.5 + 0.2)) / 2)
    loss.backward()
    pulled = style.grad.abs().flatten(2).sum(2) > 0  # (K, B): which candidate of each row gets a gradient
    assert pulled.tolist() == [[False, False], [True, False], [False, True]]
    assert code_imle_loss(style.detach(), None, style_target, None).item() == pytest.approx((0.1 + 0.5) / 2)
    with pytest.raises(ValueError, match="both be given"):
        code_imle_loss(style, defect, style_target, None)
    with pytest.raises(ValueError, match="candidates must be"):
        code_imle_loss(style[0], None, style_target, None)


def test_weight_tables_use_loss_weights():
    w = LossWeights(lambda_fg=0.3, lambda_bg=0.4, lambda_ds=2.0)
    expected = {"adv_real": 1.0, "adv_fake": 1.0, "r1": 5.0, "fg": 0.3, "bg": 0.4}
    assert discriminator_weights(w, lambda_reg=5.0) == expected
    g = generator_weights(w, step=5, ds_decay_iters=10)
    assert g["ds"] == pytest.approx(1.0) and g["fg"] == 0.3 and g["bg"] == 0.4
    assert g["imle"] == 0.0 and generator_weights(LossWeights(lambda_imle=2.0), 0, 10)["imle"] == 2.0


# --- label conventions of the objectives, with stand-in networks whose classifier logits are fixed ---------------

FIXED_FG = torch.tensor([[3.0, 0.0, -1.0], [0.0, 2.0, 1.0]])
FIXED_BG = torch.tensor([[1.0, 0.0, -2.0, 0.5], [0.0, -1.0, 2.0, 0.0]])


class StandInD(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor(0.1))

    def forward(self, x, y):
        logit = self.w * x.flatten(1).sum(1)
        return SimpleNamespace(logit=logit, fg_logits=FIXED_FG, bg_logits=FIXED_BG)


class StandInG(torch.nn.Module):
    """Features = a * x; the pop-out is the pooled first channel; decoding adds the codes' means."""

    defect_code = True
    separate_decoding = False  # the joint form: every translation is a full decode()

    def __init__(self):
        super().__init__()
        self.a = torch.nn.Parameter(torch.tensor(0.5))

    def encode_features(self, x):
        return x * self.a

    def split(self, features):
        return features, F.avg_pool2d(features[:, :1], 2)

    def decode(self, features, style, defect):
        shift = style.mean(1) + (defect.flatten(1).mean(1) if defect is not None else 0)
        return features + shift[:, None, None, None]

    def forward(self, x, style, defect):
        return self.decode(self.encode_features(x), style, defect)


class StandInE(torch.nn.Module):
    def forward(self, x, y):
        style = x.flatten(1)[:, :4]
        defect = F.avg_pool2d(x[:, :1], 2)
        return style, defect * (y != 0).float()[:, None, None, None]  # anchor rule: zero code for Normal


def _batch():
    g = torch.Generator().manual_seed(0)
    return Batch(
        x=torch.randn(2, 3, 4, 4, generator=g), y=torch.tensor([0, 1]), p=torch.tensor([3, 1]),
        y_trg=torch.tensor([2, 0]), x_ref=torch.randn(2, 3, 4, 4, generator=g),
        x_ref2=torch.randn(2, 3, 4, 4, generator=g),
        z1=torch.randn(2, 2, generator=g), z2=torch.randn(2, 2, generator=g),
    )


def _nets():
    return SimpleNamespace(generator=StandInG(), encoder=StandInE(), discriminator=StandInD())


def test_generator_fg_uses_target_domain_and_bg_uses_source_product():
    batch, nets = _batch(), _nets()
    codes = ((torch.ones(2, 4), torch.zeros(2, 1, 2, 2)), (torch.zeros(2, 4), torch.ones(2, 1, 2, 2)))
    _, logged = generator_loss(nets, batch, codes, generator_weights(LossWeights(), 0, 10),
                               keep_trim=GanConfig().keep_trim)
    assert logged["fg"] == pytest.approx(F.cross_entropy(FIXED_FG, batch.y_trg).item())
    assert logged["fg"] != pytest.approx(F.cross_entropy(FIXED_FG, batch.y).item())
    assert logged["bg"] == pytest.approx(F.cross_entropy(FIXED_BG, batch.p).item())
    assert logged["ds"] > 0 and logged["d_rec"] > 0


def test_discriminator_classifies_real_images_with_their_own_labels():
    batch, nets = _batch(), _nets()
    codes = (torch.ones(2, 4), torch.zeros(2, 1, 2, 2))
    total, logged = discriminator_loss(nets, batch, codes, discriminator_weights(LossWeights(), 1.0))
    assert logged["fg"] == pytest.approx(F.cross_entropy(FIXED_FG, batch.y).item())
    assert logged["bg"] == pytest.approx(F.cross_entropy(FIXED_BG, batch.p).item())
    # Linear D: R1 = 0.5 * w^2 * (numel per image)
    assert logged["r1"] == pytest.approx(0.5 * 0.01 * 48, rel=1e-5)
    expected = logged["adv_real"] + logged["adv_fake"] + logged["r1"] + logged["fg"] + logged["bg"]
    assert total.item() == pytest.approx(expected, rel=1e-6)


def test_variant_a_codes_drop_defect_terms():
    batch, nets = _batch(), _nets()
    nets.discriminator.forward = lambda x, y: SimpleNamespace(
        logit=x.flatten(1).sum(1) * nets.discriminator.w, fg_logits=None, bg_logits=None
    )
    codes = ((torch.ones(2, 4), None), (torch.zeros(2, 4), None))
    _, logged = generator_loss(nets, batch, codes, generator_weights(LossWeights(), 0, 10),
                               keep_trim=GanConfig().keep_trim)
    assert logged["fg"] == 0.0 and logged["bg"] == 0.0 and logged["d_rec"] == 0.0
    assert logged["ds"] > 0 and logged["cyc"] > 0


def test_trimmed_identity_loss_leaves_out_the_largest_pixel_errors():
    x = torch.zeros(2, 3, 4, 4)
    output = x.clone()
    output[0, :, 0, 0] = 8.0  # one pixel of 16 changed a lot (a dropped defect), everything else kept
    output[1] += 0.5  # a smear: every pixel changed a little
    assert trimmed_identity_loss(x, output, 0.25).item() == pytest.approx(0.25)  # (0 + 0.5) / 2
    assert trimmed_identity_loss(x, output, 0.0).item() == pytest.approx((8 / 16 + 0.5) / 2)  # plain L1
    with pytest.raises(ValueError, match="trim must lie in"):
        trimmed_identity_loss(x, output, 1.0)
