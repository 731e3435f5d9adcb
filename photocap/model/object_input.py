"""What a grounded decoder is told of a photo's objects: up to MAX_OBJECTS COCO categories, each with a count.

The same rule serves training and captioning: a category is given when the detector found it with a score of
at least INPUT_MIN_SCORE; its count is the number of its detections from that score, at most COUNT_CAP (which
stands for "COUNT_CAP or more"); categories are ordered by their best score. Row 0 of the tensors is padding.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from photocap.model.detector import Detection
from photocap.model.object_words import COCO_LABELS

INPUT_MIN_SCORE = 0.3
MAX_OBJECTS = 8
COUNT_CAP = 4
CLASS_IDS = {label: index + 1 for index, label in enumerate(COCO_LABELS)}  # 0 is padding
NUM_CLASS_IDS = len(COCO_LABELS) + 1
NUM_COUNT_IDS = COUNT_CAP + 1  # 0 is padding


@dataclass(frozen=True)
class ObjectInput:
    classes: torch.Tensor  # (B, K) long: CLASS_IDS, 0 where there is no object
    counts: torch.Tensor  # (B, K) long: 1..COUNT_CAP, 0 where there is no object

    def select(self, rows: torch.Tensor) -> ObjectInput:
        return ObjectInput(self.classes[rows], self.counts[rows])

    def to(self, device: torch.device | str) -> ObjectInput:
        return ObjectInput(self.classes.to(device), self.counts.to(device))


def objects_of(found: Sequence[Detection], min_score: float = INPUT_MIN_SCORE) -> list[tuple[str, int]]:
    """(label, count) of one photo's detections, best first, as the decoder is told them."""
    best: dict[str, float] = {}
    counts: dict[str, int] = {}
    for detection in found:
        if detection.score >= min_score and detection.label in CLASS_IDS:
            best[detection.label] = max(best.get(detection.label, 0.0), detection.score)
            counts[detection.label] = counts.get(detection.label, 0) + 1
    ranked = sorted(best, key=lambda label: -best[label])[:MAX_OBJECTS]
    return [(label, min(counts[label], COUNT_CAP)) for label in ranked]


def object_input(per_photo: Sequence[Sequence[tuple[str, int]]]) -> ObjectInput:
    """The tensors of a batch of photos' (label, count) lists (see objects_of)."""
    width = max([len(objects) for objects in per_photo] + [1])
    classes = torch.zeros(len(per_photo), width, dtype=torch.long)
    counts = torch.zeros(len(per_photo), width, dtype=torch.long)
    for row, objects in enumerate(per_photo):
        for column, (label, count) in enumerate(objects):
            classes[row, column] = CLASS_IDS[label]
            counts[row, column] = min(max(count, 1), COUNT_CAP)
    return ObjectInput(classes, counts)


def detections_input(found: Sequence[Sequence[Detection] | None], device: torch.device | str = "cpu") -> ObjectInput:
    """The decoder's object input for a batch of photos' detections (None: the detector did not look)."""
    return object_input([objects_of(photo) if photo else [] for photo in found]).to(device)
