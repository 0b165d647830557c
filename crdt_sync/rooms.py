"""The rooms of one server process: opened once, shared, unloaded when idle.

Many clients opening a text that is not loaded yet, at the same instant, must all end
up in one room (the stock pycrdt-websocket server hangs here). The first opener loads it;
the others await the same future. An idle room is unloaded only after every update it
received is on disk and a snapshot of it is written.

With a `fanout` (several server processes on one PostgreSQL database and one Redis, see
`crdt_sync.fanout` and docs/DEPLOYMENT.md), a room is subscribed to its document's channel
before it is loaded (nothing published meanwhile is missed), its commits are published,
snapshots are written by one process at a time (`Store.write_snapshot_once`), and every
`poll_seconds` the newest log id of each open document is compared with its room's
position: whatever Redis failed to bring is read from the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from pycrdt import Doc

from crdt_sync.authorize import guard_for
from crdt_sync.connection import CloseCode, Connection, Limits
from crdt_sync.durable import GroupCommitter, UpdateLog
from crdt_sync.room import Recorder, Room
from drafting.scopes import DocumentScope, refusal_to_open

if TYPE_CHECKING:
    from crdt_sync.accounts import Accounts
    from crdt_sync.audit import AuditEvent, AuditLog
    from crdt_sync.fanout import RedisFanout

log = logging.getLogger(__name__)


class RoomStore(UpdateLog, Protocol):
    @property
    def local_commits(self) -> bool: ...

    def load(self, text_id: str) -> bytes: ...

    def load_document(self, text_id: str) -> tuple[Doc, int]: ...

    def write_snapshot(
        self, text_id: str, update: bytes, up_to: int, *, verify: bool = True
    ) -> None: ...


class ClusterStore(RoomStore, Protocol):
    """What several processes need of the store as well (`crdt_sync.store.Store`)."""

    def append_chain(self, entries: list[tuple[str, bytes, str]]) -> list[tuple[int, int]]: ...

    def read_log(self, text_id: str, after: int, limit: int) -> list[tuple[int, bytes]]: ...

    def log_heads(self, text_ids: list[str]) -> dict[str, int]: ...

    def write_snapshot_once(
        self, text_id: str, update: bytes, up_to: int, *, verify: bool = True
    ) -> bool: ...


class _Cluster:
    """The other processes, for a room: publish through Redis, read back from the log."""

    def __init__(self, store: ClusterStore, fanout: RedisFanout) -> None:
        self.store = store
        self.fanout = fanout

    def publish_updates(self, doc_id: str, entries: list[tuple[int, int, bytes]]) -> None:
        self.fanout.publish_updates(doc_id, entries)

    def publish_awareness(self, doc_id: str, update: bytes) -> None:
        self.fanout.publish_awareness(doc_id, update)

    async def read_log(self, doc_id: str, after: int, limit: int) -> list[tuple[int, bytes]]:
        return await asyncio.to_thread(self.store.read_log, doc_id, after, limit)


class Rooms:
    def __init__(
        self,
        store: RoomStore,
        limits: Limits | None = None,
        *,
        accounts: Accounts | None = None,
        audit: AuditLog | None = None,
        fanout: RedisFanout | None = None,
        poll_seconds: float = 1.0,
    ) -> None:
        self.store = store
        self.limits = limits or Limits()
        self.accounts = accounts
        self.audit = audit
        # Several processes: `store` is then a ClusterStore (PostgreSQL).
        self.fanout = fanout
        self.poll_seconds = poll_seconds
        self._cluster = _Cluster(store, fanout) if fanout is not None else None  # type: ignore[arg-type]
        self._poller: asyncio.Task[None] | None = None
        self.committer = GroupCommitter(
            store, chained=fanout is not None, inline=store.local_commits
        )
        self._audit_queue: list[AuditEvent] = []
        self._audit_writer: asyncio.Task[None] | None = None
        self._rights: dict[str, int] = {}
        self._rights_watch: asyncio.Task[None] | None = None
        self._rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future[Room]] = {}
        self._unloading: dict[str, asyncio.Task[None]] = {}
        self._snapshots: set[asyncio.Task[None]] = set()
        self._keepalive: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._rooms)

    async def start(self) -> None:
        """Connect to the other processes (nothing to do for a single process)."""
        if self.fanout is not None:
            self.fanout.on_reconnected = self._catch_up_all
            await self.fanout.start()
            self._poller = asyncio.get_running_loop().create_task(self._poll_log())

    def get(self, text_id: str) -> Room | None:
        return self._rooms.get(text_id)

    async def current_state(self, text_id: str) -> bytes:
        """A document as it stands: its room's if open (it may hold edits not yet on
        disk), else the store's."""
        room = self._rooms.get(text_id)
        if room is not None:
            return room.doc.get_update()
        return await asyncio.to_thread(self.store.load, text_id)

    async def open(
        self, text_id: str, *, scope: DocumentScope | None = None, negotiation_id: str = ""
    ) -> Room:
        """The room of a document (a text, or one of its scoped documents, whose id
        `text_id` then is), loading it if needed (once, whoever asks at the same time)."""
        scope = scope or DocumentScope()
        self._start_keepalive()
        pending_unload = self._unloading.pop(text_id, None)
        if pending_unload is not None:
            pending_unload.cancel()
        room = self._rooms.get(text_id)
        if room is not None and not room.broken:
            return room
        loading = self._loading.get(text_id)
        if loading is not None:
            return await asyncio.shield(loading)
        future: asyncio.Future[Room] = asyncio.get_running_loop().create_future()
        self._loading[text_id] = future
        try:
            if self.fanout is not None:
                # Listening first: what is published from now on reaches the room, and
                # what was stored before is in what we load next.
                await self.fanout.subscribe(text_id)
            # The document itself, not its encoding: decoding a large text again costs
            # more than its SQL (22 ms for a COP21 draft of 750 KB).
            doc, position = await asyncio.to_thread(self.store.load_document, text_id)
            if not negotiation_id and self.accounts is not None:
                found = await asyncio.to_thread(self.accounts.negotiation_of, text_id)
                negotiation_id = found or ""
            room = Room(
                text_id,
                doc,
                self.committer,
                self.limits,
                on_snapshot=self._snapshot,
                guard=functools.partial(guard_for, scope),
                recorder=self._recorder(negotiation_id) if self.audit is not None else None,
                audited=scope.shared,
                position=position,
                cluster=self._cluster,
            )
            room.scope = scope
            self._rooms[text_id] = room
            if self.fanout is not None:
                self.fanout.attach(text_id, room)
                self.fanout.query_awareness(text_id)
            future.set_result(room)
            return room
        except BaseException as error:
            if self.fanout is not None and text_id not in self._rooms:
                self.fanout.unsubscribe(text_id)
            future.set_exception(error)
            future.exception()  # retrieved: waiters get it, nobody is warned about it
            raise
        finally:
            del self._loading[text_id]

    def release(self, room: Room) -> None:
        """A connection left; unload the room later if nobody else is in it."""
        if room.broken and self._rooms.get(room.text_id) is room:
            del self._rooms[room.text_id]
            self._stopped(room)
            return
        if room.idle and room.text_id not in self._unloading:
            task = asyncio.get_running_loop().create_task(self._unload_when_idle(room))
            self._unloading[room.text_id] = task

    async def _unload_when_idle(self, room: Room) -> None:
        await asyncio.sleep(self.limits.idle_unload_seconds)
        await self._unload(room)

    async def _unload(self, room: Room) -> None:
        with contextlib.suppress(Exception):
            await room.durable()
        if not room.idle or self._rooms.get(room.text_id) is not room:
            return
        room.snapshot()
        del self._rooms[room.text_id]
        self._unloading.pop(room.text_id, None)
        self._stopped(room)

    def _stopped(self, room: Room) -> None:
        room.stop()
        if self.fanout is not None and room.text_id not in self._loading:
            self.fanout.unsubscribe(room.text_id)

    async def close(self) -> None:
        """Shut down: everything received is written, every room snapshotted."""
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self._rights_watch is not None:
            self._rights_watch.cancel()
        if self._poller is not None:
            self._poller.cancel()
        for task in self._unloading.values():
            task.cancel()
        for room in list(self._rooms.values()):
            with contextlib.suppress(Exception):
                await room.durable()
            room.snapshot()
        await self.committer.stop()
        await asyncio.sleep(0.01)  # rooms publish their last commits (call_soon, twice)
        await self.settle_snapshots()
        await self._write_audit()
        for room in self._rooms.values():
            room.stop()
        self._rooms.clear()
        if self.fanout is not None:
            await self.fanout.close()

    async def settle_snapshots(self) -> None:
        """Wait for the snapshots being written (a purge must not race one of them)."""
        if self._snapshots:
            await asyncio.gather(*list(self._snapshots), return_exceptions=True)

    async def purge(self, room: Room) -> None:
        """Rewrite a scoped document's stored record as its current state: what was
        deleted from it (a withdrawn balloon) is then kept nowhere."""
        await room.durable()
        await self.settle_snapshots()
        await asyncio.to_thread(self.store.purge, room.text_id, room.doc.get_update())

    # -- the audit log ---------------------------------------------------------------------
    def _recorder(self, negotiation_id: str) -> Recorder:
        def record(
            connection: Connection, action: str, target: str, detail: dict[str, object]
        ) -> None:
            self.record(
                action,
                person=connection.person,
                party=connection.actor.party,
                negotiation_id=negotiation_id,
                target=target,
                detail=detail,
            )

        return record

    def record(self, action: str, **fields: object) -> None:
        """Queue an audit entry; they are written in batches, off the event loop."""
        if self.audit is None:
            return
        from crdt_sync.audit import AuditEvent

        self._audit_queue.append(AuditEvent(action, **fields))  # type: ignore[arg-type]
        if self._audit_writer is None or self._audit_writer.done():
            self._audit_writer = asyncio.get_running_loop().create_task(self._write_audit())

    async def _write_audit(self) -> None:
        while self._audit_queue and self.audit is not None:
            batch, self._audit_queue = self._audit_queue, []
            try:
                await asyncio.to_thread(self.audit.record_many, batch)
            except Exception:  # the text is not lost for an audit failure; say so loudly
                log.exception("could not write %d audit entries", len(batch))

    # -- rights that change while people are connected -------------------------------------
    def watch_rights(self) -> None:
        """Re-read rights every `rights_poll_seconds` (changes made by other processes)."""
        if self.accounts is not None and self._rights_watch is None:
            self._rights_watch = asyncio.get_running_loop().create_task(self._poll_rights())

    async def _poll_rights(self) -> None:
        while True:
            await asyncio.sleep(self.limits.rights_poll_seconds)
            try:
                await self.recheck()
            except Exception:
                log.exception("could not re-read rights")

    async def recheck(self, negotiation_ids: Iterable[str] = ()) -> None:
        """Close the connections whose sign-in ended, and re-judge those of negotiations
        whose memberships changed (all of `negotiation_ids`, and any whose version moved):
        a revoked person is closed; a changed role applies to their next update."""
        accounts = self.accounts
        if accounts is None:
            return
        connections = [
            (room, c) for room in self._rooms.values() for c in room.connections.values()
        ]
        if not connections:
            return
        versions = await asyncio.to_thread(accounts.rights_versions)
        # A negotiation seen for the first time is re-judged too: its rights may have
        # changed between a connection's admission and this process's first look.
        changed = set(negotiation_ids) | {
            n for n, v in versions.items() if self._rights.get(n) != v
        }
        self._rights = versions
        credentials = {c.credential for _, c in connections if c.credential}
        valid = await asyncio.to_thread(accounts.still_valid, credentials)
        for room, connection in connections:
            if connection.credential and connection.credential not in valid:
                connection.close(CloseCode.UNAUTHENTICATED, "signed out or expired: sign in again")
            elif connection.negotiation_id in changed:
                await self._rejudge(accounts, room, connection)

    async def _rejudge(self, accounts: Accounts, room: Room, connection: Connection) -> None:
        membership = await asyncio.to_thread(
            accounts.membership, connection.person_id, connection.negotiation_id
        )
        if membership is None or refusal_to_open(membership.actor, room.scope) is not None:
            connection.close(CloseCode.FORBIDDEN, "your rights in this negotiation changed")
        else:
            connection.actor = membership.actor

    def _snapshot(self, text_id: str, update: bytes, up_to: int) -> None:
        # Several processes: one compacts a document at a time, and never over a purge.
        writer = (
            self.store.write_snapshot if self.fanout is None else self.store.write_snapshot_once  # type: ignore[attr-defined]
        )

        async def write() -> None:
            try:
                # The room encoded `update` from its own document: no need to decode it.
                await asyncio.to_thread(writer, text_id, update, up_to, verify=False)
            except Exception:  # a missed snapshot costs load time, never data
                log.exception("snapshot of %s failed", text_id)

        task = asyncio.get_running_loop().create_task(write())
        self._snapshots.add(task)
        task.add_done_callback(self._snapshots.discard)

    # -- several processes -----------------------------------------------------------------
    def _catch_up_all(self) -> None:
        """Redis is (back) on every channel: read what was published while it was not."""
        for room in list(self._rooms.values()):
            room.request_catch_up()

    async def _poll_log(self) -> None:
        """Pub/sub may lose a message without anyone noticing (a publish that failed while
        the subscribers stayed connected): compare each room's position with its log."""
        assert self.fanout is not None
        seen: dict[str, int] = {}
        while True:
            await asyncio.sleep(self.poll_seconds)
            rooms = list(self._rooms.values())
            if not rooms:
                continue
            try:
                heads = await asyncio.to_thread(
                    self.store.log_heads,  # type: ignore[attr-defined]
                    [room.text_id for room in rooms],
                )
            except Exception:
                log.exception("could not read the log heads")
                continue
            # With Redis up, an entry is overdue when it was already stored at the last
            # poll (newer ones are usually still on their way); with Redis down, at once.
            overdue = heads if not self.fanout.healthy else seen
            for room in rooms:
                if overdue.get(room.text_id, 0) > room.position and not room.broken:
                    room.request_catch_up()
            seen = heads

    def _start_keepalive(self) -> None:
        self.watch_rights()
        if self._keepalive is None:
            self._keepalive = asyncio.get_running_loop().create_task(self._keep_alive())

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.limits.keepalive_seconds / 2)
            for room in list(self._rooms.values()):
                room.keepalive()
