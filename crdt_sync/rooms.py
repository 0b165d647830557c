"""The rooms of one server process: opened once, shared, unloaded when idle.

Many clients opening a text that is not loaded yet, at the same instant, must all end
up in one room (the stock pycrdt-websocket server hangs here). The first opener loads it;
the others await the same future. An idle room is unloaded only after every update it
received is on disk and a snapshot of it is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from crdt_sync.authorize import guard_for
from crdt_sync.connection import CloseCode, Connection, Limits
from crdt_sync.durable import GroupCommitter, UpdateLog
from crdt_sync.room import Recorder, Room
from drafting.scopes import DocumentScope, refusal_to_open

if TYPE_CHECKING:
    from crdt_sync.accounts import Accounts
    from crdt_sync.audit import AuditEvent, AuditLog

log = logging.getLogger(__name__)


class RoomStore(UpdateLog, Protocol):
    def load(self, text_id: str) -> bytes: ...

    def write_snapshot(self, text_id: str, update: bytes, up_to: int) -> None: ...


class Rooms:
    def __init__(
        self,
        store: RoomStore,
        limits: Limits | None = None,
        *,
        accounts: Accounts | None = None,
        audit: AuditLog | None = None,
    ) -> None:
        self.store = store
        self.limits = limits or Limits()
        self.accounts = accounts
        self.audit = audit
        self.committer = GroupCommitter(store)
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

    def get(self, text_id: str) -> Room | None:
        return self._rooms.get(text_id)

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
            state = await asyncio.to_thread(self.store.load, text_id)
            if not negotiation_id and self.accounts is not None:
                found = await asyncio.to_thread(self.accounts.negotiation_of, text_id)
                negotiation_id = found or ""
            room = Room(
                text_id,
                state,
                self.committer,
                self.limits,
                on_snapshot=self._snapshot,
                guard=functools.partial(guard_for, scope),
                recorder=self._recorder(negotiation_id) if self.audit is not None else None,
                audited=scope.shared,
            )
            room.scope = scope
            self._rooms[text_id] = room
            future.set_result(room)
            return room
        except BaseException as error:
            future.set_exception(error)
            future.exception()  # retrieved: waiters get it, nobody is warned about it
            raise
        finally:
            del self._loading[text_id]

    def release(self, room: Room) -> None:
        """A connection left; unload the room later if nobody else is in it."""
        if room.broken and self._rooms.get(room.text_id) is room:
            del self._rooms[room.text_id]
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

    async def close(self) -> None:
        """Shut down: everything received is written, every room snapshotted."""
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self._rights_watch is not None:
            self._rights_watch.cancel()
        for task in self._unloading.values():
            task.cancel()
        for room in list(self._rooms.values()):
            with contextlib.suppress(Exception):
                await room.durable()
            room.snapshot()
        await self.committer.stop()
        await self.settle_snapshots()
        await self._write_audit()
        self._rooms.clear()

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
        async def write() -> None:
            try:
                await asyncio.to_thread(self.store.write_snapshot, text_id, update, up_to)
            except Exception:  # a missed snapshot costs load time, never data
                log.exception("snapshot of %s failed", text_id)

        task = asyncio.get_running_loop().create_task(write())
        self._snapshots.add(task)
        task.add_done_callback(self._snapshots.discard)

    def _start_keepalive(self) -> None:
        self.watch_rights()
        if self._keepalive is None:
            self._keepalive = asyncio.get_running_loop().create_task(self._keep_alive())

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.limits.keepalive_seconds / 2)
            for room in list(self._rooms.values()):
                room.keepalive()
