"""Unsure captions (issue 20, the web half): the catalog's list of the captions to review, and `photocap serve`'s
"Needs review" page, its JSON twin and the unsure mark on the pages' captions. A real catalog filled through its own
write path (scan, then `save_batch_results` with each caption's confidence), real photos drawn with Pillow, a real
search index; the app over HTTP as a browser on the same machine talks to it."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from conftest import draw_photo
from web_support import ORIGIN, client, csrf_of

from photocap.catalog.store import Catalog, PhotoResult
from photocap.indexing.scan import scan_folders
from photocap.metadata.read import WrittenMetadata
from photocap.model.calibration import unsure_below
from photocap.search.index import SearchIndex
from photocap.search.sync import rebuild_search_index

# name: (model caption, its confidence). The threshold is the shipped calibration's, 0.5.
CAPTIONS = {
    "beach.jpg": ("a dog runs on the beach", 0.31),
    "bench.jpg": ("a dog sits on a bench", 0.12),
    "boat.jpg": ("a dog on a boat", 0.12),  # as unsure as bench.jpg: after it, by path
    "field.jpg": ("a dog in a field", 0.5),  # at the threshold: as likely right as wrong, not listed
    "park.jpg": ("a dog plays in the park", 0.93),
    "yours.jpg": ("a dog in the snow", 0.05),  # the user's own caption wins: not listed
    "written.jpg": ("a dog on the grass", 0.08),  # the file's caption wins: not listed
    "failed.jpg": ("a dog by the sea", 0.02),  # captioned again, and that failed: in error, not listed
    "gone.jpg": ("a dog on a sofa", 0.03),  # its file deleted: missing, not listed
    "old.jpg": ("a dog in a car", None),  # from before confidences: nothing to go by, not listed
}
TO_REVIEW = ["bench.jpg", "boat.jpg", "beach.jpg"]  # least confident first, ties by path
MARKS = {"bench.jpg": "0.12", "boat.jpg": "0.12", "beach.jpg": "0.31"}  # what their unsure marks show
USER_CAPTION = "Biscuit asleep in the snow"
FEATURE_DIMS = 128
FILE_CAPTION = "Our dog on the lawn at home"


def review_library(root: Path) -> tuple[Path, dict[str, int]]:
    """(home, photo ids by name): the photos of CAPTIONS drawn under root/library, catalogued with their captions,
    confidences and kept features (alike, for "More like this"), each of the exceptions made as indexing and the user
    make it, and a search index."""
    library, home = root / "library", root / "home"
    for seed, name in enumerate(CAPTIONS):
        draw_photo(library / name, size=(160, 120), seed=seed)
    shared = np.random.default_rng(0).standard_normal(FEATURE_DIMS)
    with Catalog.open(home) as catalog:
        scan_folders(catalog, [library])
        ids = {Path(photo.path).name: photo.id for photo in catalog.pending_photos()}
        catalog.save_batch_results([
            PhotoResult(photo_id=ids[name], caption=caption, confidence=confidence, method="beam",
                        model_id="photocap-test", model_checksum="c0ffee", width=160, height=120,
                        tagger_id="photocap-test-tagger", feature_encoder="photocap-test-encoder",
                        feature=kept_feature(shared, seed),
                        written=WrittenMetadata(caption=FILE_CAPTION, caption_source="embedded XMP")
                        if name == "written.jpg" else None)
            for seed, (name, (caption, confidence)) in enumerate(CAPTIONS.items())])
        catalog.set_user_caption(str(library / "yours.jpg"), USER_CAPTION)
        catalog.flag_for_recaption([ids["failed.jpg"]])
        catalog.save_batch_results([PhotoResult(photo_id=ids["failed.jpg"], error="cannot identify image file")])
        (library / "gone.jpg").unlink()
        scan_folders(catalog, [library])
        with SearchIndex.open(home / "index", create=True) as index:
            rebuild_search_index(catalog, index)
    return home, ids


def kept_feature(shared: np.ndarray, seed: int) -> bytes:
    """A kept feature (fp16 bytes) near `shared`: the photos are all alike, each a little differently."""
    own = np.random.default_rng(seed + 1).standard_normal(len(shared))
    return (shared + 0.5 * own).astype(np.float16).tobytes()


@pytest.fixture
def reviewed(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    return review_library(tmp_path)


def names(rows: list, ids: dict[str, int]) -> list[str]:
    by_id = {photo_id: name for name, photo_id in ids.items()}
    return [by_id[row["id"]] for row in rows]


# --------------------------------------------------------------------------------------------- the catalog


def test_the_captions_to_review_are_the_unsure_model_captions_least_confident_first(reviewed) -> None:
    home, ids = reviewed
    assert unsure_below() == 0.5
    with Catalog.open(home) as catalog:
        rows, total = catalog.captions_to_review(unsure_below(), limit=60)
        assert names(rows, ids) == TO_REVIEW and total == 3
        assert [row["confidence"] for row in rows] == [0.12, 0.12, 0.31]
        assert {row["caption_source"] for row in rows} == {"model"} and rows[0]["caption"] == "a dog sits on a bench"
        assert catalog.count_captions_to_review(unsure_below()) == 3
        # The threshold is the caller's: at 0.51 the caption at exactly 0.5 is unsure too; at 0.1 none is.
        assert names(catalog.captions_to_review(0.51, limit=60)[0], ids) == [*TO_REVIEW, "field.jpg"]
        assert catalog.captions_to_review(0.1, limit=60) == ([], 0)
        # What each of the others is, as the web app shows it.
        shown = {row["id"]: row for row in catalog.photos_by_ids(list(ids.values()))}
        assert (shown[ids["yours.jpg"]]["caption"], shown[ids["yours.jpg"]]["confidence"]) == (USER_CAPTION, 0.05)
        assert shown[ids["written.jpg"]]["caption_source"] == "file"
        assert shown[ids["failed.jpg"]]["status"] == "error" and shown[ids["failed.jpg"]]["caption"]
        assert shown[ids["gone.jpg"]]["status"] == "missing"


def test_the_list_pages_and_says_its_total_on_every_page(reviewed) -> None:
    home, ids = reviewed
    with Catalog.open(home) as catalog:
        pages = [catalog.captions_to_review(0.5, limit=2, offset=offset) for offset in (0, 2, 4)]
        assert [names(rows, ids) for rows, _total in pages] == [TO_REVIEW[:2], TO_REVIEW[2:], []]
        assert [total for _rows, total in pages] == [3, 3, 3]
        assert catalog.ids_to_review(0.5, limit=3, offset=1) == [ids[name] for name in TO_REVIEW[1:]]
        assert catalog.unsure_confidences(list(ids.values()), 0.5) == {
            ids["bench.jpg"]: 0.12, ids["boat.jpg"]: 0.12, ids["beach.jpg"]: 0.31}


def test_a_fixed_caption_leaves_the_list_and_comes_back_when_the_fix_is_undone(reviewed) -> None:
    home, ids = reviewed
    with Catalog.open(home) as catalog:
        bench = catalog.photos_by_ids([ids["bench.jpg"]])[0]["path"]
        catalog.set_user_caption(bench, "Rex on the bench by the harbour")
        assert names(catalog.captions_to_review(0.5, limit=60)[0], ids) == TO_REVIEW[1:]
        assert catalog.unsure_confidences([ids["bench.jpg"]], 0.5) == {}
        catalog.undo_last_edit(ids["bench.jpg"])
        assert names(catalog.captions_to_review(0.5, limit=60)[0], ids) == TO_REVIEW


def test_the_list_is_read_from_the_confidence_index_not_from_every_caption(reviewed) -> None:
    import sqlite3

    from sqlalchemy import func, select
    from sqlalchemy.dialects import sqlite

    from photocap.catalog.store import _model, _photo_select, _to_review, _with_captions, photos

    home, _ids = reviewed
    page = _to_review(_photo_select(), 0.5).order_by(_model.c.confidence, photos.c.path).limit(60)
    count = _to_review(select(func.count()).select_from(_with_captions), 0.5)
    with sqlite3.connect(home / "catalog.db") as conn:
        for stmt in (page, count):
            sql = str(stmt.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
            plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql)]
            assert any("USING" in step and "INDEX ix_captions_source_confidence" in step for step in plan), plan
            assert not any(step.startswith("SCAN") for step in plan), plan  # no table read whole
            assert "USE TEMP B-TREE FOR ORDER BY" not in plan  # nor sorted whole: the index gives the order


def test_a_catalog_of_schema_0008_gets_the_confidence_index(tmp_home: Path) -> None:
    import sqlite3

    from test_catalog import catalog_at_revision

    from photocap.catalog.store import HEAD_REVISION

    db = tmp_home / "catalog.db"
    catalog_at_revision(db, "0008")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO photos (id, path, folder, size, mtime_ns, content_hash, status) "
                     "VALUES (1, '/p/a.jpg', '/p', 10, 1, 'h', 'ok')")
        conn.execute("INSERT INTO captions (photo_id, source, text, model_id, model_checksum, words, confidence) "
                     "VALUES (1, 'model', 'a dog on a beach', 'photocap-old', 'm0', '[]', 0.2)")
    with Catalog.open(tmp_home) as catalog:
        assert catalog.schema_revision() == HEAD_REVISION
        assert [row["path"] for row in catalog.captions_to_review(0.5, limit=10)[0]] == ["/p/a.jpg"]
    with sqlite3.connect(db) as conn:
        indexes = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert "ix_captions_source_confidence" in indexes


# ----------------------------------------------------------------------------------------------- the web app


def card_marks(page_html: str) -> dict[int, str | None]:
    """Each card of a page's grids (by photo id): the confidence its unsure mark shows, None without one."""
    marks: dict[int, str | None] = {}
    for card in page_html.split('<li class="card">')[1:]:
        photo_id = int(re.search(r'href="/photos/(\d+)', card).group(1))
        marks[photo_id] = badge_figure(card)
    return marks


def marked(marks: dict[int, str | None]) -> dict[int, str]:
    """The cards with an unsure mark, and the confidence it shows."""
    return {photo_id: figure for photo_id, figure in marks.items() if figure is not None}


def badge_figure(html: str) -> str | None:
    """The confidence the first unsure mark in `html` shows, None without one."""
    found = re.search(r'class="unsure-badge"[^>]*>unsure<span aria-hidden="true"> · </span>'
                      r'<span class="visually-hidden">, confidence </span>([0-9.]+)</span>', html)
    return found.group(1) if found else None


def about(photo_page_html: str) -> str:
    """The part of a photo's page about the photo itself (not its "More like this")."""
    return photo_page_html.split('<section class="about"')[1].split("</section>")[0]


def listed(page_html: str) -> list[int]:
    return [int(found) for found in re.findall(r'<a href="/photos/(\d+)\?from=review&amp;rank=\d+"', page_html)]


def nav_count(page_html: str) -> int:
    return int(re.search(r'<a href="/review">Needs review <span class="count">([\d,]+)', page_html).group(1))


def test_the_review_page_lists_the_unsure_captions_least_confident_first(reviewed) -> None:
    home, ids = reviewed
    web = client(home)
    page = web.get("/review")
    assert page.status_code == 200
    assert listed(page.text) == [ids[name] for name in TO_REVIEW]
    assert card_marks(page.text) == {ids[name]: figure for name, figure in MARKS.items()}
    assert f'href="/photos/{ids["boat.jpg"]}?from=review&amp;rank=1"' in page.text
    assert 'alt="a dog sits on a bench"' in page.text
    assert "<strong>3</strong> captions more likely wrong than right" in page.text
    for other in ("/review", "/", "/library", "/duplicates"):  # the count is in every page's navigation
        assert nav_count(web.get(other).text) == 3, other
    api = web.get("/api/review").json()
    assert [hit["id"] for hit in api["results"]] == [ids[name] for name in TO_REVIEW]
    assert (api["total"], api["pages"], api["unsure_below"]) == (3, 1, 0.5)
    assert api["results"][2] == {"id": ids["beach.jpg"], "rank": 2, "path": str(home.parent / "library" / "beach.jpg"),
                                 "caption": "a dog runs on the beach", "confidence": 0.31, "method": "beam",
                                 "caption_model": "photocap-test", "thumbnail": f"/photos/{ids['beach.jpg']}/thumbnail",
                                 "url": f"/photos/{ids['beach.jpg']}?from=review&rank=2"}
    assert "/api/review" in web.get("/api/openapi.json").json()["paths"]


def test_the_review_list_pages_as_search_does(reviewed) -> None:
    home, ids = reviewed
    small = client(home, page_size=2)
    first, second = small.get("/review"), small.get("/review", params={"page": 2})
    assert listed(first.text) == [ids[name] for name in TO_REVIEW[:2]]
    assert listed(second.text) == [ids["beach.jpg"]] and "page 2 of 2" in second.text
    assert 'rel="next" href="/review?page=2"' in first.text and 'rel="prev" href="/review"' in second.text
    past_the_end = small.get("/review", params={"page": 3})  # its last photo fixed since, say
    assert past_the_end.status_code == 303 and past_the_end.headers["location"] == "/review?page=2"
    assert [hit["id"] for hit in small.get("/api/review", params={"page": 2}).json()["results"]] == [ids["beach.jpg"]]
    assert small.get("/review", params={"page": "two"}).status_code == 400
    assert small.get("/api/review", params={"page": 0}).status_code == 400


def test_the_unsure_mark_shows_on_cards_the_photo_page_and_more_like_this_never_on_a_sure_caption(reviewed) -> None:
    home, ids = reviewed
    expected = {ids[name]: figure for name, figure in MARKS.items()}
    web = client(home)
    found = card_marks(web.get("/", params={"q": "dog"}).text)
    assert {ids["beach.jpg"], ids["park.jpg"], ids["field.jpg"], ids["written.jpg"]} <= set(found)
    assert marked(found) == expected
    unsure = about(web.get(f"/photos/{ids['beach.jpg']}").text)
    assert badge_figure(unsure) == "0.31"
    assert "This caption is more likely wrong than right: check it, and fix it below if it is." in unsure
    assert "more likely wrong than right (confidence 0.31, under 0.50); check it" in unsure  # its title
    for sure in ("park.jpg", "field.jpg", "yours.jpg", "written.jpg"):  # sure, at the threshold, yours, the file's
        shown = about(web.get(f"/photos/{ids[sure]}").text)
        assert badge_figure(shown) is None and "more likely wrong" not in shown, sure
    read_only = about(client(home, read_only=True).get(f"/photos/{ids['beach.jpg']}").text)
    assert "check it." in read_only and "fix it below" not in read_only
    alike = card_marks(web.get(f"/photos/{ids['park.jpg']}").text.split('class="alike-section"')[1])
    assert len(alike) == 6 and marked(alike) == {photo_id: expected[photo_id] for photo_id in alike.keys() & expected}
    assert marked(card_marks(web.get(f"/photos/{ids['park.jpg']}/similar").text)) == expected


def test_fixing_a_caption_on_its_page_takes_it_off_the_list_and_undoing_puts_it_back(reviewed) -> None:
    home, ids = reviewed
    web = client(home)
    bench, boat = ids["bench.jpg"], ids["boat.jpg"]
    opened = web.get(f"/photos/{bench}", params={"from": "review", "rank": 0})
    assert 'id="back" data-key="Escape">← Back to the review list' in opened.text and 'href="/review"' in opened.text
    assert f'href="/photos/{boat}?from=review&amp;rank=1">Next' in opened.text and 'id="prev"' not in opened.text
    saved = web.post(f"/photos/{bench}/edit", headers={"Origin": ORIGIN},
                     data={"csrf": csrf_of(opened.text), "caption": "Rex on the bench by the harbour", "tags": "",
                           "back": "from=review&rank=0"})
    assert saved.status_code == 303 and saved.headers["location"] == f"/photos/{bench}?from=review&rank=0"
    fixed = web.get(saved.headers["location"])
    assert "Rex on the bench" in fixed.text and badge_figure(about(fixed.text)) is None
    assert f'href="/photos/{boat}?from=review&amp;rank=0">Next' in fixed.text  # the photo that took its place
    assert listed(web.get("/review").text) == [boat, ids["beach.jpg"]] and nav_count(fixed.text) == 2
    undone = web.post(f"/photos/{bench}/undo", headers={"Origin": ORIGIN},
                      data={"csrf": csrf_of(fixed.text), "back": "from=review&rank=0"})
    assert undone.status_code == 303
    assert listed(web.get("/review").text) == [ids[name] for name in TO_REVIEW]
    assert badge_figure(about(web.get(undone.headers["location"]).text)) == "0.12"


def test_with_every_caption_fixed_the_list_says_so(reviewed) -> None:
    home, ids = reviewed
    with Catalog.open(home) as catalog:
        for row in catalog.photos_by_ids([ids[name] for name in TO_REVIEW]):
            catalog.set_user_caption(row["path"], f"checked: {row['caption']}")
    web = client(home)
    page = web.get("/review")
    assert page.status_code == 200 and "No captions need review" in page.text and listed(page.text) == []
    assert nav_count(page.text) == 0 and web.get("/api/review").json()["total"] == 0
