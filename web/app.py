"""The HTTP application: negotiation texts as JSON, sign-in, and a small home page.

    GET  /api/texts           the texts of my negotiations, with their headline counts
    POST /api/texts           ?negotiation=ID: import a Markdown text into that negotiation
                              (raw text/markdown or a file upload; needs `structure`)
    GET  /api/texts/{id}      one text: statistics, clean and bracketed text (needs `read`)
    GET  /api/negotiations    my negotiations: their Parties, my role, their texts
    GET  /api/openapi.json    this API described in OpenAPI 3.1 (public)
    GET  /                    who is signed in and the texts they may open (public)

Sign-in, sessions and the rights of each call are in `web.auth`; exports, history and the
WebSocket endpoint in their own modules. Errors are JSON `{"error": "<what went wrong, in
words>", "detail": <data or null>}` (`web.errors`). The store and the accounts are
synchronous; they run in the thread pool so that a large text being imported does not
stall the other requests.
"""

from __future__ import annotations

import contextlib
import html
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route
from starlette.types import Message

from crdt_sync.accounts import Accounts, Membership
from crdt_sync.audit import AuditLog
from crdt_sync.connection import Limits
from crdt_sync.rooms import Rooms
from crdt_sync.store import Store, TextInfo, UnknownText
from drafting.importers.parsed import SourceError
from drafting.importing import ImportResult, import_bytes, import_markdown, is_document_file
from drafting.parties import register_party
from drafting.schema import NegotiationText
from drafting.statistics import statistics
from drafting.views import bracketed_text, clean_text
from drafting.vocabulary import Capability
from web.audit import routes as audit_routes
from web.auth import (
    audit,
    identify,
    member,
    membership_json,
    negotiation_member,
    origin_of,
    person_json,
)
from web.auth import routes as auth_routes
from web.balloons import routes as balloon_routes
from web.client import routes as client_routes
from web.errors import EXCEPTION_HANDLERS, ApiError
from web.exports import routes as export_routes
from web.history import history_indexing
from web.history import routes as history_routes
from web.members import routes as member_routes
from web.openapi import openapi_document
from web.redaction import install as redact_tokens_in_logs
from web.sync import routes as sync_routes
from web.throttle import SignInThrottle

HISTORY_POLL_SECONDS = 5.0
MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # the longest COP21 draft is 121 KB
MARKDOWN_TYPES = ("text/markdown", "text/x-markdown", "text/plain")
# Raw uploads of the other formats Travaux reads (their names come from the type).
DOCUMENT_TYPES = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "upload.docx",
    "application/akn+xml": "upload.xml",
    "application/xml": "upload.xml",
    "text/xml": "upload.xml",
}
DEMO_TEXT = Path(__file__).parent / "demo" / "demo-text.md"


def import_demo(store: Store, parties: Sequence[tuple[str, str, str]] = ()) -> str:
    """Store the demo text shipped with the package, with `parties` (code, name, kind)
    in its registry so that they can table and float balloons; return its id."""
    result = import_markdown(DEMO_TEXT.read_text(encoding="utf-8"))
    for code, name, kind in parties:
        register_party(result.text, code, name, kind)
    return store_import(store, result, origin="demo")


def store_import(store: Store, result: ImportResult, *, origin: str) -> str:
    text = result.text
    return store.create_text(text.to_update(), title=text.title, kind=text.kind, origin=origin)


def create_app(
    store: Store,
    *,
    accounts: Accounts | None = None,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    limits: Limits | None = None,
) -> Starlette:
    """The app over `store`; `accounts` (default: over the same store) decides who may do
    what; every sign-in, export, revision and restore goes to the store's audit log."""
    accounts = accounts or Accounts(store)
    redact_tokens_in_logs()
    api = TextsApi(store, accounts, max_upload_bytes)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # The rooms live as long as the server: on shutdown every update received is
        # written and every room snapshotted before the process exits. With a Redis URL
        # (`travaux serve --redis`), this process is one of several serving the same
        # documents from one PostgreSQL database (crdt_sync.fanout, docs/DEPLOYMENT.md).
        fanout = None
        redis_url = getattr(app.state, "redis_url", None)
        if redis_url:
            from crdt_sync.fanout import DEFAULT_PREFIX, RedisFanout

            prefix = getattr(app.state, "redis_prefix", None) or DEFAULT_PREFIX
            fanout = RedisFanout(redis_url, prefix=prefix)
        app.state.rooms = Rooms(
            store, limits, accounts=accounts, audit=app.state.audit, fanout=fanout
        )
        await app.state.rooms.start()
        try:
            # Clause histories are indexed as people type, so that a first reading of
            # one finds it ready (docs/HISTORY.md), every 5 s. `travaux serve` does it
            # in a process of its own (`app.state.history_indexing_mode`): in the
            # server's, it held the interpreter away from the rooms (docs/PERFORMANCE.md).
            poll = getattr(app.state, "history_poll_seconds", HISTORY_POLL_SECONDS)
            mode = getattr(app.state, "history_indexing_mode", "thread")
            async with history_indexing(app, poll_seconds=poll, mode=mode):
                yield
        finally:
            await app.state.rooms.close()

    app = Starlette(
        routes=[
            Route("/", api.index, methods=["GET"]),
            Route("/api/texts", api.list_texts, methods=["GET"]),
            Route("/api/texts", api.create_text, methods=["POST"]),
            Route("/api/texts/{text_id}", api.get_text, methods=["GET"]),
            Route("/api/negotiations", api.list_negotiations, methods=["GET"]),
            Route("/api/openapi.json", api.openapi, methods=["GET"]),
            *audit_routes,
            *auth_routes,
            *balloon_routes,
            *member_routes,
            *export_routes,
            *history_routes,
            *sync_routes,
            *client_routes,
        ],
        lifespan=lifespan,
        exception_handlers=dict(EXCEPTION_HANDLERS),
    )
    app.state.store = store
    app.state.accounts = accounts
    app.state.sign_in_throttle = SignInThrottle()
    app.state.audit = AuditLog(store)
    return app


class TextsApi:
    def __init__(self, store: Store, accounts: Accounts, max_upload_bytes: int) -> None:
        self.store = store
        self.accounts = accounts
        self.max_upload_bytes = max_upload_bytes
        # Headline counts per (text, last change): listing should not rebuild every
        # document on every request.
        self._summaries: dict[tuple[str, str], dict[str, int]] = {}

    # -- reading ------------------------------------------------------------------------
    async def list_texts(self, request: Request) -> JSONResponse:
        identity = await identify(request)
        return JSONResponse(await run_in_threadpool(self._listing, identity.person_id))

    def _listing(self, person_id: str) -> list[dict[str, Any]]:
        """The texts of every negotiation the person is in, oldest first."""
        texts = [
            (info, membership.negotiation_id)
            for membership in self.accounts.memberships(person_id)
            if membership.actor.may(Capability.READ)
            for info in self._infos(membership.negotiation_id)
        ]
        texts.sort(key=lambda found: (found[0].created, found[0].id))
        return [
            {**_metadata(info), "negotiation": negotiation, "statistics": self._summary(info)}
            for info, negotiation in texts
        ]

    def _infos(self, negotiation_id: str) -> list[TextInfo]:
        infos = []
        for text_id in self.accounts.texts_of(negotiation_id):
            try:
                infos.append(self.store.get_text(text_id))
            except UnknownText:  # deleted since the list was read
                continue
        return infos

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
        membership = await member(request, text_id, Capability.READ)
        return JSONResponse(await run_in_threadpool(self._detail, text_id, membership))

    def _detail(self, text_id: str, membership: Membership) -> dict[str, Any]:
        try:
            info = self.store.get_text(text_id)
            text = NegotiationText.from_update(self.store.load(text_id))
        except UnknownText as error:
            raise ApiError(404, str(error), {"id": text_id}) from None
        clean = clean_text(text)
        return {
            **_metadata(info),
            "negotiation": membership.negotiation_id,
            "statistics": statistics(text),
            "clean": {"text": clean.text, "open_brackets": len(clean.open_brackets)},
            "bracketed": bracketed_text(text),
        }

    async def list_negotiations(self, request: Request) -> JSONResponse:
        identity = await identify(request)
        return JSONResponse(await run_in_threadpool(self._negotiations, identity.person_id))

    def _negotiations(self, person_id: str) -> list[dict[str, Any]]:
        found = []
        for membership in self.accounts.memberships(person_id):
            negotiation = self.accounts.negotiation(membership.negotiation_id)
            readable = membership.actor.may(Capability.READ)
            found.append(
                {
                    "id": negotiation.id,
                    "name": negotiation.name,
                    "parties": [
                        {"code": p.code, "name": p.name, "kind": p.kind}
                        for p in self.accounts.parties(negotiation.id)
                    ],
                    **{k: v for k, v in membership_json(membership).items() if k != "negotiation"},
                    "texts": [
                        {"id": info.id, "title": info.title, "url": f"/api/texts/{info.id}"}
                        for info in (self._infos(negotiation.id) if readable else [])
                    ],
                }
            )
        return found

    async def openapi(self, request: Request) -> JSONResponse:
        return JSONResponse(openapi_document(self.max_upload_bytes))

    async def index(self, request: Request) -> HTMLResponse:
        try:
            identity = await identify(request)
        except ApiError:
            return HTMLResponse(_signed_out_page())
        negotiations = await run_in_threadpool(self._negotiations, identity.person_id)
        return HTMLResponse(_index_page(person_json(identity), negotiations))

    # -- importing ------------------------------------------------------------------------
    async def create_text(self, request: Request) -> JSONResponse:
        identity = await identify(request)  # before anything else is said
        negotiation_id = request.query_params.get("negotiation", "")
        if not negotiation_id:
            raise ApiError(
                400,
                "say which negotiation the text is for: POST /api/texts?negotiation=ID",
                {"parameter": "negotiation"},
            )
        membership = await negotiation_member(
            request, negotiation_id, Capability.STRUCTURE, doing="import texts"
        )
        name, data = await self._upload(request)
        # Word and Akoma Ntoso files by name or content; anything else is Markdown text.
        source = None if is_document_file(name, data) else _decode(name, data)
        try:
            if source is None:
                result = await run_in_threadpool(import_bytes, name, data)
            else:
                result = await run_in_threadpool(import_markdown, source)
        except SourceError as error:
            raise ApiError(
                422,
                f"{name} could not be imported: {error}",
                {"line": error.line, "column": error.column, "message": str(error)},
            ) from None
        origin = origin_of(identity, membership, action="import")

        def store_and_attach() -> str:
            text_id = store_import(self.store, result, origin=origin)
            self.accounts.attach_text(text_id, negotiation_id)
            return text_id

        text_id = await run_in_threadpool(store_and_attach)
        await audit(
            request,
            "text-attached",
            membership=membership,
            text_id=text_id,
            detail={"title": result.text.title[:200], "source": "http import"},
        )
        body = {
            "id": text_id,
            "title": result.text.title,
            "kind": result.text.kind,
            "negotiation": negotiation_id,
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
        accepted = [*MARKDOWN_TYPES, *DOCUMENT_TYPES, "multipart/form-data"]
        if media_type not in accepted:
            raise ApiError(
                415,
                "send the text as the raw file (Markdown, .docx or Akoma Ntoso XML) or as "
                "multipart/form-data with a field named 'file'",
                {"content_type": media_type or None, "accepted": accepted},
            )
        # The length header may be absent (chunked) or wrong: count what really arrives.
        body = await self._read_limited(request)
        if media_type != "multipart/form-data":
            return DOCUMENT_TYPES.get(media_type, "the text"), body
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


_PAGE_STYLE = """<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;
padding:0 1rem}small{color:#555}header{display:flex;justify-content:space-between;
align-items:baseline;gap:1rem}</style>"""

# The page's scripts send the csrf token that GET /api/session returns with every change.
_PAGE_SCRIPT = """<script>
async function csrf() {
  return (await (await fetch("/api/session")).json()).csrf;
}
document.getElementById("signout").addEventListener("click", async () => {
  await fetch("/api/session", {method: "DELETE", headers: {"X-CSRF-Token": await csrf()}});
  window.location.assign("/signin");
});
for (const form of document.querySelectorAll("form.import")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const status = form.querySelector("output");
    const response = await fetch(form.action, {
      method: "POST", body: new FormData(form), headers: {"X-CSRF-Token": await csrf()},
    });
    const body = await response.json();
    if (response.ok) { window.location.reload(); } else { status.textContent = body.error; }
  });
}
</script>"""


def _signed_out_page() -> str:
    return f"""<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Travaux</title>
{_PAGE_STYLE}
<h1>Travaux</h1>
<p>Negotiation texts with their brackets, alternatives and options, drafted together.</p>
<p><a href="/signin">Sign in</a> to see the texts of your negotiations.</p>
<p><a href="/api/openapi.json">API description (OpenAPI)</a></p>
</html>
"""


def _index_page(person: dict[str, Any], negotiations: list[dict[str, Any]]) -> str:
    sections = "\n".join(_negotiation_section(n) for n in negotiations) or (
        "<p>You have no role in any negotiation yet: ask its chair or secretariat.</p>"
    )
    return f"""<!doctype html>
<html lang="en">
<meta charset="utf-8">
<title>Travaux</title>
{_PAGE_STYLE}
<header><h1>Travaux</h1>
<p>Signed in as <strong>{html.escape(person["name"])}</strong>
<small>({html.escape(person["login"])})</small>
<button id="signout" type="button">Sign out</button></p></header>
{sections}
<p><a href="/api/openapi.json">API description (OpenAPI)</a></p>
{_PAGE_SCRIPT}
</html>
"""


def _negotiation_section(negotiation: dict[str, Any]) -> str:
    role = html.escape(negotiation["role"])
    party = negotiation["party"]
    acting = f"{role} for {html.escape(party)}" if party else role
    # Each text: its JSON (the title) and its drafting room (web/client.py).
    items = "\n".join(
        f'<li><a href="{html.escape(t["url"])}">{html.escape(t["title"] or "(untitled)")}</a> '
        f"<small><code>{html.escape(t['id'])}</code></small> — "
        f'<a class="room" href="/texts/{quote(t["id"], safe="")}"><strong>open its drafting room'
        "</strong></a></li>"
        for t in negotiation["texts"]
    )
    listing = f"<ul>\n{items}\n</ul>" if items else "<p>No texts yet.</p>"
    upload = ""
    if Capability.STRUCTURE.value in negotiation["capabilities"]:
        action = f"/api/texts?negotiation={quote(negotiation['id'])}"
        upload = f"""<form class="import" method="post" action="{html.escape(action)}">
<input type="file" name="file" accept=".md,.txt,text/markdown,text/plain" required>
<button>Import a text</button> <output></output>
</form>"""
    rights = html.escape(", ".join(negotiation["capabilities"]))
    parties = html.escape(", ".join(p["code"] for p in negotiation["parties"]) or "none")
    return f"""<section>
<h2>{html.escape(negotiation["name"])}</h2>
<p>You are <strong>{acting}</strong>: you may {rights}. <small>Parties: {parties}</small></p>
{listing}
{upload}
</section>"""
