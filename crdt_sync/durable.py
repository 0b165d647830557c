"""Group commit: every update is on disk before anyone is sent it, without a disk flush each.

Rooms hand updates to one `GroupCommitter` per process. It writes whatever has queued up
since its last commit in a single database transaction (in a thread of its own, so the
event loop keeps serving), then wakes every room waiting on those updates. Under load a commit
carries hundreds of updates; when idle it carries one, at once.

A quiet room on a local database (SQLite) has its update committed by the event loop
itself: handing one update to the thread and its outcome back costs two thread wake-ups
(0.43 ms here against 0.21 ms for the commit alone, docs/PERFORMANCE.md), and more while
the loop is busy and the thread waits for the GIL. That is every keystroke of a small
room, before any of its readers sees it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

log = logging.getLogger(__name__)

# Updates closer together than this (seconds) are traffic the thread batches (`_quiet`).
INLINE_GAP = 0.002


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
    then: Callable[[asyncio.Future[int]], None] | None


class GroupCommitter:
    """The committer is a thread of its own that takes whatever has queued up, writes it in
    one transaction, and hands the outcome back to the event loop in one callback. The
    loop's only part is that callback: under load its ready queue holds hundreds of
    connections' sends, and each extra round through it (waking a task to start a commit,
    waking it again to resolve one) would delay every update by a whole fan-out."""

    def __init__(
        self,
        log: UpdateLog,
        *,
        max_batch: int = 2000,
        chained: bool = False,
        inline: bool = False,
    ) -> None:
        """`chained`: futures resolve with `LogPosition`s that know their `prev` (the
        server processes of a scale-out follow these links; `ChainedLog.append_chain`).
        `inline`: the log's commits are local and quick (`Store.local_commits`); an update
        that comes while the committer is quiet is committed on the loop (`submit`)."""
        self.log = log
        self.max_batch = max_batch
        self.chained = chained
        self.inline = inline
        self._in_thread = 0  # updates handed to the thread and not yet resolved
        self._last_inline = float("-inf")  # loop time at which the last inline commit ended
        # Handed to the committer thread without a lock the loop could wait on; None asks
        # it to stop once it has written what came before.
        self._queue: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.commits = 0
        self.committed_updates = 0

    def start(self) -> None:
        if self._thread is None:
            self._loop = asyncio.get_running_loop()
            self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        """Write what is queued, then stop."""
        thread = self._thread
        if thread is None:
            return
        self._queue.put(None)
        # The thread posts its last outcomes to the loop before it ends, so they are handed
        # out before this returns (the join's own result is posted after them).
        await asyncio.to_thread(thread.join)
        self._thread = None

    def submit(
        self,
        text_id: str,
        update: bytes,
        origin: str,
        then: Callable[[asyncio.Future[int]], None] | None = None,
    ) -> asyncio.Future[int]:
        """Queue an update; the future resolves, with its log id, once it is on disk.

        `then` is called with the resolved future as soon as the outcome reaches the loop
        (not a loop round later, as a future's done-callbacks are). Futures resolve, and
        `then`s run, in submission order: a room that fans out on resolution sends updates
        in the order it received them, and a client streaming updates is not held to one
        commit per update.
        """
        self.start()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        pending = _Pending(text_id, update, origin, done, then)
        if self._quiet(loop.time()):
            outcome = self._commit([pending])
            self._last_inline = loop.time()
            # Resolved from the loop's next turn, as the thread's outcomes are: the caller
            # gets its future before anything follows the commit.
            loop.call_soon(functools.partial(self._resolve, [pending], outcome, threaded=False))
            return done
        self._in_thread += 1
        self._queue.put(pending)
        return done

    def _quiet(self, now: float) -> bool:
        """Commit on the loop: the thread holds nothing that must be written first, and
        the last inline commit was not in this stretch of traffic. Back-to-back updates
        (a client pasting, a trace being loaded) go to the thread, which writes them in
        batches while the loop goes on reading."""
        return self.inline and self._in_thread == 0 and now - self._last_inline > INLINE_GAP

    async def append(self, text_id: str, update: bytes, origin: str) -> int:
        return await self.submit(text_id, update, origin)

    def _run(self) -> None:
        """The committer thread: commit batch after batch, until stopped with nothing left."""
        stopping = False
        while not stopping:
            batch: list[_Pending] = []
            waiting = self._queue.get()  # blocks until something comes
            while waiting is not None:
                batch.append(waiting)
                if len(batch) == self.max_batch:
                    break
                try:
                    waiting = self._queue.get_nowait()
                except queue.Empty:
                    break
            stopping = waiting is None
            if not batch:
                continue
            outcome = self._commit(batch)
            assert self._loop is not None
            try:
                self._loop.call_soon_threadsafe(self._resolve, batch, outcome)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                return

    def _commit(self, batch: list[_Pending]) -> list[int] | BaseException:
        entries = [(p.text_id, p.update, p.origin) for p in batch]
        try:
            if self.chained:
                chain = cast(ChainedLog, self.log).append_chain(entries)
                return [LogPosition(log_id, prev) for log_id, prev in chain]
            return self.log.append_many(entries)
        except Exception as error:  # the database refused: nobody may see these updates
            return error

    def _resolve(
        self, batch: list[_Pending], outcome: list[int] | BaseException, *, threaded: bool = True
    ) -> None:
        if threaded:
            self._in_thread -= len(batch)
        if not isinstance(outcome, BaseException):
            self.commits += 1
            self.committed_updates += len(batch)
        for index, pending in enumerate(batch):
            if pending.done.done():  # cancelled by its waiter
                continue
            if isinstance(outcome, BaseException):
                pending.done.set_exception(outcome)
            else:
                pending.done.set_result(outcome[index])
            if pending.then is not None:
                try:
                    pending.then(pending.done)
                except Exception:  # one room's failure must not keep the others waiting
                    log.exception("a commit's follow-up failed")
