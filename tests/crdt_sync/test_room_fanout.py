"""A room's fan-out: a small room sends each stored update at once; a large one spaces its
fan-outs and merges what arrives meanwhile into one frame for everyone.

Rooms run in-process on a real SQLite store; each connection's transport is a list that
collects frames (`Collecting`, as in the authorization tests).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from crdt_sync import protocol, room
from crdt_sync.connection import Connection, Limits
from crdt_sync.protocol import MessageType, SyncType
from crdt_sync.rooms import Rooms
from crdt_sync.store import Store
from drafting.permissions import Actor
from drafting.vocabulary import Role
from tests.crdt_sync.test_room_authorization import Collecting


def test_the_spacing_grows_with_the_room_up_to_the_tick() -> None:
    limits = Limits(fanout_tick_seconds=0.005)
    assert room.fanout_spacing(0, limits) == 0
    assert room.fanout_spacing(10, limits) == pytest.approx(0.0001)
    assert room.fanout_spacing(200, limits) == pytest.approx(0.002)
    assert room.fanout_spacing(500, limits) == pytest.approx(0.005)
    assert room.fanout_spacing(5000, limits) == pytest.approx(0.005)  # never more


def update_frames(peer: Collecting) -> list[bytes]:
    frames = [protocol.decode(f) for f in peer.frames]
    return [f.payload for f in frames if f.type == MessageType.SYNC and f.sync == SyncType.UPDATE]


async def typed(store: Store, text_id: str, people: int, pause: float) -> tuple[int, str]:
    """Three keystrokes, `pause` apart, into a room of `people`: how many update frames a
    reader received, and the words it ends with."""
    rooms = Rooms(store, Limits(fanout_tick_seconds=0.4))
    shared = await rooms.open(text_id)
    chair = Actor.of(Role.CHAIR)
    peers = [Collecting() for _ in range(people)]
    connections = [Connection(peer, rooms.limits, actor=chair) for peer in peers]
    for connection in connections:
        await shared.join(connection)
    writer = Doc()
    writer.apply_update(shared.doc.get_update())
    words = writer.get("words", type=Text)
    await asyncio.sleep(0.05)
    reader = peers[-1]
    reader.frames.clear()
    for letter in "abc":
        before = writer.get_state()
        words += letter
        await shared.receive(connections[0], protocol.sync_update(writer.get_update(before)))
        await shared.durable()
        await asyncio.sleep(pause)
    await asyncio.sleep(0.5)
    received = Doc()
    for update in update_frames(reader):
        received.apply_update(update)
    await rooms.close()
    return len(update_frames(reader)), str(received.get("words", type=Text))


@pytest.fixture
def text_id(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'fanout.sqlite3'}")
    yield store, store.create_text(Doc().get_update(), title="t", kind="treaty", origin="test")
    store.close()


def test_a_small_room_sends_each_keystroke_at_once(text_id, monkeypatch) -> None:
    store, doc_id = text_id
    monkeypatch.setattr(room, "FANOUT_SECONDS_PER_CONNECTION", 0.002)  # 2 people: 4 ms
    frames, words = asyncio.run(typed(store, doc_id, people=2, pause=0.05))
    assert (frames, words) == (3, "abc")


def test_a_large_room_merges_keystrokes_that_come_within_its_spacing(text_id, monkeypatch) -> None:
    store, doc_id = text_id
    monkeypatch.setattr(room, "FANOUT_SECONDS_PER_CONNECTION", 0.002)  # 150 people: 0.3 s
    frames, words = asyncio.run(typed(store, doc_id, people=150, pause=0.0))
    # The first goes at once (the room was quiet); the next two wait and go together.
    assert (frames, words) == (2, "abc")
