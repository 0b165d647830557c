"""The HTTP API on a real SQLite store, signed in as the demo's people: list, read,
import, errors, OpenAPI, the home page."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate
from starlette.routing import Route
from starlette.testclient import TestClient

from crdt_sync.accounts import Accounts
from crdt_sync.audit import AuditLog
from crdt_sync.store import Store
from travaux.demo import DemoNegotiation
from web.app import DEMO_TEXT, import_demo

DEMO_TITLE = "Draft Agreement on the Protection of Mountain Glaciers"
IMPORT = "/api/texts?negotiation=demo"


def test_the_list_gives_each_text_of_my_negotiations_with_its_headline_counts(
    chair: TestClient, demo: DemoNegotiation, store: Store, accounts: Accounts
) -> None:
    [text] = chair.get("/api/texts").json()

    assert text["id"] == demo.text_id
    assert (text["title"], text["kind"], text["negotiation"]) == (DEMO_TITLE, "treaty", "demo")
    assert text["url"] == f"/api/texts/{demo.text_id}"
    assert text["statistics"]["articles"] == 5
    assert text["statistics"]["placeholders"] == 1
    assert "per_status" not in text["statistics"]  # the tables are in the detail only

    import_demo(store)  # a text of no negotiation is nobody's
    accounts.attach_text(import_demo(store), "demo")
    assert len(chair.get("/api/texts").json()) == 2


def test_a_text_comes_with_statistics_clean_and_bracketed_text(
    chair: TestClient, demo: DemoNegotiation
) -> None:
    response = chair.get(f"/api/texts/{demo.text_id}")

    assert response.status_code == 200
    text = response.json()
    assert (text["title"], text["negotiation"]) == (DEMO_TITLE, "demo")
    assert text["statistics"]["per_status"]["bracketed"] > 0
    assert "Parties [shall][should] take into account" in text["bracketed"]
    assert "Parties shall take into account" in text["clean"]["text"]
    assert text["clean"]["open_brackets"] > 0


def test_posting_markdown_imports_it_into_the_negotiation(chair: TestClient, store: Store) -> None:
    source = DEMO_TEXT.read_text(encoding="utf-8")

    response = chair.post(
        IMPORT, content=source.encode(), headers={"content-type": "text/markdown; charset=utf-8"}
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["title"], body["negotiation"], body["warnings"]) == (DEMO_TITLE, "demo", [])
    assert response.headers["location"] == f"/api/texts/{body['id']}"
    assert chair.get(body["url"]).json()["statistics"]["articles"] == 5
    assert body["id"] in [t["id"] for t in chair.get("/api/texts").json()]
    [entry] = AuditLog(store).entries(actions={"text-attached"})
    assert (entry.person, entry.negotiation_id, entry.text_id) == ("chair@demo", "demo", body["id"])


def test_a_file_upload_is_imported_with_its_warnings(secretariat: TestClient) -> None:
    source = "## Article 1 *(objet)*\n\n1. Les Parties [doivent] agir.]\n"

    response = secretariat.post(
        IMPORT, files={"file": ("projet.md", source.encode(), "text/markdown")}
    )

    assert response.status_code == 201
    [warning] = response.json()["warnings"]
    assert warning["line"] == 3 and warning["column"] > 0 and warning["message"]


def test_an_import_names_its_negotiation(chair: TestClient) -> None:
    response = chair.post("/api/texts", content=b"## Preamble\n", headers=_markdown())

    assert response.status_code == 400
    assert "?negotiation=ID" in response.json()["error"]
    unknown = chair.post("/api/texts?negotiation=cop99", content=b"## P\n", headers=_markdown())
    assert unknown.status_code == 404
    assert unknown.json()["error"] == "no negotiation with id 'cop99'"


def test_an_unknown_text_is_a_404_naming_the_id(chair: TestClient) -> None:
    response = chair.get("/api/texts/nosuchtext")

    assert response.status_code == 404
    assert response.json() == {
        "error": "no text with id 'nosuchtext' in this database",
        "detail": {"id": "nosuchtext"},
    }


def test_an_unknown_path_and_a_wrong_method_are_json_errors(chair: TestClient) -> None:
    missing = chair.get("/api/nothing")
    assert missing.status_code == 404
    assert missing.json()["error"].startswith("nothing at /api/nothing")
    wrong = chair.delete("/api/texts")
    assert wrong.status_code == 405
    assert wrong.json()["error"] == "DELETE is not allowed on /api/texts"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "message"),
    [
        (b"", "text/markdown", 400, "is empty"),
        (b"## Preamble\n\nR\xe9affirmant\n", "text/markdown", 400, "line 3, column 2"),
        (b'{"title": "x"}', "application/json", 415, "send the text as the raw file"),
        (b"x" * (64 * 1024 + 1), "text/markdown", 413, "larger than"),
    ],
)
def test_bad_imports_say_what_to_fix(
    chair: TestClient, body: bytes, content_type: str, status: int, message: str
) -> None:
    before = chair.get("/api/texts").json()

    response = chair.post(IMPORT, content=body, headers={"content-type": content_type})

    assert response.status_code == status
    assert message in response.json()["error"]
    assert chair.get("/api/texts").json() == before  # nothing was stored


def test_input_that_is_not_a_negotiation_text_is_422_with_line_and_column(
    chair: TestClient,
) -> None:
    # Binary noise is what the importer refuses outright (everything textual imports,
    # with warnings).
    response = chair.post(
        IMPORT,
        content=b"## Article 1\n\n1. Parties \x00\x01 act.\n",
        headers={"content-type": "text/plain"},
    )

    assert response.status_code == 422
    body = response.json()
    assert "could not be imported" in body["error"]
    assert body["detail"]["line"] == 3


def test_a_form_without_a_file_field_is_refused(chair: TestClient) -> None:
    response = chair.post(IMPORT, data={"text": "## Preamble"}, files={"other": b"x"})

    assert response.status_code == 400
    assert "no file field named 'file'" in response.json()["error"]


def test_my_negotiations_list_their_parties_my_role_and_their_texts(
    eu: TestClient, demo: DemoNegotiation
) -> None:
    [negotiation] = eu.get("/api/negotiations").json()

    assert (negotiation["id"], negotiation["name"]) == ("demo", demo.name)
    assert {p["code"] for p in negotiation["parties"]} >= {"EU", "AOSIS"}
    assert (negotiation["role"], negotiation["party"]) == ("delegate", "EU")
    assert negotiation["capabilities"] == ["read", "table"]
    assert negotiation["texts"] == [
        {"id": demo.text_id, "title": DEMO_TITLE, "url": f"/api/texts/{demo.text_id}"}
    ]


def test_the_openapi_description_is_valid_and_names_every_route(
    app_client: TestClient,
) -> None:
    spec = app_client.get("/api/openapi.json").json()

    validate(spec)  # raises if the document is not valid OpenAPI 3.1
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    routes = {
        (route.path, method)
        for route in app_client.app.routes  # type: ignore[attr-defined]
        if isinstance(route, Route)
        for method in route.methods or ()
        if method != "HEAD"
    }
    assert routes == documented
    assert set(spec["components"]["securitySchemes"]) == {"sessionCookie", "bearerToken"}


def test_the_home_page_shows_who_is_signed_in_and_the_texts_they_may_open(
    eu: TestClient, app_client: TestClient, demo: DemoNegotiation
) -> None:
    page = eu.get("/")

    assert page.headers["content-type"].startswith("text/html")
    assert "EU delegate" in page.text and "delegate for EU" in page.text
    assert f'<a href="/api/texts/{demo.text_id}">{DEMO_TITLE}</a>' in page.text
    assert 'id="signout"' in page.text
    assert "Import a text" not in page.text  # a delegate does not import
    anonymous = app_client.get("/")
    assert '<a href="/signin">' in anonymous.text and DEMO_TITLE not in anonymous.text


def _markdown() -> dict[str, str]:
    return {"content-type": "text/markdown"}


@pytest.mark.parametrize("fmt", ["docx", "akn"])
def test_a_word_or_akoma_ntoso_export_imports_back_as_a_new_text(
    chair: TestClient, store: Store, demo: DemoNegotiation, fmt: str
) -> None:
    exported = chair.get(f"/api/texts/{demo.text_id}/export?format={fmt}&mode=negotiation")
    assert exported.status_code == 200, exported.text
    name = f"demo.{'docx' if fmt == 'docx' else 'xml'}"

    response = chair.post(IMPORT, files={"file": (name, exported.content)})

    assert response.status_code == 201, response.text
    original = chair.get(f"/api/texts/{demo.text_id}").json()
    imported = chair.get(response.json()["url"]).json()
    assert imported["bracketed"] == original["bracketed"]
    # The raw file works too, named by its media type.
    media = exported.headers["content-type"].split(";")[0]
    raw = chair.post(IMPORT, content=exported.content, headers={"content-type": media})
    assert raw.status_code == 201, raw.text
