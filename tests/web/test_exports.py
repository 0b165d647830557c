"""The export downloads over HTTP: the file with its media type and name, or a JSON error."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from crdt_sync.store import Store
from drafting.importers.akn import read_akn
from drafting.importing import import_markdown
from web.app import import_demo, store_import
from web.exports import routes


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'travaux.sqlite3'}") as opened:
        yield opened


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    app = Starlette(routes=routes)
    app.state.store = store
    with TestClient(app) as test_client:
        yield test_client


def test_akn_download(client: TestClient, store: Store):
    text_id = import_demo(store)
    response = client.get(f"/api/texts/{text_id}/export", params={"format": "akn"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/akn+xml"
    assert response.headers["content-disposition"] == (
        'attachment; filename="draft-agreement-on-the-protection-of-mountain-glaciers-'
        'negotiation.xml"'
    )
    assert read_akn(response.content).own


def test_docx_download_of_a_clean_copy(client: TestClient, store: Store):
    text_id = import_demo(store)
    response = client.get(
        f"/api/texts/{text_id}/export",
        params={"format": "docx", "mode": "clean", "keep_brackets": "1"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert zipfile.ZipFile(io.BytesIO(response.content)).read("word/document.xml")


def test_a_clean_export_with_open_brackets_is_a_conflict_listing_them(
    client: TestClient, store: Store
):
    text_id = import_demo(store)
    response = client.get(f"/api/texts/{text_id}/export?format=akn&mode=clean")
    assert response.status_code == 409
    body = response.json()
    assert body["error"].startswith("the text is not final:")
    assert {"clause", "label", "kind", "words"} <= set(body["detail"]["open_brackets"][0])
    assert "keep_brackets=1" in body["detail"]["hint"]


def test_a_redline_between_two_stored_texts(client: TestClient, store: Store, cop21_dir: Path):
    ids = [
        store_import(store, import_markdown((cop21_dir / name).read_text("utf-8")), origin="t")
        for name in ("draft-agreement-12-dec-2015.md", "paris-agreement-adopted.md")
    ]
    response = client.get(
        f"/api/texts/{ids[1]}/export", params={"format": "docx", "mode": "redline", "from": ids[0]}
    )
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith('paris-agreement-redline.docx"')
    assert b"<w:del " in zipfile.ZipFile(io.BytesIO(response.content)).read("word/document.xml")


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ("", 400, "format must be akn or docx"),
        ("format=pdf", 400, "format must be akn or docx"),
        ("format=akn&mode=final", 400, "mode must be clean, negotiation or redline"),
        ("format=akn&mode=redline&from=x", 400, "a redline is a Word document"),
        ("format=docx&mode=redline", 400, "a redline needs from="),
        ("format=akn&keep_brackets=maybe", 400, "keep_brackets must be 1 or 0"),
        ("format=akn&colour=red", 400, "unknown parameter(s): colour"),
        ("format=akn&language=ru", 400, "the text has no 'ru' version"),
    ],
)
def test_bad_requests_are_json_errors(client: TestClient, store: Store, query, status, error):
    text_id = import_demo(store)
    response = client.get(f"/api/texts/{text_id}/export?{query}")
    assert response.status_code == status
    assert response.json()["error"].startswith(error)


def test_an_unknown_text_is_404(client: TestClient):
    response = client.get("/api/texts/nosuchtext/export?format=akn")
    assert response.status_code == 404
    assert response.json() == {
        "error": "no text with id 'nosuchtext' in this database",
        "detail": {"id": "nosuchtext"},
    }
