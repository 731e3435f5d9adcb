"""The web app's "More like this" and Duplicates: the pages and their JSON twins, through the same functions as
`photocap similar` and `photocap duplicates` (photocap.similar). Nothing here moves files: the page shows the
groups, and says which command moves the extras aside."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from photocap.similar.duplicates import Group, find_duplicates
from photocap.similar.neighbours import SimilarError, similar_to_id
from photocap.web.library import Library
from photocap.web.openapi import GUARDED, documented
from photocap.web.options import ServeOptions
from photocap.web.rendering import page_renderer

ON_PHOTO_PAGE = 6  # photos in the photo page's "More like this"
SIMILAR_MOST = 100
GROUPS_SHOWN = 200  # groups on the Duplicates page (the JSON API gives them all)


def similar_cards(library: Library, photo_id: int, limit: int) -> list[dict[str, Any]]:
    """The photos most like photo `photo_id`, as `photocap similar --json` gives them, with their id and addresses;
    [] when the photo has no kept feature (not captioned yet)."""
    library.row(photo_id)  # NotFound for an unknown id
    try:
        found = similar_to_id(library.catalog(), library.home, photo_id, limit)
    except SimilarError:
        return []
    return [{**item, "thumbnail": f"/photos/{item['id']}/thumbnail", "url": f"/photos/{item['id']}"}
            for item in found]


def duplicate_groups(library: Library, read_only: bool) -> list[Group]:
    """The groups `photocap duplicates` finds. Read-only, photos without a perceptual hash yet (never looked at by
    `photocap duplicates` or a writable server) are compared by their features alone."""
    return find_duplicates(library.catalog(), library.home, compute_hashes=not read_only)


def router(options: ServeOptions, library: Library) -> APIRouter:
    pages = APIRouter(include_in_schema=False)
    api = APIRouter(prefix="/api", responses=documented(*GUARDED))
    render = page_renderer(options, library)

    @pages.get("/photos/{photo_id}/similar")
    def similar_page(request: Request, photo_id: int) -> Response:
        similar = similar_cards(library, photo_id, SIMILAR_MOST)
        return render(request, "similar.html", {"photo": library.photo(photo_id), "similar": similar,
                                                "unsure": library.unsure([card["id"] for card in similar])})

    @pages.get("/duplicates")
    def duplicates_page(request: Request) -> Response:
        groups = duplicate_groups(library, options.read_only)
        return render(request, "duplicates.html", {
            "groups": groups[:GROUPS_SHOWN], "total": len(groups),
            "extras": sum(len(group["photos"]) - 1 for group in groups)})

    @api.get("/photos/{photo_id}/similar", summary="The photos most like one photo (as `photocap similar --json`)",
             responses=documented(400, 404, 503))
    def similar_json(photo_id: int, limit: int = 20) -> dict[str, Any]:
        """Most alike first; `score` is the cosine similarity of the kept image features (1: the same picture)."""
        if not 1 <= limit <= SIMILAR_MOST:
            raise ValueError(f"limit must be from 1 to {SIMILAR_MOST}")
        return {"photo": photo_id, "similar": similar_cards(library, photo_id, limit)}

    @api.get("/duplicates", summary="Groups of the same picture (as `photocap duplicates --json`)",
             responses=documented(503))
    def duplicates_json() -> dict[str, Any]:
        """Exact copies, near copies and bursts, each with the photo to keep (first) and why."""
        return {"groups": duplicate_groups(library, options.read_only)}

    routes = APIRouter()
    routes.include_router(pages)
    routes.include_router(api)
    return routes

