"""Fan-out between server processes, through Redis pub/sub.

Several `travaux serve` processes (on one machine or on several) serve the same documents
from one PostgreSQL database. Each stores what its own clients send (exactly once: the
process that received an update stores it) and, once it is committed, publishes it on the
Redis channel of its document, `{prefix}:doc:{document id}`. The other processes that have
a room for that document apply it and send it to their own clients. A process subscribes
only to the documents it has rooms for, and a channel carries only its own document: a
scoped document (a balloon scope, a workspace) is published on its own channel, never on
another's, and each room still admits only the connections allowed to read it.

Pub/sub delivers at most once: a message is lost when a subscriber's connection breaks
(Redis restarted, unreachable, a subscriber too slow for its output buffer), and a
message published while Redis is down is simply not sent. Nothing depends on it arriving:
every published update is already in PostgreSQL, each carries its log id and the id of the
entry before it in its document's log (`Store.append_chain`), and a room that sees a link
missing, or that was cut off from Redis, reads what it lacks from the log
(`Room.catch_up`). Redis is the fast path, PostgreSQL the truth.

Message format (binary): one byte of kind, the publishing process's 8-byte id, then
  b"U"  varuint count, then per update varuint log id, varuint previous id, varbytes update
  b"A"  an awareness update (y-protocols encoding, the entries that changed)
  b"Q"  nothing: "tell me the awareness states you know of" (a process opening a room)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from crdt_sync.protocol import ProtocolError, Reader, encode_varbytes, encode_varuint

log = logging.getLogger(__name__)

REDIS_URL_ENV = "TRAVAUX_REDIS_URL"
REDIS_PREFIX_ENV = "TRAVAUX_REDIS_PREFIX"
DEFAULT_PREFIX = "travaux"

UPDATES = b"U"
AWARENESS = b"A"
QUERY = b"Q"

# Updates are published as one message per commit and room; one message never holds more
# than this many bytes of updates (a very large commit is split).
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# Messages waiting for Redis; past this, the oldest are dropped (the other processes read
# them from the database instead).
MAX_QUEUED_MESSAGES = 10_000


class Listener(Protocol):
    """A room, as the fan-out sees it."""

    def remote_updates(self, entries: list[tuple[int, int, bytes]]) -> None:
        """(log id, previous log id of the document, update) entries another process
        has committed, in its commit order."""

    def remote_awareness(self, update: bytes, origin: str) -> None: ...

    def awareness_query(self) -> None:
        """Another process opened this room: publish the awareness states known here."""


@dataclass
class Message:
    kind: bytes
    origin: bytes
    entries: list[tuple[int, int, bytes]] = field(default_factory=list)
    payload: bytes = b""


def encode_updates(origin: bytes, entries: Iterable[tuple[int, int, bytes]]) -> list[bytes]:
    """One or more messages (split at MAX_MESSAGE_BYTES) carrying these entries."""
    messages: list[bytes] = []
    chunk: list[bytes] = []
    size = 0

    def flush() -> None:
        messages.append(UPDATES + origin + encode_varuint(len(chunk)) + b"".join(chunk))

    for log_id, prev, update in entries:
        encoded = encode_varuint(log_id) + encode_varuint(max(prev, 0)) + encode_varbytes(update)
        if chunk and size + len(encoded) > MAX_MESSAGE_BYTES:
            flush()
            chunk, size = [], 0
        chunk.append(encoded)
        size += len(encoded)
    if chunk:
        flush()
    return messages


def decode(message: bytes) -> Message:
    if len(message) < 9:
        raise ProtocolError("fan-out message too short")
    kind, origin, body = message[:1], message[1:9], message[9:]
    if kind == UPDATES:
        reader = Reader(body)
        count = reader.varuint()
        if count > len(body):
            raise ProtocolError(f"fan-out message announces {count} updates")
        entries = []
        for _ in range(count):
            log_id = reader.varuint()
            prev = reader.varuint()
            entries.append((log_id, prev, reader.varbytes()))
        reader.done()
        return Message(kind, origin, entries=entries)
    if kind in (AWARENESS, QUERY):
        return Message(kind, origin, payload=body)
    raise ProtocolError(f"unknown fan-out message kind {kind!r}")


class RedisFanout:
    """One per server process: a subscriber connection (with its own reader task) and a
    publisher (a queue drained by one task, so a process's messages keep their order)."""

    # The subscriber pings Redis after this many seconds of silence, and gives the
    # connection up when nothing at all came back for `dead_after_seconds`.
    ping_seconds = 1.0
    dead_after_seconds = 3.0
    subscribe_wait_seconds = 1.0

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        on_reconnected: Callable[[], None] | None = None,
    ) -> None:
        self.url = url
        self.prefix = prefix
        self.process_id = secrets.token_bytes(8)
        self.on_reconnected = on_reconnected
        self.healthy = False
        self.stats = {"published": 0, "received": 0, "dropped": 0, "reconnects": 0, "errors": 0}
        self._control = f"{prefix}:control"
        self._listeners: dict[str, Listener | None] = {}  # subscribed documents
        self._buffers: dict[str, list[Message]] = {}  # messages before the room is attached
        self._confirmations: dict[str, list[asyncio.Future[None]]] = {}
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._outbox_ready = asyncio.Event()
        self._pubsub: Any = None
        self._publisher_client: Any = None
        self._subscriber_client: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._warned = False

    def channel(self, doc_id: str) -> str:
        return f"{self.prefix}:doc:{doc_id}"

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        import redis.asyncio as redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        # No silent retries and reconnections inside redis-py: a broken connection must
        # be seen here, since what was published meanwhile must then be read from the log.
        options: dict[str, Any] = {"retry": Retry(NoBackoff(), 0), "socket_connect_timeout": 2}
        self._publisher_client = redis.Redis.from_url(self.url, socket_timeout=5, **options)
        self._subscriber_client = redis.Redis.from_url(self.url, **options)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._subscribe_loop(), name="fanout-subscriber"),
            loop.create_task(self._publish_loop(), name="fanout-publisher"),
        ]

    async def close(self) -> None:
        """Send what is queued (briefly), then disconnect."""
        deadline = time.monotonic() + 2
        while self._outbox and self.healthy and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        self._closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for closing in (self._pubsub, self._publisher_client, self._subscriber_client):
            if closing is not None:
                with contextlib.suppress(Exception):
                    await closing.aclose()

    # -- subscriptions -----------------------------------------------------------------------
    async def subscribe(self, doc_id: str) -> None:
        """Listen to a document's channel; messages are kept until `attach`. Returns once
        Redis confirmed the subscription, or after `subscribe_wait_seconds` (Redis down:
        the room then relies on reading the log, and is caught up on reconnection)."""
        if doc_id in self._listeners:
            return
        self._listeners[doc_id] = None
        self._buffers[doc_id] = []
        channel = self.channel(doc_id)
        confirmed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._confirmations.setdefault(channel, []).append(confirmed)
        try:
            if self._pubsub is not None and self.healthy:
                await self._pubsub.subscribe(channel)
                await asyncio.wait_for(asyncio.shield(confirmed), self.subscribe_wait_seconds)
        except Exception as error:  # not fatal: the room catches up from the database
            self._note_error("subscribe", error)
        finally:
            waiting = self._confirmations.get(channel, [])
            if confirmed in waiting:
                waiting.remove(confirmed)

    def attach(self, doc_id: str, listener: Listener) -> None:
        """The room is loaded: hand it what arrived meanwhile, then everything."""
        self._listeners[doc_id] = listener
        for message in self._buffers.pop(doc_id, []):
            self._dispatch(listener, message)

    def unsubscribe(self, doc_id: str) -> None:
        self._listeners.pop(doc_id, None)
        self._buffers.pop(doc_id, None)
        if self._pubsub is not None and self.healthy:
            task = asyncio.get_running_loop().create_task(self._unsubscribe(doc_id))
            self._tasks.append(task)
            task.add_done_callback(self._forget)

    def _forget(self, task: asyncio.Task[None]) -> None:
        with contextlib.suppress(ValueError):
            self._tasks.remove(task)

    async def _unsubscribe(self, doc_id: str) -> None:
        if doc_id in self._listeners:  # opened again meanwhile
            return
        try:
            await self._pubsub.unsubscribe(self.channel(doc_id))
        except Exception as error:
            self._note_error("unsubscribe", error)

    # -- publishing ----------------------------------------------------------------------------
    def publish_updates(self, doc_id: str, entries: list[tuple[int, int, bytes]]) -> None:
        for message in encode_updates(self.process_id, entries):
            self._enqueue(self.channel(doc_id), message)

    def publish_awareness(self, doc_id: str, update: bytes) -> None:
        self._enqueue(self.channel(doc_id), AWARENESS + self.process_id + update)

    def query_awareness(self, doc_id: str) -> None:
        self._enqueue(self.channel(doc_id), QUERY + self.process_id)

    def _enqueue(self, channel: str, message: bytes) -> None:
        if len(self._outbox) >= MAX_QUEUED_MESSAGES:
            self._outbox.popleft()
            self.stats["dropped"] += 1
        self._outbox.append((channel, message))
        self._outbox_ready.set()

    async def _publish_loop(self) -> None:
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while self._outbox:
                batch = [self._outbox.popleft() for _ in range(min(len(self._outbox), 500))]
                try:
                    pipe = self._publisher_client.pipeline(transaction=False)
                    for channel, message in batch:
                        pipe.publish(channel, message)
                    await pipe.execute()
                    self.stats["published"] += len(batch)
                except Exception as error:
                    # Lost for Redis, not for anyone: the updates are in the database,
                    # and the other processes read them from there.
                    self.stats["dropped"] += len(batch)
                    self._note_error("publish", error)
                    await asyncio.sleep(0.1)

    # -- receiving -----------------------------------------------------------------------------
    async def _subscribe_loop(self) -> None:
        backoff = 0.05
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                self._note_error("subscriber", error)
            was_healthy, self.healthy = self.healthy, False
            if self._pubsub is not None:
                with contextlib.suppress(Exception):
                    await self._pubsub.aclose()
                self._pubsub = None
            if was_healthy:
                backoff = 0.05
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    async def _listen(self) -> None:
        pubsub = self._subscriber_client.pubsub()
        self._pubsub = pubsub
        channels = [self._control, *(self.channel(d) for d in self._listeners)]
        await pubsub.subscribe(*channels)
        # The answer to a PING comes after the answers to every SUBSCRIBE sent before it:
        # once it is back, every channel is listened to, and what was published while we
        # were away can be read from the log without missing anything later.
        await pubsub.ping()
        resubscribed = False
        last_heard = time.monotonic()
        pinged = False
        while True:
            message = await pubsub.get_message(timeout=self.ping_seconds)
            now = time.monotonic()
            if message is None:
                if now - last_heard > self.dead_after_seconds:
                    raise ConnectionError(f"no answer from Redis for {now - last_heard:.1f} s")
                if not pinged:
                    await pubsub.ping()
                    pinged = True
                continue
            last_heard, pinged = now, False
            kind = message["type"]
            if kind == "pong" and not resubscribed:
                resubscribed = True
                self.healthy = True
                if self._warned:
                    log.warning("Redis fan-out is back (%s)", self.url)
                    self._warned = False
                self.stats["reconnects"] += 1
                if self.on_reconnected is not None:
                    self.on_reconnected()
            elif kind == "subscribe":
                channel = _text(message["channel"])
                for waiting in self._confirmations.pop(channel, []):
                    if not waiting.done():
                        waiting.set_result(None)
            elif kind == "message":
                self._receive(_text(message["channel"]), message["data"])

    def _receive(self, channel: str, data: bytes) -> None:
        prefix = f"{self.prefix}:doc:"
        if not channel.startswith(prefix):
            return
        doc_id = channel[len(prefix) :]
        if doc_id not in self._listeners:
            return
        try:
            message = decode(bytes(data))
        except ProtocolError as error:
            log.error("ignored a malformed fan-out message on %s: %s", channel, error)
            return
        if message.origin == self.process_id:
            return  # our own
        self.stats["received"] += 1
        listener = self._listeners[doc_id]
        if listener is None:
            self._buffers.setdefault(doc_id, []).append(message)
        else:
            self._dispatch(listener, message)

    @staticmethod
    def _dispatch(listener: Listener, message: Message) -> None:
        try:
            if message.kind == UPDATES:
                listener.remote_updates(message.entries)
            elif message.kind == AWARENESS:
                listener.remote_awareness(message.payload, f"process:{message.origin.hex()}")
            elif message.kind == QUERY:
                listener.awareness_query()
        except Exception:
            log.exception("a room failed on a fan-out message")

    def _note_error(self, what: str, error: BaseException) -> None:
        self.stats["errors"] += 1
        if not self._warned:
            log.warning(
                "Redis fan-out: %s failed (%s); delivery between processes falls back to "
                "reading the database until Redis is back",
                what,
                error,
            )
            self._warned = True


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
