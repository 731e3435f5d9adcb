"""The consensus describer: captions people wrote for photos showing the same objects as this one.

    describer = Describer.load()                       # assets/describer.json (train/build_describer.py)
    describer.candidates(detections)                   # ["two giraffes standing next to each other", ...]

The Flickr8k decoder cannot say giraffe, pizza or laptop. From 24,619 everyday COCO captions, the describer keeps,
for each set of objects with counts that enough captions name ("giraffe x2", "person x1 + pizza x1"), the captions
that agree most with the others of that set. A photo's detections (photocap.model.object_input) choose the set:
all its objects first, then without the least salient ones (the detector's score plus the share of the photo the
object's largest box covers: an airliner filling the photo outranks a distant truck found a little surer), but
never people alone (COCO's captions of people say what they are doing: "a person that is surfing in the water"
for a child on a staircase); a count of 3 may use "several" captions, and the other way round, but "two" is never
said of three. The caption chooser checks the candidates like any caption.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from photocap.model.detector import Detection
from photocap.model.object_input import COUNT_CAP, objects_of
from photocap.model.tag_vocabulary import OBJECT_TAG_MIN_SCORE

DESCRIBER_FILE = "describer.json"
# What a box filling the whole photo adds to an object's salience (coco-dev, 80 photos: CIDEr-D 0.661 -> 0.670,
# CHAIR_s 16.2 -> 15.0%, object recall 48.2 -> 50.4% at 1.0; Flickr8k val unchanged; 0.5 half of that, 2.0 the same).
SUBJECT_AREA_WEIGHT = 1.0


def signature_key(counts: Mapping[str, int]) -> str:
    """"giraffe:2|person:1": objects and their counts, by name."""
    return "|".join(f"{label}:{counts[label]}" for label in sorted(counts))


def describer_path() -> Path:
    return Path(str(resources.files("photocap") / "assets" / DESCRIBER_FILE))


@dataclass(frozen=True)
class Describer:
    signatures: dict[str, list[str]]
    sha256: str

    @classmethod
    def load(cls, path: Path | None = None) -> Describer | None:
        """The shipped describer, or None when its file is missing."""
        path = path or describer_path()
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        return cls(json.loads(data)["signatures"], hashlib.sha256(data).hexdigest())

    @property
    def model_id(self) -> str:
        return f"describer@{self.sha256[:12]}"

    def candidates(self, found: Sequence[Detection]) -> list[str]:
        """Captions for a photo with these detections, best first ([] when no set of its objects is known)."""
        objects = _most_salient_first(objects_of(found, OBJECT_TAG_MIN_SCORE), found)  # as tags, nothing weaker
        for size in range(len(objects), 0, -1):
            if all(label == "person" for label, _ in objects[:size]):
                break  # what people are doing is all such captions say, and the detector cannot tell it
            for counts in _count_variants(dict(objects[:size])):
                captions = self.signatures.get(signature_key(counts))
                if captions:
                    return list(captions)
        return []


def _most_salient_first(objects: list[tuple[str, int]], found: Sequence[Detection]) -> list[tuple[str, int]]:
    def salience(label: str) -> float:
        boxes = [d for d in found if d.label == label and d.score >= OBJECT_TAG_MIN_SCORE]
        return max(d.score for d in boxes) + SUBJECT_AREA_WEIGHT * max(d.area for d in boxes)

    return sorted(objects, key=lambda item: -salience(item[0]))


def _count_variants(counts: dict[str, int]) -> Iterator[dict[str, int]]:
    """The counts as found, then with 3 and COUNT_CAP ("several") standing in for each other."""
    yield counts
    swapped = {label: {3: COUNT_CAP, COUNT_CAP: 3}.get(count, count) for label, count in counts.items()}
    if swapped != counts:
        yield swapped
