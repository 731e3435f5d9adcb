"""The catalog's tags and pooled features: the queries, on a connection the catalog's transaction owns.

A photo's *effective* tags are the user's own, then the keywords its files carry (photocap.metadata.read), then the
model's, minus those the user took away. Model rows are replaced each time the photo is tagged; the user's rows
are never touched by indexing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NotRequired, TypedDict

from sqlalchemy import delete, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from photocap.catalog.detections import detected_photos, detections_of, object_tags, with_objects
from photocap.catalog.metadata import written_keywords
from photocap.catalog.schema import chunks, photo_features, tags
from photocap.model.tag_vocabulary import OBJECT_TAG_MIN_SCORE, TAG_MIN_PROBABILITY, normalize_tag

USER_TAG_PROBABILITY = 1.0  # what a user's tag (or a keyword the file carries) weighs in search


class TagView(TypedDict):
    word: str
    probability: float
    source: str  # 'model', 'detector', 'user' or 'file' (a keyword the photo's files carry)
    count: NotRequired[int]  # a detector's tag: how many it found (at OBJECT_TAG_MIN_SCORE)


class ModelTags(TypedDict):
    photo_id: int
    tags: Sequence[tuple[str, float]]  # (word, probability), most probable first
    tagger_id: str


class PooledFeature(TypedDict):
    photo_id: int
    encoder: str
    vector: bytes
    tagger_id: str | None


# A machine tag makes a photo a search result for its words (and their synonyms and broader words) from these
# strengths; below, it only ranks the results (photocap.search.evidence). Chosen on Flickr8k val
# (benchmarks/match_thresholds.py, docs/MODEL.md "Search evidence"). The tagger's is its probability as search
# weighs it: on a photo the detector looked at, a word the detector speaks for counts TAGGER_WEIGHT_ON_OBJECTS of it.
TAG_MATCH_MIN_PROBABILITY = 0.2
OBJECT_MATCH_MIN_SCORE = 0.3


def confident(found: Sequence[TagView]) -> list[TagView]:
    """The tags shown, exported and filtered on: the user's, the file's, the tagger's from TAG_MIN_PROBABILITY on
    and the detector's from OBJECT_TAG_MIN_SCORE on. (The catalog keeps less likely ones too, for search.)"""
    floor = {"model": TAG_MIN_PROBABILITY, "detector": OBJECT_TAG_MIN_SCORE}
    return [tag for tag in found if tag["probability"] >= floor.get(tag["source"], 0.0)]


def matching(found: Sequence[TagView]) -> list[TagView]:
    """The tags that make a photo a search result for their words: the confident ones, and the machine's from
    TAG_MATCH_MIN_PROBABILITY and OBJECT_MATCH_MIN_SCORE on."""
    floor = {"model": min(TAG_MATCH_MIN_PROBABILITY, TAG_MIN_PROBABILITY),
             "detector": min(OBJECT_MATCH_MIN_SCORE, OBJECT_TAG_MIN_SCORE)}
    return [tag for tag in found if tag["probability"] >= floor.get(tag["source"], 0.0)]


def less_sure(found: Sequence[TagView]) -> list[TagView]:
    """The tags search trusts that are not shown as tags: `show` and the photo page list them as "less sure"."""
    shown = confident(found)
    return [tag for tag in matching(found) if tag not in shown]


def replace_model_tags(conn: Connection, rows: Sequence[ModelTags], now: datetime) -> None:
    """Drop these photos' model tags and write the new ones (the user's rows stay)."""
    delete_model_tags(conn, [row["photo_id"] for row in rows])
    values = [
        {"photo_id": row["photo_id"], "source": "model", "word": normalize_tag(word), "probability": float(p),
         "tagger_id": row["tagger_id"], "removed": False, "created_at": now}
        for row in rows for word, p in row["tags"]
    ]
    if values:
        conn.execute(sqlite_insert(tags).on_conflict_do_nothing(), values)


def delete_model_tags(conn: Connection, photo_ids: Sequence[int]) -> None:
    for chunk in chunks(photo_ids):
        conn.execute(delete(tags).where(tags.c.photo_id.in_(chunk), tags.c.source == "model"))


def save_features(conn: Connection, rows: Sequence[PooledFeature]) -> None:
    if not rows:
        return
    insert = sqlite_insert(photo_features)
    conn.execute(insert.on_conflict_do_update(
        index_elements=[photo_features.c.photo_id],
        set_={"encoder": insert.excluded.encoder, "vector": insert.excluded.vector,
              "tagger_id": insert.excluded.tagger_id},
    ), list(rows))


def delete_features(conn: Connection, photo_ids: Sequence[int]) -> None:
    for chunk in chunks(photo_ids):
        conn.execute(delete(photo_features).where(photo_features.c.photo_id.in_(chunk)))


def features_of(conn: Connection, photo_ids: Sequence[int]) -> dict[int, PooledFeature]:
    found: dict[int, PooledFeature] = {}
    for chunk in chunks(photo_ids):
        stmt = select(photo_features).where(photo_features.c.photo_id.in_(chunk))
        for row in conn.execute(stmt):
            found[row.photo_id] = PooledFeature(photo_id=row.photo_id, encoder=row.encoder, vector=row.vector,
                                                tagger_id=row.tagger_id)
    return found


def set_user_tags(conn: Connection, photo_id: int, add: Iterable[str], remove: Iterable[str],
                  now: datetime) -> None:
    """The user adds words (they win over the model's) and takes words away (model tags hidden, own
    tags dropped). A word both added and removed is refused by the caller."""
    rows = [(normalize_tag(word), False) for word in add] + [(normalize_tag(word), True) for word in remove]
    for word, removed in rows:
        insert = sqlite_insert(tags).values(photo_id=photo_id, source="user", word=word, probability=None,
                                            tagger_id=None, removed=removed, created_at=now)
        conn.execute(insert.on_conflict_do_update(
            index_elements=[tags.c.photo_id, tags.c.source, tags.c.word],
            set_={"removed": insert.excluded.removed, "created_at": insert.excluded.created_at},
        ))


def effective_tags(conn: Connection, photo_ids: Sequence[int]) -> dict[int, list[TagView]]:
    """Each photo's tags as search and export see them: the user's first, then the file's keywords, then the
    machine's by probability (the detector's objects and the tagger's; photocap.catalog.detections)."""
    model: dict[int, list[TagView]] = {}
    user_added: dict[int, list[TagView]] = {}
    user_said: dict[int, set[str]] = {}
    for chunk in chunks(photo_ids):
        stmt = select(tags.c.photo_id, tags.c.source, tags.c.word, tags.c.probability, tags.c.removed).where(
            tags.c.photo_id.in_(chunk)).order_by(tags.c.photo_id, tags.c.probability.desc(), tags.c.word)
        for row in conn.execute(stmt):
            if row.source == "user":
                user_said.setdefault(row.photo_id, set()).add(row.word)
                if not row.removed:
                    user_added.setdefault(row.photo_id, []).append(
                        TagView(word=row.word, probability=USER_TAG_PROBABILITY, source="user"))
            else:
                model.setdefault(row.photo_id, []).append(
                    TagView(word=row.word, probability=float(row.probability or 0.0), source="model"))
    written = written_keywords(conn, photo_ids)
    looked = detected_photos(conn, photo_ids)
    objects = detections_of(conn, [photo_id for photo_id in photo_ids if photo_id in looked])
    for photo_id in looked:
        model[photo_id] = with_objects(model.get(photo_id, []), object_tags(objects.get(photo_id, [])))
    result: dict[int, list[TagView]] = {}
    for photo_id in photo_ids:
        said = set(user_said.get(photo_id, set()))
        own = sorted(user_added.get(photo_id, []), key=lambda tag: tag["word"])
        from_file = []
        for keyword, _source in written.get(photo_id, []):
            word = normalize_tag(keyword)
            if word and word not in said:
                said.add(word)
                from_file.append(TagView(word=word, probability=USER_TAG_PROBABILITY, source="file"))
        result[photo_id] = own + from_file + [tag for tag in model.get(photo_id, []) if tag["word"] not in said]
    return result
