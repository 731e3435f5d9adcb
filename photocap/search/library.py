"""A search of a photocap home as `photocap search` and `photocap serve` both run it: the checks on the
request (something indexed, the folder is a folder of the library, a parsable query), one page of hits with
what each matched, the total, and the query's words that no photo has."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from photocap.search.index import Hit, SearchIndex, SearchIndexError, SearchQueryError


class SearchRequestError(ValueError):
    """A search that cannot be run as asked; the message is one line."""


@dataclass(frozen=True)
class SearchFilters:
    folder: Path | None = None
    after: date | None = None
    before: date | None = None
    camera: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class LibraryResults:
    hits: list[Hit]
    total: int  # photos matching, on every page
    unknown: list[str]  # query words no caption or tag in the library has, as typed


def parse_day(value: str | None, name: str) -> date | None:
    """A YYYY-MM-DD day, or None for an empty value; `name` names the option in the error."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise SearchRequestError(f"{name} expects a date as YYYY-MM-DD, got {value!r}") from None


def search_library(home: Path, query: str, filters: SearchFilters, *, limit: int, offset: int = 0,
                   folder_option: str = "--folder") -> LibraryResults:
    """The hits ranked offset+1 to offset+limit for `query` under `filters`, each saying what it matched."""
    index_dir = home / "index"
    if not (home / "catalog.db").is_file() and not SearchIndex.exists(index_dir):
        raise SearchRequestError(f"nothing is indexed in {home} yet; run `photocap index FOLDER` first")
    folder = filters.folder
    if folder is not None and not folder.is_dir():
        raise SearchRequestError(f"{folder_option} {folder}: no such folder")
    try:
        with SearchIndex.open(index_dir, create=False) as search_index:
            if folder is not None and not search_index.has_folder(folder.resolve()):
                raise SearchRequestError(f"{folder_option} {folder}: no photo of the library is there "
                                         "(index its folder first)")
            page = search_index.search_page(query, offset=offset, limit=limit,
                                            folder=str(folder.resolve()) if folder else None, after=filters.after,
                                            before=filters.before, camera=filters.camera or None,
                                            tags=filters.tags, explain=True)
            unknown = search_index.unknown_words(query)
    except SearchQueryError as error:
        raise SearchRequestError(f"bad query: {error}") from None
    except SearchIndexError as error:
        raise SearchRequestError(str(error)) from None
    return LibraryResults(page.hits, page.total, unknown)
