"""Search returns what matches, not what might (issue 20): through the command line, on a real catalog and search
index of real image files. A tag too weak to be evidence adds no photo to a word's results but ranks the photos
evidence found; a tag search trusts but that is too weak to show as a tag is listed by `show` under "less_sure"; and
"matched" cites only tags `show` lists, with the strength `show` gives them."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import draw_photo
from test_catalog import add
from test_catalog_tags import tagged
from test_index import json_lines, photocap

from photocap.catalog.store import Catalog
from photocap.catalog.tags import TAG_MATCH_MIN_PROBABILITY, TAG_MIN_PROBABILITY

WEAK = TAG_MATCH_MIN_PROBABILITY / 2  # ranks, matches nothing, shown nowhere
LESS_SURE = (TAG_MATCH_MIN_PROBABILITY + TAG_MIN_PROBABILITY) / 2  # makes a match; show lists it under "less_sure"
SURE = 0.6  # shown among the tags


@pytest.fixture
def library(tmp_home: Path, tmp_path: Path) -> dict[str, Path]:
    """Four photos of a dog on the grass: one the tagger calls a cat weakly, one not at all, one surely, one maybe."""
    photos = {name: draw_photo(tmp_path / "photos" / f"{name}.jpg", seed=seed)
              for seed, name in enumerate(("weak", "none", "sure", "less_sure"))}
    cat_probability = {"weak": WEAK, "sure": SURE, "less_sure": LESS_SURE}
    with Catalog.open(tmp_home) as catalog:
        ids = add(catalog, *(str(path) for path in photos.values()))
        results = []
        for name, path in photos.items():
            tags = [("cat", cat_probability[name])] if name in cat_probability else []
            results.append(replace(tagged(ids[str(path)], tags), caption="a dog on the grass",
                                   words=[("dog", 0.9), ("cat", 0.5)]))
        catalog.save_batch_results(results)
    assert photocap(tmp_home, "rebuild-index").exit_code == 0
    return photos


def search(home: Path, query: str) -> list[dict]:
    """The results of `search QUERY --json`; the photos listed apart as "maybe" after them are left out."""
    run = photocap(home, "search", query, "--json")
    assert run.exit_code in (0, 1), run.output
    hits = json_lines(run.stdout)
    assert [hit["maybe"] for hit in hits] == sorted(hit["maybe"] for hit in hits)  # the "maybe" part comes last
    return [hit for hit in hits if not hit["maybe"]]


def maybe(home: Path, query: str) -> list[dict]:
    return [hit for hit in json_lines(photocap(home, "search", query, "--json").stdout) if hit["maybe"]]


def show(home: Path, path: str) -> dict:
    run = photocap(home, "show", path, "--json")
    assert run.exit_code == 0, run.output
    return json.loads(run.stdout)


def names(hits: list[dict], photos: dict[str, Path]) -> list[str]:
    by_path = {str(path): name for name, path in photos.items()}
    return [by_path[hit["path"]] for hit in hits]


def test_a_weak_tag_adds_no_photo_but_ranks_the_photos_evidence_found(tmp_home: Path, library: dict) -> None:
    assert names(search(tmp_home, "cat"), library) == ["sure", "less_sure"]  # the captioner's 0.5 "cat" is no evidence
    # All four are dogs by their captions; the cat tags, weak ones too, rank them.
    assert names(search(tmp_home, "dog cat"), library) == ["sure", "less_sure", "weak", "none"]
    assert names(search(tmp_home, "kitten"), library) == ["sure", "less_sure"]  # the tags' synonyms, alike
    # Listed apart after the results, not counted: the photos only weaker guesses rank.
    assert names(maybe(tmp_home, "cat"), library) == ["weak", "none"]  # weak tag and likely word, then the word
    assert all(hit["matched"] == {} and hit["matched_tags"] == {} for hit in maybe(tmp_home, "cat"))
    text = photocap(tmp_home, "search", "cat")
    assert "maybe: 2 photos that only guesses weaker than search trusts rank (not counted" in text.stdout
    assert text.stdout.index("maybe:") > text.stdout.index(str(library["less_sure"]))
    assert photocap(tmp_home, "search", "cat", "--paths").stdout.split() == [str(library["sure"]),
                                                                             str(library["less_sure"])]


def test_matched_cites_only_what_show_lists_with_its_strength(tmp_home: Path, library: dict) -> None:
    found = search(tmp_home, "dog cat")
    hits = dict(zip(names(found, library), found, strict=True))
    assert hits["sure"]["matched"] == {"caption": ["dog"], "tags": ["cat"]}
    assert hits["less_sure"]["matched"] == {"caption": ["dog"], "less_sure": ["cat"]}
    assert hits["weak"]["matched"] == {"caption": ["dog"]} and hits["none"]["matched"] == {"caption": ["dog"]}
    for name, hit in hits.items():
        details = show(tmp_home, str(library[name]))
        listed = {(t["word"], t["probability"]) for t in details["tags"] + details["less_sure"]}
        for cited in hit["matched_tags"].values():
            assert (cited["tag"], round(cited["probability"], 3)) in listed, (name, cited)
    assert hits["less_sure"]["matched_tags"]["cat"] == {"tag": "cat", "probability": LESS_SURE, "source": "model",
                                                    "shown": False}
    assert show(tmp_home, str(library["weak"]))["less_sure"] == []
    assert [t["word"] for t in show(tmp_home, str(library["less_sure"]))["less_sure"]] == ["cat"]

    text = photocap(tmp_home, "search", "dog cat").stdout
    assert f"matched caption: dog; tags: cat ({SURE:.2f})" in text
    assert f"matched caption: dog; less sure: cat ({LESS_SURE:.2f})" in text
    shown = photocap(tmp_home, "show", str(library["less_sure"])).stdout
    assert f"less sure cat {LESS_SURE:.2f}" in shown and "tags     -" in shown


def test_a_sentence_takes_any_word_for_someone_as_evidence_a_short_one_not(tmp_home: Path, tmp_path: Path) -> None:
    """A sentence query's person word is evidence for any person the caption or a tag search trusts names ("a man
    rides ..." and a caption "a boy ..."); a short query keeps its own words' evidence."""
    captions = {"boy": ("a boy outdoors", []), "crowd": ("a street at night", [("people", SURE)]),
                "nobody": ("a street at night", [])}
    photos = {name: draw_photo(tmp_path / "photos" / f"{name}.jpg", seed=seed) for seed, name in enumerate(captions)}
    with Catalog.open(tmp_home) as catalog:
        ids = add(catalog, *(str(path) for path in photos.values()))
        catalog.save_batch_results([
            replace(tagged(ids[str(photos[name])], tags), caption=caption, words=[("bicycle", 0.6), ("red", 0.4)])
            for name, (caption, tags) in captions.items()])
    assert photocap(tmp_home, "rebuild-index").exit_code == 0

    found = search(tmp_home, "a man rides a red bicycle")
    assert sorted(names(found, photos)) == ["boy", "crowd"]
    hits = dict(zip(names(found, photos), found, strict=True))
    assert hits["boy"]["matched"] == {"caption": ["boy"]}
    assert hits["crowd"]["matched"] == {"tags": ["people"]}
    assert hits["crowd"]["matched_tags"]["people"]["probability"] == SURE
    assert names(maybe(tmp_home, "a man rides a red bicycle"), photos) == ["nobody"]
    assert search(tmp_home, "man") == [] and search(tmp_home, "man bicycle") == []
    assert sorted(names(search(tmp_home, "a boy rides a red bicycle"), photos)) == ["boy", "crowd"]
    assert sorted(names(search(tmp_home, "two surfers ride red bicycles"), photos)) == ["boy", "crowd"]
    # "skateboarder" is indexed as "skateboard", the board: not a word for people.
    assert search(tmp_home, "a skateboarder rides a red bicycle") == []
