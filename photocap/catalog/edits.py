"""The user's own layer of a photo (their caption, the tags they added or took away) and the history of its
edits, kept in the catalog (table `edits`) so that undo outlives a server run and goes several steps back. Each
function works inside the caller's write transaction (photocap.catalog.store), so an edit and its history entry are
committed together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from photocap.catalog.schema import captions, edits, tags
from photocap.catalog.tags import set_user_tags

ORIGINS = ("cli", "web")
HISTORY_PER_PHOTO = 50  # older edits of a photo are forgotten: undo goes at most this far back


@dataclass(frozen=True)
class UserLayer:
    """What the user said of one photo: their caption (None: none) and their tag rows, (word, removed)."""

    caption: str | None
    tags: tuple[tuple[str, bool], ...]


@dataclass(frozen=True)
class UserChange:
    """One edit: a caption to set (`set_caption`; None clears the user's caption), words added and removed."""

    set_caption: bool = False
    caption: str | None = None
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


class EditView(TypedDict):
    changed: str  # "caption", "tags" or "caption and tags"
    origin: str  # "cli" or "web"
    made_at: str  # UTC, ISO 8601


def user_layer(conn: Connection, photo_id: int) -> UserLayer:
    caption = conn.scalar(select(captions.c.text).where(captions.c.photo_id == photo_id, captions.c.source == "user"))
    rows = conn.execute(select(tags.c.word, tags.c.removed).where(tags.c.photo_id == photo_id,
                                                                   tags.c.source == "user").order_by(tags.c.word))
    return UserLayer(caption, tuple((row.word, bool(row.removed)) for row in rows))


def apply_change(conn: Connection, photo_id: int, change: UserChange, origin: str, now: datetime) -> bool:
    """Make the edit and remember what the user's layer was before it; returns whether it changed anything
    (an edit that changed nothing is not kept)."""
    if origin not in ORIGINS:
        raise ValueError(f"an edit comes from one of {ORIGINS}, not {origin!r}")
    before = user_layer(conn, photo_id)
    if change.set_caption:
        _set_user_caption(conn, photo_id, change.caption, now)
    set_user_tags(conn, photo_id, change.add, change.remove, now)
    return _record_edit(conn, photo_id, before, origin, now)


def _set_user_caption(conn: Connection, photo_id: int, text: str | None, now: datetime) -> None:
    if text is None:
        conn.execute(delete(captions).where(captions.c.photo_id == photo_id, captions.c.source == "user"))
        return
    upsert = sqlite_insert(captions).values(photo_id=photo_id, source="user", text=text, score=None, model_id=None,
                                            model_checksum=None, words=[], created_at=now)
    conn.execute(upsert.on_conflict_do_update(index_elements=[captions.c.photo_id, captions.c.source],
                                              set_={"text": upsert.excluded.text,
                                                    "created_at": upsert.excluded.created_at}))


def _record_edit(conn: Connection, photo_id: int, before: UserLayer, origin: str, now: datetime) -> bool:
    after = user_layer(conn, photo_id)
    if after == before:
        return False
    changed = [what for what, differs in (("caption", after.caption != before.caption),
                                          ("tags", after.tags != before.tags)) if differs]
    conn.execute(insert(edits).values(photo_id=photo_id, made_at=now, origin=origin, changed=" and ".join(changed),
                                      caption_before=before.caption,
                                      tags_before=[[word, removed] for word, removed in before.tags]))
    kept = select(edits.c.id).where(edits.c.photo_id == photo_id).order_by(edits.c.id.desc()).limit(HISTORY_PER_PHOTO)
    conn.execute(delete(edits).where(edits.c.photo_id == photo_id, edits.c.id.not_in(kept)))
    return True


def undo_last_edit(conn: Connection, photo_id: int, now: datetime) -> EditView | None:
    """Put the photo's user layer back as it was before its newest edit and forget that edit; returns what
    was undone, or None when the photo has no edit to undo."""
    last = conn.execute(select(edits).where(edits.c.photo_id == photo_id).order_by(edits.c.id.desc()).limit(1)).first()
    if last is None:
        return None
    conn.execute(delete(captions).where(captions.c.photo_id == photo_id, captions.c.source == "user"))
    if last.caption_before is not None:
        conn.execute(insert(captions).values(photo_id=photo_id, source="user", text=last.caption_before, score=None,
                                             model_id=None, model_checksum=None, words=[], created_at=now))
    conn.execute(delete(tags).where(tags.c.photo_id == photo_id, tags.c.source == "user"))
    if last.tags_before:
        conn.execute(insert(tags), [dict(photo_id=photo_id, source="user", word=word, probability=None,
                                         tagger_id=None, removed=bool(removed), created_at=now)
                                    for word, removed in last.tags_before])
    conn.execute(delete(edits).where(edits.c.id == last.id))
    return _view(last)


def edit_history(conn: Connection, photo_id: int) -> list[EditView]:
    """The photo's edits that undo can take back, newest first."""
    rows = conn.execute(select(edits).where(edits.c.photo_id == photo_id).order_by(edits.c.id.desc()))
    return [_view(row) for row in rows]


def _view(row: object) -> EditView:
    return EditView(changed=row.changed, origin=row.origin, made_at=row.made_at.isoformat(timespec="seconds"))
