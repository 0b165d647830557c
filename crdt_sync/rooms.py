"""The rooms of one server process: opened once, shared, unloaded when idle.

Many clients opening a text that is not loaded yet, at the same instant, must all end
up in one room (the stock pycrdt-websocket server hangs here). The first opener loads it;
the others await the same future. An idle room is unloaded only after every update it
received is on disk and a snapshot of it is written.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from crdt_sync.connection import Limits
from crdt_sync.durable import GroupCommitter, UpdateLog
from crdt_sync.room import Room

log = logging.getLogger(__name__)


class RoomStore(UpdateLog, Protocol):
    def load(self, text_id: str) -> bytes: ...

    def write_snapshot(self, text_id: str, update: bytes, up_to: int) -> None: ...


class Rooms:
    def __init__(self, store: RoomStore, limits: Limits | None = None) -> None:
        self.store = store
        self.limits = limits or Limits()
        self.committer = GroupCommitter(store)
        self._rooms: dict[str, Room] = {}
        self._loading: dict[str, asyncio.Future[Room]] = {}
        self._unloading: dict[str, asyncio.Task[None]] = {}
        self._snapshots: set[asyncio.Task[None]] = set()
        self._keepalive: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._rooms)

    def get(self, text_id: str) -> Room | None:
        return self._rooms.get(text_id)

    async def open(self, text_id: str) -> Room:
        """The room of a text, loading it if needed (once, whoever asks at the same time)."""
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
            room = Room(text_id, state, self.committer, self.limits, on_snapshot=self._snapshot)
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
        for task in self._unloading.values():
            task.cancel()
        for room in list(self._rooms.values()):
            with contextlib.suppress(Exception):
                await room.durable()
            room.snapshot()
        await self.committer.stop()
        if self._snapshots:
            await asyncio.gather(*self._snapshots, return_exceptions=True)
        self._rooms.clear()

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
        if self._keepalive is None:
            self._keepalive = asyncio.get_running_loop().create_task(self._keep_alive())

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(self.limits.keepalive_seconds / 2)
            for room in list(self._rooms.values()):
                room.keepalive()
