"""Tags end to end through the command line: the shipped model and tagger on real photos (everyday COCO photos
and Flickr8k), a real catalog and search index: tags stored and searchable, search saying why, `show`, `tag`
(the user's tags winning and surviving re-indexing), and tagging again from kept features without decoding."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import REPO
from test_index import json_lines, photocap

from photocap.model.chooser import METHODS

COCO_DEV = REPO.parent / "shared" / "data" / "coco-dev"
ZEBRAS = "000000281789.jpg"  # "two zebras grazing in a field during the day."
BATHROOM = "000000089232.jpg"  # "A tiled bathroom with a toilet and bidet."
DOGS = "3385593926_d3e9c21170.jpg"  # Flickr8k test: dogs playing in the snow


@pytest.fixture
def everyday(flickr_dir: Path, tmp_path: Path) -> Path:
    if not (COCO_DEV / "images").is_dir():
        pytest.skip(f"coco-dev photos not found at {COCO_DEV}")
    root = tmp_path / "photos"
    root.mkdir()
    for name in (ZEBRAS, BATHROOM):
        shutil.copy(COCO_DEV / "images" / name, root / name)
    shutil.copy(flickr_dir / "Images" / DOGS, root / DOGS)
    return root


def show(home: Path, path: Path) -> dict:
    run = photocap(home, "show", str(path), "--json")
    assert run.exit_code == 0, run.output
    return json.loads(run.stdout)


def tag_words(details: dict, source: str | None = None) -> list[str]:
    return [t["word"] for t in details["tags"] if source is None or t["source"] == source]


def test_tags_are_stored_searchable_and_explained(tmp_home: Path, everyday: Path) -> None:
    run = photocap(tmp_home, "index", str(everyday), "--json")
    assert run.exit_code == 0, run.output

    zebras = show(tmp_home, everyday / ZEBRAS)
    assert "zebra" in tag_words(zebras) and "animal" in tag_words(zebras)
    # The tagger's tags from 0.3, the detector's objects from 0.4 (counted), as show lists them.
    assert all((t["source"], t["probability"] >= {"model": 0.3, "detector": 0.4}[t["source"]]) == (t["source"], True)
               and t["probability"] <= 1 for t in zebras["tags"])
    assert "zebra" in tag_words(zebras, "detector") and zebras["objects"][0]["label"] == "zebra"
    assert "dog" not in zebras["caption"] and "man" not in zebras["caption"].split()  # nothing invented
    assert zebras["method"] in METHODS and 0 <= zebras["confidence"] <= 1
    assert zebras["caption_source"] == "model" and zebras["status"] == "ok"

    [hit] = json_lines(photocap(tmp_home, "search", "zebra", "--json").stdout)
    assert hit["path"] == str(everyday / ZEBRAS)
    assert "zebra" in hit["tags"] and "zebra" in hit["matched"]["tags"]
    # A synonym of a tag finds it too, and a word no photo has is named.
    assert str(everyday / BATHROOM) in [h["path"] for h in json_lines(
        photocap(tmp_home, "search", "toilet bowl", "--json").stdout)]
    found = photocap(tmp_home, "search", "zebra helicopter")
    assert found.exit_code == 0 and 'unknown: no caption or tag in the library has "helicopter"' in found.stderr
    assert "tags: zebra" in found.stdout.splitlines()[-1]  # what it matched, on the line under the caption
    nothing = photocap(tmp_home, "search", "helicopter")
    assert nothing.exit_code == 1 and "unknown" in nothing.stderr
    mistyped = photocap(tmp_home, "search", "zebar")  # a word the library has, mistyped
    assert mistyped.exit_code == 1 and 'did you mean "zebra" for "zebar"?' in mistyped.stderr
    # --tag filters on tags.
    with_dog = json_lines(photocap(tmp_home, "search", "snow OR field OR bathroom", "--tag", "dog", "--json").stdout)
    assert [h["path"] for h in with_dog] == [str(everyday / DOGS)]


def test_user_tags_win_and_survive_reindexing(tmp_home: Path, everyday: Path) -> None:
    assert photocap(tmp_home, "index", str(everyday)).exit_code == 0
    photo = everyday / ZEBRAS
    run = photocap(tmp_home, "tag", str(photo), "--add", "Safari 2019", "--remove", "zebra", "--json")
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["tags"][0] == {"word": "safari 2019", "probability": 1.0, "source": "user"}
    assert tag_words(show(tmp_home, photo), "user") == ["safari 2019"]
    assert "zebra" not in tag_words(show(tmp_home, photo))
    assert [h["path"] for h in json_lines(photocap(tmp_home, "search", "safari", "--json").stdout)] == [str(photo)]
    assert photocap(tmp_home, "search", "animal", "--tag", "zebra").exit_code == 1

    with open(photo, "ab") as f:  # new content: captioned and tagged again
        f.write(b"\0" * 16)
    summary = json.loads(photocap(tmp_home, "index", str(everyday), "--json").stdout)
    assert (summary["changed"], summary["captioned"]) == (1, 1)
    again = show(tmp_home, photo)
    assert tag_words(again, "user") == ["safari 2019"] and "zebra" not in tag_words(again)
    assert "animal" in tag_words(again)  # the model's other tags are back

    assert photocap(tmp_home, "tag", str(photo), "--add", "zebra").exit_code == 0  # the user may take it back
    assert "zebra" in tag_words(show(tmp_home, photo), "user")


def test_show_and_tag_refuse_what_is_not_in_the_catalog(tmp_home: Path, everyday: Path, tmp_path: Path) -> None:
    assert photocap(tmp_home, "show", str(everyday / ZEBRAS)).exit_code == 2  # no catalog yet
    assert photocap(tmp_home, "index", str(everyday)).exit_code == 0
    stranger = tmp_path / "elsewhere.jpg"
    run = photocap(tmp_home, "show", str(everyday / ZEBRAS), str(stranger))
    assert run.exit_code == 2 and f"no such file: {stranger}" in run.stderr
    assert str(everyday / ZEBRAS) in run.stdout and "tags" in run.stdout  # the known one is still shown
    run = photocap(tmp_home, "tag", str(stranger), "--add", "x")
    assert run.exit_code == 2 and f"no such file: {stranger}" in run.stderr
    run = photocap(tmp_home, "tag", str(everyday / ZEBRAS))
    assert run.exit_code == 2 and "--add" in run.stderr
    run = photocap(tmp_home, "tag", str(everyday / ZEBRAS), "--add", "a,b")
    assert run.exit_code == 2 and "comma" in run.stderr
    run = photocap(tmp_home, "tag", str(everyday / ZEBRAS), "--add", "dog", "--remove", "dog")
    assert run.exit_code == 2 and "both added and removed" in run.stderr


def test_several_photos_are_tagged_at_once_and_one_unknown_path_spoils_none(tmp_home: Path, everyday: Path,
                                                                            tmp_path: Path) -> None:
    assert photocap(tmp_home, "index", str(everyday)).exit_code == 0
    stranger = tmp_path / "elsewhere.jpg"
    run = photocap(tmp_home, "tag", str(everyday / ZEBRAS), str(stranger), str(everyday / DOGS),
                   "--add", "trip 2024", "--json")
    assert run.exit_code == 2 and f"no such file: {stranger}" in run.stderr
    tagged = json_lines(run.stdout)
    assert [line["path"] for line in tagged] == [str(everyday / ZEBRAS), str(everyday / DOGS)]
    assert all(line["tags"][0] == {"word": "trip 2024", "probability": 1.0, "source": "user"} for line in tagged)
    found = json_lines(photocap(tmp_home, "search", "trip", "--json").stdout)
    assert sorted(hit["path"] for hit in found) == sorted([str(everyday / ZEBRAS), str(everyday / DOGS)])
    listed = photocap(tmp_home, "tag", str(everyday / ZEBRAS), str(everyday / DOGS), "--remove", "trip 2024")
    assert listed.exit_code == 0 and listed.stdout.startswith(f"{everyday / ZEBRAS}: ")
    assert "trip" not in listed.stdout and photocap(tmp_home, "search", "trip").exit_code == 1
    mistaken = photocap(tmp_home, "tag", str(everyday / ZEBRAS), "kitchen")  # a word where --add was meant
    assert mistaken.exit_code == 2 and "--add WORD" in mistaken.stderr


def test_a_new_tagger_tags_again_from_kept_features_without_decoding(tmp_home: Path, everyday: Path) -> None:
    assert photocap(tmp_home, "index", str(everyday)).exit_code == 0
    before = {p.name: tag_words(show(tmp_home, p)) for p in everyday.iterdir()}
    with sqlite3.connect(tmp_home / "catalog.db") as db:  # as if an older tag map had tagged them
        db.execute("UPDATE photo_features SET tagger_id = 'imagenet-lite0@old/map@old/p0.3'")
        db.execute("DELETE FROM tags WHERE source = 'model'")
    summary = json.loads(photocap(tmp_home, "index", str(everyday), "--json").stdout)
    assert (summary["retagged"], summary["captioned"]) == (3, 0)  # no photo decoded
    assert {p.name: tag_words(show(tmp_home, p)) for p in everyday.iterdir()} == before
    assert json_lines(photocap(tmp_home, "search", "zebra", "--json").stdout)

    with sqlite3.connect(tmp_home / "catalog.db") as db:  # as if catalogued by a photocap that kept no features
        db.execute("DELETE FROM photo_features")
        db.execute("DELETE FROM tags")
    status = json.loads(photocap(tmp_home, "status", "--json").stdout)
    assert status["awaiting_tags"] == 3 and status["tagger"].startswith("imagenet-lite0@")
    assert "3 photos await tags: run `photocap index`" in photocap(tmp_home, "status").stdout
    summary = json.loads(photocap(tmp_home, "index", str(everyday), "--json").stdout)
    assert (summary["retagged"], summary["captioned"]) == (0, 3)  # decoded once, to be tagged
    assert json.loads(photocap(tmp_home, "status", "--json").stdout)["awaiting_tags"] == 0
    assert {p.name: tag_words(show(tmp_home, p)) for p in everyday.iterdir()} == before
    summary = json.loads(photocap(tmp_home, "index", str(everyday), "--json").stdout)
    assert (summary["retagged"], summary["captioned"], summary["model"]) == (0, 0, "")  # nothing left to do


def test_a_search_index_from_an_older_photocap_is_rebuilt_by_index(tmp_home: Path, everyday: Path) -> None:
    from whoosh import fields, index

    assert photocap(tmp_home, "index", str(everyday)).exit_code == 0
    shutil.rmtree(tmp_home / "index")  # an index of another schema, as an older photocap wrote it
    (tmp_home / "index").mkdir()
    index.create_in(str(tmp_home / "index"), fields.Schema(photo_id=fields.ID(unique=True, stored=True),
                                                           caption=fields.TEXT(stored=True)))
    run = photocap(tmp_home, "search", "zebra")
    assert run.exit_code == 2 and "another photocap version" in run.stderr
    summary = json.loads(photocap(tmp_home, "index", str(everyday), "--json").stdout)
    assert summary["captioned"] == 0  # nothing recaptioned: the index is rebuilt from the catalog
    assert [h["path"] for h in json_lines(photocap(tmp_home, "search", "zebra", "--json").stdout)] == \
        [str(everyday / ZEBRAS)]
