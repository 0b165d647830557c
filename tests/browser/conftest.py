"""Browser tests: Debian's Chromium driven by Playwright against a real `travaux serve`.

One server per test session (a temporary SQLite database seeded with the demo negotiation
and its accounts, on a free loopback port) and one Chromium; each test opens its own
browser contexts (separate cookies and IndexedDB: separate people). Screenshots of the
main screens are saved under build/browser-screenshots/ (or $TRAVAUX_SCREENSHOTS).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "web" / "static" / "room.js"
PASSWORD = "travaux-demo"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's Chromium at /usr/bin/chromium: `make install` installs it",
        allow_module_level=True,
    )
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the `playwright` package (the [test] extra) is not installed"
)


def _build_bundle() -> None:
    if BUNDLE.is_file():
        return
    if shutil.which("npm") is None or not (ROOT / "node_modules").is_dir():
        pytest.fail("web/static/room.js is missing and cannot be built: run `make install`")
    subprocess.run(["npm", "run", "--silent", "build"], cwd=ROOT, check=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    db_url: str
    text_id: str
    process: subprocess.Popen

    def stored_text(self) -> Any:
        """The text as the server has stored it (read from the database, not over HTTP)."""
        from crdt_sync.store import Store
        from drafting.schema import NegotiationText

        store = Store(self.db_url)
        try:
            return NegotiationText.from_update(store.load(self.text_id))
        finally:
            dispose = getattr(store, "close", None) or getattr(store.engine, "dispose", None)
            if dispose:
                dispose()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    _build_bundle()
    data = tmp_path_factory.mktemp("travaux-browser")
    db_url = f"sqlite:///{data / 'travaux.sqlite3'}"
    port = _free_port()
    log = (data / "server.log").open("w+")
    travaux = Path(sys.executable).parent / "travaux"
    process = subprocess.Popen(
        [str(travaux), "serve", "--demo", "--db", db_url, "--port", str(port)],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "TRAVAUX_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/openapi.json", timeout=1).read()
            break
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"travaux serve did not start:\n{log.read()}")
            time.sleep(0.2)
    log.seek(0)
    found = re.search(r"text (\w+)", log.read())
    if not found:
        pytest.fail("travaux serve --demo did not say which text it seeded")
    yield Server(url, db_url, found.group(1), process)
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()


# Module-scoped, not session-scoped: Playwright's sync API keeps an asyncio loop marked as
# running in this thread until it stops, and every later test that calls asyncio.run()
# (the sync-server tests) would fail with "cannot be called from a running event loop".
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = Path(os.environ.get("TRAVAUX_SCREENSHOTS", ROOT / "build" / "browser-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def person(browser: Any, server: Server) -> Iterator[Callable[[str], Any]]:
    """person("eu@demo") -> a page of a new browser context, signed in, in the drafting room."""
    contexts: list[Any] = []

    def open_as(login: str) -> Any:
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        context.set_default_timeout(10_000)
        contexts.append(context)
        response = context.request.post(
            f"{server.url}/api/session",
            data=json.dumps({"login": login, "password": PASSWORD}),
            headers={"Content-Type": "application/json"},
        )
        assert response.ok, f"sign-in of {login} failed: {response.status} {response.text()}"
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.errors = errors
        enter_room(page, server)
        return page

    yield open_as
    uncaught = [
        error
        for context in contexts
        for page in context.pages
        for error in getattr(page, "errors", [])
    ]
    for context in contexts:
        context.close()
    assert not uncaught, f"the page threw: {uncaught}"  # a script error is a bug, even unseen


def enter_room(page: Any, server: Server) -> None:
    page.goto(f"{server.url}/texts/{server.text_id}")
    page.wait_for_selector("#connection[data-state=synced]")


def clause_id_with(text: Any, words: str) -> str:
    """The id of the clause whose words contain `words` (in the server's copy)."""
    for record in text.clauses():
        if words in str(record.words):
            return record.id
    raise AssertionError(f"no clause has the words {words!r}")


def open_clause(page: Any, clause_id: str) -> Any:
    """Click a clause: its editor opens and has the keyboard focus. Returns the editor."""
    page.click(f"#clause-{clause_id} .words")
    editor = page.locator(f"#clause-{clause_id} .cm-content")
    editor.wait_for()
    return editor


def editor_text(page: Any, clause_id: str) -> str:
    return page.evaluate(
        "id => window.travaux.doc.getMap('clauses').get(id).get('words').toString()", clause_id
    )


def wait_for(condition: Callable[[], Any], *, timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        time.sleep(0.05)
