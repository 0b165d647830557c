"""The SQLite write-ahead log is checkpointed in the background, never inside an append,
and stays bounded however fast the appends come."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from crdt_sync.checkpoint import APPENDER_AUTOCHECKPOINT_PAGES, WalCheckpointer
from crdt_sync.store import Store

PAGE = 4096


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "travaux.sqlite3"


@pytest.fixture
def store(database: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{database}") as opened:
        yield opened


def keystrokes(count: int) -> list[bytes]:
    doc = Doc()
    text = doc.get("words", type=Text)
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    for k in range(count):
        text.insert(len(text), "Les Parties [conviennent]"[k % 25])
    return updates


def new_doc() -> bytes:
    doc = Doc()
    doc.get("words", type=Text)
    return doc.get_update()


def new_text(store: Store) -> str:
    return store.create_text(new_doc(), title="Accord", kind="treaty", origin="test")


def wal_pages(database: Path) -> int:
    wal = database.with_name(database.name + "-wal")
    return wal.stat().st_size // PAGE if wal.exists() else 0


def wait_for(condition: object, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def test_appends_leave_checkpoints_to_the_background(store: Store) -> None:
    text_id = new_text(store)
    for update in keystrokes(50):
        store.append_many([(text_id, update, "delegate")])
    checkpointer = store.checkpointer
    assert checkpointer is not None and checkpointer.running
    # The first append starts the clock: a checkpoint follows within the period.
    assert wait_for(lambda: checkpointer.checkpoints >= 1)
    # The appending connection itself only checkpoints past the high mark.
    with store._appending() as driver:  # the connection every keystroke goes through
        mark = driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    assert mark == APPENDER_AUTOCHECKPOINT_PAGES


def test_the_log_stays_bounded_under_a_stream_of_appends(store: Store, database: Path) -> None:
    """Back-to-back commits, as an import or a trace makes them: some commit always lands
    while a checkpoint runs. Without the held checkpoint the log would grow up to the
    appender's own mark (10,000 pages, 40 MB) before anything bounded it."""
    text_id = new_text(store)
    largest = 0
    for update in keystrokes(9_000):
        store.append_many([(text_id, update, "delegate")])
        largest = max(largest, wal_pages(database))
    # (Not `held >= 1`: a test thread descheduled while a checkpoint completes lets the
    # log start again by itself, which bounds it just as well.)
    assert largest < 7_000, f"the log reached {largest} pages"
    with Store(f"sqlite:///{database}") as reopened:
        doc, _ = reopened.load_document(text_id)
        assert str(doc.get("words", type=Text)) == "".join(
            "Les Parties [conviennent]"[k % 25] for k in range(9_000)
        )


def test_many_appends_bring_a_checkpoint_before_the_period(database: Path) -> None:
    Store(f"sqlite:///{database}").close()  # a WAL database
    done = threading.Event()

    def connect() -> sqlite3.Connection:
        done.set()
        return sqlite3.connect(database, check_same_thread=False)

    checkpointer = WalCheckpointer(connect, threading.Lock(), every_commits=10, period_seconds=600)
    try:
        assert done.wait(5)
        checkpointer.appended()  # the first: the period starts
        time.sleep(0.05)
        assert checkpointer.checkpoints == 0
        for _ in range(9):
            checkpointer.appended()
        assert wait_for(lambda: checkpointer.checkpoints == 1)
    finally:
        checkpointer.close()
    assert not checkpointer.running


def test_a_closed_store_stops_its_checkpointer(database: Path) -> None:
    store = Store(f"sqlite:///{database}")
    store.append_many([(new_text(store), keystrokes(1)[0], "delegate")])
    checkpointer = store.checkpointer
    assert checkpointer is not None
    store.close()
    assert not checkpointer.running
    assert store.checkpointer is None


def test_an_in_memory_store_has_no_checkpointer() -> None:
    with Store("sqlite://") as store:
        text_id = new_text(store)
        store.append_many([(text_id, update, "delegate") for update in keystrokes(3)])
        assert store.checkpointer is None
        doc, _ = store.load_document(text_id)
        assert str(doc.get("words", type=Text)) == "Les"
