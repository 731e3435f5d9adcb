"""The API's documented errors, as the app answers them (photocap.web.app, photocap.web.guard): one JSON shape,
`{"error": "..."}`, and 400 for any bad input, the framework's own validation included. FastAPI would document
its 422 and validation shape for every operation with parameters; the app never sends them, so they go."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field


class Problem(BaseModel):
    """What every error of the API says."""

    error: str = Field(description="What went wrong, in one line.")


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The `responses` of an operation that may answer `statuses` (the guard's, every operation's, are added
    by the router)."""
    return {status: {"model": Problem, "description": MEANINGS[status]} for status in statuses}


MEANINGS = {
    400: "Bad input: a parameter or body that is not what the operation takes, a malformed query, an edit that "
         "cannot be made.",
    401: "This server listens beyond this machine and the request lacks its token.",
    403: "Refused: a wrong token, a write without the page's CSRF token or from another site, or a read-only "
         "server.",
    404: "No such photo, or its file is gone.",
    421: "The request's Host is not this server's (DNS rebinding).",
    503: "The catalog or search index is busy or unusable just now.",
}
GUARDED = (401, 403, 421)  # what the guard may answer to any request
VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def install(app: FastAPI) -> None:
    """Serve the schema as documented here, built once."""

    def schema() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = without_validation_errors(get_openapi(
                title=app.title, version=app.version, summary=app.summary, routes=app.routes))
        return app.openapi_schema

    app.openapi = schema  # type: ignore[method-assign]


def without_validation_errors(schema: dict[str, Any]) -> dict[str, Any]:
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    components = schema.get("components", {}).get("schemas", {})
    for name in VALIDATION_SCHEMAS:
        components.pop(name, None)
    return schema
