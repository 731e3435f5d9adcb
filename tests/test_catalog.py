"""The catalog on real SQLite files: migrations, pragmas, upserts, sync flags, refusals."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from photocap.catalog.store import (
    HEAD_REVISION,
    KNOWN_REVISIONS,
    Base,
    Catalog,
    CatalogError,
    FileUpdate,
    NewFile,
    PhotoResult,
    migrations_dir,
)


@pytest.fixture
def catalog(tmp_home: Path):
    with Catalog.open(tmp_home) as opened:
        yield opened


def add(catalog: Catalog, *paths: str, content_hash: str = "h") -> dict[str, int]:
    catalog.add_pending_photos(
        [NewFile(path=p, size=10, mtime_ns=1, content_hash=f"{content_hash}-{i}") for i, p in enumerate(paths)]
    )
    return {p: catalog.photo_by_path(p)["id"] for p in paths}


def captioned(photo_id: int, text: str = "a dog runs on the beach", checksum: str = "m1") -> PhotoResult:
    return PhotoResult(photo_id=photo_id, caption=text, score=-3.2, words=[("dog", 0.9), ("beach", 0.7)],
                       model_id="photocap-test", model_checksum=checksum, width=640, height=480,
                       taken_at=datetime(2024, 5, 1, 12, 30), camera_make="Canon", camera_model="Canon EOS 5D")


def catalog_at_revision(db: Path, revision: str) -> None:
    """A catalog at `db` made by the migrations up to `revision`, as an older photocap left it."""
    from alembic import command

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{db}")
    command.upgrade(config, revision)


def test_opening_applies_migrations_and_turns_wal_on(tmp_home: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with Catalog.open(tmp_home) as catalog:
        assert catalog.schema_revision() == HEAD_REVISION
    assert capfd.readouterr().out == ""  # stdout carries command results only
    raw = sqlite3.connect(tmp_home / "catalog.db")
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"photos", "captions", "alembic_version"} <= tables
    raw.close()
    with Catalog.open(tmp_home) as catalog, catalog._read() as conn:  # reopening: no migration, same pragmas
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_migrations_match_the_models_and_the_known_revisions(catalog: Catalog) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with catalog._read() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    script = ScriptDirectory.from_config(config)
    assert script.get_current_head() == HEAD_REVISION
    assert [rev.revision for rev in reversed(list(script.walk_revisions()))] == list(KNOWN_REVISIONS)


def test_a_catalog_from_a_newer_photocap_is_refused(tmp_home: Path) -> None:
    Catalog.open(tmp_home).close()
    raw = sqlite3.connect(tmp_home / "catalog.db")
    raw.execute("UPDATE alembic_version SET version_num = '0099'")
    raw.commit()
    raw.close()
    with pytest.raises(CatalogError, match=r"newer photocap \(schema 0099\); upgrade photocap"):
        Catalog.open(tmp_home)


def test_a_corrupt_catalog_is_reported_in_one_line(tmp_home: Path) -> None:
    (tmp_home / "catalog.db").write_bytes(b"this is not a database at all " * 100)
    with pytest.raises(CatalogError) as error:
        Catalog.open(tmp_home)
    assert "damaged" in str(error.value) and "\n" not in str(error.value)


def test_a_locked_catalog_is_reported_in_one_line(tmp_home: Path) -> None:
    Catalog.open(tmp_home).close()
    holder = sqlite3.connect(tmp_home / "catalog.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with Catalog(tmp_home / "catalog.db", busy_timeout_s=0.2) as catalog, pytest.raises(CatalogError) as error:
            catalog.add_pending_photos([NewFile(path="/p/a.jpg", size=1, mtime_ns=1, content_hash="x")])
        assert "locked by another process" in str(error.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_saving_a_caption_twice_updates_it_in_place(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg")
    catalog.save_batch_results([captioned(ids["/p/a.jpg"], "first caption")])
    catalog.save_batch_results([captioned(ids["/p/a.jpg"], "second caption", checksum="m2")])
    photo = catalog.photo_by_path("/p/a.jpg")
    assert (photo["caption"], photo["model_checksum"], photo["status"]) == ("second caption", "m2", "ok")
    assert (photo["width"], photo["height"], photo["camera_model"]) == (640, 480, "Canon EOS 5D")
    with catalog._read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM captions").scalar() == 1
    assert catalog.models_in_use() == [{"model_id": "photocap-test", "model_checksum": "m2", "captions": 1}]


def test_a_user_caption_wins_and_is_never_overwritten_by_the_model(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg")
    catalog.save_batch_results([captioned(ids["/p/a.jpg"], "model words")])
    catalog.set_user_caption("/p/a.jpg", "grandma's birthday")
    catalog.save_batch_results([captioned(ids["/p/a.jpg"], "newer model words")])
    photo = catalog.photo_by_path("/p/a.jpg")
    assert (photo["caption"], photo["caption_source"]) == ("grandma's birthday", "user")
    [row] = catalog.unsynced_photos()
    assert row["caption"] == "grandma's birthday"
    assert row["words"] == [("dog", 0.9), ("beach", 0.7)]  # the model's concept words stay searchable
    catalog.clear_user_caption("/p/a.jpg")
    assert catalog.photo_by_path("/p/a.jpg")["caption"] == "newer model words"
    with pytest.raises(CatalogError, match="not in the catalog"):
        catalog.set_user_caption("/p/nowhere.jpg", "x")


def test_failures_are_recorded_and_listed(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg", "/p/b.jpg")
    catalog.save_batch_results(
        [captioned(ids["/p/a.jpg"]), PhotoResult(photo_id=ids["/p/b.jpg"], error="cannot decode: truncated")]
    )
    assert catalog.errors() == [("/p/b.jpg", "cannot decode: truncated")]
    assert catalog.errors_under(["/elsewhere"]) == []
    counts = catalog.status_counts()
    assert (counts["photos"], counts["ok"], counts["error"], counts["pending"]) == (2, 1, 1, 0)


def test_results_for_photos_gone_meanwhile_are_dropped(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg")
    assert catalog.flag_photos_under_roots_as_missing([ids["/p/a.jpg"]], ["/p"]) == 1
    catalog.save_batch_results([captioned(ids["/p/a.jpg"])])
    assert catalog.photo_by_path("/p/a.jpg")["status"] == "missing"
    assert catalog.prune_missing() == [ids["/p/a.jpg"]]
    catalog.save_batch_results([captioned(ids["/p/a.jpg"])])  # pruned: no foreign-key error, nothing written
    assert catalog.status_counts()["photos"] == 0


def test_search_sync_flags(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg", "/p/b.jpg")
    assert {row["id"] for row in catalog.unsynced_photos()} == set(ids.values())
    catalog.mark_search_synced(ids.values())
    assert catalog.unsynced_photos() == []
    catalog.save_batch_results([captioned(ids["/p/a.jpg"])])
    [row] = catalog.unsynced_photos()
    assert (row["path"], row["folder"], row["status"], row["camera"]) == ("/p/a.jpg", "/p", "ok", "Canon EOS 5D")
    assert row["taken_at"] == datetime(2024, 5, 1, 12, 30)
    assert [r["id"] for r in catalog.all_searchable_photos(chunk=1)] == [ids["/p/a.jpg"]]
    catalog.mark_search_synced(None)
    assert catalog.status_counts()["unsynced"] == 0


def test_prefix_queries_do_not_match_sibling_folders(catalog: Catalog) -> None:
    add(catalog, "/photos/a.jpg", "/photos/sub/b.jpg", "/photos2/c.jpg", "/photos_x/d.jpg", "/photo")
    assert set(catalog.known_files_under(["/photos"])) == {"/photos/a.jpg", "/photos/sub/b.jpg"}
    assert set(catalog.known_files_under(["/photos/"])) == {"/photos/a.jpg", "/photos/sub/b.jpg"}
    assert set(catalog.known_files_under(["/photos2/c.jpg"])) == {"/photos2/c.jpg"}
    assert len(catalog.known_files_under(["/"])) == 5


def test_non_utf8_paths_round_trip(catalog: Catalog) -> None:
    odd = os.fsdecode(b"/p/caf\xe9 \xff.jpg")  # Latin-1 bytes: not valid UTF-8, so surrogate escapes
    unicode = "/p/été/東京 🌸.jpg"
    ids = add(catalog, odd, unicode)
    assert set(catalog.known_files_under(["/p"])) == {odd, unicode}
    assert catalog.photo_by_path(odd)["path"] == odd
    assert os.fsencode(catalog.photos_by_ids([ids[odd]])[0]["path"]) == b"/p/caf\xe9 \xff.jpg"
    under_odd_folder = os.fsdecode(b"/q\xff/x.jpg")
    add(catalog, under_odd_folder)
    assert set(catalog.known_files_under([os.fsdecode(b"/q\xff")])) == {under_odd_folder}
    assert catalog.photo_by_path(under_odd_folder)["folder"] == os.fsdecode(b"/q\xff")


def test_recaption_candidates_are_those_of_other_models(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg", "/p/b.jpg", "/q/c.jpg")
    catalog.save_batch_results([captioned(ids["/p/a.jpg"], checksum="old"), captioned(ids["/p/b.jpg"], checksum="new"),
                                captioned(ids["/q/c.jpg"], checksum="old")])
    assert catalog.photos_captioned_by_other_models("new") == [(ids["/p/a.jpg"], "/p/a.jpg"),
                                                              (ids["/q/c.jpg"], "/q/c.jpg")]
    assert catalog.photos_captioned_by_other_models("new", roots=["/q"]) == [(ids["/q/c.jpg"], "/q/c.jpg")]
    catalog.flag_for_recaption([ids["/p/a.jpg"]])
    assert catalog.pending_photos(["/p"]) == [(ids["/p/a.jpg"], "/p/a.jpg")]
    assert catalog.photo_by_path("/p/a.jpg")["caption"] == "a dog runs on the beach"  # kept until replaced


def test_pruning_deletes_captions_by_cascade(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg")
    catalog.save_batch_results([captioned(ids["/p/a.jpg"])])
    catalog.set_user_caption("/p/a.jpg", "mine")
    catalog.flag_photos_under_roots_as_missing([ids["/p/a.jpg"]], ["/p"])
    assert catalog.prune_missing() == [ids["/p/a.jpg"]]
    with catalog._read() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM captions").scalar() == 0


def test_session_is_one_transaction(catalog: Catalog) -> None:
    from photocap.catalog.store import Photo

    with pytest.raises(RuntimeError), catalog.session() as session:
        session.add(Photo(path="/p/a.jpg", folder="/p", size=1, mtime_ns=1, status="pending"))
        session.flush()
        raise RuntimeError("rolled back")
    assert catalog.status_counts()["photos"] == 0
    with catalog.session() as session:
        session.add(Photo(path="/p/a.jpg", folder="/p", size=1, mtime_ns=1, status="pending"))
    assert catalog.status_counts()["pending"] == 1


def test_processes_opening_a_new_catalog_at_once_all_succeed(tmp_home: Path) -> None:
    import subprocess
    import sys

    code = f"from photocap.catalog.store import Catalog; print(Catalog.open({str(tmp_home)!r}).schema_revision())"
    runs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            for _ in range(3)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [out.decode().strip() for out, _ in outputs] == [HEAD_REVISION] * 3, [err for _, err in outputs]


def test_every_migration_is_a_revision_the_catalog_knows():
    """A catalog upgraded by a migration missing from KNOWN_REVISIONS would be refused as 'newer' next time."""
    from photocap.catalog.store import KNOWN_REVISIONS

    versions = Path(__file__).resolve().parents[1] / "migrations" / "versions"
    revisions = sorted(path.name.split("_", 1)[0] for path in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert tuple(revisions) == KNOWN_REVISIONS


def test_the_sweep_flags_only_photos_still_under_the_roots_and_not_yet_missing(catalog: Catalog) -> None:
    ids = add(catalog, "/p/a.jpg", "/p/b.jpg", "/p/c.jpg")
    assert catalog.flag_photos_under_roots_as_missing([ids["/p/c.jpg"]], ["/p"]) == 1
    # Another process moved b.jpg out of /p after the walk began.
    catalog.move_photos([FileUpdate(id=ids["/p/b.jpg"], path="/q/b.jpg", size=10, mtime_ns=1, content_hash="h-1")])
    assert catalog.flag_photos_under_roots_as_missing(list(ids.values()), ["/p"]) == 1  # a.jpg; c.jpg already was
    assert {path: catalog.photo_by_path(path)["status"] for path in ("/p/a.jpg", "/q/b.jpg", "/p/c.jpg")} == {
        "/p/a.jpg": "missing", "/q/b.jpg": "pending", "/p/c.jpg": "missing"}
