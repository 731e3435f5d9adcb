"""Postings written in PackedCodec's blocks read back, through Whoosh's own matchers and photocap's numpy scorer,
exactly as Whoosh's W3Codec blocks do: the same documents, weights and word positions."""

from __future__ import annotations

import random
from array import array
from pathlib import Path
from typing import Any

import pytest
from whoosh import index as whoosh_index
from whoosh.qparser import QueryParser

from photocap.search.codec import PackedCodec, PackedValues
from photocap.search.index import SearchDoc, SearchIndex, document_fields, schema
from photocap.search.packed_writer import packed_writer
from photocap.search.scoring import _postings

WORDS = ["dog", "dogs", "beach", "runs", "two", "people", "snow", "red", "ball", "grass", "child", "water", "bike"]


def library_docs(count: int) -> list[dict[str, Any]]:
    rng = random.Random(5)
    docs = []
    for photo_id in range(1, count + 1):
        caption = "a " + " ".join(rng.choice(WORDS) for _ in range(rng.randrange(3, 12)))
        tag = rng.choice(WORDS)
        docs.append(document_fields(SearchDoc(
            photo_id=photo_id, path=f"/photos/IMG_{photo_id:05d}.jpg", folder="/photos", caption=caption,
            words=[(word, rng.random()) for word in rng.sample(WORDS, 3)],
            tags=[(tag, rng.random(), "model")], tag_terms=[(tag, rng.random())], filter_tags=[tag],
            taken_at=None, camera=None)))
    return docs


def every_posting(reader: Any) -> dict[tuple[str, bytes], list[tuple[int, float, bytes]]]:
    found = {}
    for field, text in reader.all_terms():
        if not reader.schema[field].scorable:
            continue
        matcher = reader.postings(field, text)
        postings = []
        while matcher.is_active():
            postings.append((matcher.id(), matcher.weight(), matcher.value()))
            matcher.next()
        found[(field, text)] = postings
    return found


@pytest.fixture(scope="module")
def two_indexes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    docs = library_docs(3000)
    whoosh_dir, packed_dir = (tmp_path_factory.mktemp(name) for name in ("whoosh", "packed"))
    plain = whoosh_index.create_in(str(whoosh_dir), schema())
    with plain.writer() as writer:
        for doc in docs:
            writer.add_document(**doc)
    packed = whoosh_index.create_in(str(packed_dir), schema())
    # Small blocks, so that common words span many; a small pool, so that the writer spills sorted runs.
    writer = packed_writer(packed, limitmb=1, codec=PackedCodec(blocklimit=16))
    for doc in docs:
        writer.add_document(**doc)
    assert writer.pool.runs, "the pool should have spilled runs to disk"
    writer.commit()
    return plain, packed


def test_packed_blocks_hold_the_same_postings(two_indexes: tuple[Any, Any]) -> None:
    plain, packed = two_indexes
    with plain.reader() as plain_reader, packed.reader() as packed_reader:
        expected, found = every_posting(plain_reader), every_posting(packed_reader)
        assert len(expected) > 50
        assert found == expected
        assert len(found[("caption", b"dog")]) > 16 * 10  # many blocks


def test_packed_blocks_are_arrays_and_packed_values(two_indexes: tuple[Any, Any]) -> None:
    _plain, packed = two_indexes
    with packed.reader() as reader:
        matcher = reader.postings("caption", b"dog")
        matcher._read_data()
        ids, weights, values = matcher._data
        assert isinstance(ids, array) and isinstance(values, PackedValues)
        assert isinstance(weights, (array, float)) or weights is None


def test_numpy_scorer_reads_packed_blocks(two_indexes: tuple[Any, Any]) -> None:
    plain, packed = two_indexes
    with plain.reader() as plain_reader, packed.reader() as packed_reader:
        for field, text in [("caption", "dog"), ("tags", "beach"), ("words", "snow")]:
            plain_ids, plain_weights = _postings(plain_reader, field, text)
            packed_ids, packed_weights = _postings(packed_reader, field, text)
            assert list(packed_ids) == list(plain_ids) and len(plain_ids) > 100
            assert list(packed_weights) == pytest.approx(list(plain_weights))


def test_phrases_match_from_packed_positions(two_indexes: tuple[Any, Any]) -> None:
    plain, packed = two_indexes
    query = QueryParser("caption", schema()).parse('"two dogs"')
    with plain.searcher() as plain_searcher, packed.searcher() as packed_searcher:
        expected = [hit["photo_id"] for hit in plain_searcher.search(query, limit=None)]
        assert expected
        assert [hit["photo_id"] for hit in packed_searcher.search(query, limit=None)] == expected


def test_photocap_writes_packed_segments(tmp_path: Path) -> None:
    with SearchIndex.open(tmp_path / "index") as index:
        index.upsert([SearchDoc(photo_id=1, path="/photos/a.jpg", folder="/photos", caption="a dog on a beach",
                                words=[], taken_at=None, camera=None)])
    opened = whoosh_index.open_dir(str(tmp_path / "index"))
    assert all(isinstance(segment.codec(), PackedCodec) for segment in opened._segments())


def test_segments_of_an_older_photocap_are_counted_until_rewritten(tmp_path: Path) -> None:
    (tmp_path / "index").mkdir()
    older = whoosh_index.create_in(str(tmp_path / "index"), schema())
    with older.writer() as writer:  # Whoosh's own blocks, as photocap wrote them before PackedCodec
        for doc in library_docs(3):
            writer.add_document(**doc)
    with SearchIndex.open(tmp_path / "index") as index:
        assert index.documents_in_older_blocks() == 3
        index.upsert([SearchDoc(photo_id=9, path="/photos/b.jpg", folder="/photos", caption="two dogs",
                                words=[], taken_at=None, camera=None)])
        assert index.documents_in_older_blocks() == 3  # the new photo's segment is packed
    with SearchIndex.rebuild_at(tmp_path / "index", [SearchDoc(photo_id=9, path="/photos/b.jpg", folder="/photos",
                                caption="two dogs", words=[], taken_at=None, camera=None)]) as index:
        assert index.documents_in_older_blocks() == 0
