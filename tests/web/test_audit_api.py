"""GET /api/negotiations/{id}/audit on the real app, signed in as the demo's people: the
chair and the secretariat read and filter their negotiation's log; nobody else does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from starlette.testclient import TestClient

from crdt_sync.accounts import Accounts
from crdt_sync.audit import AuditAction, AuditEvent, AuditLog
from crdt_sync.store import Store
from drafting.vocabulary import Role
from travaux.demo import DEMO_PASSWORD, DemoNegotiation

URL = "/api/negotiations/demo/audit"


@pytest.fixture
def recorded(store: Store, demo: DemoNegotiation) -> list[int]:
    """Six entries: five in the demo negotiation, one in another."""
    return AuditLog(store).record_many(
        [
            AuditEvent(
                AuditAction.PROPOSAL_TABLED,
                person="eu@demo",
                party="EU",
                negotiation_id="demo",
                text_id=demo.text_id,
                target="p1",
                detail={"clause": "c3"},
            ),
            AuditEvent(
                AuditAction.UPDATE_REFUSED,
                person="aosis@demo",
                party="AOSIS",
                negotiation_id="demo",
            ),
            AuditEvent(AuditAction.EXPORT, person="legal@demo", negotiation_id="demo"),
            AuditEvent(AuditAction.SIGN_IN, person="someone", negotiation_id="elsewhere"),
            AuditEvent(
                AuditAction.STATUS_CHANGED,
                person="chair@demo",
                negotiation_id="demo",
                detail={"from": "bracketed", "to": "agreed"},
            ),
            AuditEvent(
                AuditAction.PROPOSAL_WITHDRAWN, person="eu@demo", party="EU", negotiation_id="demo"
            ),
        ]
    )


def read(client: TestClient, **params: str | list[str]) -> list[tuple[str, str]]:
    """(action, person) of the entries the caller may read that these tests recorded."""
    response = client.get(URL, params=params)
    assert response.status_code == 200, response.text
    ours = {a.value for a in AuditAction} - {"sign-in", "sign-in-refused", "sign-out"}
    return [(e["action"], e["person"]) for e in response.json()["entries"] if e["action"] in ours]


def test_the_chair_reads_the_negotiation_log_oldest_first(
    chair: TestClient, recorded: list[int]
) -> None:
    body = chair.get(URL).json()
    assert body["negotiation"] == "demo" and body["next_after"] is None
    assert all(e["negotiation"] == "demo" for e in body["entries"])
    assert read(chair) == [
        ("proposal-tabled", "eu@demo"),
        ("update-refused", "aosis@demo"),
        ("export", "legal@demo"),
        ("status-changed", "chair@demo"),
        ("proposal-withdrawn", "eu@demo"),
    ]
    [tabled] = [e for e in body["entries"] if e["action"] == "proposal-tabled"]
    assert tabled["party"] == "EU" and tabled["target"] == "p1"
    assert tabled["detail"] == {"clause": "c3"} and len(tabled["hash"]) == 64


def test_the_secretariat_reads_it_too(secretariat: TestClient, recorded: list[int]) -> None:
    assert len(read(secretariat)) == 5


@pytest.mark.parametrize("login", ["eu@demo", "eu-viewer@demo", "observer@demo", "legal@demo"])
def test_every_other_role_is_refused_with_403(
    sign_in: Callable[..., TestClient], recorded: list[int], login: str
) -> None:
    response = sign_in(login).get(URL)
    assert response.status_code == 403
    assert "chair and the secretariat" in response.json()["error"]
    assert "entries" not in response.text


def test_someone_not_in_the_negotiation_gets_404_as_for_none(
    sign_in: Callable[..., TestClient], accounts: Accounts, recorded: list[int]
) -> None:
    accounts.create_negotiation("Elsewhere", negotiation_id="elsewhere")
    accounts.create_person("chair@elsewhere", "Another chair", DEMO_PASSWORD)
    accounts.grant("chair@elsewhere", "elsewhere", Role.CHAIR)
    other_chair = sign_in("chair@elsewhere")
    assert other_chair.get(URL).status_code == 404
    assert other_chair.get("/api/negotiations/nowhere/audit").status_code == 404
    # Their own negotiation's log holds only its own entry.
    own = other_chair.get("/api/negotiations/elsewhere/audit").json()["entries"]
    assert [(e["action"], e["person"]) for e in own if e["person"] == "someone"] == [
        ("sign-in", "someone")
    ]


def test_without_a_sign_in_it_is_401(app_client: TestClient, recorded: list[int]) -> None:
    assert app_client.get(URL).status_code == 401


def test_filters_by_party_person_action_and_time(chair: TestClient, recorded: list[int]) -> None:
    assert read(chair, party="EU") == [
        ("proposal-tabled", "eu@demo"),
        ("proposal-withdrawn", "eu@demo"),
    ]
    assert read(chair, person="aosis@demo") == [("update-refused", "aosis@demo")]
    assert read(chair, action=["export", "status-changed"]) == [
        ("export", "legal@demo"),
        ("status-changed", "chair@demo"),
    ]
    assert read(chair, action="export,update-refused") == [
        ("update-refused", "aosis@demo"),
        ("export", "legal@demo"),
    ]
    at = chair.get(URL).json()["entries"][-1]["at"]
    assert read(chair, until="2000-01-01") == []
    assert len(read(chair, since="2000-01-01T00:00:00Z", until="2100-01-01")) == 5
    later = (datetime.fromisoformat(at) + timedelta(hours=1)).isoformat()
    assert read(chair, since=later) == []


def test_pages_follow_next_after(chair: TestClient, recorded: list[int]) -> None:
    wanted = {"action": ["proposal-tabled", "update-refused", "export", "status-changed"]}
    first = chair.get(URL, params={**wanted, "limit": "3"}).json()
    assert [e["action"] for e in first["entries"]] == [
        "proposal-tabled",
        "update-refused",
        "export",
    ]
    second = chair.get(URL, params={**wanted, "limit": "3", "after": first["next_after"]}).json()
    assert [e["action"] for e in second["entries"]] == ["status-changed"]
    assert second["next_after"] is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("since", "yesterday"),
        ("until", "30/11/2026"),
        ("limit", "0"),
        ("limit", "5001"),
        ("limit", "many"),
        ("after", "-1"),
    ],
)
def test_bad_parameters_are_400(chair: TestClient, name: str, value: str) -> None:
    response = chair.get(URL, params={name: value})
    assert response.status_code == 400
    assert name in response.json()["error"]


def test_an_unattributed_balloon_names_its_author_to_the_chair_only(
    chair: TestClient, secretariat: TestClient, store: Store
) -> None:
    log = AuditLog(store)
    log.record(
        AuditAction.BALLOON_FLOATED,
        person="aosis@demo",
        party="AOSIS",
        negotiation_id="demo",
        target="tb1",
        detail={"balloon": "tb1", "scope": "balloons:parties:AOSIS+EU", "attributed": False},
    )
    log.record(
        AuditAction.BALLOON_FLOATED,
        person="eu@demo",
        party="EU",
        negotiation_id="demo",
        target="tb2",
        detail={"balloon": "tb2", "scope": "balloons:chair", "attributed": True},
    )

    def balloons(client: TestClient, **params: str) -> list[tuple[str, str, str]]:
        entries = client.get(URL, params={"action": "balloon-floated", **params}).json()["entries"]
        return [(e["target"], e["person"], e["party"]) for e in entries]

    assert balloons(chair) == [("tb1", "aosis@demo", "AOSIS"), ("tb2", "eu@demo", "EU")]
    assert balloons(chair, party="AOSIS") == [("tb1", "aosis@demo", "AOSIS")]
    assert balloons(secretariat) == [("tb1", "", ""), ("tb2", "eu@demo", "EU")]
    # A filter that would name the author by finding the entry leaves it out.
    assert balloons(secretariat, party="AOSIS") == []
    assert balloons(secretariat, person="aosis@demo") == []
    # Once promoted, the balloon is a formal proposal of its Party: nothing left to hide.
    log.record(
        AuditAction.BALLOON_PROMOTED,
        person="aosis@demo",
        party="AOSIS",
        negotiation_id="demo",
        target="tb1",
        detail={"scope": "balloons:parties:AOSIS+EU", "proposal": "p7"},
    )
    promoted = secretariat.get(URL, params={"action": "balloon-promoted", "party": "AOSIS"})
    assert [(e["target"], e["person"]) for e in promoted.json()["entries"]] == [
        ("tb1", "aosis@demo")
    ]
