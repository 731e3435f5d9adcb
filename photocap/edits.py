"""The user's own edits of catalogued photos: captions and tags. They win over the model's, survive re-indexing,
and reach the search index at once (or on the next index run, if the index is busy)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from photocap.catalog import Catalog, CatalogError, TagView
from photocap.catalog_tags import confident
from photocap.lock import exclusive_writer
from photocap.search import SearchIndexError
from photocap.search_sync import open_for_writing, sync_search_index


class EditError(ValueError):
    """An edit that cannot be made; the message is one line."""


def save_user_caption(home: Path, path: Path, text: str | None, warn: Callable[[str], None]) -> str:
    """Set (or, with text None, clear) the user's caption of the photo at `path`; returns its absolute path."""
    if text is not None and not text.strip():
        raise EditError("the caption is empty; use --clear PATH to remove your caption")
    if text is not None and _has_control_characters(text):
        raise EditError("the caption holds control characters")
    photo = os.path.abspath(path)
    with _editing(home, warn) as catalog:
        if text is None:
            catalog.clear_user_caption(photo)
        else:
            catalog.set_user_caption(photo, text.strip())
    return photo


def edit_user_tags(home: Path, path: Path, add: Sequence[str], remove: Sequence[str],
                   warn: Callable[[str], None]) -> list[TagView]:
    """Add the user's tags to the photo at `path` and take tags away; returns the photo's tags now."""
    add, remove = [" ".join(w.lower().split()) for w in add], [" ".join(w.lower().split()) for w in remove]
    if not add and not remove:
        raise EditError("give --add WORD or --remove WORD (each may repeat)")
    for word in (*add, *remove):
        if not word:
            raise EditError("a tag is empty")
        if _has_control_characters(word) or "," in word or "|" in word:
            raise EditError(f"tag {word!r} holds a comma, a | or a control character")
    both = sorted(set(add) & set(remove))
    if both:
        raise EditError(f"tag {both[0]!r} is both added and removed")
    with _editing(home, warn) as catalog:
        return confident(catalog.set_user_tags(os.path.abspath(path), add, remove))


@contextmanager
def _editing(home: Path, warn: Callable[[str], None]) -> Iterator[Catalog]:
    """The catalog, under the home's writer lock; on the way out, the search index brought up to date."""
    if not (home / "catalog.db").is_file():
        raise CatalogError(f"no catalog in {home}; run `photocap index FOLDER` first")
    with exclusive_writer(home), Catalog.open(home) as catalog:
        yield catalog
        try:
            with open_for_writing(catalog, home / "index") as search_index:
                sync_search_index(catalog, search_index)
        except SearchIndexError as error:  # the catalog has it; the next index run syncs it
            warn(f"warning: search index not updated yet: {error}")


def _has_control_characters(text: str) -> bool:
    return any(ord(character) < 32 and character not in "\t\n" for character in text)
