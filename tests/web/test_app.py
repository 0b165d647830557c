"""The HTTP API on a real SQLite store: list, read, import, errors, OpenAPI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient

from crdt_sync.store import Store
from web.app import DEMO_TEXT, create_app, import_demo

DEMO_TITLE = "Draft Agreement on the Protection of Mountain Glaciers"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'travaux.sqlite3'}") as opened:
        yield opened


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    with TestClient(create_app(store, max_upload_bytes=64 * 1024)) as test_client:
        yield test_client


def test_the_list_gives_each_text_with_its_headline_counts(
    client: TestClient, store: Store
) -> None:
    assert client.get("/api/texts").json() == []
    text_id = import_demo(store)

    [text] = client.get("/api/texts").json()

    assert text["id"] == text_id
    assert (text["title"], text["kind"]) == (DEMO_TITLE, "treaty")
    assert text["url"] == f"/api/texts/{text_id}"
    assert text["statistics"]["articles"] == 5
    assert text["statistics"]["placeholders"] == 1
    assert "per_status" not in text["statistics"]  # the tables are in the detail only


def test_a_text_comes_with_statistics_clean_and_bracketed_text(
    client: TestClient, store: Store
) -> None:
    text_id = import_demo(store)

    response = client.get(f"/api/texts/{text_id}")

    assert response.status_code == 200
    text = response.json()
    assert text["title"] == DEMO_TITLE
    assert text["statistics"]["per_status"]["bracketed"] > 0
    assert "Parties [shall][should] take into account" in text["bracketed"]
    assert "Parties shall take into account" in text["clean"]["text"]
    assert text["clean"]["open_brackets"] > 0


def test_posting_markdown_imports_and_stores_it(client: TestClient) -> None:
    source = DEMO_TEXT.read_text(encoding="utf-8")

    response = client.post(
        "/api/texts",
        content=source.encode(),
        headers={"content-type": "text/markdown; charset=utf-8"},
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["title"], body["warnings"]) == (DEMO_TITLE, [])
    assert response.headers["location"] == f"/api/texts/{body['id']}"
    assert client.get(body["url"]).json()["statistics"]["articles"] == 5


def test_a_file_upload_is_imported_with_its_warnings(client: TestClient) -> None:
    source = "## Article 1 *(objet)*\n\n1. Les Parties [doivent] agir.]\n"

    response = client.post(
        "/api/texts", files={"file": ("projet.md", source.encode(), "text/markdown")}
    )

    assert response.status_code == 201
    [warning] = response.json()["warnings"]
    assert warning["line"] == 3 and warning["column"] > 0 and warning["message"]


def test_an_unknown_text_is_a_404_naming_the_id(client: TestClient) -> None:
    response = client.get("/api/texts/nosuchtext")

    assert response.status_code == 404
    assert response.json() == {
        "error": "no text with id 'nosuchtext' in this database",
        "detail": {"id": "nosuchtext"},
    }


def test_an_unknown_path_and_a_wrong_method_are_json_errors(client: TestClient) -> None:
    missing = client.get("/api/nothing")
    assert missing.status_code == 404
    assert missing.json()["error"].startswith("nothing at /api/nothing")
    wrong = client.delete("/api/texts")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "DELETE is not allowed on /api/texts"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"", "text/markdown", 400, "is empty"),
        (b"## Preamble\n\nR\xe9affirmant\n", "text/markdown", 400, "line 3, column 2"),
        (b'{"title": "x"}', "application/json", 415, "send the text as text/markdown"),
        (b"x" * (64 * 1024 + 1), "text/markdown", 413, "larger than"),
    ],
)
def test_bad_imports_say_what_to_fix(
    client: TestClient, body: bytes, content_type: str, status: int, message: str
) -> None:
    response = client.post("/api/texts", content=body, headers={"content-type": content_type})

    assert response.status_code == status
    assert message in response.json()["error"]
    assert client.get("/api/texts").json() == []  # nothing was stored


def test_input_that_is_not_a_negotiation_text_is_422_with_line_and_column(
    client: TestClient,
) -> None:
    # Binary noise is what the importer refuses outright (everything textual imports,
    # with warnings).
    response = client.post(
        "/api/texts",
        content=b"## Article 1\n\n1. Parties \x00\x01 act.\n",
        headers={"content-type": "text/plain"},
    )

    assert response.status_code == 422
    body = response.json()
    assert "could not be imported" in body["error"]
    assert body["detail"]["line"] == 3


def test_a_form_without_a_file_field_is_refused(client: TestClient) -> None:
    response = client.post("/api/texts", data={"text": "## Preamble"}, files={"other": b"x"})

    assert response.status_code == 400
    assert "no file field named 'file'" in response.json()["error"]


def test_the_openapi_description_is_valid_and_names_every_route(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()

    validate(spec)  # raises if the document is not valid OpenAPI 3.1
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    routes = {
        (route.path, method)
        for route in client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert routes == documented


def test_the_home_page_links_to_each_text(client: TestClient, store: Store) -> None:
    text_id = import_demo(store)

    page = client.get("/")

    assert page.headers["content-type"].startswith("text/html")
    assert f'<a href="/api/texts/{text_id}">{DEMO_TITLE}</a>' in page.text
