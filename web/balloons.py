"""Trial balloons over HTTP: float, list, withdraw, promote.

    GET    /api/texts/{id}/balloons                     the balloons I may see
    POST   /api/texts/{id}/balloons                     float one (a delegate, for their Party)
    DELETE /api/texts/{id}/balloons/{balloon}           withdraw it (its Party, or the chair)
    POST   /api/texts/{id}/balloons/{balloon}/promote   table it as a proposal of its Party

Balloon documents change only through these operations (`drafting.scopes`): the server
makes each change as itself, in the scope's room, so that it reaches exactly the people
admitted to that scope. Withdrawing purges the scope's stored record (and the chair's
record of authors), so the words are kept nowhere; the audit log keeps that the balloon
existed, never its words — nor, for an unattributed one, its Party.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

from pycrdt import Doc
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from crdt_sync.accounts import Membership
from crdt_sync.authorize import SERVER
from crdt_sync.connection import Closed, Connection, NoPeer
from crdt_sync.room import EMPTY_UPDATE, Room
from crdt_sync.rooms import Rooms
from crdt_sync.store import Store
from drafting.balloons import (
    BalloonError,
    Scope,
    author_of,
    float_balloon,
    promote_balloon,
    view_of,
    withdraw_balloon,
)
from drafting.history import make_origin
from drafting.schema import BalloonDocument, NegotiationText
from drafting.scopes import BALLOONS, DocumentScope, refusal_to_open
from drafting.vocabulary import BalloonScopeKind, Capability, Role
from web.auth import audit, identify, member, origin_of
from web.errors import ApiError

T = TypeVar("T")
MAX_BALLOON_BYTES = 64 * 1024


# -- reading ----------------------------------------------------------------------------------


async def list_balloons(request: Request) -> Response:
    """Each balloon of a scope the caller is admitted to, plus their own Party's balloons
    in scopes they are not in (one floated to the chair only, say)."""
    text_id = request.path_params["text_id"]
    membership = await member(request, text_id, Capability.READ)
    actor = membership.actor
    scoped = await run_in_threadpool(_store(request).scoped_documents, text_id)
    authors_id = scoped.get(DocumentScope.authors().key)
    authors = await _document(request, authors_id) if authors_id is not None else None
    found = []
    for scope, doc_id in _balloon_scopes(scoped):
        admitted = refusal_to_open(actor, scope) is None
        document = await _document(request, doc_id)
        for record in document.balloons():
            author = author_of(document, record.id, authors)
            if admitted or (actor.party and author == actor.party):
                view = view_of(record, author, party=actor.party, chair=actor.role == Role.CHAIR)
                found.append({**asdict(view), "scope": Scope.from_key(scope.name).to_json()})
    found.sort(key=lambda b: (b["floated"], b["id"]))
    return JSONResponse({"balloons": found})


def _balloon_scopes(scoped: dict[str, str]) -> list[tuple[DocumentScope, str]]:
    """The balloon scope documents among a text's scoped documents."""
    scopes = [(DocumentScope.parse(key), doc_id) for key, doc_id in sorted(scoped.items())]
    return [
        (scope, doc_id)
        for scope, doc_id in scopes
        if scope.kind == BALLOONS and scope != DocumentScope.authors()
    ]


# -- changing ---------------------------------------------------------------------------------


async def float_one(request: Request) -> Response:
    text_id = request.path_params["text_id"]
    membership = await member(request, text_id, Capability.TABLE, doing="float a trial balloon")
    if not membership.party:
        raise ApiError(403, "trial balloons are floated by delegations, in their Party's name")
    body = await _json_body(request)
    scope = _scope(body.get("scope"))
    attributed = body.get("attributed", True)
    clause, words, at = body.get("clause"), body.get("words"), body.get("at", 0)
    if not isinstance(clause, str) or not isinstance(words, str) or not isinstance(at, int):
        raise ApiError(422, "give the clause id, the words and the position 'at' (an integer)")
    if not isinstance(attributed, bool):
        raise ApiError(422, "'attributed' is true or false")
    text = await _text(request, text_id)
    authors = None if attributed else await _open(request, text_id, DocumentScope.authors())
    room = await _open(request, text_id, DocumentScope.balloons(scope))
    try:
        balloon_id = await _change(
            request,
            room,
            lambda doc, author_doc: float_balloon(
                doc,
                text,
                membership.party,
                scope,
                clause=clause,
                at=at,
                words=words,
                attributed=attributed,
                authors=author_doc,
            ),
            authors_room=authors,
        )
    finally:
        _release(request, room, authors)
    await audit(
        request,
        "balloon-floated",
        membership=membership if attributed else _anonymous(membership),
        text_id=text_id,
        target=balloon_id,
        detail={"scope": scope.key, "attributed": attributed},
    )
    return JSONResponse({"id": balloon_id, "scope": scope.to_json()}, status_code=201)


async def withdraw_one(request: Request) -> Response:
    text_id, balloon_id = request.path_params["text_id"], request.path_params["balloon_id"]
    membership = await member(request, text_id, Capability.READ)
    if not (membership.actor.may(Capability.TABLE) or membership.role == Role.CHAIR):
        raise ApiError(403, f"a {membership.role.value} may not withdraw trial balloons")
    scope, room, authors = await _find(request, text_id, balloon_id)
    rooms: Rooms = request.app.state.rooms
    try:
        document = BalloonDocument(room.doc)
        author_docs = BalloonDocument(authors.doc) if authors is not None else None
        author = author_of(document, balloon_id, author_docs)
        attributed = document.balloon(balloon_id).attributed
        party = author if membership.role == Role.CHAIR else membership.party
        await _change(
            request,
            room,
            lambda doc, author_doc: withdraw_balloon(doc, balloon_id, party, authors=author_doc),
            authors_room=authors,
        )
        # The words were deleted for everyone connected; now from what the server keeps.
        await rooms.purge(room)
        if authors is not None:
            await rooms.purge(authors)
    finally:
        _release(request, room, authors)
    await audit(
        request,
        "balloon-withdrawn",
        membership=membership if attributed else _anonymous(membership),
        text_id=text_id,
        target=balloon_id,
        detail={"scope": scope.key, "attributed": attributed},
    )
    return Response(status_code=204)


async def promote_one(request: Request) -> Response:
    text_id, balloon_id = request.path_params["text_id"], request.path_params["balloon_id"]
    membership = await member(request, text_id, Capability.TABLE, doing="promote a balloon")
    scope, room, authors = await _find(request, text_id, balloon_id)
    rooms: Rooms = request.app.state.rooms
    text_room = await rooms.open(text_id)
    try:
        text = NegotiationText.from_update(text_room.doc.get_update())
        before = text.doc.get_state()
        proposal = await _change(
            request,
            room,
            lambda doc, author_doc: promote_balloon(
                doc, text, balloon_id, membership.party, authors=author_doc
            ),
            authors_room=authors,
        )
        # The proposal enters the shared text as the delegate's own change, judged by
        # the room's guard like any of theirs.
        identity = await identify(request)
        sender = _sender(rooms, membership, origin_of(identity, membership, action="promote"))
        sender.person, sender.person_id = identity.login, identity.person_id
        try:
            await text_room.apply_local(sender, text.doc.get_update(before))
        finally:
            sender.cancel()
    except Closed as closed:
        raise ApiError(403, f"the server refused the proposal: {closed.reason}") from None
    finally:
        rooms.release(text_room)
        _release(request, room, authors)
    await audit(
        request,
        "balloon-promoted",
        membership=membership,
        text_id=text_id,
        target=balloon_id,
        detail={"scope": scope.key, "proposal": proposal},
    )
    return JSONResponse({"proposal": proposal}, status_code=201)


# -- the scope rooms ----------------------------------------------------------------------------


async def _open(request: Request, text_id: str, scope: DocumentScope) -> Room:
    doc_id = await run_in_threadpool(_store(request).scoped_document, text_id, scope.key)
    rooms: Rooms = request.app.state.rooms
    return await rooms.open(doc_id, scope=scope)


def _release(request: Request, *rooms_held: Room | None) -> None:
    rooms: Rooms = request.app.state.rooms
    for room in rooms_held:
        if room is not None:
            rooms.release(room)


async def _find(
    request: Request, text_id: str, balloon_id: str
) -> tuple[DocumentScope, Room, Room | None]:
    """The scope and room holding a balloon, and the authors' room (when it exists)."""
    scoped = await run_in_threadpool(_store(request).scoped_documents, text_id)
    for scope, doc_id in _balloon_scopes(scoped):
        if balloon_id in [r.id for r in (await _document(request, doc_id)).balloons()]:
            room = await _open(request, text_id, scope)
            authors = None
            if DocumentScope.authors().key in scoped:
                authors = await _open(request, text_id, DocumentScope.authors())
            return scope, room, authors
    raise ApiError(404, f"no trial balloon {balloon_id!r} on text {text_id}")


async def _change(
    request: Request,
    room: Room,
    operation: Callable[[BalloonDocument, BalloonDocument | None], T],
    *,
    authors_room: Room | None = None,
) -> T:
    """Run a drafting operation on copies of the scope document (and the authors'), then
    apply what it changed to their rooms as the server's own change."""
    copies = [(room, _copy(room))]
    if authors_room is not None:
        copies.append((authors_room, _copy(authors_room)))
    states = [copy.doc.get_state() for _, copy in copies]
    try:
        result = operation(copies[0][1], copies[1][1] if len(copies) > 1 else None)
    except BalloonError as error:
        raise ApiError(409, str(error)) from None
    except KeyError as error:
        raise ApiError(404, str(error.args[0]) if error.args else "not found") from None
    except (ValueError, IndexError) as error:  # an unknown Party, a position off the clause
        raise ApiError(422, str(error)) from None
    rooms: Rooms = request.app.state.rooms
    sender = _sender(rooms, None, make_origin("server", action="balloon"))
    try:
        for (target, copy), state in zip(copies, states, strict=True):
            update = copy.doc.get_update(state)
            if update != EMPTY_UPDATE:
                await target.apply_local(sender, update)
    finally:
        sender.cancel()
    return result


def _copy(room: Room) -> BalloonDocument:
    copy = BalloonDocument(Doc())
    copy.doc.apply_update(room.doc.get_update())
    return copy


def _sender(rooms: Rooms, membership: Membership | None, origin: str) -> Connection:
    return Connection(
        NoPeer(),
        rooms.limits,
        actor=membership.actor if membership is not None else SERVER,
        origin=origin,
        negotiation_id=membership.negotiation_id if membership is not None else "",
    )


async def _document(request: Request, doc_id: str) -> BalloonDocument:
    """A scope document as it stands (its room's if open: it may be ahead of the disk)."""
    rooms: Rooms = request.app.state.rooms
    document = BalloonDocument(Doc())
    document.doc.apply_update(await rooms.current_state(doc_id))
    return document


async def _authors_if_any(
    request: Request, text_id: str, scoped: dict[str, str]
) -> BalloonDocument | None:
    doc_id = scoped.get(DocumentScope.authors().key)
    return await _document(request, doc_id) if doc_id is not None else None


async def _text(request: Request, text_id: str) -> NegotiationText:
    rooms: Rooms = request.app.state.rooms
    return NegotiationText.from_update(await rooms.current_state(text_id))


def _anonymous(membership: Membership) -> Membership:
    """An unattributed balloon's audit entry names no Party (the secretariat reads it)."""
    return Membership(membership.negotiation_id, "", "", membership.role, membership.actor)


def _scope(value: Any) -> Scope:
    try:
        if isinstance(value, str):
            return Scope.from_key(value)
        if isinstance(value, dict):
            kind = value.get("kind")
            if kind == BalloonScopeKind.PARTIES:
                return Scope.of(*value.get("parties", ()))
            return Scope.from_key(str(kind))
    except (BalloonError, ValueError) as error:
        raise ApiError(422, str(error)) from None
    raise ApiError(422, "give the scope: 'chair', 'all' or {'kind': 'parties', 'parties': [...]}")


async def _json_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    if len(body) > MAX_BALLOON_BYTES:
        raise ApiError(413, f"a trial balloon fits in {MAX_BALLOON_BYTES // 1024} KB")
    try:
        value = json.loads(body or b"null")
    except ValueError as error:
        raise ApiError(400, f"the body is not JSON: {error}") from None
    if not isinstance(value, dict):
        raise ApiError(400, "send a JSON object")
    return value


def _store(request: Request) -> Store:
    return request.app.state.store


routes = [
    Route("/api/texts/{text_id}/balloons", list_balloons, methods=["GET"]),
    Route("/api/texts/{text_id}/balloons", float_one, methods=["POST"]),
    Route("/api/texts/{text_id}/balloons/{balloon_id}", withdraw_one, methods=["DELETE"]),
    Route("/api/texts/{text_id}/balloons/{balloon_id}/promote", promote_one, methods=["POST"]),
]
