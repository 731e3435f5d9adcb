"""The Whoosh index: real indexes on disk in tmp_path, no mocks."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import photocap.search.index as search_module
from photocap.search.index import (
    LOCKED_MESSAGE,
    SEGMENT_SUFFIXES,
    Hit,
    Ranking,
    SearchDoc,
    SearchIndex,
    SearchIndexError,
    SearchQueryError,
    looks_like_whoosh_syntax,
    plain_words,
)


def make_doc(
    photo_id: int,
    caption: str,
    *,
    words: Sequence[tuple[str, float]] = (),
    folder: str = "/photos",
    path: str | None = None,
    taken_at: datetime | None = None,
    camera: str | None = None,
) -> SearchDoc:
    return SearchDoc(
        photo_id=photo_id,
        path=path or f"{folder}/{photo_id}.jpg",
        folder=folder,
        caption=caption,
        words=list(words),
        taken_at=taken_at,
        camera=camera,
    )


@pytest.fixture
def index(tmp_path: Path) -> Iterator[SearchIndex]:
    with SearchIndex.open(tmp_path / "index", lock_timeout=0.3) as search_index:
        yield search_index


def ids(hits: Sequence[Hit]) -> list[int]:
    return [hit.photo_id for hit in hits]


# --- natural-language queries -------------------------------------------------------------------


def test_sentence_ranks_photos_matching_most_words_first_but_returns_partial_matches(index: SearchIndex):
    index.upsert(
        [
            make_doc(1, "a cat sleeps on a sofa"),
            make_doc(2, "a dog sleeps on a sofa"),
            make_doc(3, "a dog runs on the beach"),
            make_doc(4, "a red car parked in the street"),
        ]
    )
    hits = index.search("a dog runs on the beach")
    assert ids(hits)[0] == 3
    assert set(ids(hits)) == {2, 3}
    assert hits[0].score > hits[1].score


def test_matching_more_of_the_words_earns_a_bonus(index: SearchIndex):
    index.upsert(
        [
            make_doc(1, "a dog lies in the sand near the beach at sunset with many people around"),
            make_doc(2, "a dog on a sofa"),
            make_doc(3, "a red car"),
            make_doc(4, "a cat"),
            make_doc(5, "a beach", words=[("beach", 1.0)]),
        ]
    )
    # Photo 1 has both words but in a long caption, photo 2 a single word in a short one.
    assert ids(index.search("dog beach", ranking=Ranking(or_factor=0))) == [5, 2, 1]
    assert ids(index.search("dog beach", ranking=Ranking(or_factor=0.5))) == [5, 1, 2]


def test_scores_do_not_depend_on_how_the_index_is_split_into_segments(index: SearchIndex, tmp_path: Path):
    docs = [make_doc(1, "two brown dogs wrestle in the snow"), make_doc(2, "a dog runs in the snow"),
            make_doc(3, "a brown dog on a beach")]
    for doc in docs:  # one commit each: three segments, only one of which holds "wrestle"
        index.upsert([doc])
    with SearchIndex.open(tmp_path / "single") as single:
        single.upsert(docs)
        query = "two brown dogs wrestle in the snow"
        assert [(h.photo_id, round(h.score, 6)) for h in index.search(query)] == \
            [(h.photo_id, round(h.score, 6)) for h in single.search(query)]


def test_likely_words_rank_the_photos_evidence_found_but_add_none(index: SearchIndex):
    index.upsert([make_doc(1, "a man in a kayak", words=[("kayak", 0.4)]),
                  make_doc(2, "a man in a kayak", words=[("kayak", 1.0)]),
                  make_doc(3, "a man on a lake", words=[("kayak", 1.0)])])  # only the captioner's guess
    hits = index.search("kayak")
    assert ids(hits) == [2, 1] and hits[1].score > 0
    assert index.search_page("kayak", offset=0, limit=10).total == 2
    assert ids(index.search("man kayak")) == [2, 1, 3]  # "man" is its evidence; "kayak" then ranks it


def test_a_short_result_list_is_the_head_of_the_full_ranking(index: SearchIndex):
    # Whoosh prunes sub-matchers that can no longer reach the top `limit`; the coordination bonus must
    # not make it prune a photo that belongs there.
    rng = random.Random(7)
    vocabulary = ["dog", "cat", "man", "woman", "child", "beach", "grass", "snow", "water", "ball"]
    vocabulary += ["red", "black", "white", "runs", "jumps", "sits"]
    index.upsert(
        make_doc(i, " ".join(rng.choices(vocabulary, k=rng.randint(3, 12))), words=[(rng.choice(vocabulary), 0.8)])
        for i in range(400)
    )
    for or_factor in (0.0, 0.5, 2.0):
        for _ in range(10):
            query = " ".join(rng.sample(vocabulary, 4))
            ranking = Ranking(or_factor=or_factor)
            head = [hit.score for hit in index.search(query, limit=5, ranking=ranking)]
            full = [hit.score for hit in index.search(query, limit=None, ranking=ranking)]
            assert head == pytest.approx(full[:5])


def test_stemming_matches_other_forms_of_a_word(index: SearchIndex):
    index.upsert([make_doc(1, "a dog runs"), make_doc(2, "two children sitting on a bench")])
    assert ids(index.search("dogs running")) == [1]
    assert ids(index.search("child sits")) == [2]


def test_stop_words_alone_are_not_a_query(index: SearchIndex):
    index.upsert([make_doc(1, "a dog on the beach")])
    with pytest.raises(SearchQueryError, match="no searchable words"):
        index.search("the a of")


def test_concept_words_rank_and_their_probability_counts(index: SearchIndex):
    index.upsert(
        [
            make_doc(1, "a man is outside", words=[("bicycle", 0.3), ("man", 0.9)]),
            make_doc(2, "a man is outside", words=[("bicycle", 0.9), ("man", 0.9)]),
            make_doc(3, "a man is outside", words=[("bicycle", 0.05), ("man", 0.9)]),
        ]
    )
    assert ids(index.search("bicycle")) == []  # a guess is no evidence
    hits = index.search("man bicycle")
    assert ids(hits) == [2, 1, 3] and hits[1].score > hits[2].score  # under 0.1 the guesses are noise: left out


def test_field_boosts_are_parameters(index: SearchIndex):
    tagged = make_doc(2, "something leans on a wall")
    tagged["tags"], tagged["tag_terms"] = [("bicycle", 1.0, "model")], [("bicycle", 1.0)]
    tagged["evidence"] = [("bicycle", ("bicycle", 1.0, "model", True))]
    index.upsert([make_doc(1, "a bicycle leans on a wall"), tagged])
    words_first = Ranking(caption_boost=1.0, tags_boost=10.0)
    caption_first = Ranking(caption_boost=10.0, tags_boost=0.1)
    assert ids(index.search("bicycle", ranking=words_first)) == [2, 1]
    assert ids(index.search("bicycle", ranking=caption_first)) == [1, 2]


def test_limit_caps_the_number_of_hits(index: SearchIndex):
    index.upsert([make_doc(i, f"a dog number {i}") for i in range(1, 31)])
    assert len(index.search("dog")) == 20
    assert len(index.search("dog", limit=5)) == 5


def test_hits_carry_path_caption_and_score(index: SearchIndex):
    index.upsert([make_doc(7, "a dog on a beach", path="/photos/dog.jpg")])
    (hit,) = index.search("dog")
    assert (hit.photo_id, hit.path, hit.caption) == (7, "/photos/dog.jpg", "a dog on a beach")
    assert hit.score > 0


def test_empty_index_finds_nothing(index: SearchIndex):
    assert index.search("dog") == []


# --- Whoosh syntax ------------------------------------------------------------------------------


@pytest.fixture
def animals(index: SearchIndex) -> SearchIndex:
    index.upsert(
        [
            make_doc(1, "a black dog runs on the grass"),
            make_doc(2, "a black cat sleeps"),
            make_doc(3, "a white dog and a black cat"),
            make_doc(4, "a doghouse in the snow"),
        ]
    )
    return index


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("dog AND cat", {3}),
        ("dog NOT cat", {1}),
        ("dog AND NOT cat", {1}),
        ("cat OR snow", {2, 3, 4}),
        ('"black dog"', {1}),
        ('"black cat"', {2, 3}),
        ("dog*", {1, 3, 4}),
        ("caption:sleeps", {2}),
        ("(dog OR cat) AND black", {1, 2, 3}),
    ],
)
def test_whoosh_syntax(animals: SearchIndex, query: str, expected: set[int]):
    assert set(ids(animals.search(query))) == expected


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("", "empty query"),
        ("   ", "empty query"),
        ('"black dog', "unbalanced quotes"),
        ("(dog OR cat", "unbalanced parentheses"),
        ("dog OR cat)", "unbalanced parentheses"),
        ("dog AND", "AND has nothing to its right"),
        ("OR dog", "OR has nothing to its left"),
        ("dog AND OR cat", "nothing to its"),
        ("dog NOT", "NOT has nothing to its right"),
        ("dog AND ()", "empty parentheses"),
        ("caption:", "caption: has nothing after it"),
        ("the OR a", "no searchable words"),
    ],
)
def test_malformed_queries_raise_with_the_reason(animals: SearchIndex, query: str, reason: str):
    with pytest.raises(SearchQueryError, match=reason) as raised:
        animals.search(query)
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize(("query", "expected"), [
    ("clock that says 8:25", [4]),  # a colon after a name that is no field is part of the words
    ("time: 10:30", [4]),
    ("dog:beach", [1, 3]),
    ("colour:black dog", [1, 2, 3]),
    ("dog -cat", [1]),  # a dash excludes, as in web search engines
    ("cat -white", [2]),
    ("black -(dog OR clock)", [2]),
])
def test_colons_and_dashes_in_everyday_queries(animals: SearchIndex, query: str, expected: list[int]):
    animals.upsert([make_doc(4, "a clock that says 10:30 on the tower")])
    assert sorted(ids(animals.search(query))) == expected


@pytest.mark.parametrize(
    "sentence",
    [
        'A man in a red shirt ( left ) says "hello',
        "A dog: running AND jumping - OR not?",
        "caption:foo bar) (baz",
        "* ^ [ ] { } ~ \\ / 'dog'",
    ],
)
def test_plain_words_mode_accepts_any_sentence(animals: SearchIndex, sentence: str):
    hits = animals.search(f"{sentence} dog", syntax=False)
    assert {1, 3} <= set(ids(hits))


def test_plain_sentences_are_detected_without_being_told(animals: SearchIndex):
    assert not looks_like_whoosh_syntax("a dog's ball: on the grass, isn't it?")
    assert looks_like_whoosh_syntax("dog AND cat")
    assert looks_like_whoosh_syntax('"black dog"')
    assert looks_like_whoosh_syntax("caption:dog")
    assert ids(animals.search("a dog's nap: on the grass?"))[0] == 1
    assert plain_words('Dog AND "cat" (NOT x)') == "dog and  cat   not x "


# --- filters ------------------------------------------------------------------------------------


def test_folder_filter_includes_subfolders_but_not_sibling_prefixes(index: SearchIndex):
    index.upsert(
        [
            make_doc(1, "a dog", folder="/pics/2019"),
            make_doc(2, "a dog", folder="/pics/2019/summer/beach"),
            make_doc(3, "a dog", folder="/pics/20190"),
            make_doc(4, "a dog", folder="/pics/2020"),
        ]
    )
    assert set(ids(index.search("dog", folder="/pics/2019"))) == {1, 2}
    assert set(ids(index.search("dog", folder="/pics/2019/"))) == {1, 2}
    assert set(ids(index.search("dog", folder="/pics/2019/summer"))) == {2}
    assert set(ids(index.search("dog", folder="/pics"))) == {1, 2, 3, 4}
    assert ids(index.search("dog", folder="/elsewhere")) == []


def test_folder_filter_expands_home_and_relative_paths(index: SearchIndex, tmp_path: Path, monkeypatch):
    album = tmp_path / "home" / "Pictures" / "2019"
    index.upsert([make_doc(1, "a dog", folder=str(album / "trip")), make_doc(2, "a dog", folder="/other")])
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert ids(index.search("dog", folder="~/Pictures/2019")) == [1]
    album.mkdir(parents=True)
    monkeypatch.chdir(tmp_path / "home")
    assert ids(index.search("dog", folder="Pictures")) == [1]


def test_date_filters_are_inclusive_and_skip_undated_photos(index: SearchIndex):
    index.upsert(
        [
            make_doc(1, "a dog", taken_at=datetime(2019, 5, 31, 23, 59, 59)),
            make_doc(2, "a dog", taken_at=datetime(2019, 6, 1, 0, 0, 0)),
            make_doc(3, "a dog", taken_at=datetime(2019, 6, 30, 23, 59, 59)),
            make_doc(4, "a dog", taken_at=datetime(2019, 7, 1, 0, 0, 1)),
            make_doc(5, "a dog", taken_at=None),
            make_doc(6, "a dog", taken_at=datetime(2019, 6, 15, 12, tzinfo=UTC)),
        ]
    )
    june = {"after": date(2019, 6, 1), "before": date(2019, 6, 30)}
    assert set(ids(index.search("dog", **june))) == {2, 3, 6}
    assert set(ids(index.search("dog", after=date(2019, 6, 30)))) == {3, 4}
    assert set(ids(index.search("dog", before=date(2019, 5, 31)))) == {1}
    assert set(ids(index.search("dog"))) == {1, 2, 3, 4, 5, 6}


def test_camera_filter_matches_make_or_model_words_case_insensitively(index: SearchIndex):
    index.upsert(
        [
            make_doc(1, "a dog", camera="Canon Canon EOS 5D Mark II"),
            make_doc(2, "a dog", camera="Apple iPhone 12"),
            make_doc(3, "a dog", camera="NIKON CORPORATION NIKON D750"),
            make_doc(4, "a dog", camera=None),
        ]
    )
    assert ids(index.search("dog", camera="canon")) == [1]
    assert ids(index.search("dog", camera="IPHONE")) == [2]
    assert ids(index.search("dog", camera="nikon d750")) == [3]
    assert ids(index.search("dog", camera="nikon d500")) == []
    with pytest.raises(SearchQueryError, match="camera"):
        index.search("dog", camera=" - ")


def test_filters_combine(index: SearchIndex):
    index.upsert(
        [
            make_doc(1, "a dog", folder="/a", camera="Apple iPhone", taken_at=datetime(2020, 1, 1)),
            make_doc(2, "a dog", folder="/a", camera="Canon EOS", taken_at=datetime(2020, 1, 1)),
            make_doc(3, "a dog", folder="/b", camera="Apple iPhone", taken_at=datetime(2020, 1, 1)),
            make_doc(4, "a dog", folder="/a", camera="Apple iPhone", taken_at=datetime(2021, 1, 1)),
        ]
    )
    hits = index.search("dog", folder="/a", camera="iphone", before=date(2020, 12, 31))
    assert ids(hits) == [1]


# --- writes -------------------------------------------------------------------------------------


def test_upsert_replaces_instead_of_duplicating(index: SearchIndex):
    index.upsert([make_doc(1, "a dog on the beach"), make_doc(2, "a cat")])
    index.upsert([make_doc(1, "a horse in a field", folder="/moved")])
    assert index.doc_count() == 2
    assert index.photo_ids() == {1, 2}
    assert ids(index.search("beach")) == []
    (hit,) = index.search("horse")
    assert (hit.photo_id, hit.path) == (1, "/moved/1.jpg")
    assert ids(index.search("horse", folder="/photos")) == []


def test_delete_removes_photos_from_results(index: SearchIndex):
    index.upsert([make_doc(1, "a dog"), make_doc(2, "a dog"), make_doc(3, "a cat")])
    assert index.delete([1, 3, 99]) == 2
    assert index.photo_ids() == {2}
    assert ids(index.search("dog OR cat")) == [2]
    assert index.delete([]) == 0


def test_writes_persist_when_the_index_is_reopened(tmp_path: Path):
    with SearchIndex.open(tmp_path / "index") as first:
        first.upsert([make_doc(1, "a dog")])
    with SearchIndex.open(tmp_path / "index", create=False) as reopened:
        assert reopened.photo_ids() == {1}


def test_rebuild_replaces_the_whole_index(index: SearchIndex):
    index.upsert([make_doc(1, "a dog"), make_doc(2, "a cat")])
    assert index.rebuild(make_doc(i, "a bird") for i in (2, 3, 4)) == 3
    assert index.photo_ids() == {2, 3, 4}
    assert ids(index.search("dog OR cat")) == []
    assert sorted(ids(index.search("bird"))) == [2, 3, 4]
    assert not [p for p in index.index_dir.parent.iterdir() if p != index.index_dir]  # no leftovers


def test_rebuild_at_repairs_a_damaged_index(tmp_path: Path):
    index_dir = tmp_path / "index"
    with SearchIndex.open(index_dir) as search_index:
        search_index.upsert([make_doc(1, "a dog")])
    segment_files = [path for path in index_dir.iterdir() if path.suffix in SEGMENT_SUFFIXES]
    assert segment_files
    for segment in segment_files:
        segment.write_bytes(b"\0" * 10)

    with pytest.raises(SearchIndexError, match="rebuild-index") as raised:
        SearchIndex.open(index_dir)
    assert "\n" not in str(raised.value)

    with SearchIndex.rebuild_at(index_dir, [make_doc(1, "a dog")]) as repaired:
        assert ids(repaired.search("dog")) == [1]


def test_open_with_repair_replaces_a_damaged_index_with_an_empty_one(tmp_path: Path):
    index_dir = tmp_path / "index"
    with SearchIndex.open(index_dir) as search_index:
        search_index.upsert([make_doc(1, "a dog")])
    for toc in index_dir.glob("*.toc"):
        toc.write_bytes(b"not an index")
    with SearchIndex.open(index_dir, repair=True) as repaired:
        assert repaired.doc_count() == 0
        assert repaired.rebuild([make_doc(1, "a dog")]) == 1
        assert ids(repaired.search("dog")) == [1]


@pytest.mark.parametrize("damage", ["garbage table of contents", "missing table of contents"])
def test_damaged_index_is_refused_with_a_hint(tmp_path: Path, damage: str):
    index_dir = tmp_path / "index"
    with SearchIndex.open(index_dir) as search_index:
        search_index.upsert([make_doc(1, "a dog")])
    for toc in index_dir.glob("*.toc"):
        if damage == "missing table of contents":
            toc.unlink()
        else:
            toc.write_bytes(b"not an index")
    with pytest.raises(SearchIndexError, match="photocap rebuild-index"):
        SearchIndex.open(index_dir)


def test_rebuild_at_never_replaces_a_folder_that_is_not_an_index(tmp_path: Path):
    (tmp_path / "holiday").mkdir()
    (tmp_path / "holiday" / "beach.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(SearchIndexError, match="not a search index"):
        SearchIndex.rebuild_at(tmp_path / "holiday", [make_doc(1, "a dog")])
    assert (tmp_path / "holiday" / "beach.jpg").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holiday"]


def test_open_without_create_refuses_a_missing_index(tmp_path: Path):
    with pytest.raises(SearchIndexError, match="the search index is missing"):
        SearchIndex.open(tmp_path / "absent", create=False)
    assert not (tmp_path / "absent").exists()


@pytest.fixture
def writer_in_another_process(tmp_path: Path) -> Iterator[Path]:
    """An index whose write lock is held by a separate Python process until the test ends."""
    index_dir = tmp_path / "index"
    SearchIndex.open(index_dir).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys
                from whoosh.index import open_dir
                writer = open_dir({str(index_dir)!r}).writer()
                print("locked", flush=True)
                sys.stdin.read()
                writer.cancel()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield index_dir
    finally:
        holder.communicate(timeout=30)


def test_lock_held_by_another_process_gives_a_clear_error_after_the_timeout(writer_in_another_process: Path):
    with SearchIndex.open(writer_in_another_process, lock_timeout=0.3) as locked:
        started = time.monotonic()
        with pytest.raises(SearchIndexError, match=LOCKED_MESSAGE):
            locked.upsert([make_doc(1, "a dog")])
        assert 0.25 <= time.monotonic() - started < 5
        with pytest.raises(SearchIndexError, match=LOCKED_MESSAGE):
            locked.delete([1])
        with pytest.raises(SearchIndexError, match=LOCKED_MESSAGE):
            locked.rebuild([make_doc(1, "a dog")])
        assert locked.search("dog") == []  # reading needs no lock


def test_write_waits_for_a_lock_that_is_released_in_time(tmp_path: Path):
    from whoosh.index import open_dir

    with SearchIndex.open(tmp_path / "index", lock_timeout=10) as search_index:
        # Whoosh's lock is an flock on its own open file, so a second writer in this process contends
        # for it exactly as another process would.
        other_writer = open_dir(str(tmp_path / "index")).writer()
        release = threading.Timer(0.3, other_writer.cancel)
        release.start()
        started = time.monotonic()
        search_index.upsert([make_doc(1, "a dog")])
        release.join()
        assert time.monotonic() - started >= 0.25
        assert search_index.photo_ids() == {1}


# --- file names ---------------------------------------------------------------------------------


def test_unicode_paths_are_stored_searched_and_filtered(index: SearchIndex):
    folder = "/home/zoë/Bilder/日本 2019"
    path = f"{folder}/😀 plage, été.jpg"
    undecodable = os.fsdecode(b"/home/zo\xeb/latin1 \xe9t\xe9.jpg")  # a non-UTF-8 file name
    index.upsert(
        [
            make_doc(1, "a dog on the beach", folder=folder, path=path),
            make_doc(2, "a dog in the snow", folder=os.path.dirname(undecodable), path=undecodable),
        ]
    )
    by_id = {hit.photo_id: hit.path for hit in index.search("dog")}
    assert by_id == {1: path, 2: undecodable}
    assert ids(index.search("dog", folder="/home/zoë/Bilder")) == [1]
    assert ids(index.search("dog", folder=os.fsdecode(b"/home/zo\xeb"))) == [2]


def test_quoted_phrases_match_caption_word_order_and_whole_tags(index: SearchIndex):
    tagged = make_doc(1, "a toy on a bed")
    tagged["tag_terms"] = [("teddy bear", 0.9), ("toy", 0.9)]
    tagged["evidence"] = [(term, ("teddy bear", 0.9, "detector", True)) for term in ("teddy bear", "toy")]
    index.upsert([tagged, make_doc(2, "a teddy bear on a sofa"), make_doc(3, "a bear looks at a teddy")])
    assert sorted(ids(index.search('"teddy bear"'))) == [1, 2]
    assert ids(index.search('"bear looks"')) == [3]
    # A teddy bear is no bear: a machine tag's words are evidence as a whole ("toy" is a word of its own).
    assert sorted(ids(index.search("bear"))) == [2, 3] and ids(index.search("toy")) == [1]


def test_a_compound_name_typed_as_plain_words_is_one_thing_not_its_words(index: SearchIndex):
    tagged = make_doc(1, "a plate on a table")
    tagged["tag_terms"] = [("hot dog", 0.6)]
    tagged["evidence"] = [("hot dog", ("hot dog", 0.6, "detector", True))]
    index.upsert([tagged, make_doc(2, "a man eats a hot dog"), make_doc(3, "a dog runs in the hot sun"),
                  make_doc(4, "a brown dog on the grass")])
    assert sorted(ids(index.search("hot dog"))) == [1, 2]
    assert sorted(ids(index.search("hot dogs"))) == [1, 2]  # a name's plural is the name
    hits = {hit.photo_id: hit for hit in index.search("hot dog", explain=True)}
    assert hits[1].matched == {"tags": ["hot dog"]} and hits[2].matched == {"caption": ["hot dog"]}
    # Beside other words the name is still one of them: the dogs are found, after the hot dogs.
    assert sorted(ids(index.search("a hot dog and a dog"))[:2]) == [1, 2]
    assert sorted(ids(index.search("a hot dog and a dog"))) == [1, 2, 3, 4]
    assert index.unknown_words("hot dog") == []


def test_a_compound_name_whose_last_word_is_what_it_is_also_finds_that_word(index: SearchIndex):
    tagged = make_doc(1, "people eating in a room")
    tagged["tag_terms"] = [("dining table", 0.6)]
    tagged["evidence"] = [("dining table", ("dining table", 0.6, "detector", True))]
    index.upsert([tagged, make_doc(2, "a family sits at a table"), make_doc(3, "a dog on the grass")])
    # The detector's dining table is evidence only as a whole; a caption's table is a table.
    assert sorted(ids(index.search("dining table"))) == [1, 2]
    assert ids(index.search("table")) == [2]


@pytest.mark.parametrize("older_analysis", ["analysis_1", "analysis_2_000000000000", "analysis_3_000000000000"])
def test_an_index_analysed_otherwise_is_outdated_though_its_fields_are_the_same(tmp_path: Path, older_analysis: str):
    import copy

    from whoosh import fields
    from whoosh import index as whoosh_index

    from photocap.search.schema import analysis_field, schema

    older = copy.deepcopy(schema())
    older.remove(analysis_field())
    older.add(older_analysis, fields.STORED())
    (tmp_path / "index").mkdir()
    whoosh_index.create_in(str(tmp_path / "index"), older)
    with pytest.raises(search_module.SearchIndexOutdated, match="another photocap version"):
        SearchIndex.open(tmp_path / "index")


def test_a_compound_name_no_photo_has_is_unknown_as_a_whole(index: SearchIndex):
    index.upsert([make_doc(1, "a brown dog on the grass"), make_doc(2, "two teddy bears on a bed")])
    assert index.search("hot dog") == [] and index.search("hot dogs") == []
    assert ids(index.search("a teddy bear")) == [2]
    assert index.unknown_words("hot dog") == ["hot dog"] and index.unknown_words("hot dogs") == ["hot dogs"]
    assert index.unknown_words("a teddy bear and a hot dog") == ["hot dog"]
    assert index.unknown_words("hot dog with mustard") == ["hot dog", "mustard"]
    assert index.unknown_words("a dog at a dining table") == ["dining", "table"]


def test_rebuild_writes_bounded_segments_that_later_merges_leave_alone(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(search_module, "LARGE_SEGMENT_DOCS", 50)  # 100,000 in use: a writer's memory is bounded
    index = SearchIndex.rebuild_at(tmp_path / "index", [make_doc(i, f"a dog number {i}") for i in range(1, 121)])
    assert sorted(segment.doc_count_all() for segment in index._index._segments()) == [20, 50, 50]
    for i in range(8):  # small commits merge among themselves, never into the large segments
        index.upsert([make_doc(200 + i, "a cat on a mat")])
    sizes = [segment.doc_count_all() for segment in index._index._segments()]
    assert sizes.count(50) == 2 and sum(sizes) == 128
    assert len(index.search("dog", limit=None)) == 120
    assert len(index.search("cat", limit=None)) == 8


def test_british_spellings_find_american_ones_and_the_other_way_round(index: SearchIndex):
    index.upsert([make_doc(1, "a gray cat on a colorful rug"), make_doc(2, "a greyhound runs in the harbour"),
                  make_doc(3, "a man at the theater")])
    assert ids(index.search("grey cat")) == [1]
    assert ids(index.search("colourful")) == [1] and ids(index.search("coloured")) == [1]
    assert ids(index.search("harbor")) == [2] and ids(index.search("theatre")) == [3]
    assert ids(index.search("greyhound")) == [2] and ids(index.search("gray")) == [1]  # a greyhound is not grey
    hits = index.search("grey cat", explain=True)
    assert hits[0].matched == {"caption": ["grey", "cat"]}  # the query's own words, as typed
    assert index.unknown_words("colour of the kerb") == ["kerb"]


def test_an_unknown_word_is_told_the_words_the_library_has_that_it_may_be_mistyped_for(index: SearchIndex):
    from photocap.search.suggest import edits

    index.upsert([make_doc(1, "two elephants by a red bicycle"), make_doc(2, "a dog on a table"),
                  make_doc(3, "two dogs next to each other in the snow")])
    unknown = index.unknown_words("dgo bycicle elephnats tabel zzzz giraffe beach")
    assert unknown == ["beach", "bycicle", "dgo", "elephnats", "giraffe", "tabel", "zzzz"]
    # One word for each term ("elephants", not "elephant" too); nothing for a word the library lacks, however
    # well spelt ("beach" is no typo of the library's "each"), or for one too far from any.
    assert index.suggestions(unknown) == {"bycicle": ["bicycle"], "dgo": ["dog"], "elephnats": ["elephants"],
                                          "tabel": ["table"]}
    assert index.suggestions([]) == {}
    assert (edits("dgo", "dog", 1), edits("bycicle", "bicycle", 2), edits("cat", "dog", 1)) == (1, 2, 2)
