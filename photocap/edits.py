"""The user's own edits of catalogued photos: captions and tags. They win over the model's, survive re-indexing,
and reach the search index at once (or on the next index run, if the index is busy)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from photocap.catalog.edits import EditView, UserChange
from photocap.catalog.store import Catalog, CatalogError, TagView
from photocap.catalog.tags import confident
from photocap.lock import HomeLocked, exclusive_writer
from photocap.model.tag_vocabulary import normalize_tag
from photocap.search.index import SearchIndexError
from photocap.search.sync import open_for_writing, sync_search_index
from photocap.wording import not_catalogued, not_usable


class EditError(ValueError):
    """An edit that cannot be made; the message is one line."""


def save_user_caption(home: Path, path: Path, text: str | None, warn: Callable[[str], None],
                      origin: str = "cli") -> tuple[str, bool]:
    """Set (or, with text None, clear) the user's caption of the photo at `path`; returns its absolute path
    and whether anything changed (clearing a caption the user never set changes nothing)."""
    if text is not None and not text.strip():
        raise EditError("the caption is empty; use --clear PATH to remove your caption")
    photo = os.path.abspath(path)
    changed, _tags = edit_photo(home, path, UserChange(set_caption=True, caption=text), warn, origin)
    return photo, changed


def edit_user_tags_of(home: Path, paths: Sequence[Path], add: Sequence[str], remove: Sequence[str],
                      warn: Callable[[str], None], origin: str = "cli") -> list[tuple[str, list[TagView] | str]]:
    """The same tags added to each photo at `paths` and taken away (an edit each, for undo), in one catalog
    session and one search-index sync: each photo's absolute path and its tags now, or why it was not edited
    (not catalogued, unreadable); the others are edited all the same."""
    if not add and not remove:
        raise EditError("give --add WORD or --remove WORD (each may repeat)")
    change = _checked(UserChange(add=tuple(add), remove=tuple(remove)))
    edited: list[tuple[str, list[TagView] | str]] = []
    with _editing(home, warn) as catalog:
        for path in paths:
            photo = os.path.abspath(path)
            try:
                _must_be_searchable(catalog, photo)
            except EditError as error:
                edited.append((photo, str(error)))
                continue
            edited.append((photo, confident(catalog.edit_user_layer(photo, change, origin)[1])))
    return edited


def edit_photo(home: Path, path: Path, change: UserChange, warn: Callable[[str], None],
               origin: str = "cli") -> tuple[bool, list[TagView]]:
    """One edit of the user's caption and tags of the photo at `path` (one step for undo); returns whether it
    changed anything and the photo's tags now."""
    change = _checked(change)
    photo = os.path.abspath(path)
    with _editing(home, warn) as catalog:
        _must_be_searchable(catalog, photo)
        changed, tags = catalog.edit_user_layer(photo, change, origin)
        return changed, confident(tags)


def _checked(change: UserChange) -> UserChange:
    """`change` with its caption stripped and its tags as the catalog stores them; EditError if it cannot be."""
    caption = change.caption.strip() if change.caption is not None else None
    if change.set_caption and caption is not None and not caption:
        raise EditError("the caption is empty")
    if caption is not None and _has_control_characters(caption):
        raise EditError("the caption holds control characters")
    add, remove = [normalize_tag(word) for word in change.add], [normalize_tag(word) for word in change.remove]
    for word in (*add, *remove):
        if not word:
            raise EditError("a tag is empty")
        if _has_control_characters(word) or "," in word or "|" in word:
            raise EditError(f"tag {word!r} holds a comma, a | or a control character")
    both = sorted(set(add) & set(remove))
    if both:
        raise EditError(f"tag {both[0]!r} is both added and removed")
    return UserChange(change.set_caption, caption, tuple(add), tuple(remove))


def undo_last_edit(home: Path, path: Path, warn: Callable[[str], None]) -> EditView:
    """Put the user's caption and tags of the photo at `path` back as they were before its newest edit (made
    with the CLI or the web app, now or in an earlier run); returns what was undone."""
    photo = os.path.abspath(path)
    with _editing(home, warn) as catalog:
        row = catalog.photo_by_path(photo)
        if row is None:
            raise EditError(not_catalogued(photo))
        undone = catalog.undo_last_edit(row["id"])
        if undone is None:
            raise EditError("nothing to undo for this photo")
        return undone


@contextmanager
def _editing(home: Path, warn: Callable[[str], None]) -> Iterator[Catalog]:
    """The catalog, for one small edit: it needs no writer lock (SQLite orders the transactions), so edits
    work while `index` or `watch` runs. On the way out, the search index takes the edit, unless an indexer
    holds the home: then the indexer takes it (watch within seconds, index at its next sync)."""
    if not (home / "catalog.db").is_file():
        raise CatalogError(f"no catalog in {home}; run `photocap index FOLDER` first")
    with Catalog.open(home) as catalog:
        yield catalog
        try:
            with exclusive_writer(home), open_for_writing(catalog, home / "index") as search_index:
                sync_search_index(catalog, search_index)
        except HomeLocked:
            warn("note: photocap is indexing this home; it takes your edit into the search index shortly")
        except SearchIndexError as error:  # the catalog has it; the next index run syncs it
            warn(f"warning: search index not updated yet: {error}")


def _must_be_searchable(catalog: Catalog, path: str) -> None:
    """Refuse edits search could never show: of files not catalogued, unreadable or gone."""
    photo = catalog.photo_by_path(path)
    if photo is None:
        raise EditError(not_catalogued(path))
    if photo["status"] in ("error", "missing"):
        raise EditError(not_usable(path, photo["status"], photo["error"]) or "")


def _has_control_characters(text: str) -> bool:
    return any(ord(character) < 32 and character not in "\t\n" for character in text)
