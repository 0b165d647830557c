"""A connection sends what it can at once, and queues (bounded, in order) behind a send that
has to wait for its socket.

The peers here are the transport under a connection: one whose sends wait until the test
lets them through (a socket whose buffer is full), one that can also write at once.
"""

from __future__ import annotations

import asyncio

from crdt_sync.connection import CloseCode, Connection, Limits
from drafting.permissions import Actor
from drafting.vocabulary import Role


class Gated:
    """A socket that takes frames while `open`, and otherwise makes senders wait."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.open = asyncio.Event()
        self.open.set()
        self.closed: tuple[int, str] | None = None

    async def send(self, data: bytes) -> None:
        await self.open.wait()
        self.frames.append(data)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


class Immediate(Gated):
    """A socket that can also be written without awaiting, while it is open."""

    def __init__(self) -> None:
        super().__init__()
        self.written_at_once = 0

    def send_now(self, data: bytes) -> bool:
        if not self.open.is_set():
            return False
        self.frames.append(data)
        self.written_at_once += 1
        return True


def connect(peer: Gated, **limits: float) -> Connection:
    return Connection(peer, Limits(**limits), actor=Actor.of(Role.CHAIR))  # type: ignore[arg-type]


def test_a_frame_is_sent_within_the_call_when_the_socket_takes_it() -> None:
    async def scenario() -> list[bytes]:
        peer = Gated()
        connection = connect(peer)
        connection.deliver(b"one")
        connection.deliver(b"two")
        sent_within_the_calls = list(peer.frames)  # no turn of the loop has passed
        connection.cancel()
        return sent_within_the_calls

    assert asyncio.run(scenario()) == [b"one", b"two"]


def test_frames_behind_a_waiting_send_keep_their_order() -> None:
    async def scenario() -> tuple[list[bytes], list[bytes]]:
        peer = Gated()
        connection = connect(peer)
        peer.open.clear()  # the socket's buffer is full
        for frame in (b"1", b"2", b"3"):
            connection.deliver(frame)
        await asyncio.sleep(0.05)
        while_full = list(peer.frames)
        peer.open.set()
        await asyncio.sleep(0.05)
        connection.deliver(b"4")
        await asyncio.sleep(0.01)
        connection.cancel()
        return while_full, peer.frames

    while_full, frames = asyncio.run(scenario())
    assert while_full == []
    assert frames == [b"1", b"2", b"3", b"4"]


def test_a_peer_that_writes_at_once_is_used_and_falls_back_to_waiting_sends() -> None:
    async def scenario() -> tuple[list[bytes], int]:
        peer = Immediate()
        connection = connect(peer)
        connection.deliver(b"a")
        peer.open.clear()
        connection.deliver(b"b")  # cannot be written at once: sent when the socket drains
        connection.deliver(b"c")
        peer.open.set()
        await asyncio.sleep(0.05)
        connection.deliver(b"d")
        connection.cancel()
        return peer.frames, peer.written_at_once

    frames, at_once = asyncio.run(scenario())
    assert frames == [b"a", b"b", b"c", b"d"]
    assert at_once == 2  # "a" and "d"; "b" and "c" went through `send`


def test_a_client_too_far_behind_is_closed_with_try_again() -> None:
    async def scenario() -> tuple[tuple[int, str] | None, int]:
        peer = Gated()
        connection = connect(peer, max_queued_frames=3)
        peer.open.clear()
        for number in range(10):
            connection.deliver(b"%d" % number)
        await asyncio.sleep(0.05)
        return peer.closed, len(peer.frames)

    closed, sent = asyncio.run(scenario())
    assert closed is not None and closed[0] == CloseCode.TRY_AGAIN
    assert "too slow" in closed[1]
    assert sent == 0


def test_a_close_is_sent_after_the_frames_before_it() -> None:
    async def scenario() -> tuple[list[bytes], tuple[int, str] | None]:
        peer = Gated()
        connection = connect(peer)
        peer.open.clear()
        connection.deliver(b"last words")
        connection.close(CloseCode.NORMAL, "bye")
        peer.open.set()
        await asyncio.wait_for(connection.wait_closed(), 1)
        return peer.frames, peer.closed

    frames, closed = asyncio.run(scenario())
    assert frames == [b"last words"]
    assert closed == (CloseCode.NORMAL, "bye")
