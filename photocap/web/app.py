"""The ASGI app of `photocap serve`: routes, static files, the guard, and errors as pages."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.responses import Response

from photocap.catalog.store import CatalogError
from photocap.edits import EditError
from photocap.export import ExportError
from photocap.lock import HomeLocked
from photocap.search.index import SearchIndexError
from photocap.search.library import SearchRequestError
from photocap.web import alike, api, openapi, pages, review
from photocap.web.errors import error_response
from photocap.web.files import Gone, Refused
from photocap.web.guard import make_guard
from photocap.web.library import Library, NotFound
from photocap.web.options import ServeOptions
from photocap.web.templating import STATIC_DIR

log = logging.getLogger("photocap.serve")

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
DOCS_PATH = "/api/docs"
# Swagger UI's page starts it with an inline script; that page alone may run one.
DOCS_POLICY = "default-src 'self'; script-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'"

STATUS_OF: list[tuple[type[BaseException], int]] = [
    (NotFound, 404), (Gone, 404), (Refused, 403), (HomeLocked, 503), (CatalogError, 503), (SearchIndexError, 503),
    (SearchRequestError, 400), (EditError, 400), (ExportError, 400), (ValueError, 400),
]


def create_app(options: ServeOptions) -> FastAPI:
    library = Library(options.home)
    app = FastAPI(title="photocap", version="1", summary="Search, look at and fix the captions of your photos.",
                  docs_url=None, redoc_url=None, openapi_url="/api/openapi.json")
    app.state.library = library
    app.include_router(pages.router(options, library))
    app.include_router(api.router(options, library))
    app.include_router(alike.router(options, library))
    app.include_router(review.router(options, library))
    openapi.install(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _mount_swagger(app)
    app.middleware("http")(_with_security_headers)
    app.middleware("http")(make_guard(options))  # added last: runs first
    _handle_errors(app)
    app.router.add_event_handler("shutdown", library.close)
    return app


def _mount_swagger(app: FastAPI) -> None:
    from importlib.resources import files

    swagger_files = str(files("swagger_ui") / "static")
    app.mount("/swagger-ui", StaticFiles(directory=swagger_files), name="swagger")

    @app.get(DOCS_PATH, include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/api/openapi.json", title="photocap API",
                                   swagger_js_url="/swagger-ui/swagger-ui-bundle.js",
                                   swagger_css_url="/swagger-ui/swagger-ui.css",
                                   swagger_favicon_url="/static/favicon.svg")


async def _with_security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.url.path == DOCS_PATH:
        response.headers["Content-Security-Policy"] = DOCS_POLICY
    return response


def _handle_errors(app: FastAPI) -> None:
    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        message = error.detail if isinstance(error.detail, str) else "error"
        if error.status_code == 404 and message == "Not Found":
            message = "no such page"
        return error_response(request, error.status_code, message)

    async def invalid_request(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        first = error.errors()[0] if error.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()) if part not in ("path", "query", "body"))
        return error_response(request, 400, f"bad request: {where or 'input'}: {first.get('msg', 'invalid')}")

    def known(status: int) -> Callable[[Request, Exception], Awaitable[Response]]:
        async def handler(request: Request, error: Exception) -> Response:
            return error_response(request, status, str(error).splitlines()[0] if str(error) else "error")
        return handler

    async def unexpected(request: Request, error: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        return error_response(request, 500, "photocap could not answer this; its log says why")

    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    for kind, status in STATUS_OF:
        app.add_exception_handler(kind, known(status))
    app.add_exception_handler(Exception, unexpected)
