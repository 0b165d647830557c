"""The sync server, run as `travaux serve` in its own process, with real clients.

pycrdt clients (`crdt_sync.client.SyncClient`) and real Node Yjs clients (npm `yjs` +
`y-websocket`, `tests/js/yclient.cjs`) co-edit one negotiation text through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pycrdt import Doc

from crdt_sync.accounts import Accounts
from crdt_sync.client import SyncClient
from crdt_sync.store import Store
from drafting.brackets import bracket_span
from drafting.clauses import add_clause, insert_words, words_of
from drafting.parties import register_party
from drafting.schema import NegotiationText, bracket_attr
from drafting.views import bracketed_words
from drafting.vocabulary import Role
from tests.servers import Server, start_server

REPO = Path(__file__).resolve().parents[2]
NODE_CLIENT = REPO / "tests" / "js" / "yclient.cjs"


def seed_text(db_url: str) -> tuple[str, dict[str, str]]:
    """A stored text with one article and two paragraphs; returns its id and clause ids."""
    text = NegotiationText(Doc(client_id=1))
    text.set_meta("kind", "treaty")
    text.set_meta("title", "Sync test")
    register_party(text, "EU", "European Union")
    article = add_clause(text, "article", "(purpose)", base=True)
    first = add_clause(text, "paragraph", "Parties shall act.", parent=article, base=True)
    second = add_clause(text, "paragraph", "Стороны 应当 تتخذ", parent=article, base=True)
    with Store(db_url) as store:
        text_id = store.create_text(
            text.to_update(), title="Sync test", kind="treaty", origin="test"
        )
        TOKENS[text_id] = chair_token(store, text_id)
    return text_id, {"article": article, "first": first, "second": second}


TOKENS: dict[str, str] = {}


def chair_token(store: Store, text_id: str) -> str:
    """An API token of the chair of a new negotiation holding the text."""
    accounts = Accounts(store)
    negotiation = accounts.create_negotiation(f"Sync test {text_id}", [("EU", "European Union")])
    accounts.attach_text(text_id, negotiation)
    login = f"chair-{text_id}@test"
    accounts.create_person(login, "Chair", "chair-password")
    accounts.grant(login, negotiation, Role.CHAIR)
    return accounts.create_token(login, "sync tests")


def signed(text_id: str) -> str:
    """The room name with the chair's token: y-websocket's `params` do the same."""
    return f"{text_id}?token={TOKENS[text_id]}"


@pytest.fixture
def server(db_url: str, tmp_path: Path) -> Iterator[Server]:
    running = start_server(db_url, tmp_path)
    yield running
    running.stop()


def run(coroutine):
    return asyncio.run(coroutine)


def test_two_pycrdt_clients_co_edit_through_the_server(server: Server):
    text_id, ids = seed_text(server.db_url)

    async def scenario():
        async with (
            SyncClient(server.ws, signed(text_id)) as a,
            SyncClient(server.ws, signed(text_id)) as b,
        ):
            text_a, text_b = NegotiationText(a.doc), NegotiationText(b.doc)
            insert_words(text_a, ids["first"], 0, "All ")
            insert_words(text_b, ids["second"], 0, "Все ")  # concurrent, on another clause
            bracket_span(text_b, ids["first"], len("Parties "), len("Parties shall"))
            expected_first = "All Parties [shall] act."
            for client, text in ((a, text_a), (b, text_b)):
                await client.wait_for(
                    lambda t=text: (
                        bracketed_words(t, ids["first"]) == expected_first
                        and words_of(t, ids["second"]).startswith("Все ")
                    )
                )
            return a.doc.get_update(), b.doc.get_update()

    update_a, update_b = run(scenario())
    # Both replicas and the stored text are the same document.
    with Store(server.db_url) as store:
        stored = NegotiationText.from_update(store.load(text_id))
    for update in (update_a, update_b):
        replica = NegotiationText.from_update(update)
        assert bracketed_words(replica, ids["first"]) == bracketed_words(stored, ids["first"])
        assert words_of(replica, ids["second"]) == words_of(stored, ids["second"])


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_node_yjs_clients_and_a_pycrdt_client_converge_with_formatting_and_non_ascii(
    server: Server,
):
    if not (REPO / "node_modules" / "y-websocket").exists():
        pytest.fail("npm packages missing: run `make install` (npm ci)")
    text_id, ids = seed_text(server.db_url)
    marker = {bracket_attr("bjs1"): True}
    scripts = [
        {
            "edits": [
                {"clause": ids["first"], "insert": "Toutes les ", "at": "start"},
                {"clause": ids["second"], "insert": " 🌍 عاجل", "at": "end", "attrs": marker},
            ],
            "until": {"contains": [[ids["first"], "sans délai"], [ids["second"], "срочно"]]},
            "token": TOKENS[text_id],
        },
        {
            "edits": [
                {"clause": ids["first"], "insert": " sans délai", "at": "end"},
                {"clause": ids["second"], "insert": "срочно ", "at": "start"},
                {
                    "new_clause": "c-from-js",
                    "words": "Nouveau paragraphe 新",
                    "kind": "paragraph",
                    "parent": ids["article"],
                    "order": "z",
                },
            ],
            "until": {"contains": [[ids["first"], "Toutes les"], [ids["second"], "عاجل"]]},
            "token": TOKENS[text_id],
        },
    ]

    async def scenario():
        async with SyncClient(server.ws, signed(text_id)) as python:
            nodes = [
                await asyncio.create_subprocess_exec(
                    "node",
                    str(NODE_CLIENT),
                    server.ws,
                    text_id,
                    json.dumps(script),
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    cwd=REPO,
                )
                for script in scripts
            ]
            text = NegotiationText(python.doc)
            insert_words(text, ids["first"], len("Parties shall act"), ", 中文")
            outputs = [await asyncio.wait_for(n.communicate(), 60) for n in nodes]
            for node, (_out, err) in zip(nodes, outputs, strict=True):
                assert node.returncode == 0, err.decode()
            await python.wait_for(
                lambda: (
                    text.has_clause("c-from-js")
                    and "sans délai" in words_of(text, ids["first"])
                    and "Toutes les" in words_of(text, ids["first"])
                    and "срочно" in words_of(text, ids["second"])
                    and "عاجل" in words_of(text, ids["second"])
                )
            )
            return [json.loads(out) for out, _ in outputs], python.doc

    results, doc = run(scenario())
    text = NegotiationText(doc)
    assert words_of(text, ids["first"]) == "Toutes les Parties shall act, 中文. sans délai"
    assert words_of(text, ids["second"]) == "срочно Стороны 应当 تتخذ 🌍 عاجل"
    # A clause a JS client created (a nested Y.Map holding a Y.Text) is a clause here.
    from drafting.outline import Outline

    children = [c.id for c in Outline(text).children(ids["article"])]
    assert children == [ids["first"], ids["second"], "c-from-js"]
    assert words_of(text, "c-from-js") == "Nouveau paragraphe 新"
    # The formatting a JS client set is the same bracket attribute in Python.
    formatted = [
        chunk
        for chunk, attrs in text.clause(ids["second"]).words.diff()
        if attrs and attrs.get(bracket_attr("bjs1"))
    ]
    assert formatted == [" 🌍 عاجل"]
    # Each Node client waited for the other's edits: both hold the same second clause,
    # character for character (UTF-16 in JS, UTF-8 in pycrdt), formatting included.
    for result in results:
        clause = result["clauses"][ids["second"]]
        assert clause["words"] == words_of(text, ids["second"])
        assert {"insert": " 🌍 عاجل", "attributes": {bracket_attr("bjs1"): True}} in clause["delta"]


def test_many_clients_opening_a_text_at_the_same_instant_all_join_one_room(server: Server):
    text_id, ids = seed_text(server.db_url)

    async def scenario():
        clients = [SyncClient(server.ws, signed(text_id)) for _ in range(25)]
        await asyncio.gather(*(c.connect() for c in clients))
        insert_words(NegotiationText(clients[0].doc), ids["first"], 0, "Indeed, ")
        await asyncio.gather(
            *(
                c.wait_for(
                    lambda c=c: words_of(NegotiationText(c.doc), ids["first"]).startswith(
                        "Indeed, "
                    )
                )
                for c in clients
            )
        )
        await asyncio.gather(*(c.close() for c in clients))

    run(scenario())


def test_a_malformed_frame_closes_that_connection_only(server: Server):
    text_id, ids = seed_text(server.db_url)
    with Store(server.db_url) as store:
        before = bracketed_words(NegotiationText.from_update(store.load(text_id)), ids["first"])

    async def scenario():
        async with (
            SyncClient(server.ws, signed(text_id)) as good,
            SyncClient(server.ws, signed(text_id)) as bad,
        ):
            await bad.send_raw(b"\x00\x02\x50garbage")  # announces 80 bytes, sends 7
            await bad.wait_closed()
            assert bad.close_code == 1002
            assert "malformed frame" in bad.close_reason
            await bad.close()
            async with SyncClient(server.ws, signed(text_id)) as bad_update:
                await bad_update.send_raw(b"\x00\x02\x03\xff\xff\xff")  # not a CRDT update
                await bad_update.wait_closed()
                assert bad_update.close_code == 1002
            insert_words(NegotiationText(good.doc), ids["first"], 0, "Still ")
            async with SyncClient(server.ws, signed(text_id)) as late:
                await late.wait_for(
                    lambda: words_of(NegotiationText(late.doc), ids["first"]).startswith("Still")
                )

    run(scenario())
    with Store(server.db_url) as store:
        after = bracketed_words(NegotiationText.from_update(store.load(text_id)), ids["first"])
    assert after == "Still " + before


def test_an_unknown_text_is_refused_with_its_own_close_code(server: Server):
    async def scenario():
        text_id, _ = seed_text(server.db_url)  # a token that is good for some text
        client = SyncClient(server.ws, f"no-such-text?token={TOKENS[text_id]}")
        await client.connect(wait_synced=False)
        await client.wait_closed()
        return client.close_code, client.close_reason

    code, reason = run(scenario())
    assert code == 4404 and "no-such-text" in reason


def received_updates(client: SyncClient) -> list[bytes]:
    """Every document update the server sent this client (sync step 2 and updates)."""
    from crdt_sync import protocol

    frames = (protocol.decode(data) for data in client.received)
    return [
        f.payload for f in frames if f.sync in (protocol.SyncType.STEP2, protocol.SyncType.UPDATE)
    ]


def holds(state: bytes, update: bytes) -> bool:
    """Does the document `state` already contain everything in `update`?"""
    doc = Doc()
    doc.apply_update(state)
    before = doc.get_state()
    doc.apply_update(update)
    return doc.get_state() == before  # these edits insert only: new items move the state


def test_nothing_a_client_has_seen_is_lost_when_the_server_is_killed(db_url, tmp_path):
    """SIGKILL in the middle of a stream of edits from three clients: every update any
    client received is in the reloaded document, and the clients, reconnecting, re-send
    what the server lacks and converge."""
    first = start_server(db_url, tmp_path)
    text_id, ids = seed_text(db_url)

    async def scenario():
        clients = [SyncClient(first.ws, signed(text_id)) for _ in range(3)]
        await asyncio.gather(*(c.connect() for c in clients))
        stop = asyncio.Event()

        async def type_words(i: int, client: SyncClient) -> int:
            text, n = NegotiationText(client.doc), 0
            while not stop.is_set():
                insert_words(text, ids["first"], len(words_of(text, ids["first"])), f" {i}.{n}")
                n += 1
                await asyncio.sleep(0.003)
            return n

        typists = [asyncio.create_task(type_words(i, c)) for i, c in enumerate(clients)]
        await asyncio.sleep(1.5)
        first.kill()
        await asyncio.sleep(0.2)
        stop.set()
        typed = await asyncio.gather(*typists)
        seen = [u for c in clients for u in received_updates(c)]
        for client in clients:
            await client.close()
        return clients, typed, seen

    clients, typed, seen = run(scenario())
    assert sum(typed) > 100 and len(seen) > 10
    with Store(db_url) as store:
        reloaded = store.load(text_id)
    missing = [u for u in seen if not holds(reloaded, u)]
    assert missing == []

    second = start_server(db_url, tmp_path)
    try:

        async def reconnect():
            again = [SyncClient(second.ws, signed(text_id), doc=c.doc) for c in clients]
            await asyncio.gather(*(c.connect() for c in again))
            expected = {f" {i}.{n}" for i, count in enumerate(typed) for n in range(count)}

            def complete(client: SyncClient) -> bool:
                words = words_of(NegotiationText(client.doc), ids["first"])
                return all(piece in words for piece in expected)

            await asyncio.gather(*(c.wait_for(lambda c=c: complete(c), 30) for c in again))
            finals = {words_of(NegotiationText(c.doc), ids["first"]) for c in again}
            for c in again:
                await c.close()
            return finals

        finals = run(reconnect())
        assert len(finals) == 1
        with Store(db_url) as store:
            stored = words_of(NegotiationText.from_update(store.load(text_id)), ids["first"])
        assert {stored} == finals
    finally:
        second.stop()


def test_a_stalled_client_is_cut_loose_and_never_slows_the_room(tmp_path):
    """A client that stops reading fills its socket, then its bounded queue; it is closed
    with 1013 (it may reconnect and resync) while a reading client gets every update."""
    db_url = f"sqlite:///{tmp_path / 'slow.sqlite3'}"
    server = start_server(db_url, tmp_path, max_queued_frames=8)
    text_id, ids = seed_text(db_url)
    try:

        async def scenario():
            import websockets

            from crdt_sync import protocol

            stalled = await websockets.connect(
                f"{server.ws}/{signed(text_id)}", max_queue=1, compression=None
            )
            await stalled.send(protocol.sync_step1(b"\x00"))
            async with (
                SyncClient(server.ws, signed(text_id)) as writer,
                SyncClient(server.ws, signed(text_id)) as reader,
            ):
                text = NegotiationText(writer.doc)
                chunk = "x" * 200_000
                for i in range(60):
                    insert_words(text, ids["second"], 0, f"{i}{chunk}")
                    await asyncio.sleep(0.01)
                await reader.wait_for(
                    lambda: words_of(NegotiationText(reader.doc), ids["second"]).startswith("59x"),
                    120,
                )

            # The stalled client: read what it was sent until the server's close frame.
            async def drain() -> None:
                with contextlib.suppress(websockets.ConnectionClosed):
                    async for _ in stalled:
                        pass

            await asyncio.wait_for(drain(), 90)
            return stalled.close_code, stalled.close_reason

        code, reason = run(scenario())
        assert code == 1013 and "too slow" in reason
    finally:
        server.stop()


def test_limits_close_with_a_code_and_a_reason(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'limits.sqlite3'}"
    server = start_server(
        db_url, tmp_path, max_message_bytes=50_000, messages_per_second=20, message_burst=30
    )
    text_id, ids = seed_text(db_url)
    try:

        async def scenario():
            async with SyncClient(server.ws, signed(text_id)) as big:
                insert_words(NegotiationText(big.doc), ids["first"], 0, "y" * 60_000)
                await big.wait_closed()
                too_big = (big.close_code, big.close_reason)
            async with SyncClient(server.ws, signed(text_id)) as chatty:
                for _ in range(200):
                    await chatty.send_raw(protocol_query())
                await chatty.wait_closed()
                too_fast = (chatty.close_code, chatty.close_reason)
            return too_big, too_fast

        too_big, too_fast = run(scenario())
        assert too_big[0] == 1009 and "over the limit of 50000" in too_big[1]
        assert too_fast[0] == 1008 and "messages per second" in too_fast[1]
        with Store(db_url) as store:
            stored = NegotiationText.from_update(store.load(text_id))
        assert words_of(stored, ids["first"]) == "Parties shall act."  # refused, not stored
    finally:
        server.stop()


def protocol_query() -> bytes:
    from crdt_sync.protocol import MessageType

    return bytes([MessageType.QUERY_AWARENESS])


def awareness_frame(client: int, clock: int, state: dict | None) -> bytes:
    from crdt_sync import protocol
    from crdt_sync.awareness import _encode

    return protocol.awareness(_encode([(client, clock, json.dumps(state).encode())]))


def awareness_entries(client: SyncClient) -> list[tuple[int, int]]:
    from crdt_sync import protocol
    from crdt_sync.awareness import _decode

    entries = []
    for data in client.received:
        frame = protocol.decode(data)
        if frame.type == protocol.MessageType.AWARENESS:
            entries.extend((c, clock) for c, clock, _ in _decode(frame.payload))
    return entries


def test_awareness_echoes_stop_at_the_server(server: Server):
    """y-websocket clients re-send every awareness update they receive. Each client here
    does the same; still, every client learns each state once, and the echoes die out."""
    text_id, _ = seed_text(server.db_url)
    count = 20

    async def scenario():
        clients = [SyncClient(server.ws, signed(text_id)) for _ in range(count)]
        await asyncio.gather(*(c.connect() for c in clients))
        echoed: set[tuple[int, int]] = set()
        for i, client in enumerate(clients):
            await client.send_raw(awareness_frame(1000 + i, 1, {"user": f"delegate {i}"}))
        for _ in range(3):  # three rounds of echoing everything received, as y-websocket does
            await asyncio.sleep(0.3)
            for client in clients:
                for entry in awareness_entries(client):
                    if (id(client), *entry) not in echoed:
                        echoed.add((id(client), *entry))
                        await client.send_raw(awareness_frame(entry[0], entry[1], {"echo": 1}))
        await asyncio.sleep(0.5)
        received = [awareness_entries(c) for c in clients]
        await asyncio.gather(*(c.close() for c in clients))
        return received

    received = run(scenario())
    for entries in received:
        states = {client for client, _ in entries}
        assert states == {1000 + i for i in range(count)}  # everyone, oneself included
        # each state arrives once, however many times it was echoed back
        assert len(entries) == len(set(entries))
        assert len(entries) <= count


def test_a_quiet_client_is_kept_alive(tmp_path):
    """y-websocket reconnects after 30 s without a message: the server speaks first."""
    db_url = f"sqlite:///{tmp_path / 'alive.sqlite3'}"
    server = start_server(db_url, tmp_path, keepalive_seconds=0.4)
    text_id, _ = seed_text(db_url)
    try:

        async def scenario():
            async with SyncClient(server.ws, signed(text_id)) as quiet:
                before = len(quiet.received)
                await asyncio.sleep(1.5)
                return len(quiet.received) - before, quiet.close_code

        keepalives, closed = run(scenario())
        assert keepalives >= 2 and closed is None
    finally:
        server.stop()


def test_an_idle_room_is_snapshotted_then_unloaded(tmp_path):
    from sqlalchemy import func, select

    from crdt_sync.models import SnapshotRow

    db_url = f"sqlite:///{tmp_path / 'idle.sqlite3'}"
    server = start_server(db_url, tmp_path, idle_unload_seconds=0.3)
    text_id, ids = seed_text(db_url)
    try:

        async def edit():
            async with SyncClient(server.ws, signed(text_id)) as client:
                insert_words(NegotiationText(client.doc), ids["first"], 0, "Finally, ")
                async with SyncClient(server.ws, signed(text_id)) as witness:
                    await witness.wait_for(
                        lambda: words_of(NegotiationText(witness.doc), ids["first"]).startswith(
                            "Finally"
                        )
                    )

        run(edit())
        time.sleep(1.5)
        with Store(db_url) as store, store.engine.connect() as conn:
            snapshots = conn.scalar(select(func.count()).select_from(SnapshotRow))
            stored = words_of(NegotiationText.from_update(store.load(text_id)), ids["first"])
        assert snapshots == 1
        assert stored == "Finally, Parties shall act."
    finally:
        server.stop()
