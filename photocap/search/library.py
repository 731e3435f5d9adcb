"""A search of a photocap home as `photocap search` and `photocap serve` both run it: the checks on the
request (something indexed, the folder is a folder of the library, a parsable query), one page of hits with
what each matched, the total, and the query's words that no photo has."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from photocap.search.index import Hit, SearchIndex, SearchIndexError, SearchQueryError
from photocap.search.query import looks_like_whoosh_syntax
from photocap.search.time_query import QueryReading, read_time_words


class SearchRequestError(ValueError):
    """A search that cannot be run as asked; the message is one line."""


@dataclass(frozen=True)
class SearchFilters:
    folder: Path | None = None
    after: date | None = None
    before: date | None = None
    camera: str | None = None
    tags: tuple[str, ...] = ()
    place: str | None = None  # words of a place name
    near: tuple[float, float] | None = None  # (latitude, longitude), with within_km
    within_km: float | None = None


@dataclass(frozen=True)
class LibraryResults:
    hits: list[Hit]
    total: int  # photos matching, on every page
    unknown: list[str]  # query words no caption or tag in the library has, as typed
    reading: QueryReading | None = None  # how the query's time words were read
    # After the last result, set apart and not counted: photos only weaker guesses rank (SearchIndex.maybe_hits).
    maybe: list[Hit] = field(default_factory=list)
    # Words the library has that an unknown word may be mistyped for: {"dgo": ["dog"]} (photocap.search.suggest).
    suggestions: dict[str, list[str]] = field(default_factory=dict)


def parse_near(near: str | None, within: float | None, near_option: str = "--near",
               within_option: str = "--within") -> tuple[tuple[float, float] | None, float | None]:
    """The --near position and --within distance, both or neither; SearchRequestError otherwise."""
    if not near:
        if within is not None:
            raise SearchRequestError(f"{within_option} needs {near_option} LAT,LON")
        return None, None
    if within is None:
        raise SearchRequestError(f"{near_option} needs {within_option} KM")
    from photocap.search.place_filter import parse_near as parse_position  # only when asked: it costs start-up

    try:
        return parse_position(near), within
    except SearchQueryError as error:
        raise SearchRequestError(str(error)) from None


def parse_day(value: str | None, name: str) -> date | None:
    """A YYYY-MM-DD day, or None for an empty value; `name` names the option in the error."""
    if not value:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise SearchRequestError(f"{name} expects a date as YYYY-MM-DD, got {value!r}") from None


def search_library(home: Path, query: str, filters: SearchFilters, *, limit: int, offset: int = 0,
                   folder_option: str = "--folder", today: date | None = None, maybe: int = 0) -> LibraryResults:
    """The hits ranked offset+1 to offset+limit for `query` under `filters`, each saying what it matched, and on
    the page where the results end, up to `maybe` photos only weaker guesses rank, to fill the page. The
    query's time words ("summer 2019", "last winter": relative to `today`) are read first
    (photocap.search.time_query)."""
    reading = read_time_words(query, today or date.today(), syntax=looks_like_whoosh_syntax(query))
    if not reading.words.strip() and not reading.filters:
        reading = QueryReading(words=query)
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
            near = (*filters.near, filters.within_km) if filters.near and filters.within_km else None
            page = search_index.search_page(reading.words, offset=offset, limit=limit,
                                            folder=str(folder.resolve()) if folder else None, after=filters.after,
                                            before=filters.before, camera=filters.camera or None,
                                            tags=filters.tags, explain=True, place=filters.place or None,
                                            near=near, periods=reading.filters)
            unknown = search_index.unknown_words(reading.words) if reading.words.strip() else []
            suggested = search_index.suggestions(unknown)
            room = min(maybe, offset + limit - page.total) if offset <= page.total < offset + limit else 0
            weaker = search_index.maybe_hits(reading.words, matches=page.total, count=room,
                                             folder=str(folder.resolve()) if folder else None, after=filters.after,
                                             before=filters.before, camera=filters.camera or None,
                                             tags=filters.tags, place=filters.place or None, near=near,
                                             periods=reading.filters)
    except SearchQueryError as error:
        raise SearchRequestError(f"bad query: {error}") from None
    except SearchIndexError as error:
        raise SearchRequestError(str(error)) from None
    return LibraryResults(page.hits, page.total, unknown, reading if reading.notes() else None, weaker, suggested)
