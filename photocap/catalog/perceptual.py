"""Perceptual hashes kept by content hash (table perceptual_hashes): written by indexing as it captions a photo,
and by `photocap duplicates` for photos indexed before indexing computed them (photocap.similar.phash)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, insert, select
from sqlalchemy.engine import Connection

from photocap.catalog.schema import perceptual_hashes, photos


def keep_hashes_of_photos(conn: Connection, found: Sequence[tuple[int, int]]) -> None:
    """Keep each (photo id, perceptual hash) under the photo's content hash, unless one is kept there already (the
    same bytes give the same picture)."""
    if not found:
        return
    stmt = insert(perceptual_hashes).from_select(
        ["content_hash", "phash"],
        select(photos.c.content_hash, bindparam("b_phash", type_=perceptual_hashes.c.phash.type)).where(
            photos.c.id == bindparam("b_id"), photos.c.content_hash.is_not(None)),
    ).prefix_with("OR IGNORE")
    conn.execute(stmt, [{"b_id": photo_id, "b_phash": phash} for photo_id, phash in found])
