"""Errors as a page (or JSON under /api/), never a traceback."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from photocap.web.templating import templates

TITLES = {400: "Bad request", 401: "Token needed", 403: "Refused", 404: "Not found", 405: "Not allowed",
          421: "Wrong host", 500: "Something went wrong", 503: "Busy"}


def error_response(request: Request, status: int, message: str) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": message}, status_code=status)
    return templates().TemplateResponse(
        request, "error.html", {"status": status, "title": TITLES.get(status, "Error"), "message": message,
                                "csrf": None, "read_only": True},
        status_code=status)
