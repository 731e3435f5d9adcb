"""The web app's "Needs review": the photos whose caption is the model's and unsure (under the shipped calibration's
`unsure_below`: more likely wrong than right), least confident first, as a page and its JSON twin, and the way back
to the list from a photo's page. Fixing a caption on the photo page makes it the user's own, which takes the photo
off the list; undoing the fix puts it back (both are the catalog's own rule: Catalog.captions_to_review)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from photocap.catalog.store import PhotoRow
from photocap.model.calibration import unsure_below
from photocap.web.library import Library
from photocap.web.openapi import GUARDED, documented
from photocap.web.options import ServeOptions
from photocap.web.rendering import page_renderer
from photocap.web.results import Trail, page_number

FROM_REVIEW = "from=review"  # in a photo page's address: opened from the review list
REVIEW_LIST = "Review list"
BACK_TO_LIST = "Back to the review list"


@dataclass(frozen=True)
class ReviewPage:
    rows: list[PhotoRow]
    total: int
    page: int
    page_size: int

    @property
    def first_rank(self) -> int:
        return (self.page - 1) * self.page_size

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def cards(self) -> list[dict[str, Any]]:
        """The photos of the page, with the keys of `photocap show --json` they have, their id and addresses."""
        return [{"id": row["id"], "rank": rank, "path": row["path"], "caption": row["caption"],
                 "confidence": row["confidence"], "method": row["method"], "caption_model": row["model_id"],
                 "thumbnail": f"/photos/{row['id']}/thumbnail", "url": photo_url(row["id"], rank)}
                for rank, row in enumerate(self.rows, start=self.first_rank)]


def opened_from_review(request: Request) -> bool:
    return request.query_params.get("from") == "review"


def review_page(library: Library, page: int, page_size: int) -> ReviewPage:
    rows, total = library.to_review(page_size, (page - 1) * page_size)
    return ReviewPage(rows, total, page, page_size)


def photo_url(photo_id: int, rank: int) -> str:
    """A photo's page, opened from the review list where it ranks `rank` (0-based)."""
    return f"/photos/{photo_id}?{FROM_REVIEW}&rank={rank}"


def list_url(page: int) -> str:
    return "/review" if page == 1 else f"/review?page={page}"


def review_trail(library: Library, photo_id: int, rank: int, page_size: int) -> Trail:
    """The trail of a photo opened from the review list where it ranked `rank` (-1: not known). Once its caption is
    fixed it is no longer listed, and the photo that took its place comes next."""
    if rank < 0:
        return Trail(REVIEW_LIST, list_url(1), BACK_TO_LIST, here=FROM_REVIEW)
    start = max(rank - 1, 0)
    around = library.ids_to_review(3, start)  # the photos ranked rank - 1 (when there is one) to rank + 1
    at = rank - start
    previous = around[at - 1] if 0 < at <= len(around) else None
    still_listed = at < len(around) and around[at] == photo_id
    following, following_rank = (at + 1, rank + 1) if still_listed else (at, rank)
    return Trail(REVIEW_LIST, list_url(rank // page_size + 1), BACK_TO_LIST,
                 photo_url(previous, rank - 1) if previous is not None else None,
                 photo_url(around[following], following_rank) if following < len(around) else None,
                 f"{FROM_REVIEW}&rank={rank}")


def router(options: ServeOptions, library: Library) -> APIRouter:
    pages = APIRouter(include_in_schema=False)
    api = APIRouter(prefix="/api", responses=documented(*GUARDED))
    render = page_renderer(options, library)

    @pages.get("/review")
    def review(request: Request) -> Response:
        listing = review_page(library, page_number(request.query_params.get("page", "")), options.page_size)
        if listing.page > listing.pages:  # its last photos fixed since: the list is shorter now
            return RedirectResponse(list_url(listing.pages), status_code=303)
        return render(request, "review.html", {"listing": listing})

    @api.get("/review", summary="The photos whose caption is unsure, least confident first",
             responses=documented(400, 503))
    def review_json(page: int = 1) -> dict[str, Any]:
        """The model's captions with a `confidence` under `unsure_below` (the shipped calibration's: more likely wrong
        than right), least confident first, ties by path; never the user's own captions nor those the files carry,
        nor photos in error or missing. A caption fixed (POST /api/photos/{photo_id}) leaves the list; undone, it
        comes back."""
        listing = review_page(library, page_number(str(page)), options.page_size)
        return {"unsure_below": unsure_below(), "total": listing.total, "page": listing.page,
                "pages": listing.pages, "page_size": listing.page_size, "results": listing.cards()}

    routes = APIRouter()
    routes.include_router(pages)
    routes.include_router(api)
    return routes
