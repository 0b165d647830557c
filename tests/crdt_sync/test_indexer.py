"""A server indexes clause histories in a process of its own (`crdt_sync.indexer`), which
keeps up as people type, is started again if it dies, and never outlives its server.

A real `travaux serve`, real pycrdt clients over WebSockets, a real SQLite file.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from types import SimpleNamespace

from crdt_sync import history_store as hs
from crdt_sync.client import SyncClient
from crdt_sync.indexer import IndexerProcess
from crdt_sync.store import Store
from drafting.clauses import insert_words
from drafting.schema import NegotiationText
from tests.crdt_sync.test_sync_server import seed_text, signed
from tests.servers import launch_server, wait_until_serving
from web.history import history_indexing


def processes() -> dict[int, tuple[int, bytes]]:
    """Every process: pid → (parent pid, command line)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            command = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        found[int(entry)] = (int(stat.rsplit(")", 1)[1].split()[1]), command)
    return found


def indexers_of(pid: int) -> list[int]:
    """The `crdt_sync.indexer` processes whose parent is `pid`."""
    return [
        child
        for child, (parent, command) in processes().items()
        if parent == pid and b"crdt_sync.indexer" in command
    ]


def indexers_under(pid: int) -> list[int]:
    """The `crdt_sync.indexer` processes descending from `pid`."""
    table = processes()

    def descends(child: int) -> bool:
        while child in table and child > 1:
            child = table[child][0]
            if child == pid:
                return True
        return False

    indexers = [p for p, (_, command) in table.items() if b"crdt_sync.indexer" in command]
    return [p for p in indexers if descends(p)]


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_the_server_indexes_in_a_child_that_dies_with_it(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'indexed.sqlite3'}"
    text_id, ids = seed_text(db_url)
    server = launch_server(db_url, tmp_path, env={"TRAVAUX_HISTORY_POLL_SECONDS": "0.2"})
    try:
        wait_until_serving(server, tmp_path)
        assert wait_for(lambda: indexers_of(server.process.pid), 10)
        [indexer] = indexers_of(server.process.pid)

        async def type_words() -> None:
            async with SyncClient(server.ws, signed(text_id)) as client:
                insert_words(NegotiationText(client.doc), ids["first"], 0, "All ")
                await asyncio.sleep(0.3)  # sent and stored

        asyncio.run(type_words())
        with Store(db_url) as store:
            # Nobody reads the history: the child catches up alone.
            assert wait_for(lambda: not hs.refresh_needed(store, text_id), 20)
            entries = hs.clause_history(store, text_id, ids["first"])
        assert entries[-1].words_after.startswith("All Parties")

        server.kill()  # SIGKILL: no chance to stop its child
        assert wait_for(lambda: not alive(indexer), 10)
    finally:
        server.stop()


def test_a_child_that_dies_is_started_again(tmp_path: Path) -> None:
    async def scenario() -> tuple[int, int]:
        with Store(f"sqlite:///{tmp_path / 'restart.sqlite3'}") as store:
            process = IndexerProcess(store, poll_seconds=60)
            process.restart_seconds = 0.1
            process.start()
            try:
                while process.process is None:
                    await asyncio.sleep(0.01)
                first = process.process
                await asyncio.sleep(0.5)
                first.send_signal(signal.SIGKILL)
                for _ in range(200):
                    if process.process is not first and process.process is not None:
                        break
                    await asyncio.sleep(0.05)
                second = process.process
                assert second is not None and second is not first
                return first.pid, second.pid
            finally:
                await process.stop()
                assert process.process is None

    first, second = asyncio.run(scenario())
    assert first != second and not alive(first) and not alive(second)


def test_an_in_memory_store_is_indexed_in_a_thread_since_no_child_could_open_it(
    tmp_path: Path,
) -> None:
    async def indexing_of(store: Store) -> type:
        app = SimpleNamespace(state=SimpleNamespace(store=store))
        async with history_indexing(app, poll_seconds=60, mode="process") as indexing:
            return type(indexing)

    with Store("sqlite://") as memory:
        assert asyncio.run(indexing_of(memory)) is hs.HistoryIndexing
    with Store(f"sqlite:///{tmp_path / 'file.sqlite3'}") as on_disk:
        assert asyncio.run(indexing_of(on_disk)) is IndexerProcess
