"""Plain-word queries scored with numpy (photocap.search.scoring) rank exactly as Whoosh's own matchers do.

The index is real (on disk, several segments, replaced and deleted documents) and holds the Flickr8k human
captions with likely words, tags, dates, cameras and folders; each query runs twice, once with numpy scoring
and once with Whoosh's matchers (`numpy_scoring = False`), and the two must agree."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from photocap.search.index import Hit, SearchDoc, SearchIndex, parse_query
from photocap.search.scoring import plain_query
from photocap.search.time_query import read_time_words
from photocap.search.time_words import season_keys

FOLDERS = ["/photos/2019/beach", "/photos/2019/snow", "/photos/2020", "/archive/scans"]
CAMERAS = ["Apple iPhone 13", "Canon EOS R6", None]
CITIES = [(38.72, -9.14, "Lisbon Portugal"), (-33.87, 151.21, "Sydney Australia")]
TAGS = [("dog", "animal"), ("beach", "sand"), ("snow", "winter"), ("bicycle", "vehicle"), ("food", "pizza")]


def flickr_captions(flickr_dir: Path, count: int) -> list[str]:
    with open(flickr_dir / "captions.txt", encoding="utf-8") as file:
        next(file)  # header: image,caption
        captions = [line.split(",", 1)[1].strip() for line in file if "," in line]
    return random.Random(3).sample(captions, count)


def make_doc(photo_id: int, caption: str, rng: random.Random) -> SearchDoc:
    words = caption.lower().replace(".", " ").split()
    likely = [(word, rng.random()) for word in rng.sample(words, min(4, len(words)))]
    tag, synonym = rng.choice(TAGS)
    probability = rng.random()
    folder = rng.choice(FOLDERS)
    taken_at = (datetime(2019, 1, 1) + timedelta(days=rng.randrange(730), seconds=rng.randrange(86_400))
                if rng.random() < 0.8 else None)
    # Half the photos taken around Lisbon or Sydney (both hemispheres' seasons), some sharing a position.
    lat, lon, place = rng.choice(CITIES) if rng.random() < 0.5 else (None, None, None)
    position = (lat + rng.choice([0.0, rng.uniform(-0.5, 0.5)]), lon + rng.uniform(-0.5, 0.5)) if lat else None
    return SearchDoc(
        photo_id=photo_id, path=f"{folder}/IMG_{photo_id:04d}.jpg", folder=folder, caption=caption, words=likely,
        tags=[(tag, probability, "model")], tag_terms=[(tag, probability), (synonym, probability)],
        filter_tags=[tag, synonym], taken_at=taken_at, camera=rng.choice(CAMERAS),
        place_text=place or "", position=position,
        season_keys=season_keys(taken_at, "exif", position[0] if position else None))


@pytest.fixture(scope="module")
def library(flickr_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SearchIndex, list[str]]]:
    rng = random.Random(7)
    captions = flickr_captions(flickr_dir, 1300)
    docs = [make_doc(photo_id, caption, rng) for photo_id, caption in enumerate(captions[:1200], start=1)]
    with SearchIndex.open(tmp_path_factory.mktemp("scoring") / "index") as index:
        for start in range(0, len(docs), 300):  # four segments, left unmerged
            index.upsert(docs[start:start + 300], merge=False)
        # Replaced captions and removed photos leave deleted documents in the segments.
        index.upsert([make_doc(photo_id, captions[1200 + photo_id], rng) for photo_id in range(1, 60)], merge=False)
        index.delete(range(100, 130))
        yield index, captions


def both_ways(index: SearchIndex, query: str, **options) -> tuple[list[Hit], int, list[Hit], int]:
    index.numpy_scoring = True  # however few the postings
    fast = index.search_page(query, explain=True, **options)
    index.numpy_scoring = False
    try:
        reference = index.search_page(query, explain=True, **options)
        filters = {name: value for name, value in options.items() if name not in ("offset", "limit")}
        # Whoosh's own total ignores the filters when it also collects matched terms: count every hit instead.
        reference_total = len(index.search(query, limit=None, **filters))
    finally:
        index.numpy_scoring = None
    return fast.hits, fast.total, reference.hits, reference_total


def assert_same_ranking(fast: list[Hit], reference: list[Hit]) -> None:
    assert [hit.score for hit in fast] == pytest.approx([hit.score for hit in reference], rel=1e-9)
    assert [hit.photo_id for hit in fast] == [hit.photo_id for hit in reference]
    assert [hit.matched for hit in fast] == [hit.matched for hit in reference]
    assert [(hit.path, hit.caption, hit.tags) for hit in fast] == [(hit.path, hit.caption, hit.tags)
                                                                  for hit in reference]


@pytest.mark.flickr
def test_sentences_rank_and_count_as_whoosh_scores_them(library):
    index, captions = library
    for query in random.Random(11).sample(captions, 25):
        fast, fast_total, reference, reference_total = both_ways(index, query, offset=0, limit=30)
        assert fast, query
        assert fast_total == reference_total
        assert_same_ranking(fast, reference)


@pytest.mark.flickr
@pytest.mark.parametrize("query", ["dog", "snow", "winter", "sand", "IMG", "beach 2019", "a dog on a bicycle"])
def test_words_tags_and_file_names_rank_as_whoosh_scores_them(library, query: str):
    index, _captions = library
    fast, fast_total, reference, reference_total = both_ways(index, query, offset=0, limit=50)
    assert fast
    assert fast_total == reference_total
    assert_same_ranking(fast, reference)


@pytest.mark.flickr
@pytest.mark.parametrize("filters", [
    {"folder": "/photos/2019"},
    {"tags": ("winter",)},
    {"camera": "canon", "after": datetime(2019, 6, 1).date()},
    {"before": datetime(2019, 12, 31).date(), "tags": ("dog",), "folder": "/photos"},
])
def test_filters_and_later_pages_match_whoosh(library, filters: dict):
    index, _captions = library
    for offset in (0, 20):
        fast, fast_total, reference, reference_total = both_ways(index, "a dog runs through the snow",
                                                                offset=offset, limit=20, **filters)
        assert fast_total == reference_total
        assert_same_ranking(fast, reference)


def time_filters(said: str) -> tuple:
    reading = read_time_words(said, datetime(2021, 3, 15).date())
    assert reading.filters and not reading.words.strip(), said
    return tuple(reading.filters)


@pytest.mark.flickr
@pytest.mark.parametrize("filters", [
    {"periods": time_filters("may 2019")},
    {"periods": time_filters("summer 2019")},  # June-August in Lisbon, December-February in Sydney
    {"periods": time_filters("last winter")},
    {"periods": time_filters("2020"), "place": "portugal"},
    {"near": (38.72, -9.14, 30.0)},
    {"near": (-33.87, 151.21, 40.0), "periods": time_filters("2019")},
    {"place": "sydney", "tags": ("dog",)},
])
def test_place_and_time_filters_match_whoosh(library, filters: dict):
    index, _captions = library
    for query in ("a dog runs through the snow", "beach", ""):  # "": every photo taken there or then
        for offset in (0, 15):
            fast, fast_total, reference, reference_total = both_ways(index, query, offset=offset, limit=15,
                                                                    **filters)
            assert fast_total == reference_total
            assert fast or offset >= fast_total, (query, filters)
            assert_same_ranking(fast, reference)


@pytest.mark.flickr
def test_removed_photos_are_never_found_and_replaced_ones_show_their_new_caption(library):
    index, captions = library
    removed = set(range(100, 130))
    for photo_id in sorted(removed)[:10]:
        assert not {hit.photo_id for hit in index.search(captions[photo_id - 1], limit=None)} & removed
    assert 1 in [hit.photo_id for hit in index.search(captions[1201], limit=5)]
    assert {hit.caption for hit in index.search(captions[0], limit=None) if hit.photo_id == 1} <= {captions[1201]}


@pytest.mark.parametrize(("query", "plain"), [
    ("a dog on the beach", True),
    ("dog", True),
    ("caption:dog", True),
    ("dog AND beach", False),
    ("dog -cat", False),
    ('"black dog"', False),
    ("dog*", False),
])
def test_only_plain_ors_of_terms_are_scored_with_numpy(query: str, plain: bool):
    assert (plain_query(parse_query(query)) is not None) == plain



@pytest.mark.flickr
@pytest.mark.parametrize("query", ["dog AND snow", "dog -snow", '"a dog"', "dog*"])
def test_whoosh_syntax_counts_only_the_photos_the_filters_allow(library, query: str):
    index, _captions = library
    for filters in ({"folder": "/photos/2019"}, {"tags": ("winter",)}):
        page = index.search_page(query, offset=0, limit=5, explain=True, **filters)
        assert page.total == len(index.search(query, limit=None, **filters))
