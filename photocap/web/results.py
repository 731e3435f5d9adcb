"""Search results as the pages show them: the search form of a URL's query string, one page of results (with
the CLI's `search_library`, so the ranking and query rules are `photocap search`'s), a photo's neighbours and the
way back to the results from its page."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from photocap.search.evidence import matched_text
from photocap.search.index import Hit
from photocap.search.library import LibraryResults, SearchFilters, SearchRequestError, parse_day, search_library

MAYBE_SHOWN = 10  # photos only weaker guesses rank, shown apart after the last result (as `photocap search`)
PAGES_MOST = 100_000


def page_number(text: str) -> int:
    """The page a query string's `page` asks for (blank: the first); anything else than a whole number from 1 is a
    ValueError (a 400, see app.py)."""
    page = text or "1"
    if not page.isdigit() or not 1 <= int(page) <= PAGES_MOST:
        raise ValueError(f"page must be a whole number from 1, got {page!r}")
    return int(page)


@dataclass(frozen=True)
class SearchForm:
    """The search page's fields, as they come in a URL's query string."""

    q: str = ""
    folder: str = ""
    after: str = ""
    before: str = ""
    camera: str = ""
    tags: tuple[str, ...] = ()
    page: int = 1
    place: str = ""

    @property
    def asked(self) -> bool:
        """Whether there is a search to run: words, or a place to list the photos of."""
        return bool(self.q or self.place)

    def filters(self) -> SearchFilters:
        return SearchFilters(folder=Path(self.folder) if self.folder else None,
                             after=parse_day(self.after, "from"), before=parse_day(self.before, "to"),
                             camera=self.camera or None, tags=tuple(t for t in self.tags if t),
                             place=self.place or None)

    def query_string(self, **changes: Any) -> str:
        form = replace(self, **changes)
        pairs = [(name, value) for name, value in (("q", form.q), ("folder", form.folder), ("after", form.after),
                                                  ("before", form.before), ("camera", form.camera),
                                                  ("place", form.place)) if value]
        pairs += [("tag", tag) for tag in form.tags if tag]
        if form.page > 1:
            pairs.append(("page", str(form.page)))
        return urlencode(pairs)


@dataclass(frozen=True)
class ResultPage:
    form: SearchForm
    results: LibraryResults
    page_size: int

    @property
    def first_rank(self) -> int:
        return (self.form.page - 1) * self.page_size

    @property
    def pages(self) -> int:
        return max(1, -(-self.results.total // self.page_size))

    def cards(self) -> list[dict[str, Any]]:
        return [_card(hit, self.first_rank + i) for i, hit in enumerate(self.results.hits)]

    def correction(self) -> tuple[str, str] | None:
        """The query with each mistyped word replaced by the likeliest word the library has, and its query string;
        None without suggestions."""
        if not self.results.suggestions:
            return None
        query = self.form.q
        for typed, meant in self.results.suggestions.items():
            query = corrected_query(query, typed, meant[0])
        return query, self.form.query_string(q=query, page=1)

    def maybe_cards(self) -> list[dict[str, Any]]:
        """The photos listed apart after the last result: only guesses weaker than search trusts rank them."""
        return [_card(hit, None) for hit in self.results.maybe]


def corrected_query(query: str, typed: str, known: str) -> str:
    """`query` with the word `typed` (as a whole word, any case) replaced by `known`."""
    return re.sub(rf"(?<!\w){re.escape(typed)}(?!\w)", known, query, flags=re.IGNORECASE)


def _card(hit: Hit, rank: int | None) -> dict[str, Any]:
    return {"id": hit.photo_id, "rank": rank, "path": hit.path, "caption": hit.caption,
            "score": round(hit.score, 4), "tags": [tag for tag, _p, _source in hit.tags],
            "matched": hit.matched or {},
            "matched_tags": {word: tag._asdict() for word, tag in (hit.matched_tags or {}).items()},
            "matched_text": matched_text(hit.matched or {}, hit.matched_tags), "maybe": hit.maybe}


def search_page(home: Path, form: SearchForm, page_size: int) -> ResultPage:
    """One page of results; raises SearchRequestError for a request that cannot run (said in one line)."""
    offset = (form.page - 1) * page_size
    return ResultPage(form, search_library(home, form.q, form.filters(), limit=page_size, offset=offset,
                                           folder_option="folder", maybe=MAYBE_SHOWN), page_size)


def neighbours(home: Path, form: SearchForm, rank: int) -> tuple[int | None, int | None]:
    """The photo ids ranked just before and after `rank` (0-based) in the results of `form`."""
    if not form.asked or rank < 0:
        return None, None
    try:
        start = max(rank - 1, 0)
        hits = search_library(home, form.q, form.filters(), limit=3 if rank else 2, offset=start).hits
    except SearchRequestError:
        return None, None
    ids = [hit.photo_id for hit in hits]
    if rank == 0:
        return None, ids[1] if len(ids) > 1 else None
    return (ids[0] if ids else None), (ids[2] if len(ids) > 2 else None)


@dataclass(frozen=True)
class Trail:
    """Where a photo's page was opened from (a page of search results, the review list): the way back to it, the
    photos before and after this one there, and the query string that opens this photo there again (the edit and
    undo forms come back to it)."""

    name: str  # of the list, for a screen reader: "Results"
    back_url: str
    back_label: str
    previous_url: str | None = None
    next_url: str | None = None
    here: str = ""


def search_trail(home: Path, form: SearchForm, rank: int, page_size: int) -> Trail:
    """The trail of a photo ranked `rank` (0-based; -1: not opened from results) in the results of `form`."""
    previous, following = neighbours(home, form, rank)
    listing = form.query_string(page=1)

    def at(photo_id: int | None, photo_rank: int) -> str | None:
        return None if photo_id is None else f"/photos/{photo_id}?{joined(listing, f'rank={photo_rank}')}"

    back = form.query_string(page=rank // page_size + 1) if rank >= 0 else form.query_string()
    return Trail("Results", f"/?{back}", "Back to results", at(previous, rank - 1), at(following, rank + 1),
                 joined(listing, f"rank={rank}" if rank >= 0 else ""))


def joined(*queries: str) -> str:
    """Query strings joined into one, the empty ones left out."""
    return "&".join(query for query in queries if query)
