"""The catalog's detections: the objects the detector found in each photo, and the tags they make.

The rows are the detector's findings from a low score on (photocap.model.tag_vocabulary.DETECTIONS_KEPT_FROM);
tags are made from them when read, so thresholds can change without decoding a photo again. On a photo the
detector looked at, an object it speaks for is its tag, with its score and how many it found; the ImageNet
tagger's probability for such a word is then only a hint (TAGGER_WEIGHT_ON_OBJECTS of itself).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypedDict

from sqlalchemy import delete, select, update
from sqlalchemy.engine import Connection

from photocap.catalog.schema import chunks, detections, photos
from photocap.model.tag_vocabulary import (
    DETECTIONS_KEPT_FROM,
    OBJECT_TAG_MIN_SCORE,
    TAGGER_WEIGHT_ON_OBJECTS,
    best_and_counts,
    covered_by_objects,
    object_tag,
)

if TYPE_CHECKING:  # catalog.tags reads this module to make effective tags
    from photocap.catalog.tags import TagView

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 as fractions of the upright image's width and height


class DetectionView(TypedDict):
    label: str  # the detector's COCO label ("dog", "tv")
    word: str  # its tag word ("dog", "television")
    score: float
    box: Box


class PhotoDetections(TypedDict):
    photo_id: int
    detector_id: str
    found: Sequence[tuple[str, float, Box]]  # (label, score, box)


def replace_detections(conn: Connection, rows: Sequence[PhotoDetections], now: datetime) -> None:
    """These photos' detections, replacing what an earlier look found, and the detector that looked."""
    for chunk in chunks(row["photo_id"] for row in rows):
        conn.execute(delete(detections).where(detections.c.photo_id.in_(chunk)))
    values = [
        {"photo_id": row["photo_id"], "label": label, "score": float(score), "x1": float(box[0]),
         "y1": float(box[1]), "x2": float(box[2]), "y2": float(box[3])}
        for row in rows for label, score, box in row["found"] if score >= DETECTIONS_KEPT_FROM
    ]
    if values:
        conn.execute(detections.insert(), values)
    by_detector: dict[str, list[int]] = {}
    for row in rows:
        by_detector.setdefault(row["detector_id"], []).append(row["photo_id"])
    for detector_id, ids in by_detector.items():
        for chunk in chunks(ids):
            conn.execute(update(photos).where(photos.c.id.in_(chunk)).values(detector_id=detector_id, updated_at=now))


def delete_detections(conn: Connection, photo_ids: Sequence[int]) -> None:
    """Forget what the detector found in photos whose content changed."""
    for chunk in chunks(photo_ids):
        conn.execute(delete(detections).where(detections.c.photo_id.in_(chunk)))
        conn.execute(update(photos).where(photos.c.id.in_(chunk)).values(detector_id=None))


def detections_of(conn: Connection, photo_ids: Sequence[int]) -> dict[int, list[DetectionView]]:
    """Each photo's detections, most confident first."""
    found: dict[int, list[DetectionView]] = {}
    for chunk in chunks(photo_ids):
        stmt = (select(detections).where(detections.c.photo_id.in_(chunk))
                .order_by(detections.c.photo_id, detections.c.score.desc(), detections.c.id))
        for row in conn.execute(stmt):
            found.setdefault(row.photo_id, []).append(DetectionView(
                label=row.label, word=object_tag(row.label), score=round(row.score, 4),
                box=(row.x1, row.y1, row.x2, row.y2)))
    return found


def detected_photos(conn: Connection, photo_ids: Sequence[int]) -> set[int]:
    """Those of `photo_ids` a detector has looked at."""
    looked: set[int] = set()
    for chunk in chunks(photo_ids):
        stmt = select(photos.c.id).where(photos.c.id.in_(chunk), photos.c.detector_id.is_not(None))
        looked.update(conn.scalars(stmt))
    return looked


def object_tags(found: Sequence[DetectionView]) -> list[TagView]:
    """The tags a photo's detections make: one per object word, with its best score and, where it is shown, how
    many were found at OBJECT_TAG_MIN_SCORE ("2 dogs"), most confident first."""
    best, counts = best_and_counts(((d["word"], d["score"], 1.0) for d in found), OBJECT_TAG_MIN_SCORE)
    tags: list[TagView] = [{"word": word, "probability": score, "source": "detector"} for word, score in best.items()]
    for tag in tags:
        if tag["word"] in counts:
            tag["count"] = counts[tag["word"]]
    return sorted(tags, key=lambda tag: (-tag["probability"], tag["word"]))


def with_objects(model: Sequence[TagView], objects: Sequence[TagView]) -> list[TagView]:
    """A looked-at photo's machine tags: its objects, and the tagger's, those the detector speaks for weighed
    down to a hint (TAGGER_WEIGHT_ON_OBJECTS); where both say a word, the stronger; most probable first."""
    found = {tag["word"]: tag for tag in objects}
    for tag in model:
        if covered_by_objects(tag["word"]):
            tag = {"word": tag["word"], "probability": round(tag["probability"] * TAGGER_WEIGHT_ON_OBJECTS, 4),
                   "source": "model"}
        if tag["word"] not in found or tag["probability"] > found[tag["word"]]["probability"]:
            found[tag["word"]] = tag
    return sorted(found.values(), key=lambda tag: -tag["probability"])
