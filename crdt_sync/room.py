"""A room: one live negotiation text and the connections editing it.

The path of an update through a room:

1. a frame arrives and is decoded (`protocol.decode`); a malformed one closes that
   connection only;
2. the update is judged against the sender's rights on a shadow copy
   (`crdt_sync.authorize`), then applied to the room's document and handed to the group
   committer;
3. once it is on disk, it joins the next fan-out tick; each tick merges what arrived into
   one frame and queues that same frame for every connection, so 500 clients cost one
   encoding, not 500. A frame that holds one connection's updates only is not echoed to
   it: Yjs would ignore what it has, but a typist on hotel Wi-Fi would download every
   keystroke twice, and a small room would do a tenth more writes.

A client's first sync (step 2) is sent only after every update already applied is on disk,
so no client ever sees an update a crash could lose.

With several server processes (`crdt_sync.fanout`), a room also publishes what it
committed, and applies what the other processes committed (`remote_updates`). It keeps a
*position*: every entry of its document's log up to that id is in its document. Entries
arrive with the id of the entry before them; one whose predecessor is not here yet waits
(`_held`), and a gap that does not close by itself is filled from the log (`catch_up`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable
from typing import Protocol

from pycrdt import Doc, Map, MapEvent, merge_updates

from crdt_sync import protocol
from crdt_sync.authorize import Guard, Refused, UpdateGuard
from crdt_sync.awareness import AwarenessRegistry
from crdt_sync.connection import CloseCode, Closed, Connection, Limits
from crdt_sync.durable import GroupCommitter, LogPosition
from crdt_sync.protocol import MessageType, ProtocolError, Reader, SyncType
from drafting.notable import notable_changes
from drafting.permissions import Change
from drafting.scopes import DocumentScope

# Told of what the audit log keeps: (who, action, target, detail).
Recorder = Callable[[Connection, str, str, dict[str, object]], None]
AUDITED_ROOTS = ("proposals", "clauses", "brackets")

log = logging.getLogger(__name__)

EMPTY_UPDATE = b"\x00\x00"
KEEPALIVE = protocol.awareness(b"\x00")  # an awareness update about no client at all

# A link missing for this long (an update of another process published out of order
# with its predecessor, or lost by Redis) is read from the log.
GAP_SECONDS = 0.3
FANOUT_SECONDS_PER_CONNECTION = 10e-6  # see `Room._schedule_tick`
FANOUT_DUTY = 8  # a fan-out owes a pause of FANOUT_DUTY times its length...
FANOUT_BURST = 0.005  # ...beyond these seconds of writing, which a quiet room has in hand
CATCH_UP_ROWS = 10_000
COMMIT_WAIT = 0.002  # longest a fan-out waits for a commit in progress (`Room._hold_for`)
HOLD_FACTOR = 3  # ...when an update that misses it would wait this many times longer
MERGE_FAN_IN = 32  # updates given to one `merge_updates` (`merge_in_rounds`)


class Cluster(Protocol):
    """The other server processes, as a room sees them (`crdt_sync.rooms`)."""

    def publish_updates(self, doc_id: str, entries: list[tuple[int, int, bytes]]) -> None: ...

    def publish_awareness(self, doc_id: str, update: bytes) -> None: ...

    async def read_log(self, doc_id: str, after: int, limit: int) -> list[tuple[int, bytes]]: ...


class Room:
    def __init__(
        self,
        text_id: str,
        doc: Doc,
        committer: GroupCommitter,
        limits: Limits,
        *,
        on_snapshot: Callable[[str, bytes, int], None] | None = None,
        guard: Callable[[Doc], Guard] = UpdateGuard,
        recorder: Recorder | None = None,
        audited: bool = True,
        position: int = 0,
        cluster: Cluster | None = None,
    ) -> None:
        self.text_id = text_id
        self.doc = doc
        self.size = len(doc.get_update())  # as encoded: what the document limit counts
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
        # Stored updates for the next fan-out, each with its sender's connection id (None:
        # another process's).
        self._outgoing: list[tuple[bytes, str | None]] = []
        self._awareness_out: list[bytes] = []
        # Awareness for the next presence frame (see `_forward_awareness`), and renewals
        # gathered for `limits.renewal_seconds` before they join it.
        self._presence: list[bytes] = []
        self._presence_timer: asyncio.TimerHandle | None = None
        self._last_presence = -math.inf  # loop time of the last presence frame
        self._renewals: list[bytes] = []
        self._renewal_timer: asyncio.TimerHandle | None = None
        self._tick: asyncio.Handle | None = None
        self._last_flush = -1.0  # loop time of the last fan-out tick
        # Seconds of writing the room has in hand (below zero: owes a pause), as of the
        # end of its last fan-out (see `fanout_budget`).
        self._write_budget = FANOUT_BURST
        self._sweep_end = 0.0
        self.recorder = recorder
        self.scope = DocumentScope()  # which document of its text (set by `Rooms.open`)
        self._observed: list[Change] = []
        # Several processes: `doc` held every log entry up to `position`.
        self.cluster = cluster
        self._cursor = position
        self._ahead: dict[int, int] = {}  # own entries past a gap: previous id → id
        self._ahead_ids: set[int] = set()
        self._held: dict[int, tuple[int, bytes]] = {}  # others' past a gap: previous → entry
        self._gap_timer: asyncio.TimerHandle | None = None
        self._to_publish: list[tuple[int, int, bytes]] = []
        self._catch_wanted = 0
        self._catch_done = 0
        self._catcher: asyncio.Task[None] | None = None
        if cluster is not None:
            self._last_log_id = position
        # The roots and subscriptions are kept: pycrdt drops an observer together with
        # the Python object of the type it was registered on.
        self._audited: list[tuple[Map, object]] = []
        if recorder is not None and audited:
            for name in AUDITED_ROOTS:
                root = self.doc.get(name, type=Map)
                self._audited.append((root, root.observe_deep(self._collector(name))))

    # -- connections -------------------------------------------------------------------
    async def join(self, connection: Connection) -> None:
        if self.cluster is not None:
            # What other processes stored and we have not heard of (one of them may have
            # died before publishing): read it first, so that this client's sync step 2
            # is computed against everything stored, and resends nothing stored twice.
            await self.catch_up()
        self.connections[connection.id] = connection
        connection.deliver(protocol.sync_step1(self.doc.get_state()))
        known = self.awareness.snapshot()
        if known is not None:
            connection.deliver(protocol.awareness(known))

    def leave(self, connection: Connection) -> None:
        self.connections.pop(connection.id, None)
        gone = self.awareness.remove_connection(connection.id)
        if gone is not None:
            self._forward_awareness(gone, None)
            self._publish_awareness(gone)

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
                changed, renewed = self.awareness.apply(frame.payload, connection.id)
            except ProtocolError as error:
                raise Closed(CloseCode.PROTOCOL_ERROR, f"malformed awareness: {error}") from None
            for update in (changed, renewed):
                if update is not None:  # other processes gather renewals themselves
                    self._publish_awareness(update)
            self._forward_awareness(changed, renewed)
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
        self._last_commit = self.committer.submit(
            self.text_id,
            update,
            connection.origin,
            then=lambda done: self._on_committed(done, update, connection.id),
        )

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

    def _on_committed(self, done: asyncio.Future[int], update: bytes, sender: str) -> None:
        if done.exception() is not None:  # (the committer hands over no cancelled future)
            self._break(f"the store failed: {done.exception()!r}")
            return
        if self.cluster is not None:
            self._committed_here(done.result(), update)
        else:
            self._last_log_id = max(self._last_log_id, done.result())
        self._since_snapshot += 1
        self._outgoing.append((update, sender))
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
    def _forward_awareness(self, changed: bytes | None, renewed: bytes | None) -> None:
        """Awareness goes out in presence frames, at most one per `presence_seconds`: a
        change at once if the last went longer ago, else with the next; renewals wait
        `renewal_seconds` to join one.

        Every awareness frame a y-websocket client applies, it sends back (its provider
        re-sends every awareness update it applies), so each frame the room sends costs
        it an echo from every client. Forwarded with each fan-out tick, the cursors of
        typists (the editor moves its cursor with every keystroke) put a frame in every
        tick: measured at 200 real clients, 10 % of them typing, the server's CPU went
        from 18 to 52 % of a core. The renewals of 500 clients (each renews its unchanged
        state every 15 s) put one in most ticks, all to say "still here": in the
        benchmark's room of 500 (scenario 5) a client got 75 frames a second instead of
        51. Ten presence frames a second are quick enough to show where people are, and
        renewals a second late are well inside the 30 s after which a client drops a
        state not renewed."""
        if changed is not None:
            self._presence.append(changed)
            self._schedule_presence()
        if renewed is not None:
            self._renewals.append(renewed)
            if self._renewal_timer is None:
                loop = asyncio.get_running_loop()
                self._renewal_timer = loop.call_later(
                    self.limits.renewal_seconds, self._release_renewals
                )

    def _release_renewals(self) -> None:
        self._renewal_timer = None
        # A client's change since its renewal went out with a newer clock: merged in the
        # same frame the change wins, and a client told of the change already ignores the
        # renewal's older clock (y-protocols).
        self._presence.extend(self._renewals)
        self._renewals = []
        self._schedule_presence()

    def _schedule_presence(self) -> None:
        if self._presence_timer is not None or not self._presence:
            return
        loop = asyncio.get_running_loop()
        wait = self._last_presence + self.limits.presence_seconds - loop.time()
        if wait > 0:
            self._presence_timer = loop.call_later(wait, self._release_presence)
        else:
            self._release_presence()

    def _release_presence(self) -> None:
        self._presence_timer = None
        self._last_presence = asyncio.get_running_loop().time()
        self._awareness_out.extend(self._presence)
        self._presence = []
        self._schedule_tick()

    def _schedule_tick(self) -> None:
        """Fan-outs are spaced by a pause that grows with the room: 10 µs per connection,
        and, once the room has written for more than `FANOUT_BURST` beyond what its pauses
        paid for, `FANOUT_DUTY` times what it owes; at most `fanout_tick_seconds` (20 ms).
        A fan-out costs the server a write per connection, and each reader a frame to
        read: a busy large room merges what arrives meanwhile into one frame instead of
        spending all its time writing, which leaves no CPU to read what comes in (or, on a
        shared machine, to the readers). A small room, or one whose fan-outs are far
        apart, is not held back, even by one fan-out the machine slowed down. A room quiet
        for long enough sends at once (after whatever else this turn of the loop brings,
        so a commit's updates still go out together)."""
        if self._tick is None:
            loop = asyncio.get_running_loop()
            due = fanout_due(
                self._last_flush,
                self._sweep_end,
                len(self.connections),
                self.limits,
                self._write_budget,
            )
            wait = due - loop.time()
            if wait > 0:
                self._tick = loop.call_later(wait, self._flush)
            else:
                self._tick = loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._tick = None
        pending = self._last_commit
        if pending is not None and not pending.done() and self._worth_holding():
            self._hold_for(pending)
        else:
            self._fan_out()

    def _worth_holding(self) -> bool:
        """Whether an update that misses this fan-out would wait for the next one at least
        `HOLD_FACTOR` times as long as this one may wait for its commit. The next starts
        no sooner than the room's spacing after this one, nor before this one ends (as
        long, say, as the last one took). A fan-out that waits holds back the updates it
        already carries (five at a time at 500 connections), so it waits only for a gain
        several times that. Measured: 200 real clients, whose fan-outs take 3-6 ms, had
        a worse p99 when their room waited at a spacing of 2 ms (docs/PERFORMANCE.md)."""
        spacing = fanout_spacing(len(self.connections), self.limits)
        last = self._sweep_end - self._last_flush if self._last_flush >= 0 else 0.0
        return max(spacing, last) >= HOLD_FACTOR * COMMIT_WAIT

    def _hold_for(self, pending: asyncio.Future[int]) -> None:
        """Put the fan-out off until no commit is in progress, for `COMMIT_WAIT` at most.
        An update accepted just before the tick would otherwise miss this fan-out and wait
        for the next one, behind this whole fan-out and the pause after it (at 500
        connections, 20-60 ms); its commit, meanwhile, would crawl: the committer thread
        needs the GIL back after each SQL statement, and a loop writing to 500 sockets
        lets go of it only every switch interval (5 ms)."""
        timer = asyncio.get_running_loop().call_later(COMMIT_WAIT, self._fan_out_held)
        self._tick = timer

        def committed(done: asyncio.Future[int]) -> None:
            if self._tick is not timer:  # the wait ran out, and the fan-out went
                return
            latest = self._last_commit
            if latest is not None and not latest.done():  # accepted while we waited
                latest.add_done_callback(committed)
                return
            timer.cancel()
            self._fan_out_held()

        pending.add_done_callback(committed)

    def _fan_out_held(self) -> None:
        self._tick = None
        self._fan_out()

    def _fan_out(self) -> None:
        self._last_flush = asyncio.get_running_loop().time()
        update_frame = awareness_frame = None
        only_sender = None  # the one connection whose updates these all are, if any
        if self._outgoing:
            outgoing, self._outgoing = self._outgoing, []
            updates = [update for update, _ in outgoing]
            merged = merge_in_rounds(updates)
            update_frame = protocol.sync_update(merged)
            senders = {sender for _, sender in outgoing}
            if len(senders) == 1:
                only_sender = senders.pop()
        if self._awareness_out:
            pending, self._awareness_out = self._awareness_out, []
            merged = pending[0] if len(pending) == 1 else _merge_awareness(pending)
            awareness_frame = protocol.awareness(merged)
        for connection in list(self.connections.values()):
            if update_frame is not None and connection.id != only_sender:
                connection.deliver(update_frame)
            if awareness_frame is not None:
                connection.deliver(awareness_frame)
        started, ended = self._last_flush, asyncio.get_running_loop().time()
        idle = started - self._sweep_end
        self._write_budget = fanout_budget(self._write_budget, idle, ended - started)
        self._sweep_end = ended

    def keepalive(self) -> None:
        """y-websocket reconnects after 30 s of silence: speak to the quiet ones."""
        quiet_since = time.monotonic() - self.limits.keepalive_seconds
        for connection in list(self.connections.values()):
            if connection.last_sent < quiet_since:
                connection.deliver(KEEPALIVE)

    # -- several processes (crdt_sync.fanout) -------------------------------------------
    def _committed_here(self, position: int, update: bytes) -> None:
        """One of our updates is stored: publish it, and move our position past it."""
        assert self.cluster is not None
        prev = position.prev if isinstance(position, LogPosition) else -1
        if not self._to_publish:
            asyncio.get_running_loop().call_soon(self._publish)  # once per commit batch
        self._to_publish.append((position, prev, update))
        if position <= self._cursor:
            return
        if prev <= self._cursor:
            self._advance_to(position)
        else:  # others' entries came before it and are not here yet
            self._ahead[prev] = position
            self._ahead_ids.add(position)
            self._watch_gaps()

    def _publish(self) -> None:
        entries, self._to_publish = self._to_publish, []
        if entries and self.cluster is not None:
            self.cluster.publish_updates(self.text_id, entries)

    def _publish_awareness(self, update: bytes) -> None:
        if self.cluster is not None:
            self.cluster.publish_awareness(self.text_id, update)

    def remote_updates(self, entries: list[tuple[int, int, bytes]]) -> None:
        """Entries another process committed (already durable), in its commit order."""
        for log_id, prev, update in entries:
            self._remote_entry(log_id, prev, update)
        self._watch_gaps()

    def _remote_entry(self, log_id: int, prev: int, update: bytes) -> None:
        if log_id <= self._cursor or self.broken:
            return
        if prev > self._cursor:
            if log_id not in self._ahead_ids:
                self._held[prev] = (log_id, update)
            return
        if log_id not in self._ahead_ids:
            self._apply_remote(update)
        self._advance_to(log_id)

    def _advance_to(self, log_id: int) -> None:
        """`log_id`, the entry right after our position, is in the document: move on, and
        through whatever was waiting for it."""
        self._ahead.pop(self._cursor, None)
        self._ahead_ids.discard(log_id)
        self._cursor = log_id
        while True:
            own = self._ahead.pop(self._cursor, None)
            if own is not None:
                self._ahead_ids.discard(own)
                self._cursor = own
                continue
            held = self._held.pop(self._cursor, None)
            if held is not None:
                self._apply_remote(held[1])
                self._cursor = held[0]
                continue
            break
        self._last_log_id = self._cursor

    def _apply_remote(self, update: bytes) -> None:
        """Apply an update another process judged and stored, and send it to our clients
        (it is durable already)."""
        try:
            self.doc.apply_update(update)
        except Exception:
            log.exception("room %s: could not apply an update of another process", self.text_id)
            return
        self._observed.clear()  # audited by the process that received it
        shadow = getattr(self.guard, "shadow", None)  # UpdateGuard's copy keeps in step
        if shadow is not None:
            shadow.doc.apply_update(update)
        self.size += len(update)
        self._since_snapshot += 1
        self._outgoing.append((update, None))
        self._schedule_tick()
        if self._since_snapshot >= self.limits.snapshot_every_updates:
            self.snapshot()

    def remote_awareness(self, update: bytes, origin: str) -> None:
        try:
            changed, renewed = self.awareness.apply(update, origin)
        except ProtocolError as error:
            log.error("room %s: malformed awareness from %s: %s", self.text_id, origin, error)
            return
        self._forward_awareness(changed, renewed)

    def awareness_query(self) -> None:
        known = self.awareness.snapshot()
        if known is not None:
            self._publish_awareness(known)

    def _watch_gaps(self) -> None:
        waiting = bool(self._held or self._ahead)
        if waiting and self._gap_timer is None:
            loop = asyncio.get_running_loop()
            self._gap_timer = loop.call_later(GAP_SECONDS, self._gap_timeout)
        elif not waiting and self._gap_timer is not None:
            self._gap_timer.cancel()
            self._gap_timer = None

    def _gap_timeout(self) -> None:
        self._gap_timer = None
        if self._held or self._ahead:
            self.request_catch_up()

    def request_catch_up(self) -> None:
        """Read what we lack from the log, soon (without waiting for it)."""
        if self.cluster is None:
            return
        task = asyncio.get_running_loop().create_task(self.catch_up())
        task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def catch_up(self) -> None:
        """Apply every log entry stored after our position: returns once a read of the log
        that started after this call has been applied (concurrent callers share reads)."""
        if self.cluster is None:
            return
        self._catch_wanted += 1
        wanted = self._catch_wanted
        while self._catch_done < wanted and not self.broken:
            if self._catcher is None or self._catcher.done():
                self._catcher = asyncio.get_running_loop().create_task(self._catch_up_rounds())
            catcher = self._catcher
            try:
                await asyncio.shield(catcher)
            except asyncio.CancelledError:
                if catcher.cancelled():  # the room stopped: nothing more to catch up on
                    return
                raise

    async def _catch_up_rounds(self) -> None:
        assert self.cluster is not None
        while self._catch_done < self._catch_wanted:
            wanted = self._catch_wanted
            try:
                while not self.broken:
                    start = self._cursor
                    rows = await self.cluster.read_log(self.text_id, start, CATCH_UP_ROWS)
                    prev = start
                    for log_id, update in rows:
                        self._remote_entry(log_id, prev, update)
                        prev = log_id
                    if len(rows) < CATCH_UP_ROWS:
                        break
            except Exception:
                log.exception("room %s: could not read the log to catch up", self.text_id)
            # What the read went past can no longer be waiting for anything.
            for prev in [p for p, (i, _) in self._held.items() if i <= self._cursor]:
                del self._held[prev]
            for prev in [p for p, i in self._ahead.items() if i <= self._cursor]:
                self._ahead_ids.discard(self._ahead.pop(prev))
            self._watch_gaps()
            self._catch_done = wanted

    @property
    def position(self) -> int:
        """Every log entry of this document up to this id is in the room's document."""
        return self._cursor

    def stop(self) -> None:
        """The room is unloaded or broken: no more timers or reads of its own."""
        for timer in (self._gap_timer, self._renewal_timer, self._presence_timer):
            if timer is not None:
                timer.cancel()
        self._gap_timer = self._renewal_timer = self._presence_timer = None
        if self._catcher is not None:
            self._catcher.cancel()

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


def fanout_spacing(connections: int, limits: Limits) -> float:
    """The least time between the starts of two fan-outs of a room this large."""
    return min(limits.fanout_tick_seconds, connections * FANOUT_SECONDS_PER_CONNECTION)


def fanout_due(start: float, end: float, connections: int, limits: Limits, budget: float) -> float:
    """When a room's next fan-out may start, its last one having run from `start` to `end`
    and left it `budget` seconds of writing in hand (`fanout_budget`): `fanout_spacing`
    after that start, and `FANOUT_DUTY` times what it owes after that end; at the latest
    a tick after that start."""
    by_size = start + fanout_spacing(connections, limits)
    by_debt = end + FANOUT_DUTY * max(0.0, -budget)
    return min(start + limits.fanout_tick_seconds, max(by_size, by_debt))


def fanout_budget(budget: float, idle: float, sweep: float) -> float:
    """The seconds of writing a room has in hand after a fan-out that took `sweep`, `idle`
    seconds after the previous one ended: every second without writing earns
    1 / `FANOUT_DUTY` of a second of it, up to `FANOUT_BURST` (a token bucket). A room
    that writes steadily ends up owing each fan-out's length, and pauses `FANOUT_DUTY`
    times as long (`fanout_due`); one that writes now and then never owes anything."""
    return min(FANOUT_BURST, budget + idle / FANOUT_DUTY) - sweep


def merge_in_rounds(updates: list[bytes]) -> bytes:
    """The updates as one: merged `MERGE_FAN_IN` at a time, then those merges likewise.
    `merge_updates` costs more per update the more it is given (measured with pycrdt
    0.14: 2.4 µs an update for 100 keystrokes, 42 µs for 5,000), so one merge of a burst
    (a client sending a stored trace, a paste, offline edits coming back) grows
    quadratically, and a fan-out that took long gathers a larger burst for the next one:
    one client's trace at full speed spent 55 % of the server's loop in it. In rounds,
    5,000 keystrokes merge in 9 ms instead of 215, to the same bytes."""
    while len(updates) > 1:
        updates = [
            batch[0] if len(batch) == 1 else merge_updates(*batch)
            for batch in (
                updates[i : i + MERGE_FAN_IN] for i in range(0, len(updates), MERGE_FAN_IN)
            )
        ]
    return updates[0]


def _merge_awareness(updates: list[bytes]) -> bytes:
    """Awareness updates of one tick (this room's own encodings) as one: the newest entry
    of each client. 500 clients renewing their states make one frame per tick, not 500."""
    newest: dict[int, tuple[int, bytes]] = {}
    for update in updates:
        reader = Reader(update)
        for _ in range(reader.varuint()):
            client, clock, state = reader.varuint(), reader.varuint(), reader.varbytes()
            known = newest.get(client)
            if known is None or clock >= known[0]:
                newest[client] = (clock, state)
    out = [protocol.encode_varuint(len(newest))]
    for client, (clock, state) in newest.items():
        out.append(
            protocol.encode_varuint(client)
            + protocol.encode_varuint(clock)
            + protocol.encode_varbytes(state)
        )
    return b"".join(out)
