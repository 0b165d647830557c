"""The history indexing in a process of its own, beside a server.

`HistoryIndexing` replays every new log entry through the drafting model: pure Python, a
sixth of a busy server's time in the sync benchmark. In the server's process it competes
with the rooms for the interpreter lock, and each time the event loop lets go of the lock
(every socket write does) the indexing thread may keep it for up to the switch interval:
with 500 clients in a room, the fan-out's median latency doubled (docs/PERFORMANCE.md).
In a process of its own it shares only the CPU, at a lower priority (nice 10): a clause's
history can wait a few seconds, a keystroke cannot.

The child reads the database URL from its environment, not its command line (which every
user of the machine can read), and exits when its standard input closes: when the server
stops it, or dies, even by SIGKILL, it does not outlive the server.

    python -m crdt_sync.indexer     # TRAVAUX_INDEXER_DB=<database URL>, started by a server
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading

from crdt_sync.history_store import Background, HistoryIndexing
from crdt_sync.store import Store

DB_ENV = "TRAVAUX_INDEXER_DB"
POLL_ENV = "TRAVAUX_INDEXER_POLL_SECONDS"
NICENESS = 10

log = logging.getLogger(__name__)


class IndexerProcess(Background):
    """The server's side: starts the child, starts it again if it dies, stops it."""

    restart_seconds = 5.0
    stop_seconds = 5.0

    def __init__(self, store: Store, *, poll_seconds: float) -> None:
        self.url = store.url.render_as_string(hide_password=False)
        self.poll_seconds = poll_seconds
        self.process: asyncio.subprocess.Process | None = None

    async def stop(self) -> None:
        await super().stop()  # no more restarts
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        if process.stdin is not None:
            process.stdin.close()  # the child's signal to finish its run and exit
        try:
            await asyncio.wait_for(process.wait(), self.stop_seconds)
        except TimeoutError:
            process.kill()
            await process.wait()

    async def run(self) -> None:
        environment = {**os.environ, DB_ENV: self.url, POLL_ENV: str(self.poll_seconds)}
        while True:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", __name__, stdin=asyncio.subprocess.PIPE, env=environment
            )
            code = await self.process.wait()
            log.warning(
                "the history indexer exited (%s); starting it again in %g s",
                code,
                self.restart_seconds,
            )
            await asyncio.sleep(self.restart_seconds)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="history indexer: %(message)s")
    with contextlib.suppress(OSError):
        os.nice(NICENESS)
    stopped = threading.Event()

    def watch_parent() -> None:
        sys.stdin.buffer.read()  # returns when the server closes the pipe, or dies
        stopped.set()

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    with Store(os.environ[DB_ENV]) as store:
        indexing = HistoryIndexing(store, poll_seconds=float(os.environ[POLL_ENV]))
        indexing.run_until(stopped)


if __name__ == "__main__":
    main()
