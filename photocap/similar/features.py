"""The kept features as `photocap similar` compares them: fp16 bytes to L2-normalised float32 rows, read from the
catalog in chunks; and the log of photos whose feature changed (table vector_changes, written by triggers)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection

from photocap.catalog.schema import chunks, photo_features, photos, vector_changes
from photocap.similar.vectors import FeatureRows, unit_rows

READ_CHUNK = 20_000  # features a query reads at once: 20,000 x 2.5 KB


def main_encoder(conn: Connection) -> str | None:
    """The encoder most kept features come from (a library captioned with two models keeps two kinds)."""
    stmt = select(photo_features.c.encoder).group_by(photo_features.c.encoder).order_by(func.count().desc()).limit(1)
    return conn.scalar(stmt)


def _shown(encoder: str) -> object:
    """Features of `encoder` of photos that are there: `similar` and `duplicates` leave missing photos out."""
    return (photo_features.c.encoder == encoder) & (photos.c.status == "ok")


def all_features(conn: Connection, encoder: str, chunk: int = READ_CHUNK) -> Iterator[FeatureRows]:
    """Every photo's kept feature of `encoder`, photos in status ok only, by id, `chunk` rows at a time."""
    last = 0
    while True:
        stmt = (select(photo_features.c.photo_id, photo_features.c.vector)
                .join(photos, photos.c.id == photo_features.c.photo_id)
                .where(_shown(encoder), photo_features.c.photo_id > last)
                .order_by(photo_features.c.photo_id).limit(chunk))
        rows = conn.execute(stmt).all()
        if not rows:
            return
        yield FeatureRows(np.array([row.photo_id for row in rows], np.int64), unit_rows([row.vector for row in rows]))
        last = rows[-1].photo_id


def features_of(conn: Connection, photo_ids: Sequence[int], encoder: str) -> FeatureRows:
    """The kept features of these photos (those in status ok with a feature of `encoder`), in no set order."""
    ids: list[int] = []
    blobs: list[bytes] = []
    for chunk in chunks(photo_ids):
        stmt = (select(photo_features.c.photo_id, photo_features.c.vector)
                .join(photos, photos.c.id == photo_features.c.photo_id)
                .where(_shown(encoder), photo_features.c.photo_id.in_(chunk)))
        for row in conn.execute(stmt):
            ids.append(row.photo_id)
            blobs.append(row.vector)
    return FeatureRows(np.array(ids, np.int64), unit_rows(blobs))


def last_change(conn: Connection) -> int:
    """The newest entry of the change log (0 when it is empty)."""
    return conn.scalar(select(func.max(vector_changes.c.seq))) or 0


def changed_since(conn: Connection, seq: int) -> tuple[set[int], int]:
    """(the photos changed after entry `seq` of the log, the newest entry)."""
    rows = conn.execute(select(vector_changes.c.seq, vector_changes.c.photo_id).where(vector_changes.c.seq > seq))
    changed, newest = set(), seq
    for row in rows:
        changed.add(row.photo_id)
        newest = max(newest, row.seq)
    return changed, newest


def count_changed_since(conn: Connection, seq: int) -> int:
    return conn.scalar(select(func.count()).where(vector_changes.c.seq > seq)) or 0


def forget_changes_up_to(conn: Connection, seq: int) -> None:
    """The index has taken every change up to entry `seq`: the log need not keep them."""
    conn.execute(delete(vector_changes).where(vector_changes.c.seq <= seq))
