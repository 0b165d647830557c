"""Group commit: updates are on disk, in order, before anyone is told; a refused commit
tells everyone waiting on it; stopping writes what is queued; a quiet committer on a
local database writes on the event loop itself, and leaves bursts to its thread.

The log is a real SQLite store, or (for refusals) a log that refuses.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from crdt_sync.durable import GroupCommitter
from crdt_sync.store import Store


def keystrokes(count: int) -> list[bytes]:
    doc = Doc()
    words = doc.get("words", type=Text)
    updates = []
    for number in range(count):
        before = doc.get_state()
        words += str(number % 10)
        updates.append(doc.get_update(before))
    return updates


@pytest.fixture
def store(tmp_path: Path):
    with Store(f"sqlite:///{tmp_path / 'durable.sqlite3'}") as opened:
        yield opened


def test_followers_learn_their_log_ids_in_submission_order_once_stored(store: Store) -> None:
    text_id = store.create_text(Doc().get_update(), title="t", kind="treaty", origin="test")
    updates = keystrokes(300)
    told: list[tuple[int, int, bool]] = []  # (submission, log id, stored when told)

    async def scenario() -> None:
        committer = GroupCommitter(store)
        for number, update in enumerate(updates):

            def then(done: asyncio.Future[int], number: int = number) -> None:
                stored = done.result() <= store.log_heads([text_id]).get(text_id, 0)
                told.append((number, done.result(), stored))

            committer.submit(text_id, update, "test", then=then)
            if number % 50 == 0:  # several commits, not one: let this batch be written
                for _ in range(1000):
                    if len(told) == number + 1:
                        break
                    await asyncio.sleep(0.005)
        await committer.stop()
        assert committer.commits > 1
        assert committer.committed_updates == len(updates)

    asyncio.run(scenario())
    assert [number for number, _, _ in told] == list(range(len(updates)))
    ids = [log_id for _, log_id, _ in told]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(stored for _, _, stored in told)
    replayed = Doc()
    for _, update in store.read_log(text_id, 0):
        replayed.apply_update(update)
    assert str(replayed.get("words", type=Text)) == "".join(str(n % 10) for n in range(300))


class Refusing:
    def append_many(self, entries: Sequence[tuple[str, bytes, str]]) -> list[int]:
        raise RuntimeError("disk full")


def test_a_refused_commit_reaches_every_waiter_and_follower() -> None:
    async def scenario() -> tuple[list[str], list[BaseException | None]]:
        committer = GroupCommitter(Refusing())
        followed: list[str] = []
        futures = [
            committer.submit(
                "t", update, "test", then=lambda done: followed.append(str(done.exception()))
            )
            for update in keystrokes(3)
        ]
        outcomes = await asyncio.gather(*futures, return_exceptions=True)
        await committer.stop()
        return followed, [o if isinstance(o, BaseException) else None for o in outcomes]

    followed, outcomes = asyncio.run(scenario())
    assert followed == ["disk full"] * 3
    assert all(isinstance(o, RuntimeError) for o in outcomes)


def test_stopping_writes_what_is_queued(store: Store) -> None:
    text_id = store.create_text(Doc().get_update(), title="t", kind="treaty", origin="test")

    async def scenario() -> list[int]:
        committer = GroupCommitter(store)
        futures = [committer.submit(text_id, u, "test") for u in keystrokes(100)]
        await committer.stop()
        return [f.result() for f in futures]  # all resolved by the time stop returns

    ids = asyncio.run(scenario())
    assert len(ids) == 100
    assert [log_id for log_id, _ in store.read_log(text_id, 0)][-100:] == ids


class Witnessed:
    """A real store's log that notes which thread wrote each commit, and how many rows."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.commits: list[tuple[str, int]] = []

    def append_many(self, entries: Sequence[tuple[str, bytes, str]]) -> list[int]:
        self.commits.append((threading.current_thread().name, len(entries)))
        return self.store.append_many(entries)


def test_a_quiet_local_committer_writes_on_the_loop_before_submit_returns(store: Store) -> None:
    text_id = store.create_text(Doc().get_update(), title="t", kind="treaty", origin="test")
    log = Witnessed(store)

    async def scenario() -> tuple[bool, int]:
        committer = GroupCommitter(log, inline=True)
        done = committer.submit(text_id, keystrokes(1)[0], "test")
        stored_at_once = store.log_heads([text_id]).get(text_id, 0) > 0
        log_id = await done
        await committer.stop()
        return stored_at_once, log_id

    stored_at_once, log_id = asyncio.run(scenario())
    assert stored_at_once
    assert log.commits == [("MainThread", 1)]
    assert [i for i, _ in store.read_log(text_id, 0)][-1] == log_id


def test_back_to_back_updates_go_to_the_thread_in_batches_and_stay_in_order(
    store: Store,
) -> None:
    text_id = store.create_text(Doc().get_update(), title="t", kind="treaty", origin="test")
    log = Witnessed(store)
    updates = keystrokes(200)
    told: list[tuple[int, int]] = []

    async def scenario() -> None:
        committer = GroupCommitter(log, inline=True)
        for number, update in enumerate(updates):
            committer.submit(
                text_id, update, "test", then=lambda d, n=number: told.append((n, d.result()))
            )
        await committer.stop()

    asyncio.run(scenario())
    # The first on the loop, the 199 that came right behind it by the thread, in batches.
    assert log.commits[0] == ("MainThread", 1)
    assert {name for name, _ in log.commits[1:]} == {"group-commit"}
    assert len(log.commits) < 100 and sum(rows for _, rows in log.commits) == 200
    assert [n for n, _ in told] == list(range(200))
    assert [i for _, i in told] == sorted(i for _, i in told)
    replayed = Doc()
    for _, update in store.read_log(text_id, 0):
        replayed.apply_update(update)
    assert str(replayed.get("words", type=Text)) == "".join(str(n % 10) for n in range(200))
