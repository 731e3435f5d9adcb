"""The rules every request passes before a route sees it, in order:
1. the Host header names this server (a page of another site cannot reach it by DNS rebinding);
2. the token, when the server has one (always off loopback): `?token=` once, then a cookie;
3. writes (any method but GET and HEAD): refused in read-only mode; else they must come from this origin
   (Origin, else Referer) and carry the CSRF token of this server run (form field `csrf` or header
   X-CSRF-Token), which only pages of this origin can read."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from photocap.web.errors import error_response
from photocap.web.options import ServeOptions

TOKEN_COOKIE = "photocap_token"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD"})

Next = Callable[[Request], Awaitable[Response]]


def host_name(host_header: str) -> str:
    """The name part of a Host header: 'example.com:8765' -> 'example.com', '[::1]:8765' -> '::1'."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())


def make_guard(options: ServeOptions) -> Callable[[Request, Next], Awaitable[Response]]:
    allowed = options.allowed_host_names()

    async def guard(request: Request, call_next: Next) -> Response:
        host = request.headers.get("host", "")
        if host_name(host) not in allowed:
            return error_response(request, 421, "this server does not answer to that host name")
        if options.token is not None:
            given = request.query_params.get("token")
            if given is not None:
                if not same(given, options.token):
                    return error_response(request, 403, "wrong token")
                if request.method in SAFE_METHODS and not request.url.path.startswith("/api/"):
                    # Keep the token out of the address bar, history and Referer: a cookie carries it now.
                    location = str(request.url.remove_query_params("token"))
                    response = RedirectResponse(location, status_code=303)
                    response.set_cookie(TOKEN_COOKIE, options.token, httponly=True, samesite="strict")
                    return response
            else:
                sent = request.cookies.get(TOKEN_COOKIE) or _bearer(request.headers.get("authorization"))
                if sent is None:
                    return error_response(request, 401, "this server needs its token: open the address it printed")
                if not same(sent, options.token):
                    return error_response(request, 403, "wrong token")
        if request.method not in SAFE_METHODS:
            if options.read_only:
                return error_response(request, 403, "read-only: this server was started with --read-only")
            if not _same_origin(request, host):
                return error_response(request, 403, "refused: the request did not come from this site's pages")
            if not same(await _csrf_token(request), options.csrf_secret):
                return error_response(request, 403, "refused: missing or wrong CSRF token (reload the page)")
        return await call_next(request)

    return guard


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


def _same_origin(request: Request, host: str) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


async def _csrf_token(request: Request) -> str | None:
    token = request.headers.get(CSRF_HEADER)
    if token is not None:
        return token
    if request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded",
                                                            "multipart/form-data")):
        await request.body()  # cached: the route reads the form again from it
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None
