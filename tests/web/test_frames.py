"""Frames written past ASGI (`web.frames`): framed as the WebSocket protocol says, written
only while the connection can take them, and absent under a server that does not offer it.

The framing is read back with the websockets library's own parser; the writer runs under a
real uvicorn server with a real WebSocket client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import uvicorn
import websockets
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

from tests.servers import free_port
from web.frames import FrameWritingProtocol, binary_frame, frame_writer


def parsed(frame: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(frame)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        return done.value
    raise AssertionError("the frame is incomplete")


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65_535, 65_536, 300_000])
def test_a_frame_is_one_final_unmasked_binary_frame_of_any_length(size: int) -> None:
    payload = bytes(i % 251 for i in range(size))
    frame = parsed(binary_frame(payload))
    assert frame.opcode == Opcode.BINARY and frame.fin
    assert bytes(frame.data) == payload


Handler = Callable[[dict[str, Any], Any], Awaitable[None]]


def accepting(handler: Handler) -> Any:
    """An ASGI app that accepts each WebSocket, then lets `handler(scope, send)` speak."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        await handler(scope, send)

    return app


def received(handler: Handler, ws: Any, *, deflate: bool = False) -> list[bytes]:
    """Every message a real client gets from `handler` under a real uvicorn server using
    the WebSocket protocol `ws` (with permessage-deflate offered, or not), until closed."""

    async def scenario() -> list[bytes]:
        config = uvicorn.Config(
            accepting(handler),
            host="127.0.0.1",
            port=free_port(),
            ws=ws,
            ws_per_message_deflate=deflate,
            log_level="error",
        )
        server = uvicorn.Server(config)
        task = asyncio.get_running_loop().create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            url = f"ws://127.0.0.1:{config.port}/"
            compression = "deflate" if deflate else None
            async with websockets.connect(url, compression=compression) as client:
                return [bytes(message) async for message in client]  # type: ignore[misc]
        finally:
            server.should_exit = True
            await task

    return asyncio.run(scenario())


def test_the_writer_sends_while_open_and_declines_once_the_app_closed() -> None:
    seen: dict[str, Any] = {}

    async def handler(scope: dict[str, Any], send: Any) -> None:
        write = frame_writer(scope)
        assert write is not None
        seen["open"] = write(binary_frame(b"\x00\x02written past ASGI"))
        await send({"type": "websocket.send", "bytes": b"through ASGI"})
        await send({"type": "websocket.close", "code": 1000})
        seen["closed"] = write(binary_frame(b"too late"))

    messages = received(handler, FrameWritingProtocol)
    assert messages == [b"\x00\x02written past ASGI", b"through ASGI"]
    assert seen == {"open": True, "closed": False}


def test_another_server_offers_no_writer_and_the_app_sends_through_asgi() -> None:
    seen: dict[str, Any] = {}

    async def handler(scope: dict[str, Any], send: Any) -> None:
        seen["writer"] = frame_writer(scope)
        await send({"type": "websocket.send", "bytes": b"through ASGI"})
        await send({"type": "websocket.close", "code": 1000})

    assert received(handler, "websockets-sansio") == [b"through ASGI"]
    assert "writer" in seen and seen["writer"] is None


def test_with_compression_negotiated_the_writer_declines_and_asgi_frames_it() -> None:
    seen: dict[str, Any] = {}
    payload = b"compressible " * 50

    async def handler(scope: dict[str, Any], send: Any) -> None:
        write = frame_writer(scope)
        assert write is not None
        seen["written"] = write(binary_frame(payload))
        if not seen["written"]:
            await send({"type": "websocket.send", "bytes": payload})
        await send({"type": "websocket.close", "code": 1000})

    assert received(handler, FrameWritingProtocol, deflate=True) == [payload]
    assert seen == {"written": False}
