"""One client's connection to a room: a bounded outbox, a rate limit, a clear close.

A slow or stalled client must never slow the room: frames for it go into a bounded queue
drained by its own sender task. When the queue is full the client is disconnected with
1013 ("try again later"); y-websocket reconnects and resyncs from the server's state, so
nothing is lost, only that client's backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable, Coroutine, Generator, Mapping
from dataclasses import dataclass, fields
from enum import IntEnum
from typing import Any, Protocol

from drafting.permissions import Actor


class CloseCode(IntEnum):
    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002  # a malformed frame
    POLICY = 1008  # rate limit exceeded; permission denied
    TOO_BIG = 1009  # message or document over its limit
    SERVER_ERROR = 1011  # the store failed: reconnect and resync
    TRY_AGAIN = 1013  # too slow to keep up: reconnect and resync
    UNAUTHENTICATED = 4401  # no valid session or token; signed out; expired
    FORBIDDEN = 4403  # signed in, but not admitted to this document (or no longer)
    UNKNOWN_TEXT = 4404  # also: a text of a negotiation the person is not in


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = 8 * 1024 * 1024
    max_document_bytes: int = 64 * 1024 * 1024
    messages_per_second: float = 500.0
    message_burst: int = 5000
    max_queued_frames: int = 2000
    fanout_tick_seconds: float = 0.020
    # A room sends awareness (presence, cursors) at most this often, and gathers renewals
    # (unchanged states, newer clocks) this long; a client drops a state not renewed for
    # 30 s, and renews its own every 15 s (see `Room._forward_awareness`).
    presence_seconds: float = 0.1
    renewal_seconds: float = 1.0
    keepalive_seconds: float = 10.0
    idle_unload_seconds: float = 30.0
    snapshot_every_updates: int = 2000
    # How often each process re-reads who may do what (memberships, revoked sessions),
    # for changes made by another process; changes made through this one apply at once.
    rights_poll_seconds: float = 1.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Limits:
        """Limits with overrides from TRAVAUX_LIMIT_<FIELD> variables (operators, tests)."""
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = environ.get(f"TRAVAUX_LIMIT_{item.name.upper()}")
            if raw is not None:
                kind = int if item.type in ("int", int) else float
                try:
                    values[item.name] = kind(raw)
                except ValueError:
                    raise ValueError(
                        f"TRAVAUX_LIMIT_{item.name.upper()}={raw!r} is not a number"
                    ) from None
        return cls(**values)


class Peer(Protocol):
    """The transport under a connection (a Starlette WebSocket, or a test double).

    A peer may also offer `send_now(data) -> bool`: send without awaiting anything, or
    answer False having sent nothing (then `send` is used)."""

    async def send(self, data: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class NoPeer:
    """The transport of a change made on the server (an HTTP restore, a balloon): nothing
    to send to, nothing to close."""

    async def send(self, data: bytes) -> None:
        return None

    async def close(self, code: int, reason: str) -> None:
        return None


class Closed(Exception):
    """Raised into a receive loop when its connection has been closed by the room."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


class Connection:
    def __init__(
        self,
        peer: Peer,
        limits: Limits,
        *,
        actor: Actor,
        origin: str = "",
        person: str = "",
        person_id: str = "",
        credential: str = "",
        negotiation_id: str = "",
    ) -> None:
        self.id = secrets.token_hex(6)
        # Who sends through this connection, as the permission rules see them; replaced
        # when their rights change while connected (`Rooms.recheck`).
        self.actor = actor
        self.origin = origin or f"connection:{self.id}"
        self.person = person  # the login, for the audit log
        self.person_id = person_id
        self.credential = credential  # "session:N" / "token:N", re-checked while connected
        self.negotiation_id = negotiation_id
        self.peer = peer
        self._send_now: Callable[[bytes], bool] | None = getattr(peer, "send_now", None)
        self.limits = limits
        self.closed: Closed | None = None
        self._queue: asyncio.Queue[bytes | _Suspended | None] = asyncio.Queue()
        self._sending = False  # the sender task is in the middle of a send
        self._gone = False  # a send failed: the socket is gone
        self._tokens = float(limits.message_burst)
        self._refilled = time.monotonic()
        self.last_sent = time.monotonic()
        self._sender = asyncio.get_running_loop().create_task(self._drain(), name=f"send-{self.id}")
        self._closer: asyncio.Task[None] | None = None

    def deliver(self, frame: bytes) -> None:
        """Send a frame, or queue it behind those still waiting; a client this far behind
        is cut loose (it will resync)."""
        if self.closed is not None or self._gone:
            return
        if self._queue.empty() and not self._sending:
            self._send_eagerly(frame)
            return
        if self._queue.qsize() >= self.limits.max_queued_frames:
            self.close(CloseCode.TRY_AGAIN, f"too slow: {self._queue.qsize()} frames waiting")
            # Its sender may be stuck on a full socket: stop it and close from here.
            self._sender.cancel()
            self._closer = asyncio.get_running_loop().create_task(self._close_peer())
            return
        self._queue.put_nowait(frame)

    def _send_eagerly(self, frame: bytes) -> None:
        """Send now, from the caller's turn of the loop, when nothing is waiting before it.

        A WebSocket send completes without suspending while the socket takes data, so a
        fan-out to 500 connections is one callback, not 500 tasks each waiting its turn in
        the loop (and each turn of the loop waiting behind all of them). Only when the
        send does suspend (the socket's buffer is full) is the rest of it handed to the
        sender task, and the frames after it queue up, bounded, behind it."""
        if self._send_now is not None and self._send_now(frame):
            self.last_sent = time.monotonic()
            return
        sending = self.peer.send(frame)
        try:
            awaited = sending.send(None)
        except StopIteration:
            self.last_sent = time.monotonic()
            return
        except Exception:  # the socket went away under us: the receive loop will notice
            self._gone = True
            return
        self._queue.put_nowait(_Suspended(sending, awaited))

    def admit(self, size: int) -> None:
        """Check an incoming message against the size and rate limits."""
        if size > self.limits.max_message_bytes:
            raise Closed(
                CloseCode.TOO_BIG,
                f"message of {size} bytes over the limit of {self.limits.max_message_bytes}",
            )
        now = time.monotonic()
        rate = self.limits.messages_per_second
        self._tokens = min(self.limits.message_burst, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens < 1:
            raise Closed(CloseCode.POLICY, f"more than {rate:g} messages per second")
        self._tokens -= 1

    def close(self, code: int, reason: str) -> None:
        """Close from the room's side: the sender task finishes with the close frame."""
        if self.closed is None:
            self.closed = Closed(code, reason)
            self._queue.put_nowait(None)

    async def wait_closed(self) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await self._sender

    def cancel(self) -> None:
        self._sender.cancel()

    async def _drain(self) -> None:
        try:
            while True:
                frame = await self._queue.get()
                if frame is None:
                    break
                self._sending = True
                if isinstance(frame, _Suspended):
                    await frame
                else:
                    await self.peer.send(frame)
                self._sending = False
                self.last_sent = time.monotonic()
        except Exception:  # the socket went away under us: the receive loop will notice
            self._gone = True
            return
        await self._close_peer()

    async def _close_peer(self) -> None:
        assert self.closed is not None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.peer.close(self.closed.code, self.closed.reason), 5)


class _Suspended:
    """A send started by `Connection._send_eagerly` that had to wait (for the socket to
    drain): awaiting this finishes it, as a task would have, from where it stopped."""

    def __init__(self, sending: Coroutine[Any, Any, None], awaited: Any) -> None:
        self.sending = sending
        self.awaited = awaited  # what the send was waiting for when it stopped

    def __await__(self) -> Generator[Any, Any, None]:
        # Delegation by hand (PEP 380): pass what the send waits for up to our task, and
        # the outcome back down to the send, until it returns.
        awaited = self.awaited
        while True:
            try:
                outcome = yield awaited
            except BaseException as error:
                try:
                    awaited = self.sending.throw(error)
                except StopIteration:
                    return
            else:
                try:
                    awaited = self.sending.send(outcome)
                except StopIteration:
                    return
