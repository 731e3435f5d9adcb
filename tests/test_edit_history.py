"""The history of the user's edits (catalog table `edits`, migration 0004): undo of edits made with the CLI and
the web app, several steps back, across server restarts, and on a catalog an older photocap left."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from test_catalog import add, captioned, catalog_at_revision
from web_support import ORIGIN, cli_search, client, csrf_of, photocap

from photocap.catalog.edits import HISTORY_PER_PHOTO
from photocap.catalog.store import HEAD_REVISION, Catalog


def shown(home: Path, path: str) -> tuple[str, str, list[tuple[str, str]]]:
    photo = json.loads(photocap(home, "show", path, "--json").stdout)
    return photo["caption"], photo["caption_source"], [(tag["word"], tag["source"]) for tag in photo["tags"]]


def undo(home: Path, photo_id: int):
    """Undo from a server started afresh: nothing of an earlier run is in memory."""
    with client(home) as web:
        token = csrf_of(web.get(f"/photos/{photo_id}").text)
        return web.post(f"/api/photos/{photo_id}/undo", headers={"Origin": ORIGIN, "X-CSRF-Token": token})


def test_edits_from_the_cli_and_the_web_are_undone_newest_first_across_server_restarts(home: Path) -> None:
    with client(home) as web:
        photo = web.get("/api/search", params={"q": "dog"}).json()["results"][0]
    path, photo_id = photo["path"], photo["id"]
    model = shown(home, path)
    model_tag = model[2][0][0]
    assert model[1] == "model" and model_tag

    assert photocap(home, "caption", "--set", path, "Pip on the sand at Filey").exit_code == 0
    assert photocap(home, "tag", path, "--add", "pip", "--remove", model_tag).exit_code == 0
    with client(home) as web:  # one edit of both caption and tags: one step of undo
        token = csrf_of(web.get(f"/photos/{photo_id}").text)
        edited = web.post(f"/api/photos/{photo_id}", headers={"Origin": ORIGIN, "X-CSRF-Token": token},
                          json={"caption": "Pip asleep after the beach", "tags": ["pip", "sleepy"]})
        assert edited.status_code == 200
        assert [(e["changed"], e["origin"]) for e in edited.json()["photo"]["edits"]] == [
            ("caption and tags", "web"), ("tags", "cli"), ("caption", "cli")]
        page = web.get(f"/photos/{photo_id}").text
        assert "Last edit: caption and tags, here," in page and "2 more before it can be undone" in page
    assert [hit["path"] for hit in cli_search(home, "sleepy")] == [path]

    first = undo(home, photo_id)
    assert first.status_code == 200 and first.json()["photo"]["caption"] == "Pip on the sand at Filey"
    after_cli_tag = shown(home, path)
    assert after_cli_tag[:2] == ("Pip on the sand at Filey", "user")
    assert ("pip", "user") in after_cli_tag[2] and model_tag not in [word for word, _ in after_cli_tag[2]]
    assert cli_search(home, "sleepy") == [] and [hit["path"] for hit in cli_search(home, "filey")] == [path]

    assert undo(home, photo_id).status_code == 200  # the CLI's tag edit: the model's tag is back, pip gone
    assert shown(home, path) == ("Pip on the sand at Filey", "user", model[2])
    assert undo(home, photo_id).status_code == 200  # the CLI's caption
    assert shown(home, path) == model and cli_search(home, "filey") == []
    nothing = undo(home, photo_id)
    assert nothing.status_code == 400 and "nothing to undo" in nothing.json()["error"]
    with client(home) as web:
        assert web.get(f"/api/photos/{photo_id}").json()["can_undo"] is False
        assert "form class=\"undo\"" not in web.get(f"/photos/{photo_id}").text


def test_an_edit_that_changes_nothing_is_not_an_undo_step(home: Path) -> None:
    with client(home) as web:
        photo = web.get("/api/search", params={"q": "dog"}).json()["results"][0]
        token = csrf_of(web.get(f"/photos/{photo['id']}").text)
        same = web.post(f"/api/photos/{photo['id']}", headers={"Origin": ORIGIN, "X-CSRF-Token": token},
                        json={"caption": photo["caption"], "tags": photo["tags"]})
        assert same.status_code == 200 and same.json()["photo"]["edits"] == []
    assert photocap(home, "caption", "--set", photo["path"], "Mine").exit_code == 0
    assert photocap(home, "caption", "--set", photo["path"], "Mine").exit_code == 0
    with Catalog.open(home) as catalog:
        assert len(catalog.edit_history(photo["id"])) == 1


def test_the_history_is_kept_per_photo_up_to_a_limit_and_goes_with_its_photo(tmp_home: Path) -> None:
    with Catalog.open(tmp_home) as catalog:
        history_limited_and_pruned(catalog)


def history_limited_and_pruned(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg", "/p/b.jpg")
    catalog.save_batch_results([captioned(ids["/p/a.jpg"]), captioned(ids["/p/b.jpg"])])
    for n in range(HISTORY_PER_PHOTO + 5):
        catalog.set_user_caption("/p/a.jpg", f"caption {n}")
    catalog.set_user_tags("/p/b.jpg", add=["rex"], remove=[], origin="web")
    assert len(catalog.edit_history(ids["/p/a.jpg"])) == HISTORY_PER_PHOTO
    assert [e["origin"] for e in catalog.edit_history(ids["/p/b.jpg"])] == ["web"]
    for _ in range(HISTORY_PER_PHOTO):
        assert catalog.undo_last_edit(ids["/p/a.jpg"]) is not None
    assert catalog.photo_by_path("/p/a.jpg")["caption"] == "caption 4"  # the oldest edits were forgotten
    assert catalog.undo_last_edit(ids["/p/a.jpg"]) is None
    catalog.flag_photos_under_roots_as_missing([ids["/p/b.jpg"]], ["/p"])  # b.jpg is gone, with its history
    assert catalog.prune_missing() == [ids["/p/b.jpg"]]
    with sqlite3.connect(catalog.path) as conn:
        assert conn.execute("SELECT photo_id FROM edits").fetchall() == []  # b.jpg's went with it


def test_a_catalog_of_schema_0003_gets_an_empty_history_and_its_edits_can_be_undone_from_then_on(
        tmp_home: Path) -> None:
    db = tmp_home / "catalog.db"
    catalog_at_revision(db, "0003")
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO photos (id, path, folder, size, mtime_ns, content_hash, status) "
                     "VALUES (1, '/p/a.jpg', '/p', 10, 1, 'h', 'ok')")
        conn.execute("INSERT INTO captions (photo_id, source, text, model_id, model_checksum, words) "
                     "VALUES (1, 'model', 'a dog on a beach', 'photocap-old', 'm0', '[]')")
        conn.execute("INSERT INTO captions (photo_id, source, text, words) VALUES (1, 'user', 'Rex at Whitby', '[]')")
        conn.execute("INSERT INTO tags (photo_id, source, word, removed) VALUES (1, 'user', 'rex', 0)")
    with Catalog.open(tmp_home) as catalog:
        assert catalog.schema_revision() == HEAD_REVISION
        assert catalog.edit_history(1) == [] and catalog.undo_last_edit(1) is None
        catalog.set_user_caption("/p/a.jpg", "Rex asleep")
        catalog.set_user_tags("/p/a.jpg", add=[], remove=["rex"])
        assert [e["changed"] for e in catalog.edit_history(1)] == ["tags", "caption"]
        catalog.undo_last_edit(1)
        catalog.undo_last_edit(1)
        photo = catalog.photo_by_path("/p/a.jpg")
        assert (photo["caption"], [t["word"] for t in photo["tags"]]) == ("Rex at Whitby", ["rex"])
