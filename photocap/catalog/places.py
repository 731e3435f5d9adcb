"""The catalog's record of where photos were taken (table places): the queries, on a connection the catalog's
transaction owns. A photo's row is replaced each time its files are read (photocap.catalog.metadata)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Connection

from photocap.catalog.schema import chunks, photos, places
from photocap.metadata.places import Place

_FIELDS = ("lat", "lon", "city", "county", "region", "country", "country_code", "sublocation", "source")


def replace_places(conn: Connection, rows: Sequence[tuple[int, Place | None]], now: datetime) -> list[int]:
    """Record each photo's place now (None: it has none); the photos whose place changed, flagged for the
    search index, are returned."""
    if not rows:
        return []
    ids = [photo_id for photo_id, _ in rows]
    before = places_of(conn, ids)
    changed = [(photo_id, place) for photo_id, place in rows if before.get(photo_id) != place]
    changed_ids = [photo_id for photo_id, _ in changed]
    for chunk in chunks(changed_ids):
        conn.execute(delete(places).where(places.c.photo_id.in_(chunk)))
    inserted = [{"photo_id": photo_id, **{name: getattr(place, name) for name in _FIELDS}}
                for photo_id, place in changed if place is not None]
    if inserted:
        conn.execute(places.insert(), inserted)
    for chunk in chunks(changed_ids):
        conn.execute(update(photos).where(photos.c.id.in_(chunk)).values(search_synced=False, updated_at=now))
    return changed_ids


def places_of(conn: Connection, photo_ids: Sequence[int]) -> dict[int, Place]:
    """The place of each of these photos that has one."""
    found: dict[int, Place] = {}
    for chunk in chunks(photo_ids):
        for row in conn.execute(select(places).where(places.c.photo_id.in_(chunk))):
            found[row.photo_id] = Place(**{name: getattr(row, name) for name in _FIELDS})
    return found


def place_counts(conn: Connection, limit: int = 200) -> list[tuple[str, int]]:
    """The cities and countries of the library's photos, each with how many photos were taken there, most first:
    what a place filter offers."""
    counts: dict[str, int] = {}
    for column in (places.c.city, places.c.country):
        stmt = (select(column, func.count()).join(photos, photos.c.id == places.c.photo_id)
                .where(column.is_not(None), photos.c.status == "ok").group_by(column))
        for name, count in conn.execute(stmt):
            counts[name] = counts.get(name, 0) + count
    return sorted(counts.items(), key=lambda item: (-item[1], item[0].casefold()))[:limit]
