"""Detections as data in a real SQLite catalog and a real Whoosh index: stored with their detector, turned into
tags at read time (so thresholds change without decoding), searchable, and the upgrade from schema 0005."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from test_catalog import add, captioned, catalog_at_revision

from photocap.catalog import detections as catalog_detections
from photocap.catalog.store import HEAD_REVISION, Catalog, FileUpdate, PhotoResult
from photocap.catalog.tags import OBJECT_MATCH_MIN_SCORE, confident
from photocap.model.tag_vocabulary import DETECTIONS_KEPT_FROM
from photocap.search.index import SearchIndex
from photocap.search.sync import sync_search_index

DETECTOR = "centernet-test@1"
WEAK = (DETECTIONS_KEPT_FROM + OBJECT_MATCH_MIN_SCORE) / 2  # kept, ranks search results, makes none
TAGGER = "imagenet-test@1/map@1"


@pytest.fixture
def catalog(tmp_home: Path):
    with Catalog.open(tmp_home) as opened:
        yield opened


def looked_at(photo_id: int, found: list[tuple[str, float]], tags: list[tuple[str, float]] = ()) -> PhotoResult:
    plain = captioned(photo_id)
    boxes = [(label, score, (0.1, 0.2, 0.5, 0.9)) for label, score in found]
    return PhotoResult(**{**plain.__dict__, "tags": list(tags), "tagger_id": TAGGER, "detections": boxes,
                          "detector_id": DETECTOR})


def shown(catalog: Catalog, path: str) -> list[tuple[str, str, int]]:
    photo = catalog.photo_by_path(path)
    assert photo is not None
    return [(tag["word"], tag["source"], tag.get("count", 0)) for tag in confident(photo["tags"])]


def test_detections_are_kept_with_their_box_and_detector_and_make_counted_tags(catalog: Catalog) -> None:
    ids = add(catalog, "/p/zoo.jpg")
    catalog.save_batch_results([looked_at(ids["/p/zoo.jpg"], [("giraffe", 0.91), ("giraffe", 0.72),
                                                               ("tv", 0.45), ("dog", 0.2), ("cat", 0.05)])])
    photo = catalog.photo_by_path("/p/zoo.jpg")
    assert photo["detector_id"] == DETECTOR
    found = catalog.detections_of([photo["id"]])[photo["id"]]
    # Kept from DETECTIONS_KEPT_FROM (0.15): the cat at 0.05 is not; labels keep the detector's words.
    assert [(d["label"], d["word"], d["score"]) for d in found] == [
        ("giraffe", "giraffe", 0.91), ("giraffe", "giraffe", 0.72), ("tv", "television", 0.45), ("dog", "dog", 0.2)]
    assert found[0]["box"] == pytest.approx((0.1, 0.2, 0.5, 0.9))
    # Shown tags: objects from OBJECT_TAG_MIN_SCORE, counted; the dog at 0.2 only ranks search results.
    assert shown(catalog, "/p/zoo.jpg") == [("giraffe", "detector", 2), ("television", "detector", 1)]
    assert ("dog", "detector") in {(t["word"], t["source"]) for t in photo["tags"]}


def test_the_tagger_is_only_a_hint_for_what_the_detector_speaks_for(catalog: Catalog) -> None:
    ids = add(catalog, "/p/bears.jpg", "/p/old.jpg")
    tags = [("animal", 0.95), ("dog", 0.6), ("golden retriever", 0.5), ("beach", 0.7)]
    catalog.save_batch_results([looked_at(ids["/p/bears.jpg"], [("bear", 0.8), ("bear", 0.6)], tags),
                                PhotoResult(**{**captioned(ids["/p/old.jpg"]).__dict__, "tags": tags,
                                               "tagger_id": TAGGER})])
    # The detector looked and found bears, not a dog: the tagger's dog (and the breed below it) is a hint only.
    assert shown(catalog, "/p/bears.jpg") == [("animal", "model", 0), ("bear", "detector", 2),
                                              ("beach", "model", 0)]
    hints = {t["word"]: t["probability"] for t in catalog.photo_by_path("/p/bears.jpg")["tags"]}
    assert (hints["dog"], hints["golden retriever"]) == (0.27, 0.225)  # 0.45 of the tagger's
    # A tagger very sure of what the detector missed (two Dobermans it called horses) is still shown.
    catalog.save_batch_results([looked_at(ids["/p/bears.jpg"], [("horse", 0.5)], [("dog", 0.95)])])
    assert shown(catalog, "/p/bears.jpg") == [("horse", "detector", 1), ("dog", "model", 0)]
    # A photo no detector looked at keeps the tagger's tags as they were.
    assert [w for w, _s, _c in shown(catalog, "/p/old.jpg")] == ["animal", "beach", "dog", "golden retriever"]


def test_thresholds_apply_when_tags_are_read_so_changing_them_needs_no_decoding(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = add(catalog, "/p/a.jpg")
    catalog.save_batch_results([looked_at(ids["/p/a.jpg"], [("dog", 0.55), ("frisbee", 0.3)])])
    assert [w for w, _s, _c in shown(catalog, "/p/a.jpg")] == ["dog"]
    monkeypatch.setattr(catalog_detections, "OBJECT_TAG_MIN_SCORE", 0.25)  # a later photocap's threshold
    from photocap.catalog import tags as catalog_tags

    monkeypatch.setattr(catalog_tags, "OBJECT_TAG_MIN_SCORE", 0.25)
    assert [w for w, _s, _c in shown(catalog, "/p/a.jpg")] == ["dog", "frisbee"]


def test_changed_content_forgets_detections_and_a_move_keeps_them(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg", "/p/b.jpg")
    catalog.save_batch_results([looked_at(ids["/p/a.jpg"], [("dog", 0.9)]), looked_at(ids["/p/b.jpg"], [("cat", 0.9)])])
    catalog.move_photos([FileUpdate(id=ids["/p/b.jpg"], path="/q/b.jpg", size=10, mtime_ns=1, content_hash="h-b")])
    assert shown(catalog, "/q/b.jpg") == [("cat", "detector", 1)]
    catalog.flag_as_changed([FileUpdate(id=ids["/p/a.jpg"], path="/p/a.jpg", size=11, mtime_ns=2, content_hash="new")])
    photo = catalog.photo_by_path("/p/a.jpg")
    assert photo["detector_id"] is None and catalog.detections_of([photo["id"]]) == {}
    assert [p.path for p in catalog.photos_not_looked_at_by(DETECTOR)] == []  # pending, not captioned yet
    catalog.save_batch_results([captioned(ids["/p/a.jpg"])])  # captioned with detection off
    assert [p.path for p in catalog.photos_not_looked_at_by(DETECTOR)] == ["/p/a.jpg"]
    assert [p.path for p in catalog.photos_not_looked_at_by("centernet-other@2")] == ["/p/a.jpg", "/q/b.jpg"]


def test_detected_objects_are_searchable_by_their_words_and_the_words_above(catalog: Catalog, tmp_home: Path) -> None:
    ids = add(catalog, "/p/zoo.jpg", "/p/street.jpg", "/p/room.jpg")
    catalog.save_batch_results([
        looked_at(ids["/p/zoo.jpg"], [("giraffe", 0.9)]),
        looked_at(ids["/p/street.jpg"], [("fire hydrant", 0.8), ("tv", WEAK)]),
        looked_at(ids["/p/room.jpg"], [("tv", 0.85)]),
    ])
    with SearchIndex.open(tmp_home / "index") as index:
        sync_search_index(catalog, index)
        assert [hit.path for hit in index.search("giraffe")] == ["/p/zoo.jpg"]
        assert [hit.path for hit in index.search("animal")] == ["/p/zoo.jpg"]  # the word above a giraffe
        assert [hit.path for hit in index.search("hydrant")] == ["/p/street.jpg"]  # a synonym
        # A weak detection is not shown with the photo, and does not make it a result: it only ranks.
        hits = index.search("tv", explain=True)
        assert [hit.path for hit in hits] == ["/p/room.jpg"] and hits[0].matched == {"tags": ["tv"]}
        hits = {hit.path: hit for hit in index.search("hydrant tv", explain=True)}
        assert set(hits) == {"/p/street.jpg", "/p/room.jpg"}  # the hydrant makes the street photo a result
        street = hits["/p/street.jpg"]
        assert [tag[0] for tag in street.tags] == ["fire hydrant"] and street.matched == {"tags": ["hydrant"]}


def test_words_people_type_for_a_detected_object_find_it(catalog: Catalog, tmp_home: Path) -> None:
    ids = add(catalog, "/p/ride.jpg", "/p/cycle.jpg", "/p/teeth.jpg")
    catalog.save_batch_results([
        looked_at(ids["/p/ride.jpg"], [("motorcycle", 0.7)]),
        looked_at(ids["/p/cycle.jpg"], [("bicycle", 0.8)]),
        looked_at(ids["/p/teeth.jpg"], [("toothbrush", 0.6)]),
    ])
    with SearchIndex.open(tmp_home / "index") as index:
        sync_search_index(catalog, index)
        for query in ("motorbike", "motorbikes", "motor bike"):
            assert [hit.path for hit in index.search(query)] == ["/p/ride.jpg"], query  # a motor bike is no bike
        assert [hit.path for hit in index.search("tooth brush")] == ["/p/teeth.jpg"]
        assert [hit.path for hit in index.search("bike")] == ["/p/cycle.jpg"]


def test_a_catalog_of_schema_0005_is_upgraded_and_its_photos_await_the_detector(tmp_home: Path) -> None:
    db = tmp_home / "catalog.db"
    catalog_at_revision(db, "0005")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO photos (id, path, folder, size, mtime_ns, content_hash, status) "
                     "VALUES (1, '/p/a.jpg', '/p', 10, 1, 'h', 'ok')")
        conn.execute("INSERT INTO captions (photo_id, source, text, score, model_id, model_checksum, words) "
                     "VALUES (1, 'model', 'a dog on a beach', -2.0, 'photocap-old', 'm0', '[]')")
        conn.execute("INSERT INTO tags (photo_id, source, word, probability, tagger_id) "
                     "VALUES (1, 'model', 'dog', 0.9, 't')")
    with Catalog.open(tmp_home) as catalog:
        assert catalog.schema_revision() == HEAD_REVISION
        photo = catalog.photo_by_path("/p/a.jpg")
        assert (photo["caption"], photo["detector_id"]) == ("a dog on a beach", None)
        assert [(t["word"], t["probability"]) for t in photo["tags"]] == [("dog", 0.9)]  # untouched until looked at
        assert [p.path for p in catalog.photos_not_looked_at_by(DETECTOR)] == ["/p/a.jpg"]
        assert catalog.count_not_looked_at_by(DETECTOR) == 1


def test_every_label_the_shipped_detector_gives_has_a_tag_word() -> None:
    import torch

    from photocap.model.detector import load_detector
    from photocap.model.object_words import COCO_LABELS
    from photocap.model.tag_vocabulary import object_tag, vocabulary

    assert load_detector(torch.device("cpu"), "fp32", 128).classes == COCO_LABELS
    assert all(vocabulary().lookup(object_tag(label)) for label in COCO_LABELS)
