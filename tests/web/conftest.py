"""The web tests' world: a real SQLite store, its accounts, the demo negotiation, the real
app, and one signed-in client per role.

    def test_x(app_client, chair, observer, demo): …
        chair.get(f"/api/texts/{demo.text_id}")          # cookie + X-CSRF-Token
        observer.get(...)

Everyone signs in as a browser does (POST /api/session, the cookie kept by the client).
Clients share the app's event loop (the first client runs the lifespan and the rooms;
the others reuse its portal), so changes made over HTTP reach the same live rooms that
WebSocket clients are in. Time is a clock the test moves (`clock.advance(hours=13)`);
passwords are hashed with a cheap Argon2id — the tests are about the rules, not the cost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from starlette.applications import Starlette
from starlette.testclient import TestClient

from crdt_sync.accounts import Accounts
from crdt_sync.store import Store
from travaux.demo import DEMO_PASSWORD, DemoNegotiation, seed_demo
from web.app import create_app
from web.auth import CSRF_HEADER

MAX_UPLOAD_BYTES = 64 * 1024
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
SignIn = Callable[..., TestClient]


class Clock:
    """The time as the test says it is."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'travaux.sqlite3'}") as opened:
        yield opened


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def accounts(store: Store, clock: Clock) -> Accounts:
    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return Accounts(store, clock=clock, password_hasher=cheap)


@pytest.fixture
def demo(store: Store, accounts: Accounts) -> DemoNegotiation:
    """Negotiation "demo": Parties EU, AOSIS (and the group G77), the demo treaty, and
    chair@demo, secretariat@demo, eu@demo, aosis@demo, eu-viewer@demo, observer@demo,
    legal@demo, all with the password `travaux-demo`."""
    return seed_demo(store, accounts)


@pytest.fixture
def app(store: Store, accounts: Accounts) -> Starlette:
    return create_app(store, accounts=accounts, max_upload_bytes=MAX_UPLOAD_BYTES)


@pytest.fixture
def app_client(app: Starlette) -> Iterator[TestClient]:
    """Nobody signed in; it runs the app's lifespan (the rooms) for every other client."""
    with TestClient(app) as client:
        yield client


@pytest.fixture
def new_client(app_client: TestClient) -> Callable[..., TestClient]:
    """Another browser on the same running app (its own cookies, the same event loop)."""

    def make(base_url: str = "http://testserver") -> TestClient:
        client = TestClient(app_client.app, base_url=base_url)
        client.portal = app_client.portal
        return client

    return make


@pytest.fixture
def sign_in(new_client: Callable[..., TestClient], demo: DemoNegotiation) -> SignIn:
    """A new browser signed in as `login`; unless `csrf=False` it sends the session's
    csrf token with every request, as the app's pages do."""

    def signed_in(login: str, *, password: str = DEMO_PASSWORD, csrf: bool = True) -> TestClient:
        client = new_client()
        response = client.post("/api/session", json={"login": login, "password": password})
        assert response.status_code == 200, response.text
        if csrf:
            client.headers[CSRF_HEADER] = response.json()["csrf"]
        return client

    return signed_in


@pytest.fixture
def chair(sign_in: SignIn) -> TestClient:
    return sign_in("chair@demo")


@pytest.fixture
def secretariat(sign_in: SignIn) -> TestClient:
    return sign_in("secretariat@demo")


@pytest.fixture
def eu(sign_in: SignIn) -> TestClient:
    """The EU's delegate."""
    return sign_in("eu@demo")


@pytest.fixture
def observer(sign_in: SignIn) -> TestClient:
    return sign_in("observer@demo")


@pytest.fixture
def legal(sign_in: SignIn) -> TestClient:
    return sign_in("legal@demo")
