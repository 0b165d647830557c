"""A minimal y-websocket client for the benchmark's checks (fresh-client syncs).

Kept independent of `crdt_sync` so that the benchmark measures the three servers through
the same client code, and keeps working while the server's own modules change.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import websockets
from pycrdt import Doc, Text

SYNC, AWARENESS = 0, 1
STEP1, STEP2, UPDATE = 0, 1, 2
EMPTY_STATE_VECTOR = b"\x00"
EMPTY_UPDATE = b"\x00\x00"


def varuint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    out.append(n)
    return bytes(out)


def read_varuint(data: bytes, offset: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, offset
        shift += 7


def sync_frame(kind: int, payload: bytes) -> bytes:
    return bytes([SYNC, kind]) + varuint(len(payload)) + payload


def decode_sync(frame: bytes) -> tuple[int, bytes] | None:
    """(sync kind, payload) of a sync frame; None for any other frame."""
    if len(frame) < 2 or frame[0] != SYNC:
        return None
    length, offset = read_varuint(frame, 2)
    return frame[1], frame[offset : offset + length]


def bench_text(doc: Doc) -> str:
    return str(doc.get("bench", type=Text))


async def fetch(
    url: str, done: Callable[[Doc], bool], *, timeout: float = 60.0
) -> tuple[Doc, float]:
    """Connect a fresh client; return its document once `done(doc)` holds, and the seconds
    from the start of the connection to that moment. Raises TimeoutError."""
    doc = Doc()
    start = time.perf_counter()
    async with asyncio.timeout(timeout):
        async with websockets.connect(url, max_size=None, compression=None) as socket:
            await socket.send(sync_frame(STEP1, EMPTY_STATE_VECTOR))
            async for frame in socket:
                if not isinstance(frame, bytes):
                    continue
                decoded = decode_sync(frame)
                if decoded is None:
                    continue
                kind, payload = decoded
                if kind == STEP1:
                    await socket.send(sync_frame(STEP2, EMPTY_UPDATE))
                    continue
                doc.apply_update(payload)
                if done(doc):
                    return doc, time.perf_counter() - start
    raise ConnectionError(f"{url} closed before the document was complete")


async def observe(
    url: str, done: Callable[[Doc], bool], connected: threading.Event, timeout: float
) -> float:
    """A client that stays connected, applying every update it is sent: the wall-clock time
    (time.time()) at which `done(doc)` first holds. `connected` is set at its first sync."""
    doc = Doc()
    async with asyncio.timeout(timeout):
        async with websockets.connect(url, max_size=None, compression=None) as socket:
            await socket.send(sync_frame(STEP1, EMPTY_STATE_VECTOR))
            async for frame in socket:
                decoded = decode_sync(frame) if isinstance(frame, bytes) else None
                if decoded is None:
                    continue
                kind, payload = decoded
                if kind == STEP1:
                    await socket.send(sync_frame(STEP2, EMPTY_UPDATE))
                    continue
                doc.apply_update(payload)
                if kind == STEP2:
                    connected.set()
                if done(doc):
                    return time.time()
    raise ConnectionError(f"{url} closed before the document was complete")


async def push(url: str, update: bytes, *, linger: float = 1.0) -> None:
    """Send one update to a room, then stay connected `linger` seconds."""
    async with websockets.connect(url, max_size=None, compression=None) as socket:
        await socket.send(sync_frame(UPDATE, update))
        await asyncio.sleep(linger)
