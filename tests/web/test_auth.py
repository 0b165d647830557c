"""Sign-in, sessions, CSRF and the rights of every HTTP call, on the real app and a real
SQLite store, as the demo negotiation's people (tests/web/conftest.py).

What must hold: only a signed-in person reaches the API; a browser's cookie cannot be
used by another site's page (CSRF token, Origin); a cookie stops working when its session
is signed out or expires; each role does what the role table says and nothing more; and
nobody learns that a text of another negotiation exists.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from starlette.requests import HTTPConnection
from starlette.testclient import TestClient

from crdt_sync import history_store as hs
from crdt_sync.accounts import Accounts
from crdt_sync.audit import AuditLog
from crdt_sync.store import Store
from drafting.clauses import insert_words
from drafting.history import recording
from drafting.importing import import_markdown
from drafting.schema import NegotiationText
from travaux.demo import DEMO_PASSWORD, DemoNegotiation
from web.app import import_demo
from web.auth import CSRF_HEADER, SECURE_COOKIES_ENV, SESSION_COOKIE, foreign_origin

SignIn = Callable[..., TestClient]  # the `sign_in` fixture: a login → a signed-in browser

SOURCE = """\
## Article 1 *(purpose)*

1. Parties [shall][should] take action.
"""
SIGN_IN = {"login": "chair@demo", "password": DEMO_PASSWORD}
EVIL = "https://evil.example"


@pytest.fixture
def text_id(store: Store, accounts: Accounts, demo: DemoNegotiation) -> str:
    """A text of the demo negotiation with a revision, Rev.1, and an edit since then."""
    text = import_markdown(SOURCE).text
    text_id = store.create_text(text.to_update(), title="Accord", kind="treaty", origin="t")
    accounts.attach_text(text_id, demo.negotiation_id)
    hs.record_revision(store, text_id, up_to=hs.last_update_id(store, text_id), label="Rev.1")
    edited = NegotiationText.from_update(store.load(text_id))
    paragraph = next(r.id for r in edited.clauses() if "take action" in str(r.words))
    with recording(edited) as updates:
        insert_words(edited, paragraph, 0, "All ")
    hs.append_updates(store, text_id, updates, "connection:ana")
    return text_id


# -- signing in and out ----------------------------------------------------------------------


def test_signing_in_sets_a_session_cookie_that_scripts_cannot_read(
    app_client: TestClient, demo: DemoNegotiation, clock: Any
) -> None:
    response = app_client.post("/api/session", json=SIGN_IN)

    assert response.status_code == 200
    body = response.json()
    assert body["person"]["login"] == "chair@demo"
    assert body["person"]["name"] == "Chair of the conference"
    assert len(body["csrf"]) >= 32
    assert body["expires"] == (clock.now + timedelta(days=7)).isoformat()
    cookie = _attributes(response.headers["set-cookie"])
    assert cookie[SESSION_COOKIE]  # the session token
    assert (cookie["httponly"], cookie["samesite"], cookie["path"]) == (True, "lax", "/")
    assert cookie["max-age"] == str(7 * 24 * 3600)
    assert "secure" not in cookie  # plain http: a Secure cookie would never come back


def test_cookies_are_secure_over_https_or_when_the_operator_says_so(
    new_client: Callable[..., TestClient], demo: DemoNegotiation, monkeypatch
) -> None:
    over_https = new_client("https://testserver").post("/api/session", json=SIGN_IN)
    assert _attributes(over_https.headers["set-cookie"])["secure"] is True

    monkeypatch.setenv(SECURE_COOKIES_ENV, "1")  # TLS ends at a proxy in front
    behind_proxy = new_client().post("/api/session", json=SIGN_IN)
    assert _attributes(behind_proxy.headers["set-cookie"])["secure"] is True


def test_a_wrong_password_and_an_unknown_login_get_the_same_answer(
    app_client: TestClient, demo: DemoNegotiation, store: Store
) -> None:
    wrong = app_client.post("/api/session", json={"login": "eu@demo", "password": "guess-1234"})
    unknown = app_client.post("/api/session", json={"login": "nobody@x", "password": "guess-1234"})

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert "set-cookie" not in wrong.headers
    refused = AuditLog(store).entries(actions={"sign-in-refused"})
    # A login that names nobody is not kept: it may be a password typed in the wrong field.
    assert [e.detail for e in refused] == [{"login": "eu@demo"}, {"login": "(unknown login)"}]
    assert "guess-1234" not in json.dumps([e.to_json() for e in refused])


def test_password_guessing_is_stopped_after_five_failures_even_with_the_right_password(
    app_client: TestClient, demo: DemoNegotiation
) -> None:
    for attempt in range(5):
        wrong = {"login": "eu@demo", "password": f"guess-{attempt:04}"}
        assert app_client.post("/api/session", json=wrong).status_code == 401
    right = app_client.post("/api/session", json={"login": "eu@demo", "password": DEMO_PASSWORD})
    assert right.status_code == 429
    assert int(right.headers["retry-after"]) > 0
    assert "set-cookie" not in right.headers
    # Another person is not held back by the guesser (until the address limit).
    other = {"login": "aosis@demo", "password": DEMO_PASSWORD}
    assert app_client.post("/api/session", json=other).status_code == 200


def test_sign_in_takes_json_only(app_client: TestClient, demo: DemoNegotiation) -> None:
    # A form can be posted by any site's page without CORS asking; JSON cannot.
    form = app_client.post("/api/session", data=SIGN_IN)
    assert form.status_code == 415
    assert "application/json" in form.json()["error"]
    assert app_client.post("/api/session", json=["chair@demo"]).status_code == 400
    assert app_client.post("/api/session", json={"login": "chair@demo"}).status_code == 400


def test_another_sites_page_cannot_sign_a_browser_in(
    app_client: TestClient, demo: DemoNegotiation
) -> None:
    response = app_client.post("/api/session", json=SIGN_IN, headers={"Origin": EVIL})

    assert response.status_code == 403
    assert EVIL in response.json()["error"]
    assert "set-cookie" not in response.headers


def test_who_am_i_gives_my_csrf_token_and_my_roles(
    sign_in: SignIn, app_client: TestClient, store: Store
) -> None:
    eu = sign_in("eu@demo")

    me = eu.get("/api/session").json()

    assert me["person"]["login"] == "eu@demo"
    assert (me["credential"], me["csrf"]) == ("session", eu.headers[CSRF_HEADER])
    [membership] = me["memberships"]
    assert membership == {
        "negotiation": "demo",
        "role": "delegate",
        "party": "EU",
        "capabilities": ["read", "table"],
    }
    anonymous = app_client.get("/api/session")
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    [entry] = AuditLog(store).entries(actions={"sign-in"})
    assert entry.person == "eu@demo"


def test_signing_out_ends_the_session_on_the_server(
    sign_in: SignIn, new_client: Callable[..., TestClient], store: Store
) -> None:
    chair = sign_in("chair@demo")
    stolen = chair.cookies[SESSION_COOKIE]

    out = chair.delete("/api/session")

    assert out.status_code == 204
    assert _attributes(out.headers["set-cookie"])["max-age"] == "0"  # the browser forgets it
    assert chair.get("/api/session").status_code == 401
    replay = new_client()
    replay.cookies.set(SESSION_COOKIE, stolen)
    refused = replay.get("/api/texts")
    assert refused.status_code == 401
    assert "signed out or expired" in refused.json()["error"]
    [entry] = AuditLog(store).entries(actions={"sign-out"})
    assert entry.person == "chair@demo"


def test_the_sign_in_page_posts_json_and_the_home_page_links_to_it(
    app_client: TestClient,
) -> None:
    page = app_client.get("/signin")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert 'autocomplete="current-password"' in page.text
    assert 'fetch("/api/session"' in page.text and "JSON.stringify" in page.text
    assert '<a href="/signin">' in app_client.get("/").text


# -- expiry ----------------------------------------------------------------------------------


def test_a_session_left_idle_for_twelve_hours_has_ended(sign_in: SignIn, clock: Any) -> None:
    chair = sign_in("chair@demo")
    clock.advance(hours=11, minutes=59)
    assert chair.get("/api/session").status_code == 200
    clock.advance(hours=12)

    response = chair.get("/api/session")

    assert response.status_code == 401
    assert _attributes(response.headers["set-cookie"])["max-age"] == "0"


def test_a_session_ends_after_seven_days_however_busy(sign_in: SignIn, clock: Any) -> None:
    chair = sign_in("chair@demo")
    statuses = []
    for _ in range(16):  # every 11 hours: never idle, 176 hours in all
        clock.advance(hours=11)
        statuses.append(chair.get("/api/texts").status_code)

    assert statuses == [200] * 15 + [401]


# -- CSRF ------------------------------------------------------------------------------------


def test_a_change_made_with_the_cookie_needs_the_csrf_token_and_our_origin(
    sign_in: SignIn, text_id: str
) -> None:
    chair = sign_in("chair@demo", csrf=False)
    csrf = chair.get("/api/session").json()["csrf"]
    revisions = f"/api/texts/{text_id}/revisions"

    missing = chair.post(revisions, json={})
    wrong = chair.post(revisions, json={}, headers={CSRF_HEADER: csrf[::-1]})
    elsewhere = chair.post(revisions, json={}, headers={CSRF_HEADER: csrf, "Origin": EVIL})
    assert [r.status_code for r in (missing, wrong, elsewhere)] == [403, 403, 403]
    assert CSRF_HEADER in missing.json()["error"]
    assert "does not match" in wrong.json()["error"]
    assert EVIL in elsewhere.json()["error"]
    assert [r["label"] for r in chair.get(revisions).json()] == ["Rev.1"]  # nothing changed

    ours = chair.post(
        revisions, json={}, headers={CSRF_HEADER: csrf, "Origin": "http://testserver"}
    )
    assert ours.status_code == 201
    assert chair.delete("/api/session").status_code == 403  # signing out is a change too


def test_a_bearer_token_works_without_csrf_and_with_the_persons_rights(
    app_client: TestClient, accounts: Accounts, text_id: str
) -> None:
    chair = {"Authorization": f"Bearer {accounts.create_token('chair@demo', 'script')}"}
    observer = {"Authorization": f"Bearer {accounts.create_token('observer@demo', 'feed')}"}

    cut = app_client.post(f"/api/texts/{text_id}/revisions", json={}, headers=chair)
    assert cut.status_code == 201
    me = app_client.get("/api/session", headers=chair).json()
    assert (me["credential"], me["csrf"]) == ("token", None)
    assert app_client.get(f"/api/texts/{text_id}", headers=observer).status_code == 200
    export = app_client.get(f"/api/texts/{text_id}/export?format=akn", headers=observer)
    assert (export.status_code, export.json()["error"]) == (403, "an observer may not export")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer trv_not-a-token", "Bearer ", "Basic Y2hhaXJAZGVtbzp0cmF2YXV4LWRlbW8="],
)
def test_a_bad_authorization_header_is_401(
    app_client: TestClient, demo: DemoNegotiation, authorization: str
) -> None:
    response = app_client.get("/api/texts", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_a_revoked_token_is_refused(
    app_client: TestClient, accounts: Accounts, demo: DemoNegotiation
) -> None:
    token = accounts.create_token("legal@demo", "exports")
    headers = {"Authorization": f"Bearer {token}"}
    assert app_client.get("/api/texts", headers=headers).status_code == 200

    accounts.revoke_token(token)

    assert app_client.get("/api/texts", headers=headers).status_code == 401


# -- each role's rights ----------------------------------------------------------------------

ALL = {"read", "import", "export", "history", "restore", "revise"}
ALLOWED = {  # docs/ARCHITECTURE.md, "Who may change what"
    "chair@demo": ALL,
    "secretariat@demo": ALL - {"revise"},
    "eu@demo": {"read", "history"},
    "eu-viewer@demo": {"read", "history"},
    "observer@demo": {"read", "history"},
    "legal@demo": {"read", "export", "history"},
}


@pytest.mark.parametrize("login", list(ALLOWED))
def test_each_role_does_what_the_role_table_says(
    sign_in: SignIn, store: Store, text_id: str, login: str
) -> None:
    person = sign_in(login)
    clause = f"/api/texts/{text_id}/clauses/Article 1.1"

    answers = {
        "read": person.get(f"/api/texts/{text_id}"),
        "import": person.post(
            "/api/texts?negotiation=demo",
            content=SOURCE.encode(),
            headers={"content-type": "text/markdown"},
        ),
        "export": person.get(f"/api/texts/{text_id}/export?format=akn"),
        "history": person.get(f"{clause}/history"),
        "restore": person.post(f"{clause}/restore", json={"to": "Rev.1"}),
        "revise": person.post(f"/api/texts/{text_id}/revisions", json={"label": "Rev.2"}),
    }

    allowed = {action for action, r in answers.items() if r.status_code < 300}
    assert allowed == ALLOWED[login]
    for action in ALL - allowed:
        assert answers[action].status_code == 403
        assert " may not " in answers[action].json()["error"]
    # What was refused changed nothing.
    words = NegotiationText.from_update(store.load(text_id))
    assert ("All Parties" in _words(words)) == ("restore" not in allowed)
    assert len(hs.list_revisions(store, text_id)) == (2 if "revise" in allowed else 1)


def test_the_refusal_says_which_right_the_role_lacks(
    secretariat: TestClient, eu: TestClient, text_id: str
) -> None:
    revise = secretariat.post(f"/api/texts/{text_id}/revisions", json={})
    restore = eu.post(f"/api/texts/{text_id}/clauses/Article 1.1/restore", json={"to": "Rev.1"})

    assert revise.json() == {
        "error": "a secretariat may not cut a revision (it takes the decide right)",
        "detail": {"role": "secretariat", "party": None, "capability": "decide"},
    }
    assert restore.json()["error"] == (
        "a delegate may not restore a clause (it takes the edit right)"
    )
    assert restore.json()["detail"]["party"] == "EU"


# -- what others cannot see ------------------------------------------------------------------


@pytest.fixture
def outsider(sign_in: SignIn, accounts: Accounts) -> TestClient:
    """The chair of another negotiation."""
    elsewhere = accounts.create_negotiation("Elsewhere", [("US", "United States")])
    accounts.create_person("chair@elsewhere", "Another chair", "another-password")
    accounts.grant("chair@elsewhere", elsewhere, "chair")
    return sign_in("chair@elsewhere", password="another-password")


def test_a_person_of_another_negotiation_cannot_tell_our_texts_exist(
    outsider: TestClient, text_id: str
) -> None:
    for path in ("", "/export?format=akn", "/revisions", "/clauses/Article 1.1/history"):
        ours = outsider.get(f"/api/texts/{text_id}{path}")
        none = outsider.get(f"/api/texts/nosuchtext{path}")
        assert (ours.status_code, none.status_code) == (404, 404), path
        assert ours.json()["error"] == none.json()["error"].replace("nosuchtext", text_id)
    cut = outsider.post(f"/api/texts/{text_id}/revisions", json={})
    assert cut.status_code == 404
    assert outsider.get("/api/texts").json() == []
    assert [n["name"] for n in outsider.get("/api/negotiations").json()] == ["Elsewhere"]
    imported = outsider.post(
        "/api/texts?negotiation=demo", content=b"## P\n", headers={"content-type": "text/plain"}
    )
    assert imported.status_code == 404


def test_a_text_of_no_negotiation_and_a_scoped_document_are_nobodys(
    chair: TestClient, store: Store, demo: DemoNegotiation
) -> None:
    loose = import_demo(store)
    workspace = store.scoped_document(demo.text_id, "workspace:EU")

    for text_id in (loose, workspace):
        response = chair.get(f"/api/texts/{text_id}")
        assert response.status_code == 404
        assert response.json()["detail"] == {"id": text_id}
    assert [t["id"] for t in chair.get("/api/texts").json()] == [demo.text_id]


def test_a_revoked_membership_takes_effect_at_the_next_request(
    eu: TestClient, accounts: Accounts, demo: DemoNegotiation
) -> None:
    assert eu.get(f"/api/texts/{demo.text_id}").status_code == 200

    accounts.revoke("eu@demo", "demo")

    assert eu.get(f"/api/texts/{demo.text_id}").status_code == 404
    assert eu.get("/api/negotiations").json() == []


def test_every_protected_operation_refuses_an_anonymous_caller(
    app_client: TestClient, text_id: str
) -> None:
    spec = app_client.get("/api/openapi.json").json()
    values = {
        "text_id": text_id,
        "clause": "Article 1.1",
        "revision": "1",
        "negotiation_id": "demo",
        "login": "eu@demo",
        "balloon_id": "tb1",
    }

    checked = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if operation.get("security", spec["security"]) == []:
                continue
            response = app_client.request(method.upper(), path.format(**values))
            assert response.status_code == 401, (method, path, response.text)
            checked.append(operation["operationId"])
    assert {"getText", "exportText", "cutRevision", "restoreClause", "whoAmI"} <= set(checked)


# -- helpers ---------------------------------------------------------------------------------


def _attributes(set_cookie: str) -> dict[str, str | bool]:
    """A Set-Cookie header's attributes, names lowercased (the cookie's own name kept)."""
    found: dict[str, str | bool] = {}
    for part in set_cookie.split(";"):
        name, equals, value = part.strip().partition("=")
        key = name if name == SESSION_COOKIE else name.lower()
        found[key] = value.strip('"').lower() if key == "samesite" else value if equals else True
    return found


def _words(text: NegotiationText) -> str:
    return " ".join(str(r.words) for r in text.clauses())


@pytest.mark.parametrize(
    ("kind", "scheme", "host", "origin", "foreign"),
    [
        ("http", "http", "example.org", None, False),  # no Origin: not a browser's page
        ("http", "http", "example.org", "http://example.org", False),
        ("http", "http", "example.org", "http://EXAMPLE.org:80", False),  # the same origin
        ("http", "https", "example.org", "http://example.org", True),  # another scheme
        ("http", "http", "example.org:8000", "http://example.org", True),  # another port
        ("websocket", "ws", "example.org:8000", "http://example.org:8000", False),
        ("websocket", "wss", "example.org", "https://example.org", False),
        ("websocket", "wss", "example.org", "http://example.org", True),
        ("websocket", "ws", "example.org", "https://evil.example", True),
        ("websocket", "ws", "example.org", "null", True),  # a sandboxed or file page
    ],
)
def test_a_foreign_page_is_told_from_this_servers_own_over_http_and_websocket(
    kind: str, scheme: str, host: str, origin: str | None, foreign: bool
) -> None:
    headers = [(b"host", host.encode())]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    scope = {"type": kind, "scheme": scheme, "path": "/", "query_string": b"", "headers": headers}
    assert foreign_origin(HTTPConnection(scope)) == (origin if foreign else None)
