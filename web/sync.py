"""The WebSocket endpoint `/ws/{text_id}`: y-websocket clients join a text's room here.

A browser does `new WebsocketProvider('ws://HOST:PORT/ws', textId, doc)`; a Python client
speaks the same frames (`crdt_sync.protocol`). This module only moves frames between the
socket and the room; what a frame means is decided in `crdt_sync.room`.
"""

from __future__ import annotations

from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from crdt_sync.connection import CloseCode, Closed, Connection
from crdt_sync.rooms import Rooms
from crdt_sync.store import UnknownText


class _SocketPeer:
    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket

    async def send(self, data: bytes) -> None:
        await self.websocket.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        await self.websocket.close(code, reason[:120])  # a close reason fits in 123 bytes


async def sync_endpoint(websocket: WebSocket) -> None:
    rooms: Rooms = websocket.app.state.rooms
    text_id = websocket.path_params["text_id"]
    await websocket.accept()
    try:
        room = await rooms.open(text_id)
    except UnknownText as error:
        await websocket.close(CloseCode.UNKNOWN_TEXT, str(error)[:120])
        return
    connection = Connection(_SocketPeer(websocket), rooms.limits)
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


routes = [WebSocketRoute("/ws/{text_id}", sync_endpoint)]
