"""Group commit: every update is on disk before anyone is sent it, without a disk flush each.

Rooms hand updates to one `GroupCommitter` per process. It writes whatever has queued up
since its last commit in a single database transaction (in a worker thread, so the event
loop keeps serving), then wakes every room waiting on those updates. Under load a commit
carries hundreds of updates; when idle it carries one, at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol, TypeVar, cast

T = TypeVar("T")


class UpdateLog(Protocol):
    def append_many(self, entries: Sequence[tuple[str, bytes, str]]) -> list[int]:
        """Append (text id, update, origin) entries in one transaction; their log ids."""
        ...


class ChainedLog(UpdateLog, Protocol):
    def append_chain(self, entries: Sequence[tuple[str, bytes, str]]) -> list[tuple[int, int]]:
        """`append_many`, with each entry's id and the id before it in its text's log."""
        ...


class LogPosition(int):
    """A log id that also knows `prev`, the id of the entry before it in the same text's
    log (0: the text's first entry; -1: not asked for, a single-process server)."""

    prev: int

    def __new__(cls, log_id: int, prev: int = -1) -> LogPosition:
        position = super().__new__(cls, log_id)
        position.prev = prev
        return position


@dataclass
class _Pending:
    text_id: str
    update: bytes
    origin: str
    done: asyncio.Future[int]


class GroupCommitter:
    def __init__(self, log: UpdateLog, *, max_batch: int = 2000, chained: bool = False) -> None:
        """`chained`: futures resolve with `LogPosition`s that know their `prev` (the
        server processes of a scale-out follow these links; `ChainedLog.append_chain`)."""
        self.log = log
        self.max_batch = max_batch
        self.chained = chained
        self._queue: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # A thread of its own: commits never queue behind loads, snapshots or audit
        # writes in the loop's default executor.
        self._thread: ThreadPoolExecutor | None = None
        self.commits = 0
        self.committed_updates = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="group-commit")

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        if self._task is None:
            return
        while self._queue:
            self._wakeup.set()
            await asyncio.sleep(0.001)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        if self._thread is not None:
            self._thread.shutdown(wait=False)  # what it was given still runs
            self._thread = None

    async def _in_thread(self, work: Callable[[], T]) -> T:
        if self._thread is None:
            self._thread = ThreadPoolExecutor(1, thread_name_prefix="group-commit")
        return await asyncio.get_running_loop().run_in_executor(self._thread, work)

    def submit(self, text_id: str, update: bytes, origin: str) -> asyncio.Future[int]:
        """Queue an update; the future resolves, with its log id, once it is on disk.

        Futures resolve in submission order, so a room that fans out on resolution sends
        updates in the order it received them, and a client streaming updates is not held
        to one commit per update.
        """
        self.start()
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(text_id, update, origin, done))
        self._wakeup.set()
        return done

    async def append(self, text_id: str, update: bytes, origin: str) -> int:
        return await self.submit(text_id, update, origin)

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._queue:
                batch = self._queue[: self.max_batch]
                del self._queue[: len(batch)]
                await self._commit(batch)

    async def _commit(self, batch: list[_Pending]) -> None:
        entries = [(p.text_id, p.update, p.origin) for p in batch]
        try:
            if self.chained:
                chained = cast(ChainedLog, self.log)
                chain = await self._in_thread(lambda: chained.append_chain(entries))
                ids: list[int] = [LogPosition(log_id, prev) for log_id, prev in chain]
            else:
                ids = await self._in_thread(lambda: self.log.append_many(entries))
        except Exception as error:  # the database refused: nobody may see these updates
            for pending in batch:
                if not pending.done.done():
                    pending.done.set_exception(error)
            return
        self.commits += 1
        self.committed_updates += len(batch)
        for pending, log_id in zip(batch, ids, strict=True):
            if not pending.done.done():
                pending.done.set_result(log_id)
