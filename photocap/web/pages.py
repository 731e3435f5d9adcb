"""The HTML pages: search, photo, library; the forms that edit and undo; the photo, thumbnail and export
downloads. Every page works without JavaScript; static/app.js adds the keyboard and in-place editing. An unsure
caption (photocap.web.review) is marked wherever one is shown."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from photocap.search.library import SearchRequestError
from photocap.web.alike import ON_PHOTO_PAGE, similar_cards
from photocap.web.downloads import exported_copy, results_manifest
from photocap.web.files import media_type, shown_file, thumbnail_of
from photocap.web.library import Library
from photocap.web.options import ServeOptions
from photocap.web.rendering import page_renderer
from photocap.web.results import SearchForm, Trail, page_number, search_page, search_trail
from photocap.web.review import opened_from_review, review_trail

MANIFEST_MEDIA_TYPES = {"json": "application/json", "csv": "text/csv; charset=utf-8",
                        "html": "text/html; charset=utf-8"}
MANIFEST_MOST = 1000  # photos in a manifest of the results


def search_form(request: Request) -> SearchForm:
    """The search fields of the request's query string; a bad page number is a 400 (see app.py)."""
    params = request.query_params
    return SearchForm(q=params.get("q", "").strip(), folder=params.get("folder", "").strip(),
                      after=params.get("after", "").strip(), before=params.get("before", "").strip(),
                      camera=params.get("camera", "").strip(),
                      tags=form_tags(params.getlist("tag")), page=page_number(params.get("page", "")),
                      place=params.get("place", "").strip())


def form_tags(values: list[str]) -> tuple[str, ...]:
    """The tags asked for: `tag` may repeat (as the CLI's --tag does) and each may list several, separated by
    commas (the form's one box; a tag never holds a comma). A photo must have all of them."""
    return tuple(dict.fromkeys(tag.strip() for value in values for tag in value.split(",") if tag.strip()))


def router(options: ServeOptions, library: Library) -> APIRouter:
    routes = APIRouter(include_in_schema=False)
    render = page_renderer(options, library)

    @routes.get("/")
    def search(request: Request) -> Response:
        form = search_form(request)
        context: dict[str, Any] = {"form": form, "page": None, "folders": library.roots(), "problem": None,
                                   "places": library.places(), "unsure": {}}
        if form.asked:
            try:
                context["page"] = found = search_page(library.home, form, options.page_size)
            except SearchRequestError as error:  # said beside the search box, to be fixed there
                context["problem"] = str(error)
                return render(request, "search.html", context, status=400)
            context["unsure"] = library.unsure([card["id"] for card in found.cards() + found.maybe_cards()])
        return render(request, "search.html", context)

    def trail(request: Request, photo_id: int) -> Trail:
        """Where the photo's page was opened from: the review list, else search results (or neither)."""
        if opened_from_review(request):
            return review_trail(library, photo_id, _rank(request), options.page_size)
        return search_trail(library.home, search_form(request), _rank(request), options.page_size)

    @routes.get("/photos/{photo_id}")
    def photo(request: Request, photo_id: int) -> Response:
        shown = library.photo(photo_id)
        similar = similar_cards(library, photo_id, ON_PHOTO_PAGE)
        return render(request, "photo.html", {
            "photo": shown, "trail": trail(request, photo_id), "notes": request.query_params.getlist("note"),
            "similar": similar, "unsure": library.unsure([photo_id, *(card["id"] for card in similar)])})

    @routes.post("/photos/{photo_id}/edit")
    async def edit(request: Request, photo_id: int) -> Response:
        fields = await request.form()
        caption, tags = str(fields.get("caption", "")), str(fields.get("tags", ""))
        _view, notes = library.edit(photo_id, caption, [t.strip() for t in tags.split(",")])
        return _back_to_photo(photo_id, str(fields.get("back", "")), notes)

    @routes.post("/photos/{photo_id}/undo")
    async def undo(request: Request, photo_id: int) -> Response:
        fields = await request.form()
        _view, notes = library.undo(photo_id)
        return _back_to_photo(photo_id, str(fields.get("back", "")), notes)

    @routes.get("/photos/{photo_id}/file")
    def original(photo_id: int) -> Response:
        path, shown_as = shown_file(library, library.row(photo_id))
        return FileResponse(path, media_type=shown_as, headers={"Cache-Control": "private, max-age=60"})

    @routes.get("/photos/{photo_id}/thumbnail")
    def thumbnail(photo_id: int) -> Response:
        return FileResponse(thumbnail_of(library, library.row(photo_id)), media_type="image/webp",
                            headers={"Cache-Control": "private, max-age=86400"})

    @routes.get("/photos/{photo_id}/export")
    def export_copy(photo_id: int) -> Response:
        data, name = exported_copy(library.home, library.row(photo_id)["path"])
        return Response(data, media_type=media_type(name), headers=_attachment(name))

    @routes.get("/export/manifest")
    def manifest(request: Request) -> Response:
        form = search_form(request)
        fmt = request.query_params.get("format", "html")
        if not form.asked:
            raise ValueError("a manifest is of a search's results: give a query")
        everything = search_page(library.home, SearchForm(**{**form.__dict__, "page": 1}), MANIFEST_MOST)
        paths = [hit.path for hit in everything.results.hits]
        return Response(results_manifest(library.home, paths, fmt),
                        media_type=MANIFEST_MEDIA_TYPES.get(fmt, "application/octet-stream"),
                        headers=_attachment(f"manifest.{fmt}"))

    @routes.get("/library")
    def status(request: Request) -> Response:
        return render(request, "library.html", {"status": library.status()})

    return routes


def _rank(request: Request) -> int:
    value = request.query_params.get("rank", "")
    return int(value) if value.isdigit() else -1


def _back_to_photo(photo_id: int, back: str, notes: list[str]) -> Response:
    query = back + ("&" if back and notes else "") + urlencode([("note", note) for note in notes])
    return RedirectResponse(f"/photos/{photo_id}" + (f"?{query}" if query else ""), status_code=303)


def _attachment(name: str) -> dict[str, str]:
    ascii_name = name.encode("ascii", "replace").decode().replace('"', "_")
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"}
