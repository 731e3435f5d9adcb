"""Tags and pooled features in a real SQLite catalog: stored, replaced, the user's winning, the upgrade from
a catalog of the previous schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pytest
from test_catalog import add, captioned, catalog_at_revision

from photocap.catalog.store import HEAD_REVISION, Catalog, CatalogError, FileUpdate, PhotoResult

TAGGER = "imagenet-test@1/map@1"
ENCODER = "efficientnet_lite0@abc"


@pytest.fixture
def catalog(tmp_home: Path):
    with Catalog.open(tmp_home) as opened:
        yield opened


def tagged(photo_id: int, tags: list[tuple[str, float]], feature: bytes | None = b"\x00\x01" * 4) -> PhotoResult:
    plain = captioned(photo_id)
    return PhotoResult(**{**plain.__dict__, "tags": tags, "tagger_id": TAGGER, "feature": feature,
                          "feature_encoder": ENCODER, "confidence": 0.8, "method": "beam"})


def words(catalog: Catalog, path: str) -> list[tuple[str, str]]:
    photo = catalog.photo_by_path(path)
    assert photo is not None
    return [(tag["word"], tag["source"]) for tag in photo["tags"]]


def test_model_tags_are_stored_with_probability_and_replaced_on_retagging(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg")
    catalog.save_batch_results([tagged(ids["/p/a.jpg"], [("dog", 0.9), ("animal", 0.95), ("beach", 0.3)])])
    photo = catalog.photo_by_path("/p/a.jpg")
    assert [(t["word"], t["probability"]) for t in photo["tags"]] == [("animal", 0.95), ("dog", 0.9), ("beach", 0.3)]
    assert (photo["confidence"], photo["method"]) == (0.8, "beam")
    catalog.save_batch_results([tagged(ids["/p/a.jpg"], [("zebra", 0.7)])])
    assert words(catalog, "/p/a.jpg") == [("zebra", "model")]
    [row] = catalog.unsynced_photos()
    assert row["tags"] == [{"word": "zebra", "probability": 0.7, "source": "model"}]


def test_user_tags_win_and_survive_retagging_and_changed_content(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg")
    catalog.save_batch_results([tagged(ids["/p/a.jpg"], [("dog", 0.9), ("cat", 0.2)])])
    now = catalog.set_user_tags("/p/a.jpg", add=["Grandma", "picnic"], remove=["cat"])
    assert [(t["word"], t["source"]) for t in now] == [("grandma", "user"), ("picnic", "user"), ("dog", "model")]
    catalog.save_batch_results([tagged(ids["/p/a.jpg"], [("cat", 0.6), ("sofa", 0.5)])])  # indexed again
    assert words(catalog, "/p/a.jpg") == [("grandma", "user"), ("picnic", "user"), ("sofa", "model")]
    catalog.flag_as_changed([FileUpdate(id=ids["/p/a.jpg"], path="/p/a.jpg", size=11, mtime_ns=2,
                                        content_hash="new")])
    assert words(catalog, "/p/a.jpg") == [("grandma", "user"), ("picnic", "user")]  # the model's are gone
    catalog.set_user_tags("/p/a.jpg", add=["cat"], remove=["picnic"])
    assert words(catalog, "/p/a.jpg") == [("cat", "user"), ("grandma", "user")]
    with pytest.raises(CatalogError, match="not in the catalog"):
        catalog.set_user_tags("/p/nowhere.jpg", add=["x"], remove=[])


def test_kept_features_let_photos_be_tagged_again_without_decoding(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg", "/p/b.jpg", "/p/c.jpg")
    vector = np.arange(1280, dtype=np.float16).tobytes()
    catalog.save_batch_results([tagged(ids["/p/a.jpg"], [("dog", 0.9)], feature=vector),
                                tagged(ids["/p/b.jpg"], [], feature=vector),  # tagged, nothing confident
                                captioned(ids["/p/c.jpg"])])  # captioned by an older photocap: no feature
    kept, to_decode = catalog.photos_to_tag(TAGGER, ENCODER)
    assert (kept, [p.path for p in to_decode]) == ([], ["/p/c.jpg"])
    kept, to_decode = catalog.photos_to_tag("a newer tagger", ENCODER)
    assert sorted(f["photo_id"] for f in kept) == [ids["/p/a.jpg"], ids["/p/b.jpg"]]
    assert np.array_equal(np.frombuffer(kept[0]["vector"], dtype=np.float16), np.arange(1280, dtype=np.float16))
    catalog.mark_search_synced(None)
    catalog.save_tags([{"photo_id": ids["/p/a.jpg"], "tags": [("cat", 0.4)], "tagger_id": "a newer tagger"},
                       {"photo_id": ids["/p/b.jpg"], "tags": [], "tagger_id": "a newer tagger"}])
    assert words(catalog, "/p/a.jpg") == [("cat", "model")]
    assert {row["id"] for row in catalog.unsynced_photos()} == {ids["/p/a.jpg"], ids["/p/b.jpg"]}
    assert catalog.photos_to_tag("a newer tagger", ENCODER)[0] == []
    kept, to_decode = catalog.photos_to_tag("a third tagger", "another encoder")  # the kept features do not fit
    assert (kept, len(to_decode)) == ([], 3)


def test_pruning_and_changed_content_drop_tags_and_features(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg")
    catalog.save_batch_results([tagged(ids["/p/a.jpg"], [("dog", 0.9)])])
    catalog.flag_photos_under_roots_as_missing([ids["/p/a.jpg"]], ["/p"])
    catalog.prune_missing()
    with catalog._read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM tags").scalar() == 0
        assert conn.exec_driver_sql("SELECT count(*) FROM photo_features").scalar() == 0


def test_a_catalog_of_the_previous_schema_is_upgraded_without_losing_captions(tmp_home: Path) -> None:
    db = tmp_home / "catalog.db"
    catalog_at_revision(db, "0001")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO photos (id, path, folder, size, mtime_ns, content_hash, status) "
                     "VALUES (1, '/p/a.jpg', '/p', 10, 1, 'h', 'ok')")
        conn.execute("INSERT INTO captions (photo_id, source, text, score, model_id, model_checksum, words) "
                     "VALUES (1, 'model', 'a dog on a beach', -2.0, 'photocap-old', 'm0', '[[\"dog\", 0.9]]')")
        conn.execute("INSERT INTO captions (photo_id, source, text) VALUES (1, 'user', 'Rex at Whitby')")
    with Catalog.open(tmp_home) as catalog:
        assert catalog.schema_revision() == HEAD_REVISION
        photo = catalog.photo_by_path("/p/a.jpg")
        assert (photo["caption"], photo["caption_source"], photo["model_id"]) == ("Rex at Whitby", "user",
                                                                                  "photocap-old")
        assert (photo["tags"], photo["confidence"], photo["method"]) == ([], None, None)
        _, to_decode = catalog.photos_to_tag(TAGGER, ENCODER)  # tagged on the next index run
        assert [p.path for p in to_decode] == ["/p/a.jpg"]
        catalog.clear_user_caption("/p/a.jpg")
        assert catalog.photo_by_path("/p/a.jpg")["caption"] == "a dog on a beach"


def test_unlikely_tags_rank_but_are_neither_shown_nor_evidence(catalog: Catalog, tmp_home: Path) -> None:
    from photocap.catalog.tags import confident
    from photocap.search.index import SearchIndex
    from photocap.search.sync import sync_search_index

    ids = add(catalog, "/p/a.jpg", "/p/b.jpg")
    catalog.save_batch_results([tagged(ids["/p/a.jpg"], [("dog", 0.9), ("pizza", 0.08)]),
                                tagged(ids["/p/b.jpg"], [("cat", 0.9)])])
    catalog.set_user_tags("/p/b.jpg", add=["birthday"], remove=[])
    with SearchIndex.open(tmp_home / "index") as index:
        sync_search_index(catalog, index)
        assert index.search("pizza") == []  # an 8% pizza is no evidence of one ...
        hits = index.search("cat OR pizza", explain=True)  # ... but ranks the photos evidence found
        assert [h.path for h in hits] == ["/p/b.jpg"] and hits[0].matched["tags"] == ["cat"]
        hit = index.search("dog OR pizza", explain=True)[0]
        assert hit.path == "/p/a.jpg" and [t for t, _p, _s in hit.tags] == ["dog"]  # not shown
        assert hit.matched["tags"] == ["dog"] and "pizza" not in str(hit.matched)
        assert index.search("pizza", tags=["pizza"]) == []  # --tag matches shown tags only
        assert [h.path for h in index.search("cat OR dog", tags=["Birthday"])] == ["/p/b.jpg"]
        assert [h.path for h in index.search("animal", tags=["puppy"])] == []  # "puppy" is dog's synonym...
        assert [h.path for h in index.search("cat OR dog", tags=["puppy"])] == ["/p/a.jpg"]  # ... on a dog
    shown = confident(catalog.photo_by_path("/p/a.jpg")["tags"])
    assert [t["word"] for t in shown] == ["dog"]


def test_an_edit_made_while_the_index_syncs_is_not_marked_synced(catalog: Catalog) -> None:
    from photocap.catalog.schema import utcnow

    ids = add(catalog, "/p/a.jpg")
    catalog.save_batch_results([tagged(ids["/p/a.jpg"], [("dog", 0.9)])])
    as_of = utcnow()
    [row] = catalog.unsynced_photos()  # an indexer reads the photo ...
    catalog.set_user_tags("/p/a.jpg", add=["rex"], remove=[])  # ... the user edits it meanwhile ...
    catalog.mark_search_synced([row["id"]], as_of)  # ... the indexer marks what it read as synced
    assert [r["id"] for r in catalog.unsynced_photos()] == [row["id"]]  # the edit waits for the next sync
    catalog.mark_search_synced(None, utcnow())
    assert catalog.unsynced_photos() == []
