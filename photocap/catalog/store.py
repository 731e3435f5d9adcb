"""The catalog: a SQLite file (`<home>/catalog.db`), the source of truth for photos and their captions.

One small class, `Catalog`, whose method names say what happens to the data. The scanner's change
detection is mark-and-sweep: `known_files_under` before the walk, and `flag_photos_under_roots_as_missing` for
those of them the walk did not find (marked in memory). The Whoosh index is derived: every change search shows
clears `search_synced`, and `mark_search_synced` sets it once the index has taken the change, so a crash
between the two commits is repaired on the next run.

Paths are `str` in their `os.fsdecode` form. Names that are not valid UTF-8 carry lone surrogates, which
SQLite TEXT cannot hold, so those paths are stored as their raw bytes (a BLOB) and read back unchanged.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    ColumnElement,
    LargeBinary,
    and_,
    bindparam,
    case,
    create_engine,
    delete,
    event,
    exists,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DatabaseError, IntegrityError
from sqlalchemy.orm import Session

from photocap.catalog import detections as catalog_detections
from photocap.catalog import edits as catalog_edits
from photocap.catalog import metadata as catalog_metadata
from photocap.catalog import perceptual as catalog_perceptual
from photocap.catalog import places as catalog_places
from photocap.catalog import tags as catalog_tags
from photocap.catalog.detections import DetectionView, PhotoDetections
from photocap.catalog.edits import EditView, UserChange
from photocap.catalog.rows import (  # noqa: F401  (the row shapes are part of this module's interface)
    FileError,
    FileUpdate,
    KnownFile,
    MetadataUpdate,
    ModelUse,
    NewFile,
    PhotoFile,
    PhotoResult,
    PhotoRow,
    PhotoToCaption,
    SearchRow,
    StatusCounts,
)
from photocap.catalog.schema import (  # noqa: F401  (Base, Photo, Caption: part of this module's interface)
    Base,
    Caption,
    FsPath,
    Photo,
    captions,
    chunks,
    is_utf8,
    photo_features,
    photos,
    utcnow,
    written_metadata,
)
from photocap.catalog.tags import ModelTags, PooledFeature, TagView

# Alembic revisions this version knows, oldest first; the last is the schema this code writes.
# tests/test_catalog.py checks this against migrations/versions.
KNOWN_REVISIONS = ("0001", "0002", "0003", "0004", "0005", "0006", "0007", "0008", "0009")
HEAD_REVISION = KNOWN_REVISIONS[-1]

BUSY_TIMEOUT_S = 30.0
STATUSES = ("pending", "ok", "error", "missing")

StrPath = str | os.PathLike[str]


class CatalogError(Exception):
    """The catalog cannot be used; the message says why and what to do, in one line."""



# --------------------------------------------------------------------------------------------- catalog


class Catalog:
    """The catalog file at `path`, opened (and created or migrated) on construction."""

    def __init__(self, path: Path, busy_timeout_s: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CatalogError(f"cannot create {self.path.parent}: {error.strerror}") from None
        self._engine = create_engine(f"sqlite:///{self.path}")
        event.listen(self._engine, "connect", self._configure_connection)
        event.listen(self._engine, "begin", _begin)
        try:
            self._migrate()
        except BaseException:
            self._engine.dispose()
            raise

    @classmethod
    def open(cls, home: Path) -> Catalog:
        """The catalog of a photocap home: `<home>/catalog.db`."""
        return cls(Path(home) / "catalog.db")

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------------- connections, migrations

    def _configure_connection(self, dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see _begin)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: a power cut loses, never corrupts
        cursor.close()

    @contextmanager
    def _errors_explained(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError:
            raise
        except DatabaseError as error:
            raise CatalogError(self._explain(error)) from None

    def _explain(self, error: DatabaseError) -> str:
        reason = str(error.orig) if error.orig is not None else str(error)
        if "locked" in reason or "busy" in reason:
            return (
                f"{self.path} is locked by another process (waited {self._busy_timeout_s:g} s); "
                "try again when it has finished"
            )
        if "not a database" in reason or "malformed" in reason or "corrupt" in reason:
            return f"{self.path} is damaged ({reason}); move it aside and index again, or restore a backup"
        if "full" in reason:
            return f"cannot write {self.path}: {reason}"
        return f"catalog {self.path}: {reason}"

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE: writers queue up front instead of failing midway)."""
        with self._errors_explained(), self._engine.begin() as conn:
            yield conn

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._errors_explained(), self._engine.connect() as conn:
            conn.execution_options(photocap_begin="DEFERRED")
            with conn.begin():
                yield conn

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """One read transaction, for a room above the catalog that keeps its own queries (photocap.similar)."""
        with self._read() as conn:
            yield conn

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One write transaction, for a room above the catalog that keeps its own queries (photocap.similar)."""
        with self._write() as conn:
            yield conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session in one write transaction, committed on exit (rolled back on an exception)."""
        with self._errors_explained(), Session(self._engine) as session, session.begin():
            yield session

    def _migrate(self) -> None:
        with self._read() as conn:
            tables = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars())
            current = None
            if "alembic_version" in tables:
                current = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
        if current == HEAD_REVISION:
            return
        if current is None and "photos" in tables:
            raise CatalogError(f"{self.path} has tables but no photocap schema version; it is not a photocap catalog")
        if current is not None and current not in KNOWN_REVISIONS:
            raise CatalogError(f"catalog.db was written by a newer photocap (schema {current}); upgrade photocap")
        self._upgrade()

    def _upgrade(self) -> None:
        from alembic import command  # imported only when the schema must change: it costs start-up time
        from alembic.config import Config

        config = Config(stdout=io.StringIO())  # stdout carries command results only
        config.set_main_option("script_location", str(migrations_dir()).replace("%", "%%"))
        with self._write() as conn:  # BEGIN IMMEDIATE: a second process opening now waits, then sees head
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def schema_revision(self) -> str | None:
        with self._read() as conn:
            return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()

    # ----------------------------------------------------------------------------------- the scanner

    def known_files_under(self, roots: Sequence[StrPath]) -> dict[str, KnownFile]:
        """Every catalogued file under `roots` (absolute folder or file paths), in one query."""
        stmt = select(
            photos.c.path,
            photos.c.id,
            photos.c.size,
            photos.c.mtime_ns,
            photos.c.status,
            photos.c.content_hash,
            photos.c.metadata_stamp,
        ).where(_under(photos.c.path, roots))
        with self._read() as conn:
            rows = conn.execute(stmt).all()  # all at once: a row at a time doubles the time at 100,000 files
        return {row[0]: KnownFile._make(row[1:]) for row in rows}

    def flag_photos_under_roots_as_missing(self, ids: Iterable[int], roots: Sequence[StrPath]) -> int:
        """The sweep: the photos `ids` (found under `roots` before a walk that did not see them) are missing,
        unless they are already, or another process moved them out of `roots` meanwhile."""
        now = utcnow()
        flagged = 0
        with self._write() as conn:
            for chunk in chunks(ids):
                flagged += conn.execute(
                    update(photos)
                    .where(photos.c.id.in_(chunk), photos.c.status != "missing", _under(photos.c.path, roots))
                    .values(status="missing", search_synced=False, updated_at=now)
                ).rowcount
        return flagged

    def add_pending_photos(self, new_files: Iterable[NewFile]) -> None:
        """Insert new photos, to be captioned; a path already catalogued is left alone."""
        rows = _inserted_rows(new_files, "pending")
        if not rows:
            return
        stmt = sqlite_insert(photos).on_conflict_do_nothing(index_elements=[photos.c.path])
        with self._write() as conn:
            conn.execute(stmt, rows)

    def flag_as_changed(self, updates: Iterable[FileUpdate]) -> None:
        """New content at a known path: pending again, and the model caption (of the old content) dropped.

        A user's caption is kept: it is never thrown away by a scan.
        """
        rows = [_update_params(u) for u in updates]
        if not rows:
            return
        stmt = (
            update(photos)
            .where(photos.c.id == bindparam("b_id"))
            .values(
                **_file_location_values(),
                content_hash=bindparam("b_content_hash"),
                status="pending",
                error=None,
                search_synced=False,
                updated_at=bindparam("b_now"),
            )
        )
        with self._write() as conn:
            conn.execute(stmt, rows)
            _delete_model_captions(conn, [r["b_id"] for r in rows])

    def move_photos(self, updates: Iterable[FileUpdate]) -> None:
        """The same content now lives at update['path']: the caption stays, a missing photo comes back."""
        self._relocate(updates)

    def refresh_photo_files(self, updates: Iterable[FileUpdate]) -> None:
        """Same path, same content, new size/mtime (or back after being missing): nothing to caption."""
        self._relocate(updates)

    def _relocate(self, updates: Iterable[FileUpdate]) -> None:
        rows = [_update_params(u) for u in updates]
        if not rows:
            return
        was_missing = photos.c.status == "missing"
        visible_change = or_(was_missing, photos.c.path != bindparam("b_path", type_=FsPath()))
        has_model_caption = exists().where(captions.c.photo_id == photos.c.id, captions.c.source == "model")
        # SQLite evaluates every SET expression against the row as it was before the update.
        stmt = (
            update(photos)
            .where(photos.c.id == bindparam("b_id"))
            .values(
                **_file_location_values(),
                status=case((was_missing, case((has_model_caption, "ok"), else_="pending")), else_=photos.c.status),
                search_synced=case((visible_change, False), else_=photos.c.search_synced),
                updated_at=bindparam("b_now"),
            )
        )
        with self._write() as conn:
            conn.execute(stmt, rows)

    def record_files_in_error(self, file_errors: Iterable[FileError]) -> None:
        """Files that cannot be photos (empty, not an image, unreadable), inserted or updated by path."""
        rows = _inserted_rows(file_errors, "error")
        if not rows:
            return
        stmt = sqlite_insert(photos)
        stmt = stmt.on_conflict_do_update(
            index_elements=[photos.c.path],
            set_={name: stmt.excluded[name] for name in (
                "size", "mtime_ns", "content_hash", "status", "error", "seen", "search_synced", "updated_at")},
        )
        with self._write() as conn:
            conn.execute(stmt, rows)
            ids = conn.scalars(select(photos.c.id).where(photos.c.path.in_([r["path"] for r in rows]))).all()
            _delete_model_captions(conn, ids)

    def content_hashes(self) -> set[str]:
        """Every content hash in the catalog: lets a scan skip the move lookup for content never seen."""
        with self._read() as conn:
            return set(conn.scalars(select(photos.c.content_hash).where(photos.c.content_hash.is_not(None))))

    def photos_with_content_hash(self, content_hash: str) -> list[PhotoFile]:
        stmt = select(photos.c.id, photos.c.path, photos.c.status).where(photos.c.content_hash == content_hash)
        with self._read() as conn:
            return [PhotoFile(id=r.id, path=r.path, status=r.status) for r in conn.execute(stmt)]

    # ---------------------------------------------------------------------------------- the captioner

    def content_hashes_by_id(self, ids: Sequence[int]) -> dict[int, str]:
        """The content hash of each of these photos that has one."""
        found: dict[int, str] = {}
        with self._read() as conn:
            for chunk in chunks(ids):
                rows = conn.execute(select(photos.c.id, photos.c.content_hash).where(
                    photos.c.id.in_(chunk), photos.c.content_hash.is_not(None)))
                found.update((photo_id, content_hash) for photo_id, content_hash in rows)
        return found

    def pending_photos(self, roots: Sequence[StrPath] | None = None) -> list[PhotoToCaption]:
        """Photos waiting for a caption (under `roots` if given), in path order (disk-friendly)."""
        stmt = select(photos.c.id, photos.c.path).where(photos.c.status == "pending")
        if roots is not None:
            stmt = stmt.where(_under(photos.c.path, roots))
        with self._read() as conn:
            rows = [PhotoToCaption(r.id, r.path) for r in conn.execute(stmt)]
        return sorted(rows, key=lambda row: row.path)

    def photos_captioned_by_other_models(
        self, model_checksum: str, roots: Sequence[StrPath] | None = None
    ) -> list[PhotoToCaption]:
        """Photos (ok or error, under `roots` if given) whose model caption another model wrote."""
        stmt = (
            select(photos.c.id, photos.c.path)
            .join(captions, and_(captions.c.photo_id == photos.c.id, captions.c.source == "model"))
            .where(
                photos.c.status.in_(("ok", "error")),
                or_(captions.c.model_checksum.is_(None), captions.c.model_checksum != model_checksum),
            )
        )
        if roots is not None:
            stmt = stmt.where(_under(photos.c.path, roots))
        with self._read() as conn:
            rows = [PhotoToCaption(r.id, r.path) for r in conn.execute(stmt)]
        return sorted(rows, key=lambda row: row.path)

    def photos_not_looked_at_by(self, detector_id: str,
                                roots: Sequence[StrPath] | None = None) -> list[PhotoToCaption]:
        """Captioned photos (under `roots` if given) the detector `detector_id` has not looked at: none has, or
        another did. Only decoding them again finds their objects."""
        stmt = _not_looked_at_by(select(photos.c.id, photos.c.path), detector_id)
        if roots is not None:
            stmt = stmt.where(_under(photos.c.path, roots))
        with self._read() as conn:
            rows = [PhotoToCaption(r.id, r.path) for r in conn.execute(stmt)]
        return sorted(rows, key=lambda row: row.path)

    def count_not_looked_at_by(self, detector_id: str) -> int:
        with self._read() as conn:
            return conn.scalar(_not_looked_at_by(select(func.count()).select_from(photos), detector_id)) or 0

    def detections_of(self, photo_ids: Sequence[int]) -> dict[int, list[DetectionView]]:
        """Each photo's detections (from DETECTIONS_KEPT_FROM), most confident first."""
        with self._read() as conn:
            return catalog_detections.detections_of(conn, photo_ids)

    def flag_for_recaption(self, ids: Iterable[int]) -> None:
        """Pending again, keeping the current caption until the new one replaces it."""
        now = utcnow()
        with self._write() as conn:
            for chunk in chunks(ids):
                conn.execute(
                    update(photos)
                    .where(photos.c.id.in_(chunk), photos.c.status != "missing")
                    .values(status="pending", error=None, updated_at=now)
                )

    def photos_to_tag(self, tagger_id: str, encoder: str,
                      roots: Sequence[StrPath] | None = None) -> tuple[list[PooledFeature], list[PhotoToCaption]]:
        """Captioned photos the tagger `tagger_id` has not tagged: those whose pooled feature (from `encoder`)
        is kept, to be tagged from it, and those without one (catalogued by an older photocap), to be decoded."""
        stmt = (select(photos.c.id, photos.c.path, photo_features.c.encoder).select_from(photos)
                .outerjoin(photo_features, photo_features.c.photo_id == photos.c.id))
        stmt = _awaiting_tags(stmt, tagger_id) if roots is None else _awaiting_tags_under(stmt, tagger_id, roots)
        with self._read() as conn:
            rows = list(conn.execute(stmt))
            kept = [row.id for row in rows if row.encoder == encoder]
            features = list(catalog_tags.features_of(conn, kept).values())
        to_decode = sorted((PhotoToCaption(row.id, row.path) for row in rows if row.encoder != encoder),
                           key=lambda photo: photo.path)
        return features, to_decode

    def count_awaiting_tags(self, tagger_id: str) -> int:
        """Captioned photos the tagger `tagger_id` has not tagged (a new tag map, or an older catalog)."""
        with self._read() as conn:
            return conn.scalar(_awaiting_tags(select(func.count()).select_from(photos), tagger_id)) or 0

    def save_tags(self, rows: Sequence[ModelTags]) -> None:
        """New model tags for photos tagged again from their kept features, in one transaction."""
        if not rows:
            return
        now = utcnow()
        with self._write() as conn:
            catalog_tags.replace_model_tags(conn, rows, now)
            conn.execute(update(photo_features).where(photo_features.c.photo_id == bindparam("b_id"))
                         .values(tagger_id=bindparam("b_tagger")),
                         [{"b_id": row["photo_id"], "b_tagger": row["tagger_id"]} for row in rows])
            for chunk in chunks(row["photo_id"] for row in rows):
                conn.execute(update(photos).where(photos.c.id.in_(chunk)).values(search_synced=False, updated_at=now))

    def save_batch_results(self, results: Iterable[PhotoResult]) -> None:
        """One batch in one transaction: captioned photos become ok, failed ones error.

        The model caption is upserted (one per photo); a user caption is never touched. Photos that went
        missing or were pruned while the batch was being captioned are skipped.
        """
        results = list(results)
        ids = [r.photo_id for r in results]
        if not ids:
            return
        now = utcnow()
        with self._write() as conn:
            alive: set[int] = set()
            for chunk in chunks(ids):
                alive.update(
                    conn.scalars(select(photos.c.id).where(photos.c.id.in_(chunk), photos.c.status != "missing"))
                )
            captioned = [r for r in results if r.photo_id in alive and r.error is None]
            failed = [r for r in results if r.photo_id in alive and r.error is not None]
            if captioned:
                insert = sqlite_insert(captions)
                upsert = insert.on_conflict_do_update(
                    index_elements=[captions.c.photo_id, captions.c.source],
                    set_={name: insert.excluded[name] for name in (
                        "text", "score", "model_id", "model_checksum", "words", "confidence", "method",
                        "created_at")},
                )
                conn.execute(upsert, [
                    {"photo_id": c.photo_id, "source": "model", "text": c.caption or "", "score": c.score,
                     "model_id": c.model_id, "model_checksum": c.model_checksum,
                     "words": [[str(word), float(p)] for word, p in c.words], "confidence": c.confidence,
                     "method": c.method, "created_at": now}
                    for c in captioned
                ])
                catalog_metadata.replace_written_metadata(
                    conn, [(c.photo_id, c.written) for c in captioned if c.written is not None], now)
                tagged = [c for c in captioned if c.tagger_id is not None]
                catalog_tags.replace_model_tags(conn, [
                    ModelTags(photo_id=c.photo_id, tags=c.tags, tagger_id=c.tagger_id or "") for c in tagged
                ], now)
                catalog_tags.save_features(conn, [
                    PooledFeature(photo_id=c.photo_id, encoder=c.feature_encoder or "", vector=c.feature,
                                  tagger_id=c.tagger_id)
                    for c in tagged if c.feature is not None
                ])
                catalog_detections.replace_detections(conn, [
                    PhotoDetections(photo_id=c.photo_id, detector_id=c.detector_id, found=c.detections)
                    for c in captioned if c.detector_id is not None
                ], now)
                catalog_perceptual.keep_hashes_of_photos(
                    conn, [(c.photo_id, c.phash) for c in captioned if c.phash is not None])
                conn.execute(
                    update(photos).where(photos.c.id == bindparam("b_id")).values(
                        width=bindparam("b_width"), height=bindparam("b_height"),
                        taken_at=bindparam("b_taken_at"), date_source=bindparam("b_date_source"),
                        camera_make=bindparam("b_camera_make"),
                        camera_model=bindparam("b_camera_model"), status="ok", error=None,
                        search_synced=False, updated_at=now,
                    ),
                    [
                        {"b_id": c.photo_id, "b_width": c.width, "b_height": c.height, "b_taken_at": c.taken_at,
                         "b_date_source": c.date_source if c.taken_at is not None else None,
                         "b_camera_make": c.camera_make, "b_camera_model": c.camera_model}
                        for c in captioned
                    ],
                )
            if failed:
                conn.execute(
                    update(photos).where(photos.c.id == bindparam("b_id")).values(
                        status="error", error=bindparam("b_error"), search_synced=False, updated_at=now
                    ),
                    [{"b_id": f.photo_id, "b_error": f.error} for f in failed],
                )

    def refresh_written_metadata(self, updates: Sequence[MetadataUpdate]) -> None:
        """What captioned photos' files say, read again (a sidecar changed), and the dates that follow from it."""
        if not updates:
            return
        now = utcnow()
        with self._write() as conn:
            catalog_metadata.replace_written_metadata(conn, [(u.photo_id, u.written) for u in updates], now)
            # Only an XMP date comes or goes with a sidecar; the search index filters on the date, so it must
            # learn a new one.
            conn.execute(
                update(photos).where(
                    photos.c.id == bindparam("b_id"),
                    or_(photos.c.date_source == "xmp", bindparam("b_date_source") == "xmp"),
                    or_(photos.c.taken_at.is_(None), photos.c.taken_at != bindparam("b_taken_at"),
                        photos.c.date_source != bindparam("b_date_source")),
                ).values(taken_at=bindparam("b_taken_at"), date_source=bindparam("b_date_source"),
                         search_synced=False, updated_at=now),
                [{"b_id": u.photo_id, "b_taken_at": u.taken_at, "b_date_source": u.date_source} for u in updates],
            )

    # ------------------------------------------------------------------------------------------ users

    def set_user_caption(self, path: str, text: str, origin: str = "cli") -> None:
        """The user's own caption for the photo at `path`; it wins over the model's and is never overwritten."""
        self.edit_user_layer(path, UserChange(set_caption=True, caption=text), origin)

    def clear_user_caption(self, path: str, origin: str = "cli") -> bool:
        """Drop the user's caption of the photo at `path`; False if it had none."""
        return self.edit_user_layer(path, UserChange(set_caption=True, caption=None), origin)[0]

    def set_user_tags(self, path: str, add: Sequence[str], remove: Sequence[str], origin: str = "cli") -> list[TagView]:
        """Add the user's own tags to the photo at `path` and take tags away; returns its tags now."""
        return self.edit_user_layer(path, UserChange(add=tuple(add), remove=tuple(remove)), origin)[1]

    def edit_user_layer(self, path: str, change: UserChange, origin: str) -> tuple[bool, list[TagView]]:
        """Make one edit of the user's caption and tags of the photo at `path`, kept in the edit history (when it
        changed anything) for undo; returns whether it changed anything, and the photo's tags now."""
        now = utcnow()
        with self._write() as conn:
            photo_id = self._photo_id(conn, path)
            changed = catalog_edits.apply_change(conn, photo_id, change, origin, now)
            if changed:
                conn.execute(update(photos).where(photos.c.id == photo_id).values(search_synced=False, updated_at=now))
            return changed, catalog_tags.effective_tags(conn, [photo_id])[photo_id]

    def undo_last_edit(self, photo_id: int) -> EditView | None:
        """Put back the user's caption and tags of the photo as they were before its newest edit (from the CLI
        or the web app, in this run or an earlier one); returns what was undone, None if nothing was."""
        now = utcnow()
        with self._write() as conn:
            undone = catalog_edits.undo_last_edit(conn, photo_id, now)
            if undone is not None:
                conn.execute(update(photos).where(photos.c.id == photo_id).values(search_synced=False, updated_at=now))
            return undone

    def edit_history(self, photo_id: int) -> list[EditView]:
        """The photo's edits that undo can take back, newest first."""
        with self._read() as conn:
            return catalog_edits.edit_history(conn, photo_id)

    @staticmethod
    def _photo_id(conn: Connection, path: str) -> int:
        photo_id = conn.scalar(select(photos.c.id).where(photos.c.path == path))
        if photo_id is None:
            raise CatalogError(f"not in the catalog: {path}")
        return photo_id

    # ------------------------------------------------------------------------------ the search index

    def unsynced_photos(self, limit: int | None = None) -> list[SearchRow]:
        """Photos whose latest change the search index has not taken (missing ones too: to be removed)."""
        stmt = _search_select().where(photos.c.search_synced.is_(False)).order_by(photos.c.id).limit(limit)
        with self._read() as conn:
            return _with_tags(conn, [_search_row(r) for r in conn.execute(stmt)])

    def all_searchable_photos(self, chunk: int = 1000) -> Iterator[SearchRow]:
        """Every ok photo, for a full index rebuild; read in chunks, never holding a long transaction."""
        last_id = 0
        while True:
            stmt = (
                _search_select()
                .where(photos.c.status == "ok", photos.c.id > last_id)
                .order_by(photos.c.id)
                .limit(chunk)
            )
            with self._read() as conn:
                rows = _with_tags(conn, [_search_row(r) for r in conn.execute(stmt)])
            yield from rows
            if len(rows) < chunk:
                return
            last_id = rows[-1]["id"]

    def mark_search_synced(self, ids: Iterable[int] | None, as_of: datetime | None = None) -> None:
        """The search index has taken these photos (None: every photo) as they were at `as_of` (a utcnow()
        taken before they were read). Call it only after the index has committed. A photo changed since
        `as_of` (the user's edit while `watch` runs, say) stays unsynced, for the next sync.
        """
        unchanged = photos.c.updated_at <= as_of if as_of is not None else and_(True)
        with self._write() as conn:
            if ids is None:
                conn.execute(update(photos).where(photos.c.search_synced.is_(False), unchanged)
                             .values(search_synced=True))
                return
            for chunk in chunks(ids):
                conn.execute(update(photos).where(photos.c.id.in_(chunk), unchanged).values(search_synced=True))

    # ------------------------------------------------------------------------------ captions to review

    def captions_to_review(self, below: float, limit: int, offset: int = 0) -> tuple[list[PhotoRow], int]:
        """The photos whose caption is the model's with a confidence under `below` (the calibration's
        `unsure_below`: more likely wrong than right), least confident first (ties by path), `limit` of them from
        `offset`, and how many there are in all. The user's own captions, captions the files carry and photos in
        error or missing are never listed."""
        stmt = _to_review(_photo_select(), below).order_by(*_REVIEW_ORDER).limit(limit).offset(offset)
        with self._read() as conn:
            rows = _with_tags(conn, [_photo_row(row) for row in conn.execute(stmt)])
            return rows, conn.scalar(_review_count(below)) or 0

    def count_captions_to_review(self, below: float) -> int:
        """How many photos captions_to_review lists."""
        with self._read() as conn:
            return conn.scalar(_review_count(below)) or 0

    def ids_to_review(self, below: float, limit: int, offset: int = 0) -> list[int]:
        """The ids of the photos captions_to_review lists, `limit` of them from `offset`, in its order."""
        stmt = (_to_review(select(photos.c.id).select_from(_with_captions), below)
                .order_by(*_REVIEW_ORDER).limit(limit).offset(offset))
        with self._read() as conn:
            return list(conn.scalars(stmt))

    def unsure_confidences(self, ids: Sequence[int], below: float) -> dict[int, float]:
        """Of these photos, those captions_to_review would list, with their captions' confidence."""
        found: dict[int, float] = {}
        listed = _to_review(select(photos.c.id, _model.c.confidence).select_from(_with_captions), below)
        with self._read() as conn:
            for chunk in chunks(ids):
                found.update((row.id, row.confidence) for row in conn.execute(listed.where(photos.c.id.in_(chunk))))
        return found

    # ------------------------------------------------------------------------------- reports, upkeep

    def photo_by_path(self, path: str) -> PhotoRow | None:
        with self._read() as conn:
            row = conn.execute(_photo_select().where(photos.c.path == path)).first()
            return _with_tags(conn, [_photo_row(row)])[0] if row is not None else None

    def photos_by_ids(self, ids: Sequence[int]) -> list[PhotoRow]:
        """The photos with these ids, in the order given; unknown ids are left out."""
        found: dict[int, PhotoRow] = {}
        with self._read() as conn:
            for chunk in chunks(ids):
                rows = [_photo_row(row) for row in conn.execute(_photo_select().where(photos.c.id.in_(chunk)))]
                found.update((row["id"], row) for row in _with_tags(conn, rows))
        return [found[i] for i in ids if i in found]

    def photos_under(self, roots: Sequence[StrPath]) -> list[PhotoRow]:
        """Every catalogued photo under `roots` (absolute folder paths), missing ones too, by path."""
        with self._read() as conn:
            rows = _with_tags(conn, [_photo_row(row) for row in conn.execute(
                _photo_select().where(_under(photos.c.path, roots)))])
        return sorted(rows, key=lambda row: row["path"])

    def roots_without_photos(self, roots: Sequence[StrPath]) -> list[str]:
        """Those of `roots` under which the catalog holds no photo that is there now (an empty folder, or one of
        other files only)."""
        with self._read() as conn:
            return [os.fspath(root) for root in roots if conn.execute(
                select(photos.c.id).where(_under(photos.c.path, [root]), photos.c.status != "missing").limit(1)
            ).first() is None]

    def place_counts(self) -> list[tuple[str, int]]:
        """The cities and countries where the library's photos were taken, with their photo counts, most first."""
        with self._read() as conn:
            return catalog_places.place_counts(conn)

    def photo_folders(self) -> list[str]:
        """Every folder holding a photo that is not missing, by path."""
        with self._read() as conn:
            return sorted(conn.scalars(select(photos.c.folder).where(photos.c.status != "missing").distinct()))

    def status_counts(self) -> StatusCounts:
        with self._read() as conn:
            by_status = dict(conn.execute(select(photos.c.status, func.count()).group_by(photos.c.status)).all())
            unsynced = conn.scalar(select(func.count()).where(photos.c.search_synced.is_(False))) or 0
        return StatusCounts(
            photos=sum(by_status.values()),
            ok=by_status.get("ok", 0),
            error=by_status.get("error", 0),
            missing=by_status.get("missing", 0),
            pending=by_status.get("pending", 0),
            unsynced=unsynced,
        )

    def errors(self) -> list[tuple[str, str]]:
        """(path, error) of every photo in error, by path."""
        return self._errors(None)

    def missing_paths(self) -> list[str]:
        """Where every missing photo was last seen, by path."""
        with self._read() as conn:
            return sorted(conn.scalars(select(photos.c.path).where(photos.c.status == "missing")))

    def errors_under(self, roots: Sequence[StrPath]) -> list[tuple[str, str]]:
        return self._errors(roots)

    def _errors(self, roots: Sequence[StrPath] | None) -> list[tuple[str, str]]:
        stmt = select(photos.c.path, photos.c.error).where(photos.c.status == "error")
        if roots is not None:
            stmt = stmt.where(_under(photos.c.path, roots))
        with self._read() as conn:
            return sorted((r.path, r.error or "") for r in conn.execute(stmt))

    def models_in_use(self) -> list[ModelUse]:
        stmt = (
            select(captions.c.model_id, captions.c.model_checksum, func.count())
            .where(captions.c.source == "model")
            .group_by(captions.c.model_id, captions.c.model_checksum)
            .order_by(func.count().desc())
        )
        with self._read() as conn:
            return [ModelUse(model_id=r[0], model_checksum=r[1], captions=r[2]) for r in conn.execute(stmt)]

    def prune_missing(self) -> list[int]:
        """Delete missing photos (and their captions); returns their ids, for the search index."""
        with self._write() as conn:
            ids = list(conn.scalars(select(photos.c.id).where(photos.c.status == "missing")))
            for chunk in chunks(ids):
                conn.execute(delete(photos).where(photos.c.id.in_(chunk)))
        return ids


# ----------------------------------------------------------------------------------------------- helpers


def migrations_dir() -> Path:
    """The Alembic scripts: the installed `photocap.migrations` package, else `<repo>/migrations`."""
    try:
        installed = Path(str(files("photocap.migrations")))
        if (installed / "env.py").is_file():
            return installed
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "migrations"


def _begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get("photocap_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def _under(column: Any, roots: Sequence[StrPath]) -> ColumnElement[bool]:
    """`column` (a path) is one of `roots` or lies below one, as index-friendly range tests.

    Text paths sort by their UTF-8 bytes, so "everything starting with 'root/'" is the range
    ['root/', 'root0') ('0' follows '/'). Paths stored as BLOBs get the same range in bytes.
    """
    clauses: list[ColumnElement[bool]] = []
    for root in map(os.fspath, roots):
        prefix = root if root.endswith(os.sep) else root + os.sep
        clauses.append(column == root)
        if is_utf8(prefix):
            clauses.append(and_(column >= prefix, column < prefix[:-1] + "0"))
        raw = os.fsencode(prefix)
        low = bindparam(None, raw, type_=LargeBinary)
        high = bindparam(None, raw[:-1] + b"0", type_=LargeBinary)
        clauses.append(and_(column >= low, column < high))
    return or_(*clauses) if clauses else and_(False)


def _file_location_values() -> dict[str, Any]:
    """SET values for where a photo's file is now (the parameters _update_params gives)."""
    return {"path": bindparam("b_path", type_=FsPath()), "folder": bindparam("b_folder", type_=FsPath()),
            "size": bindparam("b_size"), "mtime_ns": bindparam("b_mtime_ns")}


def _inserted_rows(files: Iterable[NewFile] | Iterable[FileError], status: str) -> list[dict[str, Any]]:
    """Rows for photos found by a scan: seen now, not yet in the search index."""
    now = utcnow()
    return [{**f, "folder": os.path.dirname(f["path"]), "status": status, "seen": True, "search_synced": False,
             "created_at": now, "updated_at": now} for f in files]


def _update_params(update_: FileUpdate) -> dict[str, Any]:
    return {
        "b_id": update_["id"],
        "b_path": update_["path"],
        "b_folder": os.path.dirname(update_["path"]),
        "b_size": update_["size"],
        "b_mtime_ns": update_["mtime_ns"],
        "b_content_hash": update_["content_hash"],
        "b_now": utcnow(),
    }


def _delete_model_captions(conn: Connection, ids: Sequence[int]) -> None:
    """Forget what the model made of a photo's old content: its caption, tags, pooled feature and detections."""
    ids = list(ids)
    for chunk in chunks(ids):
        conn.execute(delete(captions).where(captions.c.photo_id.in_(chunk), captions.c.source == "model"))
    catalog_tags.delete_model_tags(conn, ids)
    catalog_tags.delete_features(conn, ids)
    catalog_detections.delete_detections(conn, ids)


_user = captions.alias("user_caption")
_model = captions.alias("model_caption")
_file = written_metadata.alias("file_caption")
_with_captions = photos.outerjoin(_user, and_(_user.c.photo_id == photos.c.id, _user.c.source == "user")).outerjoin(
    _model, and_(_model.c.photo_id == photos.c.id, _model.c.source == "model")
).outerjoin(_file, and_(_file.c.photo_id == photos.c.id, _file.c.field == "caption"))


def _awaiting_tags(stmt: Any, tagger_id: str) -> Any:
    """`stmt` (over photos) restricted to the captioned photos the tagger `tagger_id` has not tagged: tagged by
    another tagger, or never (an older catalog). Asked of the tagger id's index, never of the features' rows,
    which are 2.5 KB each."""
    # NOT IN, not a correlated NOT EXISTS: SQLite answers the latter by looking each photo's feature row up.
    tagged = select(photo_features.c.photo_id).where(photo_features.c.tagger_id == tagger_id)
    return stmt.where(photos.c.status == "ok", photos.c.id.not_in(tagged))


def _awaiting_tags_under(stmt: Any, tagger_id: str, roots: Sequence[StrPath]) -> Any:
    """`_awaiting_tags` for the photos under `roots`, which a re-scan asks for: the photos are found by their paths
    (not by status, whose index holds every captioned photo) and each is looked up in the tagger id's index.
    0.2 s for 100,000 photos of a million-photo catalog, where `_awaiting_tags` took 1.4 s."""
    # In SQL: SQLAlchemy renders no INDEXED BY for SQLite, and without it SQLite reads each feature's row.
    not_tagged_by_this_tagger = text("NOT EXISTS (SELECT 1 FROM photo_features INDEXED BY ix_photo_features_tagger_id "
                                     "WHERE tagger_id = :awaited_tagger AND photo_id = photos.id)")
    # status || '' keeps SQLite from choosing the status index over the paths' range.
    return stmt.where(_under(photos.c.path, roots), (photos.c.status + "") == "ok",
                      not_tagged_by_this_tagger.bindparams(awaited_tagger=tagger_id))


def _not_looked_at_by(stmt: Any, detector_id: str) -> Any:
    """`stmt` (over photos) restricted to the captioned photos the detector `detector_id` has not looked at."""
    return stmt.where(photos.c.status == "ok",
                      or_(photos.c.detector_id.is_(None), photos.c.detector_id != detector_id))


def _to_review(stmt: Any, below: float) -> Any:
    """`stmt` (over _with_captions) restricted to the photos whose caption is the model's, with a confidence under
    `below`, and that are neither in error nor missing. Answered from the index on the model captions' confidence
    (migration 0009), never by reading every caption's row."""
    return stmt.where(_model.c.confidence < below, _user.c.id.is_(None), _file.c.id.is_(None),
                      photos.c.status.not_in(("error", "missing")))


_REVIEW_ORDER = (_model.c.confidence, photos.c.path)  # least confident first, ties by path


def _review_count(below: float) -> Any:
    return _to_review(select(func.count()).select_from(_with_captions), below)


_Tagged = TypeVar("_Tagged", SearchRow, PhotoRow)


def _search_select() -> Any:
    return select(
        photos.c.id, photos.c.path, photos.c.folder, photos.c.taken_at, photos.c.camera_make,
        photos.c.camera_model, photos.c.status, photos.c.date_source,
        _user.c.text.label("user_text"), _model.c.text.label("model_text"), _model.c.words.label("words"),
        _file.c.text.label("file_text"), _file.c.source.label("file_source"),
    ).select_from(_with_captions)


def _photo_select() -> Any:
    return select(
        *photos.c, _user.c.text.label("user_text"), _model.c.text.label("model_text"),
        _model.c.score.label("score"), _model.c.model_id.label("model_id"),
        _model.c.model_checksum.label("model_checksum"), _model.c.confidence.label("confidence"),
        _model.c.method.label("method"), _file.c.text.label("file_text"), _file.c.source.label("file_source"),
    ).select_from(_with_captions)


def _effective_caption(row: Any) -> tuple[str | None, str | None]:
    """The caption search, show and export use: the user's, else what the photo's files say, else the model's."""
    if row.user_text is not None:
        return row.user_text, "user"
    if row.file_text is not None:
        return row.file_text, "file"
    if row.model_text is not None:
        return row.model_text, "model"
    return None, None


def camera_name(make: str | None, model: str | None) -> str | None:
    make, model = (make or "").strip(), (model or "").strip()
    if make and model.lower().startswith(make.lower()):  # "Canon" + "Canon EOS 5D"
        return model
    return " ".join(part for part in (make, model) if part) or None


def _search_row(row: Any) -> SearchRow:
    caption, source = _effective_caption(row)
    return SearchRow(
        id=row.id, path=row.path, folder=row.folder, caption=caption, caption_source=source,
        words=[(str(w), float(p)) for w, p in (row.words or [])], tags=[], taken_at=row.taken_at,
        camera_make=row.camera_make, camera_model=row.camera_model,
        camera=camera_name(row.camera_make, row.camera_model), status=row.status, date_source=row.date_source,
    )


def _photo_row(row: Any) -> PhotoRow:
    caption, source = _effective_caption(row)
    return PhotoRow(
        id=row.id, path=row.path, folder=row.folder, size=row.size, mtime_ns=row.mtime_ns,
        content_hash=row.content_hash, width=row.width, height=row.height, taken_at=row.taken_at,
        date_source=row.date_source,
        camera_make=row.camera_make, camera_model=row.camera_model, status=row.status, error=row.error,
        caption=caption, caption_source=source, caption_origin=row.file_source if source == "file" else None,
        score=row.score, confidence=row.confidence, method=row.method,
        model_id=row.model_id, model_checksum=row.model_checksum, detector_id=row.detector_id, tags=[],
        search_synced=bool(row.search_synced), created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _with_tags(conn: Connection, rows: list[_Tagged]) -> list[_Tagged]:
    """`rows` with their effective tags filled in, read in the caller's transaction."""
    found = catalog_tags.effective_tags(conn, [row["id"] for row in rows])
    where = catalog_places.places_of(conn, [row["id"] for row in rows])
    for row in rows:
        row["tags"] = found.get(row["id"], [])
        row["place"] = where.get(row["id"])
    return rows
