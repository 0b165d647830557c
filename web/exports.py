"""HTTP downloads of a text as Akoma Ntoso or Word (`routes`, for the app).

    GET /api/texts/{id}/export?format=akn|docx&mode=clean|negotiation|redline
                              &language=en &keep_brackets=1 &from=ID &to=ID

The body is the file, with its media type and a Content-Disposition naming it after the
text. A redline (Word only) compares text `from` with text `to` (default: this text) and
shows the changes as tracked changes. The caller needs the `export` right in the
negotiation of every text the file is made of (`web.auth.member`); each export is written
to the audit log. Errors are JSON `{"error": …, "detail": …}` (`web.errors`): 400 a wrong
parameter, 401 not signed in, 403 a role that may not export, 404 no such text (or not
one of the caller's), 409 a clean export of a text whose brackets are still open (`detail`
lists them; `keep_brackets=1` exports them as brackets). The store is
`request.app.state.store`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from crdt_sync.store import Store, UnknownText
from drafting.schema import NegotiationText
from drafting.vocabulary import Capability
from exporters.akn import export_akn
from exporters.document import ExportError, OpenBracketsError
from exporters.docx import export_docx
from exporters.frbr import slug
from exporters.redline import export_redline
from web.auth import audit, member
from web.errors import ApiError

MEDIA_TYPES = {
    "akn": "application/akn+xml",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
SUFFIXES = {"akn": "xml", "docx": "docx"}
MODES = ("clean", "negotiation", "redline")
TRUE = ("1", "true", "yes", "on")
FALSE = ("", "0", "false", "no", "off")


async def export_text(request: Request) -> Response:
    text_id = request.path_params["text_id"]
    membership = await member(request, text_id, Capability.EXPORT)
    options = _options(request)
    for other in {options["from"], options["to"]} - {None, "", text_id}:
        await member(request, other, Capability.EXPORT)  # a redline shows both texts
    store: Store = request.app.state.store
    data, title = await run_in_threadpool(_export, store, text_id, options)
    await audit(
        request,
        "export",
        membership=membership,
        text_id=text_id,
        detail={
            "format": options["format"],
            "mode": options["mode"],
            "text": text_id,
            **{key: options[key] for key in ("from", "to", "language") if options[key]},
            **({"keep_brackets": True} if options["keep_brackets"] else {}),
        },
    )
    name = f"{slug(title, 'text')}-{options['mode']}.{SUFFIXES[options['format']]}"
    return Response(
        data,
        media_type=MEDIA_TYPES[options["format"]],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def format_and_mode(query: Mapping[str, str], allowed: set[str]) -> tuple[str, str]:
    """An export request's `format` and `mode` (negotiation unless said), checked, with
    any parameter outside `allowed` refused by name."""
    unknown = sorted(set(query) - allowed)
    if unknown:
        raise ApiError(400, f"unknown parameter(s): {', '.join(unknown)}", {"unknown": unknown})
    fmt = query.get("format", "")
    if fmt not in MEDIA_TYPES:
        raise ApiError(400, "format must be akn or docx", {"format": fmt or None})
    mode = query.get("mode", "negotiation")
    if mode not in MODES:
        raise ApiError(400, "mode must be clean, negotiation or redline", {"mode": mode})
    return fmt, mode


@contextmanager
def export_refusals() -> Iterator[None]:
    """What an exporter refuses, as the API answers it: a clean text with open brackets is
    a 409 listing them; anything else it cannot export, a 400."""
    try:
        yield
    except OpenBracketsError as error:
        detail = {
            "open_brackets": [
                {"clause": b.clause, "label": b.label, "kind": b.kind, "words": b.words}
                for b in error.open_brackets
            ],
            "hint": "keep_brackets=1 exports them as brackets",
        }
        raise ApiError(409, error.headline, detail) from None
    except ExportError as error:
        raise ApiError(400, str(error), None) from None


def _options(request: Request) -> dict[str, Any]:
    query = request.query_params
    fmt, mode = format_and_mode(
        query, {"format", "mode", "language", "keep_brackets", "from", "to"}
    )
    keep = query.get("keep_brackets", "").lower()
    if keep not in TRUE + FALSE:
        raise ApiError(400, "keep_brackets must be 1 or 0", {"keep_brackets": keep})
    if mode == "redline" and fmt != "docx":
        raise ApiError(400, "a redline is a Word document: use format=docx", {"format": fmt})
    if mode == "redline" and not query.get("from"):
        raise ApiError(400, "a redline needs from=<id of the earlier text>", None)
    return {
        "format": fmt,
        "mode": mode,
        "language": query.get("language") or None,
        "keep_brackets": keep in TRUE,
        "from": query.get("from"),
        "to": query.get("to"),
    }


def _load(store: Store, text_id: str) -> NegotiationText:
    try:
        return NegotiationText.from_update(store.load(text_id))
    except UnknownText as error:
        raise ApiError(404, str(error), {"id": text_id}) from None


def _export(store: Store, text_id: str, options: dict[str, Any]) -> tuple[bytes, str]:
    text = _load(store, text_id)
    with export_refusals():
        if options["mode"] == "redline":
            before = _load(store, options["from"])
            after = _load(store, options["to"]) if options["to"] else text
            return export_redline(before, after, language=options["language"]), after.title
        exporter = export_akn if options["format"] == "akn" else export_docx
        data = exporter(
            text,
            options["mode"],
            keep_brackets=options["keep_brackets"],
            language=options["language"],
        )
        return data, text.title


routes = [Route("/api/texts/{text_id}/export", export_text, methods=["GET"])]
