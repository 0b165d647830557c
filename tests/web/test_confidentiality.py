"""Adversarial tests on real connections: a `travaux serve` process on a real SQLite file,
clients over real WebSockets and HTTP, each signed in as one role of one negotiation.

Every attempt below must be refused, and nothing in the stored documents may change;
where a document is confidential, every frame a client receives is captured and none of
the protected bytes may be in them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import websockets
from pycrdt import Doc, Map, Text
from sqlalchemy import update

from crdt_sync.accounts import Accounts
from crdt_sync.audit import AuditLog
from crdt_sync.client import SyncClient
from crdt_sync.models import SessionRow
from crdt_sync.store import Store, scoped_document_id
from drafting import proposals as pr
from drafting.clauses import add_clause, insert_words, words_of
from drafting.parties import register_party
from drafting.schema import NegotiationText
from drafting.views import bracketed_text
from drafting.vocabulary import Role
from tests.servers import Server, start_server

PASSWORD = "a long enough password"
PEOPLE = {
    "chair": (Role.CHAIR, ""),
    "secretariat": (Role.SECRETARIAT, ""),
    "eu": (Role.DELEGATE, "EU"),
    "eu-viewer": (Role.DELEGATION_VIEWER, "EU"),
    "aosis": (Role.DELEGATE, "AOSIS"),
    "g77": (Role.DELEGATE, "G77"),
    "observer": (Role.OBSERVER, ""),
}
SECRET = "a quiet compromise on loss and damage finance"


@dataclass
class World:
    server: Server
    db_url: str
    db_file: Path
    negotiation: str
    text_id: str
    clause: str
    tokens: dict[str, str] = field(default_factory=dict)

    def room(self, who: str, document: str = "") -> str:
        """The y-websocket room name of a document, with `who`'s token."""
        path = f"{self.text_id}/{document}" if document else self.text_id
        return f"{path}?token={self.tokens[who]}"

    def client(self, who: str, document: str = "") -> SyncClient:
        return SyncClient(self.server.ws, self.room(who, document))

    def http(self, who: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=f"http://127.0.0.1:{self.server.port}", headers=headers)

    def stored_text(self) -> NegotiationText:
        with Store(self.db_url) as store:
            return NegotiationText.from_update(store.load(self.text_id))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("confidentiality")
    db_file = tmp / "travaux.sqlite3"
    db_url = f"sqlite:///{db_file}"
    text = NegotiationText()
    for code in ("EU", "AOSIS", "G77"):
        register_party(text, code, code)
    clause = add_clause(text, "paragraph", "Parties shall cooperate on finance.")
    with Store(db_url) as store:
        text_id = store.create_text(text.to_update(), title="Finance", kind="treaty", origin="t")
        accounts = Accounts(store)
        negotiation = accounts.create_negotiation(
            "Conference", [("EU", "European Union"), ("AOSIS", "AOSIS"), ("G77", "G77")]
        )
        accounts.attach_text(text_id, negotiation)
        tokens = {}
        for login, (role, party) in PEOPLE.items():
            accounts.create_person(login, login.title(), PASSWORD)
            accounts.grant(login, negotiation, role, party)
            tokens[login] = accounts.create_token(login, "tests")
    server = start_server(db_url, tmp)
    yield World(server, db_url, db_file, negotiation, text_id, clause, tokens)
    server.stop()


def run(coroutine):
    return asyncio.run(coroutine)


async def refused_at_the_door(world: World, who: str, document: str) -> tuple[int, list[bytes]]:
    client = world.client(who, document)
    await client.connect(wait_synced=False)
    await client.wait_closed()
    return client.close_code or 0, client.received


async def refused_update(
    client: SyncClient, change: Callable[[NegotiationText], object]
) -> tuple[int, str]:
    """Make `change` on the client's replica (it is sent at once) and wait to be closed."""
    change(NegotiationText(client.doc))
    await client.wait_closed()
    return client.close_code or 0, client.close_reason


def float_balloon(world: World, who: str, scope: dict, *, attributed: bool = True) -> str:
    with world.http(who) as http:
        response = http.post(
            f"/api/texts/{world.text_id}/balloons",
            json={
                "clause": world.clause,
                "at": 9,
                "words": SECRET,
                "scope": scope,
                "attributed": attributed,
            },
        )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def balloon_words(client: SyncClient) -> list[str]:
    balloons = client.doc.get("balloons", type=Map)
    return [str(b["words"]) for b in balloons.values()]


# -- trial balloons --------------------------------------------------------------------------------


def test_a_balloon_reaches_its_scope_and_not_one_byte_of_it_anyone_else(world: World):
    scope = "balloons/parties:AOSIS+EU"

    async def scenario():
        # A third delegation and an observer try to subscribe to the scope: refused before
        # a single byte of the document is sent.
        for who in ("g77", "observer", "secretariat"):
            code, frames = await refused_at_the_door(world, who, scope)
            assert code == 4403 and frames == []
        async with (
            world.client("aosis", scope) as aosis,
            world.client("g77") as g77_text,
            world.client("g77", "balloons/all") as g77_room_scope,
            world.client("observer") as observer,
        ):
            await asyncio.to_thread(
                float_balloon, world, "eu", {"kind": "parties", "parties": ["AOSIS", "EU"]}
            )
            await aosis.wait_for(lambda: SECRET in balloon_words(aosis))
            await asyncio.sleep(0.5)  # anything that would leak has had time to arrive
            for outsider in (g77_text, g77_room_scope, observer):
                assert SECRET.encode() not in b"".join(outsider.received)

    run(scenario())
    with world.http("g77") as http:
        seen = http.get(f"/api/texts/{world.text_id}/balloons").json()["balloons"]
    assert SECRET not in str(seen)
    with world.http("aosis") as http:
        [seen] = http.get(f"/api/texts/{world.text_id}/balloons").json()["balloons"]
    assert (seen["words"], seen["author"]) == (SECRET, "EU")
    # Nor is it in an export of the text.
    with world.http("chair") as http:
        export = http.get(f"/api/texts/{world.text_id}/export?format=akn&mode=negotiation")
    assert SECRET not in export.text


def test_an_unattributed_balloon_names_its_author_to_the_chair_alone(world: World):
    scope = "balloons/parties:AOSIS+G77"

    async def scenario():
        async with world.client("aosis", scope) as aosis:
            balloon = await asyncio.to_thread(
                float_balloon,
                world,
                "eu",
                {"kind": "parties", "parties": ["AOSIS", "G77"]},
                attributed=False,
            )
            await aosis.wait_for(lambda: SECRET in balloon_words(aosis))
            await asyncio.sleep(0.3)
            # The words reach the scope; the author's name does not, not even as bytes.
            assert b"EU" not in b"".join(aosis.received)
            code, _ = await refused_at_the_door(world, "secretariat", "balloons/authors")
            assert code == 4403
            return balloon

    balloon = run(scenario())
    authors = {}
    for who in ("aosis", "chair", "eu", "secretariat"):
        with world.http(who) as http:
            listing = http.get(f"/api/texts/{world.text_id}/balloons").json()["balloons"]
        authors[who] = {b["id"]: b["author"] for b in listing}.get(balloon, "not listed")
    assert authors == {"aosis": None, "chair": "EU", "eu": "EU", "secretariat": "not listed"}


def test_withdrawing_removes_the_words_for_everyone_and_from_the_database(world: World):
    secret = "an idea that must vanish"
    scope_key = "balloons:parties:AOSIS+EU"

    async def scenario():
        async with world.client("aosis", "balloons/parties:AOSIS+EU") as aosis:
            with world.http("eu") as http:
                response = http.post(
                    f"/api/texts/{world.text_id}/balloons",
                    json={
                        "clause": world.clause,
                        "at": 0,
                        "words": secret,
                        "scope": {"kind": "parties", "parties": ["EU", "AOSIS"]},
                    },
                )
                balloon = response.json()["id"]
                await aosis.wait_for(lambda: secret in balloon_words(aosis))
                # Another delegation cannot withdraw it.
                with world.http("aosis") as other:
                    refused = other.delete(f"/api/texts/{world.text_id}/balloons/{balloon}")
                assert refused.status_code == 409
                assert (
                    http.delete(f"/api/texts/{world.text_id}/balloons/{balloon}").status_code == 204
                )
            await aosis.wait_for(lambda: secret not in balloon_words(aosis))
            return balloon

    balloon = run(scenario())
    with Store(world.db_url) as store:
        kept = store.load(scoped_document_id(world.text_id, scope_key))
        audit = AuditLog(store).entries(actions=["balloon-withdrawn"])
    assert secret.encode() not in kept
    assert [e.target for e in audit][-1] == balloon and secret not in str(audit)
    # Not in the database file either: purged rows are zeroed and the WAL truncated.
    for path in world.db_file.parent.glob(world.db_file.name + "*"):
        assert secret.encode() not in path.read_bytes(), path.name


# -- the shared text --------------------------------------------------------------------------


def test_an_observer_and_a_delegation_viewer_change_nothing(world: World):
    before = bracketed_text(world.stored_text())

    async def scenario():
        results = []
        for who in ("observer", "eu-viewer"):
            async with world.client(who) as client:
                results.append(
                    await refused_update(
                        client, lambda t: insert_words(t, world.clause, 0, "Developed ")
                    )
                )
        return results

    for code, reason in run(scenario()):
        assert code == 1008 and "changes nothing" in reason
    assert bracketed_text(world.stored_text()) == before


def test_forged_attribution_and_a_delegates_status_change_are_refused(world: World):
    before = world.stored_text().to_update()

    async def scenario():
        outcomes = []
        for change in (
            lambda t: pr.propose_insertion(t, "AOSIS", world.clause, 0, "All "),  # forged
            # the chair's decision, written straight into the map as a forged client would
            lambda t: t.clause(world.clause).map.__setitem__("status", "agreed ad ref"),
        ):
            async with world.client("eu") as eu:
                outcomes.append(await refused_update(eu, change))
        return outcomes

    forged, status = run(scenario())
    assert forged[0] == 1008 and forged[1].startswith("permission denied"), forged
    assert status[0] == 1008
    assert bracketed_text(world.stored_text()) == bracketed_text(
        NegotiationText.from_update(before)
    )
    with Store(world.db_url) as store:
        refused = AuditLog(store).entries(actions=["update-refused"], person="eu")
    assert len(refused) >= 2 and {e.party for e in refused} == {"EU"}


def test_a_delegate_changing_another_partys_proposal_is_refused(world: World):
    async def scenario():
        async with world.client("aosis") as aosis:
            proposal = pr.propose_insertion(
                NegotiationText(aosis.doc), "AOSIS", world.clause, 0, "Developed "
            )
            await asyncio.sleep(0.5)
        async with world.client("eu") as eu:
            return proposal, await refused_update(eu, lambda t: pr.withdraw(t, proposal, "AOSIS"))

    proposal, (code, _) = run(scenario())
    assert code == 1008
    assert world.stored_text().proposal(proposal).status == "tabled"
    # The audit log names who tabled it, as the room saw them sign in.
    with Store(world.db_url) as store:
        tabled = AuditLog(store).entries(actions=["proposal-tabled"])
    assert [(e.person, e.party) for e in tabled if e.target == proposal] == [("aosis", "AOSIS")]


# -- delegation workspaces ------------------------------------------------------------------------


def test_a_workspace_is_its_delegations_alone(world: World):
    note = "instructions from capital: hold firm on finance"

    async def scenario():
        for who in ("aosis", "chair", "observer"):
            code, frames = await refused_at_the_door(world, who, "workspace/EU")
            assert code == 4403 and frames == []
        async with (
            world.client("eu", "workspace/EU") as eu,
            world.client("eu-viewer", "workspace/EU") as viewer,
        ):
            eu.doc.get("notes", type=Text).insert(0, note)
            await viewer.wait_for(lambda: str(viewer.doc.get("notes", type=Text)) == note)
            viewer.doc.get("notes", type=Text).insert(0, "x")
            await viewer.wait_closed()
            return viewer.close_code

    assert run(scenario()) == 1008
    with Store(world.db_url) as store:
        doc = Doc()
        doc.apply_update(store.load(scoped_document_id(world.text_id, "workspace:EU")))
    assert str(doc.get("notes", type=Text)) == note


# -- sessions and rights ---------------------------------------------------------------------------


def sign_in(world: World, login: str) -> tuple[str, str]:
    with world.http() as http:
        response = http.post("/api/session", json={"login": login, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.cookies["travaux_session"], response.json()["csrf"]


async def cookie_connection(world: World, cookie: str, origin: str | None = None):
    headers = {"Cookie": f"travaux_session={cookie}"}
    if origin:
        headers["Origin"] = origin
    return await websockets.connect(
        f"{world.server.ws}/{world.text_id}", additional_headers=headers, compression=None
    )


async def close_code(socket) -> int:
    with contextlib.suppress(websockets.ConnectionClosed):
        async with asyncio.timeout(5):
            while True:
                await socket.recv()
    return socket.close_code


def test_no_credentials_a_foreign_page_a_replayed_or_expired_session_are_refused(world: World):
    cookie, csrf = sign_in(world, "aosis")
    own_origin = f"http://127.0.0.1:{world.server.port}"

    async def scenario():
        anonymous = SyncClient(world.server.ws, world.text_id)
        await anonymous.connect(wait_synced=False)
        await anonymous.wait_closed()
        assert anonymous.close_code == 4401 and anonymous.received == []
        foreign = await cookie_connection(world, cookie, "https://evil.example")
        assert await close_code(foreign) == 4403
        live = await cookie_connection(world, cookie, own_origin)
        await live.send(b"\x00\x00\x01\x00")  # sync step 1 with an empty state vector
        assert (await live.recv())[:1] == b"\x00"  # admitted: the server syncs
        # Signing out ends the live connection too, and the cookie is dead.
        with world.http() as http:
            out = http.delete(
                "/api/session",
                headers={"X-CSRF-Token": csrf, "Cookie": f"travaux_session={cookie}"},
            )
        assert out.status_code in (200, 204)
        assert await close_code(live) == 4401
        replayed = await cookie_connection(world, cookie, own_origin)
        assert await close_code(replayed) == 4401

    run(scenario())
    # A session past its time is refused as well.
    cookie, _ = sign_in(world, "aosis")
    with Store(world.db_url) as store, store.engine.begin() as conn:
        long_ago = datetime.now(UTC) - timedelta(days=30)
        conn.execute(update(SessionRow).values(expires=long_ago, last_seen=long_ago))

    async def expired():
        return await close_code(await cookie_connection(world, cookie, own_origin))

    assert run(expired()) == 4401


def test_an_update_after_the_rights_were_revoked_is_refused(world: World):
    before = bracketed_text(world.stored_text())

    async def scenario():
        async with world.client("g77") as g77:
            with world.http("chair") as http:
                response = http.delete(f"/api/negotiations/{world.negotiation}/members/g77")
            assert response.status_code == 204
            # When the chair's call returns, the connection is already closed.
            await g77.wait_closed(timeout=2)
            assert g77.close_code == 4403
            insert_words(NegotiationText(g77.doc), world.clause, 0, "Revoked ")
            await asyncio.sleep(0.3)
        again = world.client("g77")
        await again.connect(wait_synced=False)
        await again.wait_closed()
        return again.close_code

    assert run(scenario()) == 4404  # not in the negotiation: the text is not there for them
    assert bracketed_text(world.stored_text()) == before
    assert "Revoked" not in words_of(world.stored_text(), world.clause)


def test_promoting_a_balloon_tables_it_as_its_partys_proposal_and_only_its_party_may(world: World):
    balloon = float_balloon(world, "aosis", "all")
    with world.http("eu") as http:
        refused = http.post(f"/api/texts/{world.text_id}/balloons/{balloon}/promote")
    assert refused.status_code == 409 and "only the Party" in refused.json()["error"]
    with world.http("aosis") as http:
        promoted = http.post(f"/api/texts/{world.text_id}/balloons/{balloon}/promote")
    assert promoted.status_code == 201, promoted.text
    proposal = world.stored_text().proposal(promoted.json()["proposal"])
    assert (proposal.party, proposal.status) == ("AOSIS", "tabled")
    with Store(world.db_url) as store:
        [entry] = AuditLog(store).entries(actions=["balloon-promoted"])
    assert (entry.person, entry.party, entry.target) == ("aosis", "AOSIS", balloon)


def test_a_revocation_made_elsewhere_reaches_live_connections_within_the_poll(world: World):
    """`travaux admin revoke` (another process) changes the database only: the server
    notices within `rights_poll_seconds` (1 s) and closes the person's connections."""

    async def scenario():
        async with world.client("eu-viewer") as viewer:
            with Store(world.db_url) as store:
                await asyncio.to_thread(Accounts(store).revoke, "eu-viewer", world.negotiation)
            started = asyncio.get_running_loop().time()
            await viewer.wait_closed(timeout=5)
            return viewer.close_code, asyncio.get_running_loop().time() - started

    code, waited = run(scenario())
    assert code == 4403 and waited < 3
