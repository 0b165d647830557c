"""A room: one live negotiation text and the connections editing it.

The path of an update through a room:

1. a frame arrives and is decoded (`protocol.decode`); a malformed one closes that
   connection only;
2. the update is judged against the sender's rights on a shadow copy
   (`crdt_sync.authorize`), then applied to the room's document and handed to the group
   committer;
3. once it is on disk, it joins the next fan-out tick; each tick merges what arrived into
   one frame and queues that same frame for every connection (echoing it to its sender
   is harmless: Yjs ignores what it has), so 500 clients cost one encoding, not 500.

A client's first sync (step 2) is sent only after every update already applied is on disk,
so no client ever sees an update a crash could lose.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from pycrdt import Doc, Map, MapEvent, merge_updates

from crdt_sync import protocol
from crdt_sync.authorize import Guard, Refused, UpdateGuard
from crdt_sync.awareness import AwarenessRegistry
from crdt_sync.connection import CloseCode, Closed, Connection, Limits
from crdt_sync.durable import GroupCommitter
from crdt_sync.protocol import MessageType, ProtocolError, SyncType
from drafting.notable import notable_changes
from drafting.permissions import Change
from drafting.scopes import DocumentScope

# Told of what the audit log keeps: (who, action, target, detail).
Recorder = Callable[[Connection, str, str, dict[str, object]], None]
AUDITED_ROOTS = ("proposals", "clauses", "brackets")

log = logging.getLogger(__name__)

EMPTY_UPDATE = b"\x00\x00"
KEEPALIVE = protocol.awareness(b"\x00")  # an awareness update about no client at all


class Room:
    def __init__(
        self,
        text_id: str,
        state: bytes,
        committer: GroupCommitter,
        limits: Limits,
        *,
        on_snapshot: Callable[[str, bytes, int], None] | None = None,
        guard: Callable[[Doc], Guard] = UpdateGuard,
        recorder: Recorder | None = None,
        audited: bool = True,
    ) -> None:
        self.text_id = text_id
        self.doc = Doc()
        if state:
            self.doc.apply_update(state)
        self.size = len(state)
        self.guard = guard(self.doc)
        self.committer = committer
        self.limits = limits
        self.connections: dict[str, Connection] = {}
        self.awareness = AwarenessRegistry()
        self.broken: str | None = None
        self._on_snapshot = on_snapshot
        self._last_commit: asyncio.Future[int] | None = None
        self._last_log_id = 0
        self._since_snapshot = 0
        self._outgoing: list[bytes] = []
        self._awareness_out: list[bytes] = []
        self._tick: asyncio.TimerHandle | None = None
        self.recorder = recorder
        self.scope = DocumentScope()  # which document of its text (set by `Rooms.open`)
        self._observed: list[Change] = []
        # The roots and subscriptions are kept: pycrdt drops an observer together with
        # the Python object of the type it was registered on.
        self._audited: list[tuple[Map, object]] = []
        if recorder is not None and audited:
            for name in AUDITED_ROOTS:
                root = self.doc.get(name, type=Map)
                self._audited.append((root, root.observe_deep(self._collector(name))))

    # -- connections -------------------------------------------------------------------
    async def join(self, connection: Connection) -> None:
        self.connections[connection.id] = connection
        connection.deliver(protocol.sync_step1(self.doc.get_state()))
        known = self.awareness.snapshot()
        if known is not None:
            connection.deliver(protocol.awareness(known))

    def leave(self, connection: Connection) -> None:
        self.connections.pop(connection.id, None)
        gone = self.awareness.remove_connection(connection.id)
        if gone is not None:
            self._queue_awareness(gone)

    @property
    def idle(self) -> bool:
        return not self.connections

    # -- incoming frames ---------------------------------------------------------------
    async def receive(self, connection: Connection, data: bytes) -> None:
        """Handle one frame; raises `Closed` when this connection must go."""
        connection.admit(len(data))
        try:
            frame = protocol.decode(data)
        except ProtocolError as error:
            raise Closed(CloseCode.PROTOCOL_ERROR, f"malformed frame: {error}") from None
        if frame.type == MessageType.SYNC:
            if frame.sync == SyncType.STEP1:
                await self._answer_step1(connection, frame.payload)
            else:
                self._accept_update(connection, frame.payload)
        elif frame.type == MessageType.AWARENESS:
            try:
                forward = self.awareness.apply(frame.payload, connection.id)
            except ProtocolError as error:
                raise Closed(CloseCode.PROTOCOL_ERROR, f"malformed awareness: {error}") from None
            if forward is not None:
                self._queue_awareness(forward)
        elif frame.type == MessageType.QUERY_AWARENESS:
            known = self.awareness.snapshot()
            if known is not None:
                connection.deliver(protocol.awareness(known))

    async def _answer_step1(self, connection: Connection, state_vector: bytes) -> None:
        await self.durable()
        try:
            update = self.doc.get_update(state_vector)
        except Exception:  # pycrdt raises on a state vector that does not decode
            raise Closed(CloseCode.PROTOCOL_ERROR, "malformed state vector") from None
        connection.deliver(protocol.sync_step2(update))

    async def apply_local(self, sender: Connection, update: bytes) -> int:
        """A change made on the server (an HTTP restore, a revision label) for `sender`:
        judged, applied, committed and fanned out like any client's; its log id."""
        self._accept_update(sender, update)
        if self._last_commit is None:
            raise RuntimeError("nothing was committed")
        return await asyncio.shield(self._last_commit)

    def _accept_update(self, connection: Connection, update: bytes) -> None:
        if self.broken:
            raise Closed(CloseCode.SERVER_ERROR, self.broken)
        if update == EMPTY_UPDATE:
            return
        if self.size + len(update) > self.limits.max_document_bytes:
            raise Closed(
                CloseCode.TOO_BIG,
                f"the document would exceed {self.limits.max_document_bytes} bytes",
            )
        self._observed.clear()
        try:
            self.guard.check(update, connection.actor)
            self.doc.apply_update(update)
        except Refused as refused:
            self._record(connection, "update-refused", self.text_id, {"reason": refused.reason})
            # y-websocket shows this reason; the client must resync from our state.
            connection.deliver(protocol.permission_denied(refused.reason))
            raise Closed(CloseCode.POLICY, f"permission denied: {refused.reason}") from None
        except Exception:
            raise Closed(CloseCode.PROTOCOL_ERROR, "malformed update") from None
        if self._observed:
            for notable in notable_changes(self._observed):
                self._record(connection, notable.action, notable.target, notable.detail)
            self._observed.clear()
        self.size += len(update)
        committed = self.committer.submit(self.text_id, update, connection.origin)
        self._last_commit = committed
        committed.add_done_callback(lambda done: self._on_committed(done, update))

    def _collector(self, root: str) -> Callable[[list[object]], None]:
        def collect(events: list[object]) -> None:
            for event in events:
                if isinstance(event, MapEvent):  # words typed are not audit events
                    self._observed.append(Change(root, tuple(event.path), dict(event.keys)))

        return collect

    def _record(
        self, connection: Connection, action: str, target: str, detail: dict[str, object]
    ) -> None:
        if self.recorder is not None:
            self.recorder(connection, action, target, detail)

    def _on_committed(self, done: asyncio.Future[int], update: bytes) -> None:
        if done.cancelled() or done.exception() is not None:
            self._break(f"the store failed: {done.exception()!r}")
            return
        self._last_log_id = max(self._last_log_id, done.result())
        self._since_snapshot += 1
        self._outgoing.append(update)
        self._schedule_tick()
        if self._since_snapshot >= self.limits.snapshot_every_updates:
            self.snapshot()

    async def durable(self) -> None:
        """Wait until every update applied so far is on disk."""
        if self._last_commit is not None and not self._last_commit.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(self._last_commit)
        if self.broken:
            raise Closed(CloseCode.SERVER_ERROR, self.broken)

    # -- fan-out -----------------------------------------------------------------------
    def _queue_awareness(self, update: bytes) -> None:
        self._awareness_out.append(update)
        self._schedule_tick()

    def _schedule_tick(self) -> None:
        if self._tick is None:
            loop = asyncio.get_running_loop()
            self._tick = loop.call_later(self.limits.fanout_tick_seconds, self._flush)

    def _flush(self) -> None:
        self._tick = None
        frames = []
        if self._outgoing:
            updates, self._outgoing = self._outgoing, []
            merged = updates[0] if len(updates) == 1 else merge_updates(*updates)
            frames.append(protocol.sync_update(merged))
        if self._awareness_out:
            pending, self._awareness_out = self._awareness_out, []
            frames.extend(protocol.awareness(update) for update in pending)
        for connection in list(self.connections.values()):
            for frame in frames:
                connection.deliver(frame)

    def keepalive(self) -> None:
        """y-websocket reconnects after 30 s of silence: speak to the quiet ones."""
        quiet_since = time.monotonic() - self.limits.keepalive_seconds
        for connection in list(self.connections.values()):
            if connection.last_sent < quiet_since:
                connection.deliver(KEEPALIVE)

    # -- persistence -------------------------------------------------------------------
    def snapshot(self) -> None:
        """Compact: the document as it stands covers every update committed so far."""
        if self._on_snapshot is None or self._last_log_id == 0 or self._since_snapshot == 0:
            return
        self._since_snapshot = 0
        self._on_snapshot(self.text_id, self.doc.get_update(), self._last_log_id)

    def _break(self, reason: str) -> None:
        """The store refused an update: nobody may see it. Close everyone; they resync."""
        log.error("room %s: %s", self.text_id, reason)
        self.broken = reason
        for connection in list(self.connections.values()):
            connection.close(CloseCode.SERVER_ERROR, "the server could not store an update")
