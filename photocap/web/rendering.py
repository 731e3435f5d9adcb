"""A page as the routes answer it: its template, with what every page's header needs besides the route's own
context: the CSRF token of this server run, read-only mode, and how many captions need review."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from starlette.responses import Response

from photocap.web.library import Library
from photocap.web.options import ServeOptions
from photocap.web.templating import templates

Render = Callable[..., Response]  # (request, template name, context, status=200) -> the page


def page_renderer(options: ServeOptions, library: Library) -> Render:
    def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        return templates().TemplateResponse(
            request, name, {"csrf": options.csrf_secret, "read_only": options.read_only,
                            "to_review": library.count_to_review(), **context},
            status_code=status)

    return render
