"""A Python sync client: a pycrdt document kept in sync with a Travaux (or any y-websocket)
server. Scripts, tests and benchmarks use it the way a browser uses `WebsocketProvider`.

    async with SyncClient("ws://127.0.0.1:8000/ws", text_id) as client:
        text = NegotiationText(client.doc)
        insert_words(text, clause, 0, "All ")      # sent to the server at once
        await client.wait_for(lambda: ...)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import websockets
from pycrdt import Doc

from crdt_sync import protocol
from crdt_sync.protocol import MessageType, SyncType

REMOTE = "remote"


class SyncClient:
    def __init__(
        self, url: str, text_id: str, *, doc: Doc | None = None, max_size: int = 64 * 2**20
    ) -> None:
        self.url = f"{url.rstrip('/')}/{text_id}"
        self.doc = doc if doc is not None else Doc()
        self.max_size = max_size
        self.synced = asyncio.Event()
        self.received: list[bytes] = []  # every frame, for tests that inspect the wire
        self.close_code: int | None = None
        self.close_reason = ""
        self._socket: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._subscription: Any = None
        self._changed = asyncio.Event()
        self._applying_remote = False

    async def __aenter__(self) -> SyncClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect(self, *, wait_synced: bool = True) -> None:
        self._socket = await websockets.connect(self.url, max_size=self.max_size, compression=None)
        self._subscription = self.doc.observe(self._on_local_change)
        # A server that refuses us (no sign-in, not admitted) may close before this is
        # sent; the reader then records its close code and reason.
        with contextlib.suppress(websockets.ConnectionClosed):
            await self._socket.send(protocol.sync_step1(self.doc.get_state()))
        self._reader = asyncio.get_running_loop().create_task(self._read())
        if wait_synced:
            await asyncio.wait_for(self.synced.wait(), 30)

    async def close(self) -> None:
        if self._subscription is not None:
            self.doc.unobserve(self._subscription)
            self._subscription = None
        if self._socket is not None:
            await self._socket.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._reader

    async def send_raw(self, frame: bytes) -> None:
        await self._socket.send(frame)

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10) -> None:
        """Wait until `condition()` holds, re-checking after every change received."""
        async with asyncio.timeout(timeout):
            while not condition():
                self._changed.clear()
                await self._changed.wait()

    async def wait_closed(self, timeout: float = 10) -> None:
        assert self._reader is not None
        await asyncio.wait_for(asyncio.shield(self._reader), timeout)

    def _on_local_change(self, event: Any) -> None:
        # (The event's transaction does not give back the origin it was opened with: a
        # flag says whether the change is the server's, which must not be echoed.)
        if self._applying_remote or self._socket is None:
            return
        frame = protocol.sync_update(event.update)
        asyncio.get_running_loop().create_task(self._send_quietly(frame))

    async def _send_quietly(self, frame: bytes) -> None:
        with contextlib.suppress(Exception):
            await self._socket.send(frame)

    async def _read(self) -> None:
        try:
            async for data in self._socket:
                if isinstance(data, str):
                    continue
                self.received.append(data)
                await self._handle(protocol.decode(data))
                self._changed.set()
        except websockets.ConnectionClosed:
            pass
        finally:
            if self._socket.close_code is not None:
                self.close_code = self._socket.close_code
                self.close_reason = self._socket.close_reason or ""
            self._changed.set()

    async def _handle(self, frame: protocol.Frame) -> None:
        if frame.type != MessageType.SYNC:
            return
        if frame.sync == SyncType.STEP1:
            await self._socket.send(protocol.sync_step2(self.doc.get_update(frame.payload)))
            return
        self._applying_remote = True
        try:
            with self.doc.transaction(origin=REMOTE):
                self.doc.apply_update(frame.payload)
        finally:
            self._applying_remote = False
        if frame.sync == SyncType.STEP2:
            self.synced.set()
