"""The catalog's record of what photos' files say (photocap.metadata.read): the queries, on a connection the catalog's
transaction owns. A photo's rows are replaced each time its files are read; the user's own caption and tags
(captions and tags tables) are never touched here."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.engine import Connection

from photocap.catalog.places import replace_places
from photocap.catalog.schema import chunks, photos, written_metadata
from photocap.metadata.read import WrittenMetadata


def replace_written_metadata(conn: Connection, rows: Sequence[tuple[int, WrittenMetadata]], now: datetime) -> None:
    """Record what these photos' files say now, with the sidecar stamp and the place. Photos whose captions,
    keywords or place changed are flagged for the search index; the others (a sidecar touched, a first read that
    finds nothing) are not."""
    if not rows:
        return
    replace_places(conn, [(photo_id, written.place) for photo_id, written in rows], now)
    ids = [photo_id for photo_id, _ in rows]
    before: dict[int, set[tuple[str, str, str]]] = {}
    for chunk in chunks(ids):
        stmt = select(written_metadata.c.photo_id, written_metadata.c.field, written_metadata.c.text,
                      written_metadata.c.source).where(written_metadata.c.photo_id.in_(chunk))
        for row in conn.execute(stmt):
            before.setdefault(row.photo_id, set()).add((row.field, row.text, row.source))
    values = []
    for photo_id, written in rows:
        if written.caption and written.caption_source:
            values.append({"photo_id": photo_id, "field": "caption", "text": written.caption,
                           "source": written.caption_source})
        values.extend({"photo_id": photo_id, "field": "keyword", "text": word, "source": source}
                      for word, source in written.keywords)
    after: dict[int, set[tuple[str, str, str]]] = {}
    for value in values:
        after.setdefault(value["photo_id"], set()).add((value["field"], value["text"], value["source"]))
    changed = [photo_id for photo_id in ids if before.get(photo_id, set()) != after.get(photo_id, set())]
    for chunk in chunks(changed):
        conn.execute(delete(written_metadata).where(written_metadata.c.photo_id.in_(chunk)))
    changed_ids = set(changed)
    inserted = [value for value in values if value["photo_id"] in changed_ids]
    if inserted:
        conn.execute(written_metadata.insert().prefix_with("OR IGNORE"), inserted)
    conn.execute(update(photos).where(photos.c.id == bindparam("b_id")).values(metadata_stamp=bindparam("b_stamp")),
                 [{"b_id": photo_id, "b_stamp": written.sidecar_stamp} for photo_id, written in rows])
    for chunk in chunks(changed):
        conn.execute(update(photos).where(photos.c.id.in_(chunk)).values(search_synced=False, updated_at=now))


def written_keywords(conn: Connection, photo_ids: Sequence[int]) -> dict[int, list[tuple[str, str]]]:
    """Each photo's keywords as its files give them, (keyword, source), in the order they were recorded."""
    found: dict[int, list[tuple[str, str]]] = {}
    for chunk in chunks(photo_ids):
        stmt = (select(written_metadata.c.photo_id, written_metadata.c.text, written_metadata.c.source)
                .where(written_metadata.c.photo_id.in_(chunk), written_metadata.c.field == "keyword")
                .order_by(written_metadata.c.id))
        for row in conn.execute(stmt):
            found.setdefault(row.photo_id, []).append((row.text, row.source))
    return found
