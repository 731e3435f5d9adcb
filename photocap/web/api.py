"""The JSON API under /api/, used by the pages' script and documented at /api/docs. Its objects carry the same
keys as the CLI's --json output (`photocap search --json`, `photocap show --json`, `photocap status --json`),
plus the catalog id that the photo, thumbnail and edit addresses take."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from photocap.web.library import Library
from photocap.web.openapi import GUARDED, documented
from photocap.web.options import ServeOptions
from photocap.web.pages import search_form
from photocap.web.results import search_page


class Edit(BaseModel):
    """The photo's caption and tags as the user wants them; they become the user's own."""

    caption: str | None = Field(None, description="The caption; empty or null: the model's caption again.")
    tags: list[str] | None = Field(None, description="Every tag the photo should have; null: tags unchanged.")


def router(options: ServeOptions, library: Library) -> APIRouter:
    routes = APIRouter(prefix="/api", responses=documented(*GUARDED))

    @routes.get("/search", summary="Search the library (same query rules as `photocap search`)",
                responses=documented(400, 503))
    def search(request: Request, q: str = "", folder: str = "", after: str = "", before: str = "", camera: str = "",
               tag: list[str] | None = None, page: int = 1, place: str = "") -> dict[str, Any]:
        """One page of results, best first. `after`/`before` are YYYY-MM-DD days; `tag` repeats, and each may
        list several separated by commas: photos with all of them; `place`: every word of a place's name (or its
        country code). `query_read` says how the query's time words were read ("summer 2019 -> ..."). A photo is a
        result when it has evidence for a query word; `maybe` lists, apart, photos that only weaker guesses rank;
        `suggestions` names, for an `unknown` word, words the library has that it may be mistyped for."""
        result = search_page(library.home, search_form(request), options.page_size)
        return {
            "query": result.form.q, "total": result.results.total, "page": result.form.page, "pages": result.pages,
            "page_size": result.page_size, "unknown": result.results.unknown,
            "suggestions": result.results.suggestions,
            **({"query_read": result.results.reading.as_json()} if result.results.reading else {}),
            "results": [{**card, "thumbnail": f"/photos/{card['id']}/thumbnail", "url": f"/photos/{card['id']}"}
                        for card in result.cards()],
            # After the last result, not counted in `total`: photos only guesses weaker than search trusts rank.
            "maybe": [{**card, "thumbnail": f"/photos/{card['id']}/thumbnail", "url": f"/photos/{card['id']}"}
                      for card in result.maybe_cards()],
        }

    @routes.get("/photos/{photo_id}", summary="One photo, as `photocap show --json` gives it",
                responses=documented(400, 404, 503))
    def photo(photo_id: int) -> dict[str, Any]:
        return library.photo(photo_id)

    @routes.post("/photos/{photo_id}", summary="Edit a photo's caption and tags (they become yours)",
                 responses=documented(400, 404, 503))
    def edit(photo_id: int, change: Edit) -> dict[str, Any]:
        """Needs the page's CSRF token in the X-CSRF-Token header, from this server's own pages."""
        view, notes = library.edit(photo_id, change.caption, change.tags)
        return {"photo": view, "notes": notes}

    @routes.post("/photos/{photo_id}/undo", summary="Undo the photo's newest edit (from here or the CLI)",
                 responses=documented(400, 404, 503))
    def undo(photo_id: int) -> dict[str, Any]:
        view, notes = library.undo(photo_id)
        return {"photo": view, "notes": notes}

    @routes.get("/status", summary="The library, as `photocap status --json` gives it", responses=documented(503))
    def status() -> dict[str, Any]:
        return library.status()

    return routes
