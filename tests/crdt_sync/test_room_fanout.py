"""A room's fan-out: a small room sends each stored update at once; a large one spaces its
fan-outs and merges what arrives meanwhile into one frame for everyone.

Rooms run in-process on a real SQLite store; each connection's transport is a list that
collects frames (`Collecting`, as in the authorization tests).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from crdt_sync import protocol, room
from crdt_sync.awareness import _decode as decode_awareness
from crdt_sync.awareness import _encode as encode_awareness
from crdt_sync.connection import Connection, Limits
from crdt_sync.protocol import MessageType, SyncType
from crdt_sync.rooms import Rooms
from crdt_sync.store import Store
from drafting.permissions import Actor
from drafting.vocabulary import Role
from tests.crdt_sync.test_room_authorization import Collecting


def test_the_spacing_grows_with_the_room_up_to_the_tick() -> None:
    limits = Limits(fanout_tick_seconds=0.020)
    assert room.fanout_spacing(0, limits) == 0
    assert room.fanout_spacing(10, limits) == pytest.approx(0.0001)
    assert room.fanout_spacing(200, limits) == pytest.approx(0.002)
    assert room.fanout_spacing(500, limits) == pytest.approx(0.005)
    assert room.fanout_spacing(5000, limits) == pytest.approx(0.020)  # never more


def test_a_room_that_owes_writing_time_pauses_as_many_times_longer() -> None:
    limits = Limits(fanout_tick_seconds=0.020)
    duty = room.FANOUT_DUTY
    # 500 connections, a fan-out from 0 to 1 ms owing nothing: the room's size decides.
    assert room.fanout_due(0.0, 0.001, 500, limits, budget=0.0) == pytest.approx(0.005)
    # Owing 1 ms: FANOUT_DUTY times that after the fan-out's end.
    assert room.fanout_due(0.0, 0.001, 500, limits, budget=-0.001) == pytest.approx(
        0.001 + duty * 0.001
    )
    # Never later than a tick after its start.
    assert room.fanout_due(0.0, 0.001, 500, limits, budget=-0.5) == pytest.approx(0.020)


def test_a_room_earns_writing_time_while_it_does_not_write() -> None:
    burst, duty = room.FANOUT_BURST, room.FANOUT_DUTY
    # A fan-out shorter than the burst, after a long quiet: nothing owed.
    assert room.fanout_budget(burst, idle=60.0, sweep=burst / 2) == pytest.approx(burst / 2)
    # One longer than the burst: the rest is owed.
    assert room.fanout_budget(burst, idle=60.0, sweep=burst * 3) == pytest.approx(-2 * burst)
    # Writing steadily, each fan-out as soon as it is due: the debt stays at one fan-out.
    limits = Limits(fanout_tick_seconds=1.0)
    budget, sweep, end = 0.0, 0.004, 0.0
    for _ in range(10):
        start = room.fanout_due(end - sweep, end, 0, limits, budget)
        budget = room.fanout_budget(budget, idle=start - end, sweep=sweep)
        end = start + sweep
    assert budget == pytest.approx(-sweep)
    assert room.fanout_due(end - sweep, end, 0, limits, budget) - end == pytest.approx(duty * sweep)


def keystrokes(count: int, typists: int) -> list[bytes]:
    """`count` one-character updates typed at random places by `typists` documents that
    hear each other at once, as a room's tick receives them (the same ones every run)."""
    places = random.Random(count)
    docs = [Doc() for _ in range(typists)]
    texts = [doc.get("text", type=Text) for doc in docs]
    latest: dict[int, bytes] = {}
    for who, doc in enumerate(docs):
        doc.observe(lambda event, who=who: latest.__setitem__(who, event.update))
    made: list[bytes] = []
    for n in range(count):
        who = n % typists
        texts[who].insert(places.randrange(len(texts[who]) + 1), "xyz"[who % 3])
        made.append(latest[who])
        for other, doc in enumerate(docs):
            if other != who:
                doc.apply_update(made[-1])
    return made


def test_a_burst_is_merged_in_rounds_to_what_its_updates_hold() -> None:
    updates = keystrokes(room.MERGE_FAN_IN**2 + 7, typists=3)  # three rounds, uneven
    one_by_one = Doc()
    for update in updates:
        one_by_one.apply_update(update)
    merged = Doc()
    merged.apply_update(room.merge_in_rounds(updates))
    assert str(merged.get("text", type=Text)) == str(one_by_one.get("text", type=Text))
    assert merged.get_state() == one_by_one.get_state()


def test_no_merge_is_given_more_than_the_fan_in(monkeypatch) -> None:
    sizes: list[int] = []
    real_merge = room.merge_updates

    def counted(*updates: bytes) -> bytes:
        sizes.append(len(updates))
        return real_merge(*updates)

    monkeypatch.setattr(room, "merge_updates", counted)
    room.merge_in_rounds(keystrokes(5 * room.MERGE_FAN_IN, typists=2))
    assert max(sizes) == room.MERGE_FAN_IN
    sizes.clear()
    alone = keystrokes(1, typists=1)
    assert room.merge_in_rounds(alone) == alone[0]  # nothing to merge
    assert sizes == []


def update_frames(peer: Collecting) -> list[bytes]:
    frames = [protocol.decode(f) for f in peer.frames]
    return [f.payload for f in frames if f.type == MessageType.SYNC and f.sync == SyncType.UPDATE]


async def joined(
    store: Store, text_id: str, people: int, socket: type[Collecting] = Collecting
) -> tuple[Rooms, room.Room, list[Collecting], list[Connection]]:
    """A room of `people` chairs, each on a `socket`, with a fan-out tick of 0.4 s, once
    their join has gone out."""
    rooms = Rooms(store, Limits(fanout_tick_seconds=0.4))
    shared = await rooms.open(text_id)
    peers = [socket() for _ in range(people)]
    connections = [Connection(p, rooms.limits, actor=Actor.of(Role.CHAIR)) for p in peers]
    for connection in connections:
        await shared.join(connection)
    await asyncio.sleep(0.05)
    return rooms, shared, peers, connections


async def typed(
    store: Store, text_id: str, people: int, pause: float, socket: type[Collecting] = Collecting
) -> tuple[int, str]:
    """Three keystrokes, `pause` apart, into a room of `people`: how many update frames a
    reader received, and the words it ends with."""
    rooms, shared, peers, connections = await joined(store, text_id, people, socket)
    writer = Doc()
    writer.apply_update(shared.doc.get_update())
    words = writer.get("words", type=Text)
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


class SlowSocket(Collecting):
    """A peer whose every write takes 10 ms of the loop's time (a machine short of CPU)."""

    delay = 0.010

    def send_now(self, data: bytes) -> bool:
        time.sleep(self.delay)
        self.frames.append(data)
        return True


class SlowishSocket(SlowSocket):
    delay = room.FANOUT_BURST / 5  # two people: a fan-out of two fifths of the burst


def test_a_room_whose_fan_outs_are_slow_spaces_them_by_as_much(text_id, monkeypatch) -> None:
    # Two people, no spacing by size: only the time each fan-out took spaces them, 20 ms
    # of writes, 15 ms beyond the burst, then 20 times that (the 0.3 s of a 0.4 s tick).
    store, doc_id = text_id
    monkeypatch.setattr(room, "FANOUT_SECONDS_PER_CONNECTION", 0.0)
    monkeypatch.setattr(room, "FANOUT_DUTY", 20)
    frames, words = asyncio.run(typed(store, doc_id, people=2, pause=0.02, socket=SlowSocket))
    # The first goes at once; the next two come during the pause after it and go together.
    assert (frames, words) == (2, "abc")


def test_a_room_whose_fan_outs_are_quick_is_not_held_back(text_id, monkeypatch) -> None:
    # The same, with writes that take microseconds: each keystroke goes on its own.
    store, doc_id = text_id
    monkeypatch.setattr(room, "FANOUT_SECONDS_PER_CONNECTION", 0.0)
    monkeypatch.setattr(room, "FANOUT_DUTY", 20)
    frames, words = asyncio.run(typed(store, doc_id, people=2, pause=0.02))
    assert (frames, words) == (3, "abc")


def test_a_room_whose_fan_outs_are_seldom_is_not_held_back_by_their_length(
    text_id, monkeypatch
) -> None:
    # Fan-outs of 4 ms, 20 ms apart: 20 times their length would merge the last two
    # keystrokes; within the burst, each goes on its own.
    store, doc_id = text_id
    monkeypatch.setattr(room, "FANOUT_SECONDS_PER_CONNECTION", 0.0)
    monkeypatch.setattr(room, "FANOUT_DUTY", 20)
    frames, words = asyncio.run(typed(store, doc_id, people=2, pause=0.02, socket=SlowishSocket))
    assert (frames, words) == (3, "abc")


async def keystrokes_seen(store: Store, text_id: str, typists: list[int]) -> list[int]:
    """Keystrokes by the people at `typists` (in that order, no pause) in a room of
    three: how many update frames each of the three then received."""
    rooms, shared, peers, connections = await joined(store, text_id, 3)
    for peer in peers:
        peer.frames.clear()
    for index in typists:
        writer = Doc()
        writer.apply_update(shared.doc.get_update())
        before = writer.get_state()
        writer.get("words", type=Text).insert(0, "ab"[index])
        await shared.receive(connections[index], protocol.sync_update(writer.get_update(before)))
        await shared.durable()
    await asyncio.sleep(0.5)
    await rooms.close()
    return [len(update_frames(peer)) for peer in peers]


def test_a_typist_is_not_sent_back_its_own_keystroke(text_id, monkeypatch) -> None:
    store, doc_id = text_id
    monkeypatch.setattr(room, "FANOUT_SECONDS_PER_CONNECTION", 0.0)
    assert asyncio.run(keystrokes_seen(store, doc_id, typists=[0])) == [0, 1, 1]


def test_keystrokes_of_two_typists_merged_in_one_frame_go_to_both(text_id, monkeypatch) -> None:
    # The first keystroke goes at once (the room was quiet) to the two others; the next
    # two, of two typists, wait for the room's spacing and go as one frame, which each
    # typist needs for the other's keystroke.
    store, doc_id = text_id
    monkeypatch.setattr(room, "FANOUT_SECONDS_PER_CONNECTION", 0.1)  # 3 people: 0.3 s apart
    assert asyncio.run(keystrokes_seen(store, doc_id, typists=[0, 0, 1])) == [1, 2, 2]


class SlowCommits(Store):
    """A store whose commits take `delay` seconds, made by the committer's thread (as on
    PostgreSQL, or on a loaded machine): the loop goes on while one is written."""

    delay = 0.1

    @property
    def local_commits(self) -> bool:
        return False

    def append_many(self, entries):  # type: ignore[no-untyped-def]
        time.sleep(self.delay)
        return super().append_many(entries)


async def frames_of_keystrokes(
    store: Store,
    text_id: str,
    typed_at: dict[str, float],
    socket: type[Collecting] = Collecting,
) -> list[str]:
    """Keystrokes at the given seconds, in a room of three: what each update frame a
    reader received added to its text."""
    rooms, shared, peers, connections = await joined(store, text_id, 3, socket)
    peers[-1].frames.clear()
    writer = Doc()
    writer.apply_update(shared.doc.get_update())
    words = writer.get("words", type=Text)
    started = time.monotonic()
    for letter, at in typed_at.items():
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        before = writer.get_state()
        words += letter
        await shared.receive(connections[0], protocol.sync_update(writer.get_update(before)))
    await asyncio.sleep(0.9)
    received, texts, seen = Doc(), [], ""
    for update in update_frames(peers[-1]):
        received.apply_update(update)
        now = str(received.get("words", type=Text))
        texts.append(now[len(seen) :])
        seen = now
    await rooms.close()
    return texts


@pytest.fixture
def slow_text_id(tmp_path: Path):
    store = SlowCommits(f"sqlite:///{tmp_path / 'slow.sqlite3'}")
    yield store, store.create_text(Doc().get_update(), title="t", kind="treaty", origin="test")
    store.close()


@pytest.fixture
def spaced(monkeypatch) -> None:
    """Fan-outs 0.3 s apart in a room of three, and worth waiting for a commit."""
    monkeypatch.setattr(room, "FANOUT_SECONDS_PER_CONNECTION", 0.1)
    monkeypatch.setattr(room, "HOLD_FACTOR", 1)


@pytest.mark.usefixtures("spaced")
def test_a_fan_out_waits_for_the_commit_of_a_keystroke_that_came_just_before_it(
    slow_text_id, monkeypatch
) -> None:
    # Commits of 0.1 s: "a" is written until 0.1 s and goes at once; "b", written from
    # 0.15 to 0.25 s, waits for the room's spacing (the next fan-out at 0.4 s). "c" comes
    # at 0.35 s and is written until 0.45 s: the fan-out waits for it and sends "b" and
    # "c" together, rather than leave "c" to the fan-out after, 0.3 s later.
    store, doc_id = slow_text_id
    monkeypatch.setattr(room, "COMMIT_WAIT", 0.2)
    texts = asyncio.run(frames_of_keystrokes(store, doc_id, {"a": 0, "b": 0.15, "c": 0.35}))
    assert texts == ["a", "bc"]


@pytest.mark.usefixtures("spaced")
def test_a_fan_out_also_waits_for_the_commits_of_keystrokes_that_come_while_it_waits(
    slow_text_id, monkeypatch
) -> None:
    # As above, and "d" comes at 0.42 s, while the fan-out due at 0.4 s waits for "c": it
    # is written from 0.45 to 0.55 s, still within the wait, and goes with "b" and "c".
    store, doc_id = slow_text_id
    monkeypatch.setattr(room, "COMMIT_WAIT", 0.2)
    typed_at = {"a": 0, "b": 0.15, "c": 0.35, "d": 0.42}
    assert asyncio.run(frames_of_keystrokes(store, doc_id, typed_at)) == ["a", "bcd"]


@pytest.mark.usefixtures("spaced")
def test_a_fan_out_waits_for_a_commit_no_longer_than_its_limit(slow_text_id, monkeypatch) -> None:
    # The same with a wait of at most 20 ms: the fan-out due at 0.4 s goes at 0.42 s with
    # "b" only, and "c", written until 0.45 s, goes with the next one.
    store, doc_id = slow_text_id
    monkeypatch.setattr(room, "COMMIT_WAIT", 0.02)
    texts = asyncio.run(frames_of_keystrokes(store, doc_id, {"a": 0, "b": 0.15, "c": 0.35}))
    assert texts == ["a", "b", "c"]


def test_a_small_room_does_not_wait_for_a_commit_in_progress(slow_text_id, monkeypatch) -> None:
    # No spacing: "a" goes at 0.1 s, though "b", which came at 0.05 s, is being written;
    # "b" goes at 0.2 s, though "c", which came at 0.15 s, is being written, and "c" at
    # 0.3 s. The next fan-out can go as soon as a commit is in: waiting for it would only
    # hold back what is ready.
    store, doc_id = slow_text_id
    monkeypatch.setattr(room, "FANOUT_SECONDS_PER_CONNECTION", 0.0)
    monkeypatch.setattr(room, "COMMIT_WAIT", 0.2)
    texts = asyncio.run(frames_of_keystrokes(store, doc_id, {"a": 0, "b": 0.05, "c": 0.15}))
    assert texts == ["a", "b", "c"]


def test_a_room_whose_next_fan_out_is_near_does_not_wait(slow_text_id, monkeypatch) -> None:
    # As in the first of these, but the fan-out may wait 0.2 s, and the next one is only
    # 0.3 s away: holding back "b" could not gain "c" HOLD_FACTOR (3) times as much.
    store, doc_id = slow_text_id
    monkeypatch.setattr(room, "FANOUT_SECONDS_PER_CONNECTION", 0.1)
    monkeypatch.setattr(room, "COMMIT_WAIT", 0.2)
    texts = asyncio.run(frames_of_keystrokes(store, doc_id, {"a": 0, "b": 0.15, "c": 0.35}))
    assert texts == ["a", "b", "c"]


class BusySocket(SlowSocket):
    delay = 0.04


def test_a_room_whose_fan_outs_are_long_waits_however_small_its_spacing(
    slow_text_id, monkeypatch
) -> None:
    # No spacing, next to no pause, writes of 40 ms: "a" is written until 0.1 s and sent
    # to the two others until 0.18 s; "b", written from 0.1 to 0.2 s, is due at once then,
    # and "c", read at 0.18 s once the loop is free, is being written (0.2 to 0.3 s). A
    # fan-out takes 80 ms, more than HOLD_FACTOR times the 0.15 s wait: "c" goes with "b".
    store, doc_id = slow_text_id
    monkeypatch.setattr(room, "FANOUT_SECONDS_PER_CONNECTION", 0.0)
    monkeypatch.setattr(room, "FANOUT_DUTY", 0.001)  # no pause to speak of
    monkeypatch.setattr(room, "COMMIT_WAIT", 0.15)
    monkeypatch.setattr(room, "HOLD_FACTOR", 0.5)
    typed_at = {"a": 0, "b": 0.05, "c": 0.15}
    texts = asyncio.run(frames_of_keystrokes(store, doc_id, typed_at, socket=BusySocket))
    assert texts == ["a", "bc"]


Heard = list[list[tuple[int, int]]]  # (client, clock) of each awareness frame, in order


def awareness_heard(peer: Collecting) -> Heard:
    """(client, clock) of each awareness frame a peer received, but keep-alives."""
    frames = [protocol.decode(f) for f in peer.frames]
    return [
        [(client, clock) for client, clock, _ in decode_awareness(f.payload)]
        for f in frames
        if f.type == MessageType.AWARENESS and f.payload != b"\x00"
    ]


State = Callable[[int, int, str], Awaitable[None]]
Moves = Callable[[State, Callable[[str], None]], Awaitable[None]]


async def presence(store: Store, text_id: str, limits: Limits, moves: Moves) -> dict[str, Heard]:
    """Three delegates (clients 100-102) in a room; once their joins have gone out,
    `moves(state, note)` sends awareness states with `state(who, clock, clause)` and
    `note(label)`s what the first delegate has heard so far."""
    rooms = Rooms(store, limits)
    shared = await rooms.open(text_id)
    peers = [Collecting() for _ in range(3)]
    connections = [Connection(p, rooms.limits, actor=Actor.of(Role.CHAIR)) for p in peers]

    async def state(who: int, clock: int, clause: str) -> None:
        entry = (100 + who, clock, f'{{"user": "{who}", "clause": "{clause}"}}'.encode())
        await shared.receive(connections[who], protocol.awareness(encode_awareness([entry])))

    notes: dict[str, Heard] = {}
    for who, connection in enumerate(connections):
        await shared.join(connection)
        await state(who, 1, "c1")
    # The first join's state went at once, the others' one interval later: wait for
    # those, and for an interval more.
    await asyncio.sleep(2 * limits.presence_seconds + 0.1)
    peers[0].frames.clear()
    await moves(state, lambda label: notes.__setitem__(label, awareness_heard(peers[0])))
    await rooms.close()
    return notes


def test_a_change_of_awareness_goes_at_once_and_renewals_go_together_later(text_id) -> None:
    async def moves(state: State, note: Callable[[str], None]) -> None:
        await state(1, 2, "c1")  # renewals: the same state, a newer clock
        await state(2, 2, "c1")
        await asyncio.sleep(0.05)
        await state(1, 3, "c2")  # a change
        await asyncio.sleep(0.05)
        note("at 0.1 s")
        await asyncio.sleep(0.3)
        note("at 0.4 s")

    store, doc_id = text_id
    limits = Limits(fanout_tick_seconds=0.01, presence_seconds=0.0, renewal_seconds=0.3)
    heard = asyncio.run(presence(store, doc_id, limits, moves))
    assert heard["at 0.1 s"] == [[(101, 3)]]
    # One frame for both renewals; client 101's, older than its change, is ignored by
    # clients (y-protocols).
    assert heard["at 0.4 s"] == [[(101, 3)], [(101, 2), (102, 2)]]


def test_awareness_changes_go_at_most_once_per_presence_interval_the_first_at_once(
    text_id,
) -> None:
    """Typists' cursors move with every keystroke: a room sends them ten times a second
    (here every 0.2 s), not with every fan-out tick."""

    async def moves(state: State, note: Callable[[str], None]) -> None:
        await state(1, 2, "c2")
        await asyncio.sleep(0.05)
        await state(2, 2, "c3")
        await asyncio.sleep(0.05)
        await state(1, 3, "c4")
        await asyncio.sleep(0.02)
        note("at 0.12 s")
        await asyncio.sleep(0.18)
        note("at 0.3 s")
        await asyncio.sleep(0.3)  # quiet for longer than the interval
        await state(2, 3, "c5")
        await asyncio.sleep(0.03)
        note("after a quiet spell")

    store, doc_id = text_id
    limits = Limits(fanout_tick_seconds=0.01, presence_seconds=0.2, renewal_seconds=5.0)
    heard = asyncio.run(presence(store, doc_id, limits, moves))
    assert heard["at 0.12 s"] == [[(101, 2)]]
    assert heard["at 0.3 s"] == [[(101, 2)], [(102, 2), (101, 3)]]
    assert heard["after a quiet spell"] == [[(101, 2)], [(102, 2), (101, 3)], [(102, 3)]]
