"""HTTP routes for revisions, clause history, diffs and restore (`routes`, for the app).

    GET  /api/texts/{id}/revisions                     the revisions, oldest first
    POST /api/texts/{id}/revisions                     cut the next one {"label"}
    GET  /api/texts/{id}/revisions/{rev}               one revision, with its text
    GET  /api/texts/{id}/revisions/{rev}/export        as a file: ?format=akn|docx
                                                       ?mode=clean|negotiation|redline
                                                       ?from=REF (redline) ?keep_brackets=1
                                                       (a redline's {rev} and REF: a revision,
                                                       "now" or an ISO time)
    GET  /api/texts/{id}/verification                  is the hash chain intact?
    GET  /api/texts/{id}/clauses/{clause}/history      ?party ?person ?kind ?since ?until
                                                       ?subtree=1 ?limit
    GET  /api/texts/{id}/clauses/{clause}/at           ?at=REV (a revision, "now" or an
                                                       ISO time; also ?revision=) ?subtree=1
    GET  /api/texts/{id}/diff                          ?from=A &to=B (revisions, "now" or
                                                       ISO times)
                                                       ?clause=C ?all=1
    POST /api/texts/{id}/clauses/{clause}/restore      {"to": REV}
    POST /api/texts/{id}/revisions/import              a later draft (text/markdown, or
                                                       multipart `file`) as the next revision
                                                       ?label ?base_label

A clause is named by its id or a citation ("Article 2", "2.1(a)"). Reading needs the
`read` right in the text's negotiation, exporting a revision `export`, a restore `edit`,
cutting a revision or loading a later draft `decide` (`web.auth.member`); the person
signed in is the revision's author and the restore's, and every one of these acts is
written to the audit log. Errors are JSON `{"error": …, "detail": …}` (`web.errors`).
The store is `request.app.state.store`.

Changes (a revision's label, a restore, a later draft's edits) go through the text's room
when the app runs rooms (`request.app.state.rooms`), as any client's edit does: judged
against the caller's rights, applied, stored, sent to everyone editing. Without rooms they
are appended to the store directly.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt_sync import history_store as hs
from crdt_sync.accounts import Membership
from crdt_sync.connection import CloseCode, Closed, Connection, NoPeer
from crdt_sync.indexer import IndexerProcess
from crdt_sync.rooms import Rooms
from crdt_sync.store import Store, UnknownText
from drafting.diffs import clause_rendering, diff_texts, find_clause
from drafting.importers.parsed import SourceError
from drafting.importing import import_markdown
from drafting.redraft import RedraftError, redraft, restore_clause
from drafting.revisions import NOW, Revision, RevisionError, default_label, label_update
from drafting.schema import NegotiationText
from drafting.views import bracketed_text, clean_text
from drafting.vocabulary import Capability
from exporters.akn import export_akn
from exporters.docx import export_docx
from exporters.frbr import slug
from exporters.redline import export_redline
from web.auth import audit, identify, member, origin_of
from web.errors import ApiError
from web.exports import MEDIA_TYPES, SUFFIXES, export_refusals, format_and_mode

MAX_BODY_BYTES = 64 * 1024
MAX_DRAFT_BYTES = 8 * 1024 * 1024  # the COP21 drafts are 60-120 KB
DRAFT_TYPES = ("text/markdown", "text/x-markdown", "text/plain")
DEFAULT_LIMIT = 1000

Handler = Callable[[Request], Awaitable[Response]]


def _json_errors(handler: Handler) -> Handler:
    """Errors as JSON, whichever app the routes are mounted in."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return error.response()
        except UnknownText as error:
            return ApiError(404, str(error)).response()
        except KeyError as error:
            return ApiError(404, str(error.args[0] if error.args else error)).response()
        except (RevisionError, RedraftError) as error:
            return ApiError(409, str(error)).response()

    return wrapped


def _store(request: Request) -> Store:
    return request.app.state.store


# -- revisions ---------------------------------------------------------------------------------


@_json_errors
async def list_revisions(request: Request) -> Response:
    text_id = request.path_params["text_id"]
    await member(request, text_id, Capability.READ)
    revisions = await run_in_threadpool(hs.list_revisions, _store(request), text_id)
    return JSONResponse([_revision_json(text_id, r) for r in revisions])


@_json_errors
async def cut_revision(request: Request) -> Response:
    text_id = request.path_params["text_id"]
    membership = await member(request, text_id, Capability.DECIDE, doing="cut a revision")
    body = await _body(request)
    existing = await run_in_threadpool(hs.list_revisions, _store(request), text_id)
    label = _string(body, "label") or default_label(len(existing) + 1)
    _require_free(label, {r.label for r in existing})
    revision = await _cut(request, text_id, membership, label)
    body = _revision_json(text_id, revision)
    return JSONResponse(body, status_code=201, headers={"Location": body["url"]})


async def _cut(
    request: Request, text_id: str, membership: Membership, label: str, *, draft: str = ""
) -> Revision:
    """Cut the next revision as the caller: its label written into the text through the
    room (a logged change), the revision recorded as of that change, the act audited."""
    identity = await identify(request)
    store = _store(request)
    author = identity.name  # whoever is signed in, whatever a body claims
    text = await _current(request, text_id)
    update = label_update(text, label)
    origin = origin_of(identity, membership, action="revise")
    updates = [update] if update != hs.EMPTY_UPDATE else []
    ids = await _apply(request, text_id, updates, origin, membership)
    up_to = ids[-1] if ids else await run_in_threadpool(hs.last_update_id, store, text_id)
    revision = await run_in_threadpool(
        lambda: hs.record_revision(store, text_id, up_to=up_to, label=label, author=author)
    )
    detail: dict[str, Any] = {
        "label": revision.label,
        "number": revision.number,
        "hash": revision.hash,
    }
    if draft:
        detail["draft"] = draft
    await audit(
        request,
        "revision-cut",
        membership=membership,
        text_id=text_id,
        target=revision.label,
        detail=detail,
    )
    return revision


def _require_free(label: str, taken: set[str]) -> None:
    if label in taken:
        raise ApiError(409, f"a revision is already labelled {label!r}", {"label": label})


@_json_errors
async def import_revision(request: Request) -> Response:
    """A later draft loaded as the next revision of the same text: its clauses matched
    with the text's, the differences applied through the room as the caller's edits (each
    clause keeps its history), then a revision cut. A text without revisions first gets one
    of itself as it stood (`base_label`), so that the two can be compared."""
    text_id = request.path_params["text_id"]
    membership = await member(
        request, text_id, Capability.DECIDE, doing="load a draft as the next revision"
    )
    identity = await identify(request)
    name, source = await _draft_upload(request)
    try:
        draft = await run_in_threadpool(import_markdown, source)
    except SourceError as error:
        raise ApiError(
            422,
            f"{name} could not be read as a draft: {error}",
            {"line": error.line, "column": error.column, "message": str(error)},
        ) from None
    store = _store(request)
    query = request.query_params
    existing = await run_in_threadpool(hs.list_revisions, store, text_id)
    taken = {r.label for r in existing}
    number = len(existing) + 1
    base_label = None
    if not existing:
        base_label = (query.get("base_label") or "").strip() or default_label(number)
        _require_free(base_label, taken)
        taken.add(base_label)
        number += 1
    label = (query.get("label") or "").strip() or default_label(number)
    _require_free(label, taken)
    base = await _cut(request, text_id, membership, base_label) if base_label else None
    text = await _current(request, text_id)
    report = await run_in_threadpool(redraft, text, draft.text)
    origin = origin_of(identity, membership, action="redraft", rev=label, file=name)
    await _apply(request, text_id, report.updates, origin, membership)
    revision = await _cut(request, text_id, membership, label, draft=name)
    body = {
        **_revision_json(text_id, revision),
        "base": _revision_json(text_id, base) if base is not None else None,
        "redraft": report.counts(),
        "warnings": [
            {"line": w.line, "column": w.column, "message": w.message} for w in draft.warnings
        ],
    }
    return JSONResponse(body, status_code=201, headers={"Location": body["url"]})


async def _draft_upload(request: Request) -> tuple[str, str]:
    """The draft's file name and text: the raw body (text/markdown, ?file=NAME) or the
    `file` field of a multipart form."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in (*DRAFT_TYPES, "multipart/form-data"):
        raise ApiError(
            415,
            "send the draft as text/markdown (the raw file) or as multipart/form-data with "
            "a field named 'file'",
            {"content_type": media_type or None, "accepted": [*DRAFT_TYPES, "multipart/form-data"]},
        )
    raw = await _read(request, MAX_DRAFT_BYTES)
    name = (request.query_params.get("file") or "the draft").strip()[:200]
    if media_type == "multipart/form-data":
        replay = Request(request.scope, _replay(raw))
        form = await replay.form(max_files=1, max_fields=20, max_part_size=MAX_DRAFT_BYTES)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(400, "the form has no file field named 'file'")
        name = (upload.filename or name)[:200]
        raw = await upload.read()
    if not raw.strip():
        raise ApiError(400, f"{name} is empty: send the Markdown source of the later draft")
    try:
        return name, raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ApiError(400, f"{name} is not UTF-8 text: {error.reason}") from None


async def _read(request: Request, limit: int) -> bytes:
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise ApiError(413, f"the request body is larger than {limit} bytes")
    return raw


def _replay(body: bytes) -> Callable[[], Awaitable[dict[str, Any]]]:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


@_json_errors
async def get_revision(request: Request) -> Response:
    text_id, ref = request.path_params["text_id"], request.path_params["revision"]
    await member(request, text_id, Capability.READ)

    def read() -> dict[str, Any]:
        revision = hs.get_revision(_store(request), text_id, ref)
        text = revision.open()
        clean = clean_text(text)
        return {
            **_revision_json(text_id, revision),
            "bracketed": bracketed_text(text),
            "clean": {"text": clean.text, "open_brackets": len(clean.open_brackets)},
        }

    return JSONResponse(await run_in_threadpool(read))


REF_KINDS = "a revision (its label or number), now, or an ISO 8601 time"


@_json_errors
async def export_revision(request: Request) -> Response:
    """A revision as a file, as `GET /api/texts/{id}/export` makes one of the text as it
    stands (`web.exports`). A redline compares `from` with `{revision}` as Word tracked
    changes; both sides are what `history_store.open_state` opens (a revision, "now" or an
    ISO time), so "Rev.1 → now" is `/revisions/now/export?…&from=Rev.1`. Other modes export
    a revision only. An unknown revision (or a time before the text) is a 404 naming the
    side; a "now" or a time where a revision is needed, a 400."""
    text_id, ref = request.path_params["text_id"], request.path_params["revision"]
    membership = await member(request, text_id, Capability.EXPORT, doing="export a revision")
    query = request.query_params
    fmt, mode = format_and_mode(query, {"format", "mode", "language", "keep_brackets", "from"})
    redline = mode == "redline"
    if redline and (fmt != "docx" or not query.get("from", "").strip()):
        raise ApiError(
            400,
            "a redline is a Word document from an earlier state: "
            "format=docx&mode=redline&from=REF (REF: " + REF_KINDS + ")",
            {"format": fmt, "from": query.get("from")},
        )
    store = _store(request)
    language = query.get("language") or None
    # "now" is the text as everyone editing sees it: the room's document if it is open.
    now = await _current(request, text_id) if _is_now(ref) or _is_now(query.get("from")) else None

    def state(side: str, reference: str) -> tuple[str, NegotiationText]:
        if _is_now(reference) and now is not None:
            return NOW, now
        try:
            return hs.open_state(store, text_id, reference.strip())
        except RevisionError as error:
            raise ApiError(
                404, f"{side}: {error}", {side: reference, "expected": REF_KINDS}
            ) from None

    def make() -> tuple[bytes, str, str, str]:
        with export_refusals():
            if redline:
                from_name, before = state("from", query["from"])
                to_name, after = state("to", ref)
                data = export_redline(before, after, language=language)
                return data, after.title, to_name, from_name
            try:
                revision = hs.get_revision(store, text_id, ref)
            except RevisionError as error:
                if _is_now(ref) or hs.as_time(ref) is not None:
                    raise ApiError(
                        400,
                        f"only a revision (its label or number) is exported as {mode}, not "
                        f"{ref!r}: the text as it stands is GET /api/texts/{text_id}/export; "
                        "now and times are for a redline's sides",
                        {"revision": ref, "mode": mode},
                    ) from None
                raise ApiError(404, str(error), {"revision": ref}) from None
            text = revision.open()
            exporter = export_akn if fmt == "akn" else export_docx
            keep = _flag(query.get("keep_brackets"))
            data = exporter(text, mode, keep_brackets=keep, language=language)
            return data, text.title, revision.label, ""

    data, title, label, from_label = await run_in_threadpool(make)
    detail = {"format": fmt, "mode": mode, "text": text_id, "revision": label}
    name = f"{slug(title, 'text')}-{slug(label, 'revision')}-{mode}.{SUFFIXES[fmt]}"
    if redline:
        detail["from"] = from_label
        name = (
            f"{slug(title, 'text')}-{slug(from_label, 'revision')}-to-"
            f"{slug(label, 'revision')}-{mode}.{SUFFIXES[fmt]}"
        )
    await audit(request, "export", membership=membership, text_id=text_id, detail=detail)
    return Response(
        data,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _is_now(reference: str | None) -> bool:
    """Whether `reference` names the text as it stands."""
    return (reference or "").strip().lower() == NOW


@_json_errors
async def verification(request: Request) -> Response:
    text_id = request.path_params["text_id"]
    await member(request, text_id, Capability.READ)
    store = _store(request)
    problems = await run_in_threadpool(hs.verify_revisions, store, text_id)
    revisions = await run_in_threadpool(hs.list_revisions, store, text_id)
    return JSONResponse(
        {
            "intact": not problems,
            "revisions": len(revisions),
            "head": revisions[-1].hash if revisions else None,
            "problems": [{"number": p.number, "problem": p.what} for p in problems],
        }
    )


# -- history --------------------------------------------------------------------------------------


@_json_errors
async def clause_history(request: Request) -> Response:
    text_id = request.path_params["text_id"]
    await member(request, text_id, Capability.READ)
    store = _store(request)
    clause = await _clause(request, text_id)
    query = request.query_params
    limit = _integer(query.get("limit"), DEFAULT_LIMIT)
    try:
        entries = await run_in_threadpool(
            lambda: hs.clause_history(
                store,
                text_id,
                clause,
                subtree=_flag(query.get("subtree")),
                party=query.get("party"),
                person=query.get("person"),
                kind=query.get("kind"),
                since=_time(query.get("since")),
                until=_time(query.get("until")),
            )
        )
    except ValueError as error:  # an unknown kind
        raise ApiError(400, str(error), {"kind": query.get("kind")}) from None
    shown = entries[-limit:] if limit else entries
    return JSONResponse(
        {
            "clause": clause,
            "count": len(entries),
            "entries": [e.to_json() for e in shown],
        }
    )


@_json_errors
async def clause_at(request: Request) -> Response:
    text_id = request.path_params["text_id"]
    await member(request, text_id, Capability.READ)
    clause = await _clause(request, text_id)
    query = request.query_params
    ref = query.get("at") or query.get("revision") or NOW
    name, then = await run_in_threadpool(hs.open_state, _store(request), text_id, ref)
    if not then.has_clause(clause):
        raise ApiError(404, f"clause {clause!r} did not exist in {name}", {"revision": name})
    subtree = _flag(request.query_params.get("subtree"))
    return JSONResponse(
        {
            "clause": clause,
            "revision": name,
            "words": clause_rendering(then, clause, subtree=subtree),
        }
    )


@_json_errors
async def diff(request: Request) -> Response:
    text_id = request.path_params["text_id"]
    await member(request, text_id, Capability.READ)
    query = request.query_params
    if "from" not in query or "to" not in query:
        raise ApiError(400, "say what to compare: ?from=REV&to=REV (a label, a number or now)")
    store = _store(request)
    old_name, old = await run_in_threadpool(hs.open_state, store, text_id, query["from"])
    new_name, new = await run_in_threadpool(hs.open_state, store, text_id, query["to"])
    clause = None
    if query.get("clause"):
        clause = _find(new, query["clause"], fallback=old)
    result = await run_in_threadpool(lambda: diff_texts(old, new, clause=clause))
    body = result.to_json()
    if _flag(query.get("all")):
        body["clauses"] = [c.to_json() for c in result.clauses]
    return JSONResponse({"from": old_name, "to": new_name, **body})


@_json_errors
async def restore(request: Request) -> Response:
    text_id = request.path_params["text_id"]
    membership = await member(request, text_id, Capability.EDIT, doing="restore a clause")
    identity = await identify(request)
    body = await _body(request)
    to = _string(body, "to")
    if not to or to.lower() == NOW:
        raise ApiError(400, 'say which revision to restore from: {"to": "Rev.2"}')
    store = _store(request)
    clause = await _clause(request, text_id)
    revision = await run_in_threadpool(hs.get_revision, store, text_id, to)
    text = await _current(request, text_id)
    updates = await run_in_threadpool(restore_clause, text, clause, revision.open())
    origin = origin_of(identity, membership, action="restore", rev=revision.label)
    ids = await _apply(request, text_id, updates, origin, membership)
    if ids:
        await audit(
            request,
            "clause-restored",
            membership=membership,
            text_id=text_id,
            target=clause,
            detail={"clause": clause, "revision": revision.label, "changes": len(ids)},
        )
    return JSONResponse(
        {
            "clause": clause,
            "restored_from": revision.label,
            "changes": ids,
            "words": clause_rendering(text, clause),
        },
        status_code=201 if ids else 200,
    )


# -- writing through the room ---------------------------------------------------------------------


async def _current(request: Request, text_id: str) -> NegotiationText:
    """A copy of the text as it stands: the room's document if it is open (it may hold
    edits not yet on disk), else the store's."""
    rooms = getattr(request.app.state, "rooms", None)
    room = rooms.get(text_id) if rooms is not None else None
    if room is not None:
        return NegotiationText.from_update(room.doc.get_update())
    return await run_in_threadpool(hs.text_at, _store(request), text_id)


async def _apply(
    request: Request,
    text_id: str,
    updates: Sequence[bytes],
    origin: str,
    membership: Membership,
) -> list[int]:
    """Log ids of `updates`, applied as the caller's edits through the text's room: the
    room's guard judges them with the caller's rights, as it judges a client's."""
    if not updates:
        return []
    rooms: Rooms | None = getattr(request.app.state, "rooms", None)
    if rooms is None:
        return await run_in_threadpool(
            hs.append_updates, _store(request), text_id, list(updates), origin
        )
    room = await rooms.open(text_id)
    sender = Connection(NoPeer(), rooms.limits, origin=origin, actor=membership.actor)
    identity = await identify(request)
    # Who the room's audit entries and rights checks name, as for a signed-in client.
    sender.person, sender.person_id = identity.login, identity.person_id
    sender.credential, sender.negotiation_id = identity.credential, membership.negotiation_id
    ids = []
    try:
        for update in updates:
            ids.append(await room.apply_local(sender, update))
    except Closed as closed:
        status = 403 if closed.code == CloseCode.POLICY else 409
        raise ApiError(status, f"the server refused the change: {closed.reason}") from None
    finally:
        sender.cancel()
        rooms.release(room)
    return ids


# -- request details -------------------------------------------------------------------------------


async def _clause(request: Request, text_id: str) -> str:
    text = await _current(request, text_id)
    return _find(text, request.path_params["clause"])


def _find(text: NegotiationText, reference: str, fallback: NegotiationText | None = None) -> str:
    for candidate in (text, fallback):
        if candidate is None:
            continue
        try:
            return find_clause(candidate, reference)
        except KeyError:
            continue
    raise ApiError(404, f"no clause {reference!r} in this text", {"clause": reference})


async def _body(request: Request) -> dict[str, Any]:
    raw = await _read(request, MAX_BODY_BYTES)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "the request body is not JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "the request body must be a JSON object")
    return body


def _string(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ApiError(400, f"{key!r} must be a string", {key: value})
    return value.strip()


def _flag(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes")


def _integer(value: str | None, default: int) -> int:
    if value is None:
        return default
    if not value.isdigit():
        raise ApiError(400, f"limit must be a whole number, not {value!r}")
    return int(value)


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    when = hs.as_time(value)
    if when is None:
        raise ApiError(400, f"{value!r} is not a time (ISO 8601)", {"time": value})
    return when


def _revision_json(text_id: str, revision: Any) -> dict[str, Any]:
    return {
        **revision.summary(),
        "url": f"/api/texts/{text_id}/revisions/{revision.number}",
    }


# -- indexing in the background -------------------------------------------------------------------


# Where an app's histories are indexed: a worker thread of its process; a process of its
# own (`crdt_sync.indexer`; a thread for an in-memory store, which no other process can
# open); or elsewhere, by another process (the one beside `travaux serve --workers N`).
INDEXING_MODES = ("thread", "process", "elsewhere")


@contextlib.asynccontextmanager
async def history_indexing(
    app: Any, *, poll_seconds: float = 1.0, mode: str = "thread"
) -> AsyncIterator[Any]:
    """For the app's lifespan: keep every text's history indexed as clients type, so that
    the first reading of a clause's history finds it ready (`hs.HistoryIndexing`), as
    `mode` says (`INDEXING_MODES`):

        async with history_indexing(app):
            yield
    """
    if mode not in INDEXING_MODES:
        raise ValueError(f"history indexing mode {mode!r}, not one of {INDEXING_MODES}")
    if mode == "elsewhere":
        yield None
        return
    store = app.state.store
    indexing: hs.HistoryIndexing | IndexerProcess
    if mode == "process" and not store.in_memory:  # no other process can open that one
        indexing = IndexerProcess(store, poll_seconds=poll_seconds)
    else:
        indexing = hs.HistoryIndexing(store, poll_seconds=poll_seconds)
    app.state.history_indexing = indexing
    indexing.start()
    try:
        yield indexing
    finally:
        await indexing.stop()


routes = [
    Route("/api/texts/{text_id}/revisions", list_revisions, methods=["GET"]),
    Route("/api/texts/{text_id}/revisions", cut_revision, methods=["POST"]),
    Route("/api/texts/{text_id}/revisions/import", import_revision, methods=["POST"]),
    Route("/api/texts/{text_id}/revisions/{revision}", get_revision, methods=["GET"]),
    Route("/api/texts/{text_id}/revisions/{revision}/export", export_revision, methods=["GET"]),
    Route("/api/texts/{text_id}/verification", verification, methods=["GET"]),
    Route("/api/texts/{text_id}/clauses/{clause}/history", clause_history, methods=["GET"]),
    Route("/api/texts/{text_id}/clauses/{clause}/at", clause_at, methods=["GET"]),
    Route("/api/texts/{text_id}/clauses/{clause}/restore", restore, methods=["POST"]),
    Route("/api/texts/{text_id}/diff", diff, methods=["GET"]),
]
