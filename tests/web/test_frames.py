"""Frames written past ASGI (`web.frames`): framed as the WebSocket protocol says, written
only while the connection can take them, and absent under a server that does not offer it.

The framing is read back with the websockets library's own parser; the writer runs under a
real uvicorn server with a real WebSocket client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
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


Handler = Callable[[dict[str, Any], Any, Any], Any]


async def serving(
    app: Handler, ws: Any, *, deflate: bool = False
) -> tuple[uvicorn.Server, asyncio.Task[None], int]:
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, ws=ws, ws_per_message_deflate=deflate, log_level="error"
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    return server, task, port


def test_the_writer_sends_while_open_and_declines_once_the_app_closed() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        write = frame_writer(scope)
        assert write is not None
        seen["open"] = write(binary_frame(b"\x00\x02written past ASGI"))
        await send({"type": "websocket.send", "bytes": b"through ASGI"})
        await send({"type": "websocket.close", "code": 1000})
        seen["closed"] = write(binary_frame(b"too late"))

    async def scenario() -> list[bytes]:
        server, task, port = await serving(app, FrameWritingProtocol)
        try:
            async with websockets.connect(f"ws://127.0.0.1:{port}/", compression=None) as client:
                return [message async for message in client]  # type: ignore[misc]
        finally:
            server.should_exit = True
            await task

    received = asyncio.run(scenario())
    assert received == [b"\x00\x02written past ASGI", b"through ASGI"]
    assert seen == {"open": True, "closed": False}


def test_another_server_offers_no_writer_and_the_app_sends_through_asgi() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        seen["writer"] = frame_writer(scope)
        await send({"type": "websocket.close", "code": 1000})

    async def scenario() -> None:
        server, task, port = await serving(app, "websockets-sansio")
        try:
            async with websockets.connect(f"ws://127.0.0.1:{port}/") as client:
                await client.wait_closed()
        finally:
            server.should_exit = True
            await task

    asyncio.run(scenario())
    assert "writer" in seen and seen["writer"] is None


def test_with_compression_negotiated_the_writer_declines_and_asgi_frames_it() -> None:
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        await send({"type": "websocket.accept"})
        write = frame_writer(scope)
        assert write is not None
        payload = b"compressible " * 50
        seen["written"] = write(binary_frame(payload))
        if not seen["written"]:
            await send({"type": "websocket.send", "bytes": payload})
        await send({"type": "websocket.close", "code": 1000})

    async def scenario() -> list[bytes]:
        server, task, port = await serving(app, FrameWritingProtocol, deflate=True)
        try:
            async with websockets.connect(f"ws://127.0.0.1:{port}/") as client:  # deflate
                return [message async for message in client]  # type: ignore[misc]
        finally:
            server.should_exit = True
            await task

    assert asyncio.run(scenario()) == [b"compressible " * 50]
    assert seen == {"written": False}
