"""The history API on a real SQLite store and the real app, signed in as the demo's
people: revisions, verification, clause history, a clause at a revision, diffs, and a
restore that reaches the editors — made as the person signed in, with their rights."""

from __future__ import annotations

import io
import re
import time
import zipfile

import pytest
from sqlalchemy import text as sql
from starlette.testclient import TestClient

from crdt_sync import history_store as hs
from crdt_sync import protocol
from crdt_sync.accounts import Accounts
from crdt_sync.audit import AuditLog
from crdt_sync.history_store import append_updates
from crdt_sync.store import Store
from drafting.clauses import delete_words, insert_words
from drafting.history import recording
from drafting.importing import import_markdown
from drafting.schema import NegotiationText
from travaux.demo import DemoNegotiation
from web.history import history_indexing

SOURCE = """\
## Article 1 *(purpose)*

1. Parties [shall][should] take action.

2. Each Party shall report.
"""


@pytest.fixture
def client(chair: TestClient) -> TestClient:
    """The chair, who may do everything here."""
    return chair


@pytest.fixture
def text_id(store: Store, accounts: Accounts, demo: DemoNegotiation) -> str:
    """A short text of the demo negotiation."""
    text = import_markdown(SOURCE).text
    text_id = store.create_text(text.to_update(), title="Accord", kind="treaty", origin="import")
    accounts.attach_text(text_id, demo.negotiation_id)
    return text_id


def edit(store: Store, text_id: str, origin: str, at: int, words: str) -> None:
    """An edit of paragraph 1 as a client's would reach the log."""
    text = NegotiationText.from_update(store.load(text_id))
    paragraph = next(r.id for r in text.clauses() if "take action" in str(r.words))
    with recording(text) as updates:
        insert_words(text, paragraph, at, words)
    append_updates(store, text_id, updates, origin)


def test_revisions_are_cut_listed_and_opened(client: TestClient, text_id: str) -> None:
    assert client.get(f"/api/texts/{text_id}/revisions").json() == []

    # The author is whoever is signed in, whatever the body says.
    cut = client.post(f"/api/texts/{text_id}/revisions", json={"author": "Someone else"})
    assert cut.status_code == 201
    assert cut.headers["location"] == f"/api/texts/{text_id}/revisions/1"
    assert (cut.json()["label"], cut.json()["author"]) == ("Rev.1", "Chair of the conference")
    client.post(f"/api/texts/{text_id}/revisions", json={"label": "Chair's text"})

    listed = client.get(f"/api/texts/{text_id}/revisions").json()
    assert [(r["number"], r["label"]) for r in listed] == [(1, "Rev.1"), (2, "Chair's text")]
    assert listed[1]["previous_hash"] == listed[0]["hash"]
    one = client.get(f"/api/texts/{text_id}/revisions/Rev.1").json()
    assert "Parties [shall][should] take action." in one["bracketed"]
    assert one["statistics"]["brackets"] == 2


def test_a_label_in_use_and_an_unknown_text_are_clear_errors(
    client: TestClient, text_id: str
) -> None:
    client.post(f"/api/texts/{text_id}/revisions", json={"label": "Rev.1"})
    again = client.post(f"/api/texts/{text_id}/revisions", json={"label": "Rev.1"})
    assert again.status_code == 409 and "already labelled 'Rev.1'" in again.json()["error"]
    missing = client.get("/api/texts/nosuchtext/revisions")
    assert missing.status_code == 404 and "nosuchtext" in missing.json()["error"]
    bad = client.post(f"/api/texts/{text_id}/revisions", content=b"[1]")
    assert bad.status_code == 400


def test_verification_tells_an_altered_revision(
    client: TestClient, store: Store, text_id: str
) -> None:
    client.post(f"/api/texts/{text_id}/revisions", json={})
    assert client.get(f"/api/texts/{text_id}/verification").json()["intact"] is True
    with store.engine.begin() as conn:
        conn.execute(sql("DROP TRIGGER revisions_immutable"))
        conn.execute(sql("UPDATE revisions SET author = 'someone else'"))
    checked = client.get(f"/api/texts/{text_id}/verification").json()
    assert checked["intact"] is False
    assert checked["problems"] == [{"number": 1, "problem": "the record does not match its hash"}]


def test_the_history_of_a_clause_by_citation_with_filters(
    client: TestClient, store: Store, text_id: str
) -> None:
    edit(store, text_id, "connection:ana;party=EU", 0, "All ")
    edit(store, text_id, "connection:ana;party=EU", 4, "the ")

    history = client.get(f"/api/texts/{text_id}/clauses/Article 1.1/history").json()
    assert [(e["kind"], e["changes"]) for e in history["entries"]] == [("added", 1), ("edited", 2)]
    assert history["entries"][1]["inline"] == "{+All the +}Parties [shall][should] take action."
    only_eu = client.get(
        f"/api/texts/{text_id}/clauses/Article 1.1/history", params={"party": "EU"}
    ).json()
    assert [e["kind"] for e in only_eu["entries"]] == ["edited"]
    whole = client.get(
        f"/api/texts/{text_id}/clauses/Article 1/history", params={"subtree": "1"}
    ).json()
    assert whole["count"] == 4  # the article, its two paragraphs, and the edit
    wrong = client.get(f"/api/texts/{text_id}/clauses/Article 1.1/history?kind=typo")
    assert wrong.status_code == 400 and "unknown kind" in wrong.json()["error"]
    assert client.get(f"/api/texts/{text_id}/clauses/Article 9/history").status_code == 404


def test_a_clause_as_it_stood_and_a_diff_between_revisions(
    client: TestClient, store: Store, text_id: str
) -> None:
    client.post(f"/api/texts/{text_id}/revisions", json={"label": "Rev.1"})
    edit(store, text_id, "connection:ana", 0, "All ")

    then = client.get(
        f"/api/texts/{text_id}/clauses/Article 1.1/at", params={"revision": "Rev.1"}
    ).json()
    assert then["words"] == "1. Parties [shall][should] take action."
    diff = client.get(f"/api/texts/{text_id}/diff", params={"from": "Rev.1", "to": "now"}).json()
    assert (diff["from"], diff["to"], diff["counts"]["words"]) == ("Rev.1", "now", 1)
    [changed] = diff["clauses"]
    assert changed["reference"] == "Article 1 › 1."
    assert changed["ops"][0] == ["insert", "All "]
    assert changed["side_by_side"] == {
        "old": "Parties [shall][should] take action.",
        "new": "{+All +}Parties [shall][should] take action.",
    }
    assert client.get(f"/api/texts/{text_id}/diff?from=Rev.1").status_code == 400
    assert client.get(f"/api/texts/{text_id}/diff?from=Rev.7&to=now").status_code == 409


def test_a_restore_goes_through_the_room_to_everyone_editing(
    client: TestClient, secretariat: TestClient, store: Store, text_id: str
) -> None:
    with client.websocket_connect(f"/ws/{text_id}") as websocket:
        replica = NegotiationText()  # a delegate's editor, synced through the room
        websocket.receive_bytes()  # the server's state vector
        websocket.send_bytes(protocol.sync_step1(replica.doc.get_state()))
        _apply_frames(websocket, replica, until=lambda: "take action" in _words(replica))
        cut = client.post(f"/api/texts/{text_id}/revisions", json={"label": "Rev.1"})
        assert cut.status_code == 201
        _apply_frames(websocket, replica, until=lambda: replica.get_meta("revision") == "Rev.1")
        paragraph = next(r.id for r in replica.clauses() if "take action" in str(r.words))
        with recording(replica) as updates:
            insert_words(replica, paragraph, 0, "All ")
        websocket.send_bytes(protocol.sync_update(updates[0]))

        restored = secretariat.post(  # editorial: the secretariat may
            f"/api/texts/{text_id}/clauses/Article 1.1/restore",
            json={"to": "Rev.1", "person": "Someone else", "party": "AOSIS"},
        )
        assert restored.status_code == 201, restored.text
        assert restored.json()["words"] == "1. Parties [shall][should] take action."
        _apply_frames(websocket, replica, until=lambda: "All " not in _words(replica))

    history = client.get(f"/api/texts/{text_id}/clauses/Article 1.1/history").json()
    last = history["entries"][-1]
    assert (last["kind"], last["person"], last["detail"]["rev"]) == (
        "restored",
        "secretariat@demo",
        "Rev.1",
    )
    [audited] = AuditLog(store).entries(actions={"clause-restored"})
    assert (audited.person, audited.text_id, audited.detail["revision"]) == (
        "secretariat@demo",
        text_id,
        "Rev.1",
    )
    bad = client.post(f"/api/texts/{text_id}/clauses/Article 1.1/restore", json={"to": "now"})
    assert bad.status_code == 400


def test_cutting_a_revision_is_in_the_audit_log(
    client: TestClient, store: Store, text_id: str
) -> None:
    client.post(f"/api/texts/{text_id}/revisions", json={"label": "Rev.1"})

    [entry] = AuditLog(store).entries(actions={"revision-cut"})
    assert (entry.person, entry.negotiation_id, entry.text_id, entry.target) == (
        "chair@demo",
        "demo",
        text_id,
        "Rev.1",
    )


LATER = """\
## Article 1 *(purpose)*

1. All Parties shall take action.

2. Each Party shall report every two years.

3. Parties shall cooperate.
"""


def test_the_chair_loads_a_later_draft_as_the_next_revision(
    client: TestClient, eu: TestClient, store: Store, text_id: str
) -> None:
    url = f"/api/texts/{text_id}/revisions/import"
    refused = eu.post(url, content=LATER, headers={"content-type": "text/markdown"})
    assert refused.status_code == 403  # a delegate may not decide

    with client.websocket_connect(f"/ws/{text_id}") as websocket:  # an editor in the room
        replica = NegotiationText()
        websocket.receive_bytes()
        websocket.send_bytes(protocol.sync_step1(replica.doc.get_state()))
        _apply_frames(websocket, replica, until=lambda: "take action" in _words(replica))
        loaded = client.post(
            url,
            params={"label": "Rev.2", "base_label": "Rev.1", "file": "draft-2.md"},
            content=LATER.encode(),
            headers={"content-type": "text/markdown"},
        )
        assert loaded.status_code == 201, loaded.text
        _apply_frames(
            websocket,
            replica,
            until=lambda: (
                "every two years" in _words(replica) and replica.get_meta("revision") == "Rev.2"
            ),
        )

    body = loaded.json()
    assert (body["number"], body["label"], body["base"]["label"]) == (2, "Rev.2", "Rev.1")
    assert body["redraft"]["added"] == 1 and body["redraft"]["reworded"] == 2
    assert loaded.headers["location"] == f"/api/texts/{text_id}/revisions/2"
    assert client.get(f"/api/texts/{text_id}/verification").json()["intact"] is True

    # The paragraph kept its history: the import, then the draft's edit by the chair.
    history = client.get(f"/api/texts/{text_id}/clauses/Article 1.1/history").json()
    last = history["entries"][-1]
    assert (last["person"], last["detail"]["rev"], last["detail"]["file"]) == (
        "chair@demo",
        "Rev.2",
        "draft-2.md",
    )
    assert last["inline"] == "{+All +}Parties [-[-]shall[-][should]-] take action."
    diff = client.get(f"/api/texts/{text_id}/diff", params={"from": "Rev.1", "to": "Rev.2"})
    assert diff.json()["counts"]["added"] == 1

    cut = AuditLog(store).entries(actions={"revision-cut"})
    assert [(e.person, e.target, e.detail.get("draft")) for e in cut] == [
        ("chair@demo", "Rev.1", None),
        ("chair@demo", "Rev.2", "draft-2.md"),
    ]

    # The next draft, as a multipart upload, becomes Rev.3 (no base revision this time).
    again = client.post(
        url, files={"file": ("draft-3.md", LATER.replace("two", "three").encode(), "text/markdown")}
    )
    assert again.status_code == 201, again.text
    assert (again.json()["label"], again.json()["base"]) == ("Rev.3", None)


def test_a_draft_that_cannot_be_loaded_writes_nothing(client: TestClient, text_id: str) -> None:
    url = f"/api/texts/{text_id}/revisions/import"
    headers = {"content-type": "text/markdown"}
    assert client.post(url, content=b"", headers=headers).status_code == 400
    assert client.post(url, content=b"\xff\xfe", headers=headers).status_code == 400
    wrong_type = client.post(url, content=b"{}", headers={"content-type": "application/json"})
    assert wrong_type.status_code == 415
    client.post(f"/api/texts/{text_id}/revisions", json={"label": "Rev.1"})
    taken = client.post(url, params={"label": "Rev.1"}, content=LATER, headers=headers)
    assert taken.status_code == 409 and "already labelled 'Rev.1'" in taken.json()["error"]
    revisions = client.get(f"/api/texts/{text_id}/revisions").json()
    assert [r["label"] for r in revisions] == ["Rev.1"]


def test_a_revision_is_exported_as_a_file_and_as_a_redline(
    client: TestClient, legal: TestClient, observer: TestClient, store: Store, text_id: str
) -> None:
    client.post(f"/api/texts/{text_id}/revisions", json={"label": "Rev.1"})
    edit(store, text_id, "connection:ana", 0, "All ")
    client.post(f"/api/texts/{text_id}/revisions", json={"label": "Rev.2"})
    edit(store, text_id, "connection:ana", 0, "Now ")  # after Rev.2: not in its files

    url = f"/api/texts/{text_id}/revisions/Rev.1/export"
    akn = legal.get(url, params={"format": "akn"})
    assert akn.status_code == 200, akn.text
    assert akn.headers["content-type"].startswith("application/akn+xml")
    assert b"take action" in akn.content and b"All " not in akn.content
    assert "rev-1-negotiation.xml" in akn.headers["content-disposition"]
    redline = legal.get(
        f"/api/texts/{text_id}/revisions/Rev.2/export",
        params={"format": "docx", "mode": "redline", "from": "Rev.1"},
    )
    assert redline.status_code == 200 and redline.content[:2] == b"PK"  # a Word file
    clean = legal.get(url, params={"format": "docx", "mode": "clean"})
    assert clean.status_code == 409 and clean.json()["detail"]["open_brackets"]
    assert observer.get(url, params={"format": "akn"}).status_code == 403
    assert legal.get(url, params={"format": "pdf"}).status_code == 400
    assert legal.get(url, params={"format": "docx", "mode": "redline"}).status_code == 400
    missing = legal.get(f"/api/texts/{text_id}/revisions/Rev.9/export?format=akn")
    assert missing.status_code == 404 and "no revision 'Rev.9'" in missing.json()["error"]
    exported = AuditLog(store).entries(actions={"export"})
    assert [(e.person, e.detail["revision"], e.detail["mode"]) for e in exported] == [
        ("legal@demo", "Rev.1", "negotiation"),
        ("legal@demo", "Rev.2", "redline"),
    ]


def _tracked_changes(docx: bytes) -> str:
    """word/document.xml of a Word file."""
    with zipfile.ZipFile(io.BytesIO(docx)) as opened:
        return opened.read("word/document.xml").decode("utf-8")


def test_a_redline_from_a_revision_to_now_has_tracked_changes(
    client: TestClient, legal: TestClient, store: Store, text_id: str
) -> None:
    """From Rev.1 to now: the later side is the text as everyone editing sees it (the
    room's document), with an editor's change made after Rev.1 through the room."""
    assert client.post(f"/api/texts/{text_id}/revisions", json={"label": "Rev.1"}).is_success
    url = f"/api/texts/{text_id}/revisions/now/export"
    params = {"format": "docx", "mode": "redline", "from": "Rev.1"}
    with client.websocket_connect(f"/ws/{text_id}") as websocket:  # an editor in the room
        replica = NegotiationText()
        websocket.receive_bytes()
        websocket.send_bytes(protocol.sync_step1(replica.doc.get_state()))
        _apply_frames(websocket, replica, until=lambda: replica.get_meta("revision") == "Rev.1")
        paragraph = next(r.id for r in replica.clauses() if "take action" in str(r.words))
        start = str(replica.clause(paragraph).words).index(" take action")
        with recording(replica) as updates:
            insert_words(replica, paragraph, 0, "All ")
            delete_words(replica, paragraph, start + 4, start + len(" take action") + 4)
        for update in updates:
            websocket.send_bytes(protocol.sync_update(update))
        deadline = time.monotonic() + 10
        while "<w:ins " not in _tracked_changes(redline := legal.get(url, params=params).content):
            assert time.monotonic() < deadline, "the editor's change never reached the redline"
            time.sleep(0.05)

    document = _tracked_changes(redline)
    assert "<w:ins " in document and "<w:del " in document
    assert re.search(r"<w:ins [^>]*>(?:(?!</w:ins>).)*>All </w:t>", document)
    assert re.search(r"<w:del [^>]*>(?:(?!</w:del>).)*> take action</w:delText>", document)
    response = legal.get(url, params=params)
    assert response.headers["content-disposition"].endswith('-rev-1-to-now-redline.docx"')
    # By number, and to a time after the change (the text as of the last change by then,
    # read from the store: once the room has written the change).
    while "All Parties" not in _words(hs.text_at(store, text_id)):
        assert time.monotonic() < deadline, "the editor's change was never stored"
        time.sleep(0.05)
    later = legal.get(
        f"/api/texts/{text_id}/revisions/2999-01-01T00:00:00Z/export",
        params={**params, "from": "1"},
    )
    assert later.status_code == 200 and "<w:ins " in _tracked_changes(later.content)
    [*_, audited] = AuditLog(store).entries(actions={"export"})
    assert (audited.detail["from"], audited.detail["revision"]) == (
        "Rev.1",
        "2999-01-01T00:00:00+00:00",
    )


def test_a_redline_with_a_wrong_side_is_a_clear_error(
    client: TestClient, legal: TestClient, text_id: str
) -> None:
    client.post(f"/api/texts/{text_id}/revisions", json={"label": "Rev.1"})
    base = f"/api/texts/{text_id}/revisions"
    redline = {"format": "docx", "mode": "redline"}

    def error(path: str, **params: str) -> tuple[int, str]:
        response = legal.get(f"{base}/{path}/export", params=params)
        return response.status_code, response.json()["error"]

    status, message = error("now", **redline, **{"from": "Rev.9"})
    assert status == 404 and message.startswith("from: no revision 'Rev.9'")
    status, message = error("Rev.9", **redline, **{"from": "Rev.1"})
    assert status == 404 and message.startswith("to: no revision 'Rev.9'")
    status, message = error("now", **redline, **{"from": "1990-01-01"})
    assert status == 404 and "did not exist yet" in message
    status, message = error("now", **redline)
    assert status == 400 and "from=REF" in message
    status, message = error("now", **redline, **{"from": " "})
    assert status == 400 and "from=REF" in message
    # Other modes export a revision, never "now" or a time.
    status, message = error("now", format="docx", mode="negotiation")
    assert (
        status == 400 and "only a revision" in message and f"/api/texts/{text_id}/export" in message
    )
    status, message = error("2026-01-01T00:00", format="akn")
    assert status == 400 and "only a revision" in message
    status, message = error("Rev.9", format="akn")
    assert status == 404 and "no revision 'Rev.9'" in message


def test_a_clause_and_the_text_at_any_point_in_time(
    client: TestClient, store: Store, text_id: str
) -> None:
    edit(store, text_id, "connection:ana", 0, "All ")
    with store.engine.begin() as conn:  # the import in 2015, the edit in 2016
        conn.execute(sql("UPDATE updates SET created = '2015-12-09 21:00:00.000000'"))
        last = conn.execute(sql("SELECT max(id) FROM updates")).scalar()
        conn.execute(
            sql("UPDATE updates SET created = '2016-04-22 10:00:00.000000' WHERE id = :id"),
            {"id": last},
        )
    url = f"/api/texts/{text_id}/clauses/Article 1.1/at"
    then = client.get(url, params={"at": "2015-12-31"}).json()
    assert then["words"] == "1. Parties [shall][should] take action."
    assert then["revision"] == "2015-12-31T00:00:00+00:00"
    now = client.get(url, params={"at": "2016-05-01T12:00Z"}).json()
    assert now["words"] == "1. All Parties [shall][should] take action."
    early = client.get(url, params={"at": "2015-01-01"})
    assert early.status_code == 409 and "did not exist yet" in early.json()["error"]
    diff = client.get(f"/api/texts/{text_id}/diff", params={"from": "2015-12-31", "to": "now"})
    assert diff.json()["counts"]["words"] == 1


def test_history_is_indexed_in_the_background_as_clients_type(
    client: TestClient, app_client: TestClient, store: Store, text_id: str
) -> None:
    # What the app's lifespan runs (web.history.history_indexing), on the app's loop.
    indexing = app_client.portal.wrap_async_context_manager(
        history_indexing(app_client.app, poll_seconds=0.05)
    )
    with indexing, client.websocket_connect(f"/ws/{text_id}") as websocket:
        replica = NegotiationText()
        websocket.receive_bytes()
        websocket.send_bytes(protocol.sync_step1(replica.doc.get_state()))
        _apply_frames(websocket, replica, until=lambda: "take action" in _words(replica))
        paragraph = next(r.id for r in replica.clauses() if "take action" in str(r.words))
        for i, letter in enumerate("All "):
            with recording(replica) as updates:
                insert_words(replica, paragraph, i, letter)
            websocket.send_bytes(protocol.sync_update(updates[0]))
        _apply_frames(websocket, replica, until=lambda: "All Parties" in _words(replica))
        deadline = time.monotonic() + 10
        while hs.refresh_needed(store, text_id) and time.monotonic() < deadline:
            time.sleep(0.05)  # nobody reads the history: the indexing catches up alone

    assert hs.refresh_history(store, text_id) == 0  # nothing left for the first reading
    history = client.get(f"/api/texts/{text_id}/clauses/Article 1.1/history").json()
    assert [(e["kind"], e["changes"]) for e in history["entries"]] == [
        ("added", 1),
        ("edited", 4),
    ]
    assert history["entries"][1]["person"] == "chair@demo"


def _words(text: NegotiationText) -> str:
    return " ".join(str(r.words) for r in text.clauses())


def _apply_frames(websocket, text: NegotiationText, until) -> None:
    """Apply what the server sends until `until()` holds (a handful of frames at most;
    the app's keep-alive frames are 5 s apart, so a missing change fails in seconds)."""
    for _ in range(8):
        if until():
            return
        frame = protocol.decode(websocket.receive_bytes())
        if frame.type == protocol.MessageType.SYNC and frame.sync != protocol.SyncType.STEP1:
            text.doc.apply_update(frame.payload)
    raise AssertionError("the expected change never arrived")


def test_the_server_indexes_histories_for_as_long_as_it_runs(app_client: TestClient) -> None:
    indexing = app_client.app.state.history_indexing
    assert isinstance(indexing, hs.HistoryIndexing)


def test_an_app_whose_histories_are_indexed_elsewhere_starts_no_indexing(
    app_client: TestClient,
) -> None:
    app = app_client.app
    started = app.state.history_indexing  # the lifespan's own
    with app_client.portal.wrap_async_context_manager(
        history_indexing(app, mode="elsewhere")
    ) as indexing:
        assert indexing is None
        assert app.state.history_indexing is started  # nothing new was started
    refused = app_client.portal.wrap_async_context_manager(history_indexing(app, mode="sometimes"))
    with pytest.raises(ValueError, match="'sometimes'"), refused:
        pass
