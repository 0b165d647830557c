"""Checkpoints of a SQLite write-ahead log, off the keystroke path.

In WAL mode a commit appends pages to the log file, and now and then the log must be copied
back into the database file (a checkpoint), which flushes both files to the disk. SQLite
does this by itself inside the commit that takes the log past 1,000 pages: with the sync
server's group commit, that was one commit in about three hundred taking 16–20 ms instead
of 0.4 ms, with every reader of the room waiting for it (docs/PERFORMANCE.md).

The store's appending connection therefore checkpoints only past a far higher mark (a
safety net, should this thread die), and a `WalCheckpointer` thread runs checkpoints on a
connection of its own: after `every_commits` appends, or `period_seconds` after the first
append since the last checkpoint. The thread spends its time in SQLite, without the GIL.

A PASSIVE checkpoint takes no lock that a writer waits for: it copies what was committed
when it began. The log starts again from its beginning only at a write that begins once
everything in it is copied; under a steady stream of appends (an import, a trace) some
commit always lands while a checkpoint runs, and the log would only grow. Once it holds
more than `bound_pages`, the checkpointer holds the appends back (`hold`, the store's
append lock) for one more checkpoint, which only copies what the one before it left; the
next append then starts the log again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

log = logging.getLogger(__name__)

# The appending connection's own checkpoint mark, in pages (SQLite's default is 1,000).
APPENDER_AUTOCHECKPOINT_PAGES = 10_000


class WalCheckpointer:
    """One thread per store; `appended()` after each commit, `close()` to stop."""

    def __init__(
        self,
        connect: Callable[[], Any],
        hold: AbstractContextManager[Any],
        *,
        every_commits: int = 200,
        period_seconds: float = 1.0,
        bound_pages: int = 4_000,
    ) -> None:
        self.every_commits = every_commits
        self.period_seconds = period_seconds
        self.bound_pages = bound_pages
        self.checkpoints = 0  # completed checkpoint calls, for tests and statistics
        self._connect = connect
        self._hold = hold
        self._commits = 0  # since the last checkpoint began
        self._due = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="wal-checkpointer", daemon=True)
        self._thread.start()

    def appended(self) -> None:
        self._commits += 1
        if self._commits == 1 or self._commits >= self.every_commits:
            self._due.set()

    def close(self) -> None:
        self._stopped = True
        self._due.set()
        self._thread.join()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        connection = self._connect()
        try:
            while not self._stopped:
                self._due.wait()
                self._due.clear()
                if self._stopped:
                    break
                if self._commits < self.every_commits:
                    # The first append since the last checkpoint: give the others a period
                    # to join it, unless enough of them come first.
                    self._due.wait(self.period_seconds)
                    self._due.clear()
                self._commits = 0
                if self._checkpoint(connection, nullcontext()) > self.bound_pages:
                    self._checkpoint(connection, self._hold)
        finally:
            connection.close()

    def _checkpoint(self, connection: Any, hold: AbstractContextManager[Any]) -> int:
        """The pages in the log. A failure is logged (and counts as an empty log): the
        appending connection's own mark still bounds the log."""
        try:
            with hold:
                cursor = connection.cursor()
                try:
                    cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
                    _busy, log_pages, _copied = cursor.fetchone()
                finally:
                    cursor.close()
        except Exception as error:
            log.warning("WAL checkpoint failed: %s", error)
            return 0
        self.checkpoints += 1
        return int(log_pages)
