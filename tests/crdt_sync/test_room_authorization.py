"""A room judges every update against its sender before applying, storing or sending it.

Rooms run here in-process, on a real store; the transport under each connection is a
list that collects frames (the sockets are the sync-server tests' business).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crdt_sync import protocol
from crdt_sync.connection import Closed, Connection, Limits
from crdt_sync.rooms import Rooms
from crdt_sync.store import Store
from drafting import proposals as pr
from drafting.clauses import add_clause, insert_words
from drafting.parties import register_party
from drafting.permissions import Actor
from drafting.schema import NegotiationText
from drafting.views import bracketed_words
from drafting.vocabulary import Role


class Collecting:
    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.closed: tuple[int, str] | None = None

    async def send(self, data: bytes) -> None:
        self.frames.append(data)

    async def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


@pytest.fixture
def stored(tmp_path: Path):
    text = NegotiationText()
    for party in ("EU", "AOSIS"):
        register_party(text, party, party)
    clause = add_clause(text, "paragraph", "Parties shall act.")
    store = Store(f"sqlite:///{tmp_path / 'rooms.sqlite3'}")
    text_id = store.create_text(text.to_update(), title="t", kind="treaty", origin="test")
    yield store, text_id, clause
    store.close()


def edit(room_doc_update: bytes, operation) -> bytes:
    """The update a client makes from the room's current state."""
    client = NegotiationText.from_update(room_doc_update)
    state = client.doc.get_state()
    operation(client)
    return client.doc.get_update(state)


async def scenario(store, text_id, clause, sender_actor, operation):
    rooms = Rooms(store, Limits(fanout_tick_seconds=0.001))
    room = await rooms.open(text_id)
    sender_peer, witness_peer = Collecting(), Collecting()
    sender = Connection(sender_peer, rooms.limits, actor=sender_actor)
    witness = Connection(witness_peer, rooms.limits, actor=Actor.of(Role.OBSERVER))
    await room.join(sender)
    await room.join(witness)
    await asyncio.sleep(0.05)
    witness_peer.frames.clear()
    update = edit(room.doc.get_update(), operation)
    outcome = None
    try:
        await room.receive(sender, protocol.sync_update(update))
        await room.durable()
    except Closed as closed:
        outcome = closed
    await asyncio.sleep(0.05)
    words = bracketed_words(NegotiationText(room.doc), clause)
    await rooms.close()
    return outcome, sender_peer, witness_peer, words


def test_an_observer_update_is_refused_with_a_reason_and_reaches_nobody(stored):
    store, text_id, clause = stored
    outcome, sender, witness, words = asyncio.run(
        scenario(
            store,
            text_id,
            clause,
            Actor.of(Role.OBSERVER),
            lambda t: insert_words(t, clause, 0, "All "),
        )
    )
    assert outcome is not None and outcome.code == 1008
    assert "reads the text and changes nothing" in outcome.reason
    assert protocol.decode(sender.frames[-1]).type == protocol.MessageType.AUTH
    assert witness.frames == []
    assert words == "Parties shall act."
    assert bracketed_words(NegotiationText.from_update(store.load(text_id)), clause) == (
        "Parties shall act."
    )


def test_a_forged_proposal_is_refused_and_an_honest_one_goes_through(stored):
    store, text_id, clause = stored
    forged, _, witness, words = asyncio.run(
        scenario(
            store,
            text_id,
            clause,
            Actor.of(Role.DELEGATE, "EU"),
            lambda t: pr.propose_insertion(t, "AOSIS", clause, 7, " all"),
        )
    )
    assert forged is not None and "may not" in forged.reason
    assert witness.frames == [] and words == "Parties shall act."

    honest, _, witness, words = asyncio.run(
        scenario(
            store,
            text_id,
            clause,
            Actor.of(Role.DELEGATE, "EU"),
            lambda t: pr.propose_insertion(t, "EU", clause, 7, " all"),
        )
    )
    assert honest is None
    assert words == "Parties[ all] shall act."
    assert any(protocol.decode(f).sync == protocol.SyncType.UPDATE for f in witness.frames)
    stored_words = bracketed_words(NegotiationText.from_update(store.load(text_id)), clause)
    assert stored_words == "Parties[ all] shall act."
