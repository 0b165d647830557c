"""Several `travaux serve` processes on one PostgreSQL database and one Redis (issue 8).

Real processes (`travaux serve --redis …`, as on several machines), real PostgreSQL (a
schema per test) and Redis (the server on 127.0.0.1:6379, with a channel prefix per test;
one test starts a Redis of its own to restart it), real WebSocket clients: pycrdt
`SyncClient`s and Node y-websocket clients (`tests/js/yclient.cjs`).

Set TRAVAUX_TEST_REDIS_URL to use another Redis, or to the empty string to skip these.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import redis
from argon2 import PasswordHasher
from pycrdt import Doc, Map, Text

from crdt_sync import protocol
from crdt_sync.accounts import Accounts
from crdt_sync.awareness import _decode as decode_awareness
from crdt_sync.awareness import _encode as encode_awareness
from crdt_sync.client import SyncClient
from crdt_sync.store import Store, scoped_document_id
from drafting.clauses import add_clause, insert_words, words_of
from drafting.parties import register_party
from drafting.schema import NegotiationText
from drafting.vocabulary import Role
from tests.crdt_sync.test_indexer import indexers_of, indexers_under
from tests.servers import Server, free_port, launch_server, wait_until_serving

REPO = Path(__file__).resolve().parents[2]
NODE_CLIENT = REPO / "tests" / "js" / "yclient.cjs"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
PEOPLE = {
    "chair": (Role.CHAIR, ""),
    "eu": (Role.DELEGATE, "EU"),
    "aosis": (Role.DELEGATE, "AOSIS"),
    "g77": (Role.DELEGATE, "G77"),
    "eu-viewer": (Role.DELEGATION_VIEWER, "EU"),
}


def redis_base_url() -> str:
    url = os.environ.get("TRAVAUX_TEST_REDIS_URL", DEFAULT_REDIS_URL)
    if not url:
        pytest.skip("Redis cases switched off (TRAVAUX_TEST_REDIS_URL is empty)")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as error:
        pytest.fail(
            f"Redis at {url} is not usable ({error}); start it, point TRAVAUX_TEST_REDIS_URL "
            "at another server, or set TRAVAUX_TEST_REDIS_URL= to skip"
        )
    return url


@dataclass
class World:
    db_url: str
    redis_url: str
    prefix: str
    tmp: Path
    negotiation: str
    text_id: str
    clauses: dict[str, str]
    tokens: dict[str, str]
    servers: list[Server] = field(default_factory=list)

    def start(
        self, count: int = 1, *, workers: int = 1, redis_url: str | None = None, **limits: float
    ) -> list:
        """Start `count` server processes at once; return them once all answer."""
        launched = [
            launch(
                self.db_url,
                redis_url or self.redis_url,
                self.prefix,
                self.tmp,
                workers=workers,
                limits=limits,
            )
            for _ in range(count)
        ]
        self.servers.extend(launched)
        for server in launched:
            wait_until_serving(server, self.tmp)
        return launched

    def room(self, who: str, document: str = "", text_id: str = "") -> str:
        path = text_id or self.text_id
        return (
            f"{path}/{document}?token={self.tokens[who]}"
            if document
            else (f"{path}?token={self.tokens[who]}")
        )

    def client(self, server: Server, who: str = "chair", document: str = "") -> SyncClient:
        return SyncClient(server.ws, self.room(who, document))

    def stored(self, doc_id: str = "") -> bytes:
        with Store(self.db_url) as store:
            return store.load(doc_id or self.text_id)

    def log_rows(self, doc_id: str = "") -> int:
        with Store(self.db_url) as store:
            return store.update_count(doc_id or self.text_id)

    def snapshots(self, doc_id: str = "") -> int:
        from sqlalchemy import func, select

        from crdt_sync.models import SnapshotRow

        with Store(self.db_url) as store, store.engine.connect() as conn:
            query = select(func.count()).where(SnapshotRow.text_id == (doc_id or self.text_id))
            return conn.scalar(query) or 0

    def channel(self, doc_id: str) -> str:
        return f"{self.prefix}:doc:{doc_id}"


def launch(
    db_url: str,
    redis_url: str,
    prefix: str,
    tmp: Path,
    *,
    workers: int = 1,
    limits: dict[str, float] | None = None,
) -> Server:
    """`travaux serve` as one of several processes (or one with `workers` processes)."""
    return launch_server(
        db_url,
        tmp,
        "--redis",
        redis_url,
        "--redis-prefix",
        prefix,
        "--workers",
        str(workers),
        limits=limits,
        new_session=True,
    )


@pytest.fixture
def world(pg_schema_url: str, tmp_path: Path) -> Iterator[World]:
    redis_url = redis_base_url()
    text = NegotiationText(Doc(client_id=1))
    text.set_meta("kind", "treaty")
    text.set_meta("title", "Scale-out test")
    for code in ("EU", "AOSIS", "G77"):
        register_party(text, code, code)
    first = add_clause(text, "paragraph", "Parties shall act.", base=True)
    second = add_clause(text, "paragraph", "Стороны 应当 تتخذ", base=True)
    with Store(pg_schema_url) as store:
        text_id = store.create_text(text.to_update(), title="Scale", kind="treaty", origin="t")
        # A cheap hash: these people sign in with tokens only.
        accounts = Accounts(store, password_hasher=PasswordHasher(1, 8, 1))
        negotiation = accounts.create_negotiation(
            "Scale-out", [("EU", "European Union"), ("AOSIS", "AOSIS"), ("G77", "G77")]
        )
        accounts.attach_text(text_id, negotiation)
        tokens = {}
        for login, (role, party) in PEOPLE.items():
            accounts.create_person(login, login.title(), "a long enough password")
            accounts.grant(login, negotiation, role, party)
            tokens[login] = accounts.create_token(login, "tests")
    made = World(
        pg_schema_url,
        redis_url,
        f"travaux-test-{secrets.token_hex(4)}",
        tmp_path,
        negotiation,
        text_id,
        {"first": first, "second": second},
        tokens,
    )
    yield made
    for server in made.servers:
        with contextlib.suppress(Exception):
            server.stop()
        if server.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.process.pid, signal.SIGKILL)


def run(coroutine):
    return asyncio.run(coroutine)


def words(client: SyncClient, clause: str) -> str:
    return words_of(NegotiationText(client.doc), clause)


def received_updates(client: SyncClient) -> list[bytes]:
    frames = (protocol.decode(data) for data in client.received)
    return [
        f.payload for f in frames if f.sync in (protocol.SyncType.STEP2, protocol.SyncType.UPDATE)
    ]


def holds(state: bytes, update: bytes) -> bool:
    """Does the document `state` already contain everything in `update`? (Inserts only.)"""
    doc = Doc()
    doc.apply_update(state)
    before = doc.get_state()
    doc.apply_update(update)
    return doc.get_state() == before


async def type_pieces(client: SyncClient, clause: str, tag: str, stop: asyncio.Event) -> int:
    """Type " tag.n" at the end of a clause every few ms until `stop`; how many."""
    text, n = NegotiationText(client.doc), 0
    while not stop.is_set():
        insert_words(text, clause, len(words_of(text, clause)), f" {tag}.{n}")
        n += 1
        await asyncio.sleep(0.01)
    return n


async def converge(clients: list[SyncClient], clause: str, pieces: set[str], timeout=30) -> str:
    """Wait until every client holds every piece and they all hold the same words."""

    def complete(client: SyncClient) -> bool:
        held = words(client, clause)
        return all(piece in held for piece in pieces)

    await asyncio.gather(*(c.wait_for(lambda c=c: complete(c), timeout) for c in clients))
    deadline = time.monotonic() + timeout
    while len({words(c, clause) for c in clients}) > 1 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    finals = {words(c, clause) for c in clients}
    assert len(finals) == 1, finals
    return finals.pop()


def node_client(server: Server, world: World, script: dict) -> asyncio.subprocess.Process:
    return asyncio.create_subprocess_exec(  # type: ignore[return-value]
        "node",
        str(NODE_CLIENT),
        server.ws,
        world.text_id,
        json.dumps({**script, "token": world.tokens["chair"]}),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )


# -- the behaviour -------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_clients_on_three_processes_converge_and_each_update_is_stored_once(world: World):
    """Six pycrdt clients and three Node Yjs clients, spread over three processes, type
    into the same clauses at once: all converge on what the database holds, and the log
    holds each update sent exactly once (not once per process). Every process compacts
    every 40 updates it applies, its own or the others': the snapshots they race to write
    lose nothing."""
    servers = world.start(3, snapshot_every_updates=40)
    first, second = world.clauses["first"], world.clauses["second"]
    node_edits = 4

    async def scenario():
        clients = [world.client(servers[i % 3]) for i in range(6)]
        await asyncio.gather(*(c.connect() for c in clients))
        stop = asyncio.Event()
        typists = [
            asyncio.create_task(type_pieces(c, first, f"p{i}", stop)) for i, c in enumerate(clients)
        ]
        nodes = []
        for k, server in enumerate(servers):
            edits = [
                {"clause": second, "insert": f" n{k}.{j}", "at": "end"} for j in range(node_edits)
            ]
            until = [[second, f" n{other}.{node_edits - 1}"] for other in range(3)]
            nodes.append(
                await node_client(
                    server,
                    world,
                    {"edits": edits, "until": {"contains": until}, "timeout_ms": 30000},
                )
            )
        await asyncio.sleep(1.5)
        stop.set()
        typed = await asyncio.gather(*typists)
        outputs = [await asyncio.wait_for(n.communicate(), 60) for n in nodes]
        for node, (_, err) in zip(nodes, outputs, strict=True):
            assert node.returncode == 0, err.decode()
        pieces = {f" p{i}.{n}" for i, count in enumerate(typed) for n in range(count)}
        final_first = await converge(clients, first, pieces)
        node_pieces = {f" n{k}.{j}" for k in range(3) for j in range(node_edits)}
        final_second = await converge(clients, second, node_pieces)
        for c in clients:
            await c.close()
        results = [json.loads(out)["clauses"][second]["words"] for out, _ in outputs]
        return typed, final_first, final_second, results

    typed, final_first, final_second, node_results = run(scenario())
    assert sum(typed) > 60
    stored = NegotiationText.from_update(world.stored())
    assert words_of(stored, first) == final_first
    assert words_of(stored, second) == final_second
    for result in node_results:  # each Node client saw every other's edits
        assert all(f" n{k}.{node_edits - 1}" in result for k in range(3))
    # Exactly once: the seed, then one row per update a client sent, whichever process.
    assert world.log_rows() == 1 + sum(typed) + 3 * node_edits
    # Compacted on the way (loading above started from a snapshot), and not by every
    # process every time: one that finds its position already covered writes nothing.
    assert 0 < world.snapshots() < 3 * ((sum(typed) + 3 * node_edits) // 40)


def test_a_process_killed_mid_stream_loses_nothing_seen_and_its_clients_converge_elsewhere(
    world: World,
):
    """SIGKILL one of three processes while six clients type: every update any client had
    received is in the database; the killed process's clients reconnect to another
    process, send what it lacks, and everyone converges on the stored text (loaded from
    the snapshots the processes wrote on the way, and the log after them)."""
    servers = world.start(3, snapshot_every_updates=40)
    first = world.clauses["first"]

    async def scenario():
        clients = [world.client(servers[i % 3]) for i in range(6)]
        await asyncio.gather(*(c.connect() for c in clients))
        stop = asyncio.Event()
        typists = [
            asyncio.create_task(type_pieces(c, first, f"k{i}", stop)) for i, c in enumerate(clients)
        ]
        await asyncio.sleep(1.2)
        servers[0].kill()
        orphans = [clients[0], clients[3]]
        await asyncio.gather(*(c.wait_closed() for c in orphans))
        await asyncio.sleep(0.5)  # the orphans keep typing, offline
        seen = [u for c in clients for u in received_updates(c)]
        stored_at_kill = world.stored()
        # Reconnect (as behind a load balancer) to the survivors, with what they hold.
        again = [
            SyncClient(servers[1 + n].ws, world.room("chair"), doc=c.doc)
            for n, c in enumerate(orphans)
        ]
        await asyncio.gather(*(c.connect() for c in again))
        await asyncio.sleep(0.5)
        stop.set()
        typed = await asyncio.gather(*typists)
        live = [again[0], clients[1], clients[2], again[1], clients[4], clients[5]]
        pieces = {f" k{i}.{n}" for i, count in enumerate(typed) for n in range(count)}
        final = await converge(live, first, pieces)
        for c in live:
            await c.close()
        return typed, seen, stored_at_kill, final

    typed, seen, stored_at_kill, final = run(scenario())
    assert sum(typed) > 100 and len(seen) > 50
    missing = [u for u in seen if not holds(stored_at_kill, u)]
    assert missing == []  # nothing anyone saw was lost with the process
    assert words_of(NegotiationText.from_update(world.stored()), first) == final


def test_redis_restarting_mid_stream_slows_delivery_but_loses_nothing(world: World):
    """A Redis of our own is stopped while clients on two processes type, and started
    again 2 s later: meanwhile edits still cross between processes (read from the
    database), and afterwards everything converges, each update stored once."""
    redis_port = free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"

    def start_redis() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            ["redis-server", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=redis_port)
        for _ in range(100):
            with contextlib.suppress(redis.RedisError):
                client.ping()
                return process
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    own_redis = start_redis()
    try:
        servers = world.start(2, redis_url=redis_url)
        first, second = world.clauses["first"], world.clauses["second"]

        async def scenario():
            a, b = world.client(servers[0]), world.client(servers[1])
            await a.connect()
            await b.connect()
            stop = asyncio.Event()
            typists = [
                asyncio.create_task(type_pieces(c, first, f"r{i}", stop))
                for i, c in enumerate((a, b))
            ]
            await asyncio.sleep(0.8)
            own_redis.kill()
            own_redis.wait()
            await asyncio.sleep(0.3)
            # Redis is down: an edit on one process still reaches the other's client.
            started = time.monotonic()
            insert_words(NegotiationText(a.doc), second, 0, "Meanwhile ")
            await b.wait_for(lambda: words(b, second).startswith("Meanwhile "), 10)
            during_outage = time.monotonic() - started
            await asyncio.sleep(max(0.0, 2.0 - during_outage))
            restarted = start_redis()
            await asyncio.sleep(1.5)
            started = time.monotonic()
            insert_words(NegotiationText(b.doc), second, 0, "Again ")
            await a.wait_for(lambda: words(a, second).startswith("Again "), 10)
            after_restart = time.monotonic() - started
            stop.set()
            typed = await asyncio.gather(*typists)
            pieces = {f" r{i}.{n}" for i, count in enumerate(typed) for n in range(count)}
            final = await converge([a, b], first, pieces)
            await a.close()
            await b.close()
            return restarted, typed, final, during_outage, after_restart

        restarted, typed, final, during_outage, after_restart = run(scenario())
        own_redis = restarted
        assert during_outage < 5, during_outage  # the log is polled every second
        assert after_restart < 2, after_restart
        assert words_of(NegotiationText.from_update(world.stored()), first) == final
        assert world.log_rows() == 1 + sum(typed) + 2
    finally:
        own_redis.kill()
        own_redis.wait()


class ChannelRecorder:
    """Everything published under the test's prefix, channel by channel."""

    def __init__(self, world: World) -> None:
        self.pubsub = redis.Redis.from_url(world.redis_url).pubsub()
        self.pubsub.psubscribe(f"{world.prefix}:*")
        self.messages: dict[str, list[bytes]] = defaultdict(list)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            message = self.pubsub.get_message(timeout=0.1)
            if message and message["type"] == "pmessage":
                self.messages[message["channel"].decode()].append(message["data"])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.pubsub.close()

    def channels_carrying(self, needle: bytes) -> set[str]:
        return {c for c, data in self.messages.items() if any(needle in d for d in data)}


def test_a_balloon_is_published_on_its_scope_channel_only_and_reaches_its_scope_elsewhere(
    world: World,
):
    """A balloon floated through one process reaches the scope's delegation connected to
    another process; on Redis its words travel on that scope document's channel and no
    other (not the shared text's, not another text's, not another scope's); a delegation
    outside the scope, on either process, receives none of it; withdrawn, it is gone from
    both processes' clients and from the database."""
    secret = f"a quiet compromise {secrets.token_hex(4)}"
    a, b = world.start(2)
    with Store(world.db_url) as store:
        other_text = store.create_text(
            NegotiationText().to_update(), title="Other", kind="treaty", origin="t"
        )
        Accounts(store).attach_text(other_text, world.negotiation)
    scope_doc = scoped_document_id(world.text_id, "balloons:parties:AOSIS+EU")
    recorder = ChannelRecorder(world)

    async def scenario():
        async with (
            world.client(a, "chair") as text_on_a,
            world.client(b, "g77") as text_on_b,
            SyncClient(a.ws, world.room("chair", text_id=other_text)) as other_on_a,
            SyncClient(b.ws, world.room("chair", text_id=other_text)) as other_on_b,
            world.client(b, "aosis", "balloons/parties:AOSIS+EU") as aosis_on_b,
            world.client(a, "g77", "balloons/all") as g77_all_on_a,
            world.client(b, "g77", "balloons/all") as g77_all_on_b,
        ):
            with httpx.Client(
                base_url=f"http://127.0.0.1:{a.port}",
                headers={"Authorization": f"Bearer {world.tokens['eu']}"},
            ) as http:
                response = http.post(
                    f"/api/texts/{world.text_id}/balloons",
                    json={
                        "clause": world.clauses["first"],
                        "at": 0,
                        "words": secret,
                        "scope": {"kind": "parties", "parties": ["EU", "AOSIS"]},
                    },
                )
                assert response.status_code == 201, response.text
                balloon = response.json()["id"]
                await aosis_on_b.wait_for(lambda: secret in balloon_words(aosis_on_b))
                # Something else happens on the other documents meanwhile.
                insert_words(NegotiationText(text_on_a.doc), world.clauses["second"], 0, "Yes ")
                await text_on_b.wait_for(
                    lambda: words(text_on_b, world.clauses["second"]).startswith("Yes ")
                )
                other_on_a.doc.get("notes", type=Map)["n"] = Text("another text")
                await other_on_b.wait_for(lambda: "n" in other_on_b.doc.get("notes", type=Map))
                assert (
                    http.delete(f"/api/texts/{world.text_id}/balloons/{balloon}").status_code == 204
                )
            await aosis_on_b.wait_for(lambda: secret not in balloon_words(aosis_on_b))
            await asyncio.sleep(0.3)
            outsiders = [text_on_a, text_on_b, other_on_a, other_on_b, g77_all_on_a, g77_all_on_b]
            return [b"".join(c.received) for c in outsiders]

    try:
        outsiders = run(scenario())
    finally:
        recorder.close()
    assert recorder.channels_carrying(secret.encode()) == {world.channel(scope_doc)}
    assert world.channel(world.text_id) in recorder.messages  # those channels were in use
    assert world.channel(other_text) in recorder.messages
    for received in outsiders:
        assert secret.encode() not in received
    assert secret.encode() not in world.stored(scope_doc)


def balloon_words(client: SyncClient) -> list[str]:
    balloons = client.doc.get("balloons", type=Map)
    return [str(b["words"]) for b in balloons.values()]


def test_awareness_crosses_processes_and_a_rights_change_made_on_one_reaches_the_others(
    world: World,
):
    """Presence set on one process is seen by clients of another, including one whose
    process opened the room later; revoking a person through one process closes their
    connection on another within the rights poll."""
    a, b, c = world.start(3)

    async def scenario():
        async with world.client(a) as on_a, world.client(b) as on_b:
            await on_a.send_raw(
                protocol.awareness(encode_awareness([(4242, 1, b'{"user":"Chair"}')]))
            )
            await on_b.wait_for(lambda: 4242 in awareness_clients(on_b))
            async with world.client(c) as late_on_c:  # process c opens the room only now
                await late_on_c.wait_for(lambda: 4242 in awareness_clients(late_on_c), 5)
            async with world.client(b, "eu-viewer") as viewer_on_b:
                with httpx.Client(
                    base_url=f"http://127.0.0.1:{a.port}",
                    headers={"Authorization": f"Bearer {world.tokens['chair']}"},
                ) as http:
                    response = http.delete(
                        f"/api/negotiations/{world.negotiation}/members/eu-viewer"
                    )
                    assert response.status_code in (200, 204), response.text
                started = time.monotonic()
                await viewer_on_b.wait_closed(timeout=5)
                return viewer_on_b.close_code, time.monotonic() - started

    code, waited = run(scenario())
    assert code == 4403 and waited < 3


def awareness_clients(client: SyncClient) -> set[int]:
    seen = set()
    for data in client.received:
        frame = protocol.decode(data)
        if frame.type == protocol.MessageType.AWARENESS:
            seen.update(c for c, _, state in decode_awareness(frame.payload) if state != b"null")
    return seen


def test_workers_share_one_port(world: World):
    """`travaux serve --workers 2`: two processes accept on one port and serve one room."""
    [server] = world.start(workers=2)
    first = world.clauses["first"]
    log = world.tmp / f"server-{server.port}.log"
    deadline = time.monotonic() + 30
    while log.read_text().count("Application startup complete") < 2:
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)

    async def scenario():
        clients = [world.client(server) for _ in range(8)]
        await asyncio.gather(*(c.connect() for c in clients))
        for i, client in enumerate(clients):
            insert_words(NegotiationText(client.doc), first, 0, f"w{i} ")
        final = await converge(clients, first, {f"w{i} " for i in range(8)})
        for c in clients:
            await c.close()
        return final

    final = run(scenario())
    assert words_of(NegotiationText.from_update(world.stored()), first) == final
    assert log.read_text().count("Started server process") == 2
    # One history indexer, beside the workers (a child of the process that started them),
    # not one per worker.
    assert len(indexers_of(server.process.pid)) == 1
    assert indexers_under(server.process.pid) == indexers_of(server.process.pid)


# -- the store under several processes (PostgreSQL) ------------------------------------------


def small_doc(words: str) -> Doc:
    doc = Doc()
    doc.get("words", type=Text).insert(0, words)
    return doc


def edit(doc: Doc, words: str) -> bytes:
    before = doc.get_state()
    doc.get("words", type=Text).insert(0, words)
    return doc.get_update(before)


def test_appends_from_several_processes_chain_each_text_in_commit_order(pg_schema_url: str):
    """Four writers on two connection pools (as two processes) append to two texts at
    once, while a reader keeps reading one text's log: every read is a prefix of the final
    log (ids never commit out of order within a text), and each entry's `prev` is the
    entry before it."""
    stores = [Store(pg_schema_url), Store(pg_schema_url)]
    docs = [small_doc("a"), small_doc("b")]
    texts = [stores[0].create_text(d.get_update(), title="t", kind="k", origin="t") for d in docs]
    updates = {t: [edit(d, f"{n} ") for n in range(200)] for t, d in zip(texts, docs, strict=True)}
    chains: list[tuple[str, int, int]] = []
    reads: list[list[int]] = []
    done = threading.Event()

    def write(store: Store, part: int) -> None:
        for n in range(part, 200, 4):
            entries = [(t, updates[t][n], "w") for t in texts]
            for (text_id, _, _), (log_id, prev) in zip(
                entries, store.append_chain(entries), strict=True
            ):
                chains.append((text_id, log_id, prev))

    def read() -> None:
        while not done.is_set():
            reads.append([log_id for log_id, _ in stores[1].read_log(texts[0], 0, 100_000)])

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(stores[p % 2], p)) for p in range(4)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()
    try:
        for text_id in texts:
            log = [log_id for log_id, _ in stores[0].read_log(text_id, 0, 100_000)]
            assert len(log) == 201
            links = {log_id: prev for t, log_id, prev in chains if t == text_id}
            assert [links[log_id] for log_id in log[1:]] == log[:-1]
            assert stores[0].log_heads([text_id]) == {text_id: log[-1]}
        final = [log_id for log_id, _ in stores[0].read_log(texts[0], 0, 100_000)]
        assert len(reads) > 3
        assert all(seen == final[: len(seen)] for seen in reads)
    finally:
        for store in stores:
            store.close()


def test_snapshots_one_process_at_a_time_and_never_over_a_purge(pg_schema_url: str):
    from sqlalchemy import text as sql

    from crdt_sync.store import _PG_COMPACTION_LOCK_CLASS

    with Store(pg_schema_url) as store, Store(pg_schema_url) as other:
        doc = small_doc("shared")
        text_id = store.create_text(doc.get_update(), title="t", kind="k", origin="t")
        up_to = store.append_update(text_id, edit(doc, "one "), "t")
        # Another process is compacting this text: skip.
        with other.engine.begin() as conn:
            conn.execute(
                sql("SELECT pg_advisory_xact_lock(:k, hashtext(:t))"),
                {"k": _PG_COMPACTION_LOCK_CLASS, "t": text_id},
            )
            assert not store.write_snapshot_once(text_id, doc.get_update(), up_to)
        assert store.write_snapshot_once(text_id, doc.get_update(), up_to)
        assert not store.write_snapshot_once(text_id, doc.get_update(), up_to)  # covered

        # A process that had not seen a withdrawal yet must not bring the words back.
        scoped = store.scoped_document(text_id, "balloons:all")
        balloons_doc = Doc()
        balloons = balloons_doc.get("balloons", type=Map)
        balloons["b1"] = Map({"words": Text("a secret idea")})
        stale = balloons_doc.get_update()
        stale_position = store.append_update(scoped, stale, "t")
        before = balloons_doc.get_state()
        del balloons["b1"]
        store.append_update(scoped, balloons_doc.get_update(before), "t")
        store.purge(scoped, balloons_doc.get_update())
        assert not other.write_snapshot_once(scoped, stale, stale_position)
        assert b"a secret idea" not in store.load(scoped)


def test_a_purge_keeps_what_another_process_stored_meanwhile(pg_schema_url: str):
    with Store(pg_schema_url) as store, Store(pg_schema_url) as other:
        text_id = store.create_text(small_doc("t").get_update(), title="t", kind="k", origin="t")
        scoped = store.scoped_document(text_id, "workspace:EU")
        here, there = Doc(), Doc()
        here.get("notes", type=Map)["mine"] = "kept"
        store.append_update(scoped, here.get_update(), "here")
        there.apply_update(here.get_update())
        before = there.get_state()
        there.get("notes", type=Map)["theirs"] = "also kept"
        other.append_update(scoped, there.get_update(before), "there")  # not seen here

        store.purge(scoped, here.get_update())

        purged = Doc()
        purged.apply_update(store.load(scoped))
        assert purged.get("notes", type=Map).to_py() == {"mine": "kept", "theirs": "also kept"}
