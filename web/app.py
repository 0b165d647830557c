"""The HTTP application: negotiation texts as JSON, and a small page that lists them.

    GET  /api/texts           every text, with its headline counts
    POST /api/texts           import a Markdown text (raw text/markdown or a file upload)
    GET  /api/texts/{id}      one text: statistics, clean and bracketed text
    GET  /api/openapi.json    this API described in OpenAPI 3.1
    GET  /                    an HTML list of the texts (the editor comes later)

Errors are JSON `{"error": "<what went wrong, in words>", "detail": <data or null>}`.
The store and the views are synchronous; they run in the thread pool so that a large text
being imported does not stall the other requests.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message

from crdt_sync.connection import Limits
from crdt_sync.rooms import Rooms
from crdt_sync.store import Store, TextInfo, UnknownText
from drafting.importers.parsed import SourceError
from drafting.importing import ImportResult, import_markdown
from drafting.schema import NegotiationText
from drafting.statistics import statistics
from drafting.views import bracketed_text, clean_text
from web.client import routes as client_routes
from web.exports import routes as export_routes
from web.history import routes as history_routes
from web.openapi import openapi_document
from web.sync import routes as sync_routes

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # the longest COP21 draft is 121 KB
MARKDOWN_TYPES = ("text/markdown", "text/x-markdown", "text/plain")
DEMO_TEXT = Path(__file__).parent / "demo" / "demo-text.md"


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: Any = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.detail = detail


def import_demo(store: Store) -> str:
    """Store the demo text shipped with the package; return its id."""
    result = import_markdown(DEMO_TEXT.read_text(encoding="utf-8"))
    return store_import(store, result, origin="demo")


def store_import(store: Store, result: ImportResult, *, origin: str) -> str:
    text = result.text
    return store.create_text(text.to_update(), title=text.title, kind=text.kind, origin=origin)


def create_app(
    store: Store, *, max_upload_bytes: int = MAX_UPLOAD_BYTES, limits: Limits | None = None
) -> Starlette:
    api = TextsApi(store, max_upload_bytes)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The rooms live as long as the server: on shutdown every update received is
        # written and every room snapshotted before the process exits.
        app.state.rooms = Rooms(store, limits)
        try:
            yield
        finally:
            await app.state.rooms.close()

    app = Starlette(
        routes=[
            Route("/", api.index, methods=["GET"]),
            Route("/api/texts", api.list_texts, methods=["GET"]),
            Route("/api/texts", api.create_text, methods=["POST"]),
            Route("/api/texts/{text_id}", api.get_text, methods=["GET"]),
            Route("/api/openapi.json", api.openapi, methods=["GET"]),
            *export_routes,
            *history_routes,
            *sync_routes,
            *client_routes,
        ],
        lifespan=lifespan,
        exception_handlers={
            ApiError: _api_error,
            HTTPException: _http_error,
        },
    )
    app.state.store = store
    return app


class TextsApi:
    def __init__(self, store: Store, max_upload_bytes: int) -> None:
        self.store = store
        self.max_upload_bytes = max_upload_bytes
        # Headline counts per (text, last change): listing should not rebuild every
        # document on every request.
        self._summaries: dict[tuple[str, str], dict[str, int]] = {}

    # -- reading ------------------------------------------------------------------------
    async def list_texts(self, request: Request) -> JSONResponse:
        return JSONResponse(await run_in_threadpool(self._listing))

    def _listing(self) -> list[dict[str, Any]]:
        return [
            {**_metadata(info), "statistics": self._summary(info)}
            for info in self.store.list_texts()
        ]

    def _summary(self, info: TextInfo) -> dict[str, int]:
        key = (info.id, info.updated.isoformat())
        if key not in self._summaries:
            counts = statistics(NegotiationText.from_update(self.store.load(info.id)))
            # Only the plain numbers: the per-status and per-Party tables are in the detail.
            self._summaries[key] = {
                k: v for k, v in counts.items() if isinstance(v, int) and not isinstance(v, bool)
            }
        return self._summaries[key]

    async def get_text(self, request: Request) -> JSONResponse:
        text_id = request.path_params["text_id"]
        return JSONResponse(await run_in_threadpool(self._detail, text_id))

    def _detail(self, text_id: str) -> dict[str, Any]:
        try:
            info = self.store.get_text(text_id)
            text = NegotiationText.from_update(self.store.load(text_id))
        except UnknownText as error:
            raise ApiError(404, str(error), {"id": text_id}) from None
        clean = clean_text(text)
        return {
            **_metadata(info),
            "statistics": statistics(text),
            "clean": {"text": clean.text, "open_brackets": len(clean.open_brackets)},
            "bracketed": bracketed_text(text),
        }

    async def openapi(self, request: Request) -> JSONResponse:
        return JSONResponse(openapi_document(self.max_upload_bytes))

    async def index(self, request: Request) -> HTMLResponse:
        texts = await run_in_threadpool(self.store.list_texts)
        return HTMLResponse(_index_page(texts))

    # -- importing ------------------------------------------------------------------------
    async def create_text(self, request: Request) -> JSONResponse:
        name, data = await self._upload(request)
        source = _decode(name, data)
        try:
            result = await run_in_threadpool(import_markdown, source)
        except SourceError as error:
            raise ApiError(
                422,
                f"{name} could not be imported: {error}",
                {"line": error.line, "column": error.column, "message": str(error)},
            ) from None
        text_id = await run_in_threadpool(store_import, self.store, result, origin="http")
        body = {
            "id": text_id,
            "title": result.text.title,
            "kind": result.text.kind,
            "url": f"/api/texts/{text_id}",
            "warnings": [
                {"line": w.line, "column": w.column, "message": w.message} for w in result.warnings
            ],
        }
        return JSONResponse(body, status_code=201, headers={"Location": body["url"]})

    async def _upload(self, request: Request) -> tuple[str, bytes]:
        """The uploaded file's name and bytes, refusing anything over the size limit."""
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_upload_bytes:
            raise self._too_large()
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in (*MARKDOWN_TYPES, "multipart/form-data"):
            raise ApiError(
                415,
                "send the text as text/markdown (the raw file) or as multipart/form-data "
                "with a field named 'file'",
                {
                    "content_type": media_type or None,
                    "accepted": [*MARKDOWN_TYPES, "multipart/form-data"],
                },
            )
        # The length header may be absent (chunked) or wrong: count what really arrives.
        body = await self._read_limited(request)
        if media_type != "multipart/form-data":
            return "the text", body
        replay = Request(request.scope, _replay(body))
        form = await replay.form(max_files=1, max_fields=20, max_part_size=self.max_upload_bytes)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(
                400,
                "the form has no file field named 'file'",
                {"fields": sorted(form.keys())},
            )
        return upload.filename or "the file", await upload.read()

    async def _read_limited(self, request: Request) -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_upload_bytes:
                raise self._too_large()
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self) -> ApiError:
        limit = self.max_upload_bytes
        return ApiError(
            413,
            f"the text is larger than the {limit // (1024 * 1024) or limit} "
            f"{'MB' if limit >= 1024 * 1024 else 'bytes'} this server accepts",
            {"max_bytes": limit},
        )


def _decode(name: str, data: bytes) -> str:
    if not data.strip():
        raise ApiError(400, f"{name} is empty: send the Markdown source of a text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise ApiError(
            400,
            f"{name} is not UTF-8 text (line {line}, column {column}); save it as UTF-8",
            {"line": line, "column": column},
        ) from None


def _replay(body: bytes) -> Any:
    """An ASGI receive callable that hands `body` over again, for the form parser."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def _metadata(info: TextInfo) -> dict[str, Any]:
    return {
        "id": info.id,
        "title": info.title,
        "kind": info.kind,
        "created": info.created.isoformat(),
        "updated": info.updated.isoformat(),
        "url": f"/api/texts/{info.id}",
    }


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"error": exc.error, "detail": exc.detail}, status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {
        404: f"nothing at {request.url.path}; the API is under /api/texts",
        405: f"{request.method} is not allowed on {request.url.path}",
    }
    error = messages.get(exc.status_code, exc.detail)
    return JSONResponse(
        {"error": error, "detail": None}, status_code=exc.status_code, headers=exc.headers
    )


def _index_page(texts: list[TextInfo]) -> str:
    items = "\n".join(
        f'<li><a href="/api/texts/{html.escape(t.id)}">{html.escape(t.title or "(untitled)")}'
        f"</a> <small>{html.escape(t.kind)} · {t.created:%Y-%m-%d %H:%M} UTC · "
        f"<code>{html.escape(t.id)}</code></small></li>"
        for t in texts
    )
    listing = f"<ul>\n{items}\n</ul>" if texts else "<p>No texts yet: import one below.</p>"
    return f"""<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Travaux</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}}
small{{color:#555}}</style>
<h1>Travaux</h1>
<p>Negotiation texts on this server (each link is the text as JSON: statistics, clean and
bracketed text). The co-drafting editor is not built yet.</p>
{listing}
<h2>Import a text</h2>
<form method="post" action="/api/texts" enctype="multipart/form-data">
<input type="file" name="file" accept=".md,.txt,text/markdown,text/plain" required>
<button>Import</button>
</form>
<p><a href="/api/openapi.json">API description (OpenAPI)</a></p>
</html>
"""
