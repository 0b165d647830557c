"""Trial balloons over HTTP in the demo negotiation: who may float, see, withdraw, promote.

(The bytes on the wire and in the database are the business of test_confidentiality.py.)
"""

from __future__ import annotations

from starlette.testclient import TestClient

from crdt_sync.store import Store
from drafting.schema import NegotiationText
from travaux.demo import DemoNegotiation


def a_paragraph(store: Store, demo: DemoNegotiation) -> str:
    text = NegotiationText.from_update(store.load(demo.text_id))
    return next(c.id for c in text.clauses() if c.kind == "paragraph")


def balloons(client: TestClient, demo: DemoNegotiation) -> list[dict]:
    response = client.get(f"/api/texts/{demo.text_id}/balloons")
    assert response.status_code == 200, response.text
    return response.json()["balloons"]


def test_a_delegate_floats_for_their_party_and_the_scope_sees_it(
    eu: TestClient, sign_in, observer: TestClient, store: Store, demo: DemoNegotiation
):
    floated = eu.post(
        f"/api/texts/{demo.text_id}/balloons",
        json={"clause": a_paragraph(store, demo), "at": 0, "words": "what if", "scope": "all"},
    )
    assert floated.status_code == 201, floated.text
    [seen] = balloons(sign_in("aosis@demo"), demo)
    assert (seen["words"], seen["author"], seen["scope"]["kind"]) == ("what if", "EU", "all")
    assert balloons(observer, demo) == []  # observers are in no balloon scope


def test_roles_that_table_nothing_float_nothing_and_withdraw_nothing(
    observer: TestClient, chair: TestClient, eu: TestClient, store: Store, demo
):
    body = {"clause": a_paragraph(store, demo), "at": 0, "words": "x", "scope": "all"}
    assert observer.post(f"/api/texts/{demo.text_id}/balloons", json=body).status_code == 403
    # The chair acts for no Party: balloons are the delegations' instrument.
    assert chair.post(f"/api/texts/{demo.text_id}/balloons", json=body).status_code == 403
    balloon = eu.post(f"/api/texts/{demo.text_id}/balloons", json=body).json()["id"]
    assert observer.delete(f"/api/texts/{demo.text_id}/balloons/{balloon}").status_code == 403
    # The chair may take a balloon off the table.
    assert chair.delete(f"/api/texts/{demo.text_id}/balloons/{balloon}").status_code == 204
    assert balloons(eu, demo) == []


def test_bad_requests_say_what_is_wrong(eu: TestClient, store: Store, demo: DemoNegotiation):
    url = f"/api/texts/{demo.text_id}/balloons"
    clause = a_paragraph(store, demo)
    bad_scope = eu.post(url, json={"clause": clause, "at": 0, "words": "x", "scope": "nobody"})
    assert bad_scope.status_code == 422 and "names no balloon scope" in bad_scope.json()["error"]
    no_words = eu.post(url, json={"clause": clause, "at": 0, "words": " ", "scope": "all"})
    assert no_words.status_code == 409 and "needs words" in no_words.json()["error"]
    stranger = {"clause": clause, "at": 0, "words": "x", "scope": "parties:ATLANTIS"}
    unknown_party = eu.post(url, json=stranger)
    assert unknown_party.status_code == 422 and "ATLANTIS" in unknown_party.json()["error"]
    unknown = eu.delete(f"{url}/tb000000000000")
    assert unknown.status_code == 404
    assert (
        eu.post(url, content=b"not json", headers={"content-type": "application/json"}).status_code
        == 400
    )
