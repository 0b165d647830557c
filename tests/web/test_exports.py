"""The export downloads over HTTP: the file with its media type and name, or a JSON error;
only for those whose role may export, and each one in the audit log."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from crdt_sync.accounts import Accounts
from crdt_sync.audit import AuditLog
from crdt_sync.store import Store
from drafting.importers.akn import read_akn
from drafting.importing import import_markdown
from travaux.demo import DemoNegotiation
from web.app import store_import


def test_akn_download(legal: TestClient, demo: DemoNegotiation):
    response = legal.get(f"/api/texts/{demo.text_id}/export", params={"format": "akn"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/akn+xml"
    assert response.headers["content-disposition"] == (
        'attachment; filename="draft-agreement-on-the-protection-of-mountain-glaciers-'
        'negotiation.xml"'
    )
    assert read_akn(response.content).own


def test_docx_download_of_a_clean_copy(secretariat: TestClient, demo: DemoNegotiation):
    response = secretariat.get(
        f"/api/texts/{demo.text_id}/export",
        params={"format": "docx", "mode": "clean", "keep_brackets": "1"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )
    assert zipfile.ZipFile(io.BytesIO(response.content)).read("word/document.xml")


def test_each_export_is_in_the_audit_log(legal: TestClient, demo: DemoNegotiation, store: Store):
    legal.get(f"/api/texts/{demo.text_id}/export", params={"format": "akn", "mode": "clean"})
    legal.get(f"/api/texts/{demo.text_id}/export", params={"format": "docx"})

    exports = AuditLog(store).entries(actions={"export"})
    assert [(e.person, e.negotiation_id, e.text_id) for e in exports] == [
        ("legal@demo", "demo", demo.text_id)
    ]  # the refused clean export (open brackets) is not an export
    assert exports[0].detail == {"format": "docx", "mode": "negotiation", "text": demo.text_id}


def test_an_observer_a_delegate_and_a_viewer_may_not_export(
    observer: TestClient, eu: TestClient, sign_in, demo: DemoNegotiation, store: Store
):
    url = f"/api/texts/{demo.text_id}/export?format=akn"
    refused = observer.get(url)
    assert refused.status_code == 403
    assert refused.json()["error"] == "an observer may not export"
    assert eu.get(url).json()["error"] == "a delegate may not export"
    assert sign_in("eu-viewer@demo").get(url).status_code == 403
    assert AuditLog(store).entries(actions={"export"}) == []


def test_a_clean_export_with_open_brackets_is_a_conflict_listing_them(
    chair: TestClient, demo: DemoNegotiation
):
    response = chair.get(f"/api/texts/{demo.text_id}/export?format=akn&mode=clean")
    assert response.status_code == 409
    body = response.json()
    assert body["error"].startswith("the text is not final:")
    assert {"clause", "label", "kind", "words"} <= set(body["detail"]["open_brackets"][0])
    assert "keep_brackets=1" in body["detail"]["hint"]


@pytest.fixture
def cop21_texts(store: Store, accounts: Accounts, demo: DemoNegotiation, cop21_dir: Path):
    """The last draft and the adopted Paris Agreement, as texts of the demo negotiation."""
    ids = [
        store_import(store, import_markdown((cop21_dir / name).read_text("utf-8")), origin="t")
        for name in ("draft-agreement-12-dec-2015.md", "paris-agreement-adopted.md")
    ]
    for text_id in ids:
        accounts.attach_text(text_id, "demo")
    return ids


def test_a_redline_between_two_texts(legal: TestClient, cop21_texts: list[str]):
    before, after = cop21_texts
    response = legal.get(
        f"/api/texts/{after}/export", params={"format": "docx", "mode": "redline", "from": before}
    )
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith('paris-agreement-redline.docx"')
    assert b"<w:del " in zipfile.ZipFile(io.BytesIO(response.content)).read("word/document.xml")


def test_a_redline_against_a_text_of_another_negotiation_is_refused(
    legal: TestClient, store: Store, accounts: Accounts, demo: DemoNegotiation
):
    elsewhere = accounts.create_negotiation("Elsewhere")
    secret = store_import(store, import_markdown("## Article 1\n\n1. Secret words.\n"), origin="t")
    accounts.attach_text(secret, elsewhere)

    for query in (f"from={secret}", f"from={demo.text_id}&to={secret}"):
        response = legal.get(f"/api/texts/{demo.text_id}/export?format=docx&mode=redline&{query}")
        assert response.status_code == 404
        assert response.json()["error"] == f"no text with id {secret!r} in this database"


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
def test_bad_requests_are_json_errors(
    legal: TestClient, demo: DemoNegotiation, query, status, error
):
    response = legal.get(f"/api/texts/{demo.text_id}/export?{query}")
    assert response.status_code == status
    assert response.json()["error"].startswith(error)


def test_an_unknown_text_is_404(legal: TestClient):
    response = legal.get("/api/texts/nosuchtext/export?format=akn")
    assert response.status_code == 404
    assert response.json() == {
        "error": "no text with id 'nosuchtext' in this database",
        "detail": {"id": "nosuchtext"},
    }
