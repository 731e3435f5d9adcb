"""The catalog read as `photocap similar` needs it on the command line, with the standard library's sqlite3
(read-only; no SQLAlchemy, whose import alone takes longer than the whole query). Used only when the catalog has
the change log (schema 0007 on) and the vector index's file is there; otherwise the caller takes the full path
(photocap.catalog.store), which migrates the catalog and builds the file."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from photocap.similar.vectors import FeatureRows, joined_rows, unit_rows

BUSY_TIMEOUT_MS = 30_000
CHUNK = 500
READERS = 8  # connections reading the proposed photos' features at once
PROPOSED_SQL = "SELECT photo_id, vector FROM photo_features WHERE encoder = ? AND photo_id IN ({})"


class NeedsFullPath(Exception):
    """The catalog must be opened the full way (it needs a migration, say)."""


def connect(home: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(f"file:{Path(home) / 'catalog.db'}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        found = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'vector_changes'").fetchone()
    except sqlite3.Error as error:
        raise NeedsFullPath(str(error)) from None
    if found is None:
        conn.close()
        raise NeedsFullPath("the catalog predates the vector index")
    return conn


def _as_stored(path: str) -> str | bytes:
    """A path as the catalog stores it: TEXT when valid UTF-8, else its bytes (photocap.catalog.schema.FsPath)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def photo_state(conn: sqlite3.Connection, path: str) -> tuple[int, str, str | None] | None:
    """(id, status, error) of the photo at `path`; None when the catalog does not hold it."""
    row = conn.execute("SELECT id, status, error FROM photos WHERE path = ?", (_as_stored(path),)).fetchone()
    return (row[0], row[1], row[2]) if row else None


def features_of(conn: sqlite3.Connection, photo_ids: Sequence[int], encoder: str) -> FeatureRows:
    """The kept features of these photos, those shown (status ok) with a feature of `encoder`."""
    return _features(conn, photo_ids, encoder, "SELECT f.photo_id, f.vector FROM photo_features f JOIN photos p "
                     "ON p.id = f.photo_id WHERE f.encoder = ? AND p.status = 'ok' AND f.photo_id IN ({})")


def _features(conn: sqlite3.Connection, photo_ids: Sequence[int], encoder: str, sql: str) -> FeatureRows:
    """The features `sql` (its parameters: the encoder, then the ids for `{}`) reads, CHUNK ids at a time."""
    ids: list[int] = []
    blobs: list[bytes] = []
    for start in range(0, len(photo_ids), CHUNK):
        chunk = list(photo_ids[start:start + CHUNK])
        for photo, vector in conn.execute(sql.format(",".join("?" * len(chunk))), (encoder, *chunk)):
            ids.append(photo)
            blobs.append(vector)
    return FeatureRows(np.array(ids, np.int64), unit_rows(blobs))


def proposed_features(home: Path, photo_ids: Sequence[int], encoder: str, readers: int = READERS) -> FeatureRows:
    """The kept features of photos the vector index proposes: known to be shown (a photo changed since the file
    was written is not proposed), so read without the join on `photos`, and by `readers` connections at once, each
    a run of the ids: a catalog out of the page cache then serves several reads at a time instead of one
    (docs/SCALE.md)."""
    ordered = sorted(photo_ids)
    step = max(1, -(-len(ordered) // max(readers, 1)))
    runs = [ordered[start:start + step] for start in range(0, len(ordered), step)]
    found: list[FeatureRows | BaseException | None] = [None] * len(runs)

    def read(n: int) -> None:
        try:
            with contextlib.closing(connect(home)) as conn:
                found[n] = _features(conn, runs[n], encoder, PROPOSED_SQL)
        except BaseException as error:  # raised below, in the caller's thread
            found[n] = error

    threads = [threading.Thread(target=read, args=(n,)) for n in range(1, len(runs))]
    for thread in threads:
        thread.start()
    if runs:
        read(0)
    for thread in threads:
        thread.join()
    parts = []
    for part in found:
        if isinstance(part, BaseException):
            raise part
        if part is not None:
            parts.append(part)
    return joined_rows(parts)


def changed_since(conn: sqlite3.Connection, seq: int) -> set[int]:
    return {row[0] for row in conn.execute("SELECT photo_id FROM vector_changes WHERE seq > ?", (seq,))}


def shown(conn: sqlite3.Connection, photo_ids: Sequence[int]) -> dict[int, tuple[str, str | None]]:
    """{id: (path, caption)}: the caption the user wrote, else the one the files carry, else the model's."""
    found = {}
    for start in range(0, len(photo_ids), CHUNK):
        chunk = list(photo_ids[start:start + CHUNK])
        rows = conn.execute(
            "SELECT p.id, p.path, (SELECT text FROM captions WHERE photo_id = p.id AND source = 'user'), "
            "(SELECT text FROM written_metadata WHERE photo_id = p.id AND field = 'caption' LIMIT 1), "
            "(SELECT text FROM captions WHERE photo_id = p.id AND source = 'model') "
            f"FROM photos p WHERE p.id IN ({','.join('?' * len(chunk))})", chunk)
        for photo, path, user, written, model in rows:
            found[photo] = (os.fsdecode(path) if isinstance(path, bytes) else path, user or written or model)
    return found
