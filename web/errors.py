"""Errors of the HTTP API, as JSON: `{"error": "<what went wrong, in words>", "detail": …}`.

Every web module raises `ApiError`; the app turns it (and Starlette's own 404 and 405)
into that body with `EXCEPTION_HANDLERS`. Kept apart from `web.app` so that the route
modules and `web.auth` import it without importing the app.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class ApiError(Exception):
    """An answer other than success: its status, a sentence, data about it, and any
    headers the answer must carry (`WWW-Authenticate` on a 401)."""

    def __init__(
        self,
        status: int,
        error: str,
        detail: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.detail = detail
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "detail": self.detail},
            status_code=self.status,
            headers=self.headers,
        )


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {
        404: f"nothing at {request.url.path}; the API is under /api/texts",
        405: f"{request.method} is not allowed on {request.url.path}",
    }
    error = messages.get(exc.status_code, exc.detail)
    return JSONResponse(
        {"error": error, "detail": None}, status_code=exc.status_code, headers=exc.headers
    )


EXCEPTION_HANDLERS = {ApiError: api_error, HTTPException: http_error}
