"""The WebSocket endpoints: y-websocket clients join a document's room here.

    /ws/{text_id}                      the shared negotiation text
    /ws/{text_id}/balloons/{scope}     the trial balloons of one scope ("parties:AOSIS+EU")
    /ws/{text_id}/balloons/authors     who floated the unattributed ones (the chair only)
    /ws/{text_id}/workspace/{party}    a delegation's private workspace

A browser does `new WebsocketProvider('ws://HOST:PORT/ws', textId, doc)` and is known by
its session cookie; a script passes an API token as `?token=` (y-websocket's `params`).
Before a single byte of a document is sent, the connection is authenticated and admitted:
the person must belong to the text's negotiation and their role must let them open that
document (`drafting.scopes`). Otherwise it is closed with a code and a reason:
4401 (sign in), 4403 (not for you), 4404 (no such text — also for texts of negotiations the
person is not in, so that their existence does not leak). This module only admits and
moves frames; what a frame means is decided in `crdt_sync.room`.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from crdt_sync.accounts import Accounts, AccountsError, Identity, Membership
from crdt_sync.connection import CloseCode, Closed, Connection
from crdt_sync.rooms import Rooms
from crdt_sync.store import Store, UnknownText, is_scoped_document_id
from drafting.history import make_origin
from drafting.scopes import DocumentScope, ScopeError, refusal_to_open
from web.auth import SESSION_COOKIE, foreign_origin
from web.frames import binary_frame, frame_writer


class Refusal(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Admitted:
    identity: Identity
    membership: Membership
    scope: DocumentScope
    doc_id: str  # the text's id, or that of its scoped document


class _SocketPeer:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self._write_frame = frame_writer(websocket.scope)  # under `travaux serve`

    def send_now(self, data: bytes) -> bool:
        """Write to the socket at once, past ASGI (`web.frames`), when the server allows."""
        return self._write_frame is not None and self._write_frame(binary_frame(data))

    async def send(self, data: bytes) -> None:
        await self.websocket.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        await self.websocket.close(code, reason[:120])  # a close reason fits in 123 bytes


async def sync_endpoint(websocket: WebSocket) -> None:
    rooms: Rooms = websocket.app.state.rooms
    await websocket.accept()
    try:
        admitted = await run_in_threadpool(_admit, websocket)
    except Refusal as refusal:
        rooms.record(
            "admission-refused",
            text_id=websocket.path_params["text_id"][:32],
            target=websocket.url.path[:200],
            detail={"reason": refusal.reason, "code": refusal.code},
        )
        await websocket.close(refusal.code, refusal.reason[:120])
        return
    try:
        room = await rooms.open(
            admitted.doc_id,
            scope=admitted.scope,
            negotiation_id=admitted.membership.negotiation_id,
        )
    except UnknownText as error:
        await websocket.close(CloseCode.UNKNOWN_TEXT, str(error)[:120])
        return
    connection = _connection(websocket, rooms, admitted)
    await room.join(connection)
    try:
        while connection.closed is None:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes")
            if data is None:
                raise Closed(CloseCode.PROTOCOL_ERROR, "y-websocket frames are binary")
            await room.receive(connection, data)
    except Closed as closing:
        connection.close(closing.code, closing.reason)
        await connection.wait_closed()
    except WebSocketDisconnect:
        pass
    finally:
        connection.cancel()
        room.leave(connection)
        rooms.release(room)


def _connection(websocket: WebSocket, rooms: Rooms, admitted: Admitted) -> Connection:
    identity, membership = admitted.identity, admitted.membership
    return Connection(
        _SocketPeer(websocket),
        rooms.limits,
        actor=membership.actor,
        origin=make_origin("ws", person=identity.login, party=membership.party),
        person=identity.login,
        person_id=identity.person_id,
        credential=identity.credential,
        negotiation_id=membership.negotiation_id,
    )


def _admit(websocket: WebSocket) -> Admitted:
    """Who is connecting, and may they open this document? (Synchronous SQL.)"""
    accounts: Accounts = websocket.app.state.accounts
    store: Store = websocket.app.state.store
    text_id = websocket.path_params["text_id"]
    identity = _identify(websocket, accounts)
    unknown = Refusal(CloseCode.UNKNOWN_TEXT, f"no text {text_id}")
    # Scoped documents are reached through their text, never by their own id.
    negotiation_id = None if is_scoped_document_id(text_id) else accounts.negotiation_of(text_id)
    if negotiation_id is None:
        raise unknown
    membership = accounts.membership(identity.person_id, negotiation_id)
    if membership is None:
        raise unknown
    kind = websocket.path_params.get("kind")
    try:
        scope = DocumentScope.parse(f"{kind}:{websocket.path_params['scope']}" if kind else "")
    except ScopeError as error:
        raise Refusal(CloseCode.UNKNOWN_TEXT, str(error)) from None
    reason = refusal_to_open(membership.actor, scope)
    if reason is not None:
        raise Refusal(CloseCode.FORBIDDEN, reason)
    doc_id = text_id if scope.shared else store.scoped_document(text_id, scope.key)
    return Admitted(identity, membership, scope, doc_id)


def _identify(websocket: WebSocket, accounts: Accounts) -> Identity:
    token = websocket.query_params.get("token")
    cookie = websocket.cookies.get(SESSION_COOKIE)
    try:
        if token:
            return accounts.authenticate(token)
        if cookie:
            _same_origin(websocket)
            return accounts.authenticate_session(cookie)[0]
    except AccountsError as error:
        raise Refusal(CloseCode.UNAUTHENTICATED, f"sign in again: {error}") from None
    raise Refusal(
        CloseCode.UNAUTHENTICATED, "sign in first (a session cookie, or ?token= for scripts)"
    )


def _same_origin(websocket: WebSocket) -> None:
    """A cookie rides along with any page's WebSocket, even another site's: accept it only
    from pages of this server (cross-site WebSocket hijacking)."""
    origin = foreign_origin(websocket)
    if origin is not None:
        raise Refusal(CloseCode.FORBIDDEN, f"a page from {origin} may not use this session")


routes = [
    WebSocketRoute("/ws/{text_id}", sync_endpoint),
    WebSocketRoute("/ws/{text_id}/{kind}/{scope}", sync_endpoint),
]
