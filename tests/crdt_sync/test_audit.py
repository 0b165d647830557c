"""The audit log: one unbroken hash chain, whoever writes; any edit or deletion found.

Every test runs on a SQLite file and on PostgreSQL (`db_url`). Tampering is done as the
database's owner could: dropping the append-only triggers first, then changing rows with
plain SQL behind the application's back.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from crdt_sync.audit import (
    GENESIS,
    AuditAction,
    AuditError,
    AuditEvent,
    AuditHead,
    AuditLog,
    entry_hash,
)
from crdt_sync.models import NAME_LENGTH
from crdt_sync.store import Store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as store:
        yield store


@pytest.fixture
def audit(store: Store) -> AuditLog:
    return AuditLog(store)


def fill(audit: AuditLog, count: int) -> None:
    audit.record_many(
        [AuditEvent(AuditAction.SIGN_IN, person=f"person-{n}", party="EU") for n in range(count)]
    )


def behind_its_back(db_url: str, *statements: str) -> None:
    """Run SQL as the database's owner would: triggers dropped first."""
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            for event in ("update", "delete"):
                if engine.dialect.name == "postgresql":
                    conn.execute(
                        text(f"DROP TRIGGER IF EXISTS audit_entries_no_{event} ON audit_entries")
                    )
                else:
                    conn.execute(text(f"DROP TRIGGER IF EXISTS audit_entries_no_{event}"))
            for statement in statements:
                conn.execute(text(statement))
    finally:
        engine.dispose()


def rehash(db_url: str, audit: AuditLog, entry_id: int, *, previous_hash: str) -> str:
    """Give an entry the hash its (altered) fields now call for, as a forger would."""
    [entry] = [e for e in audit.entries(limit=5000) if e.id == entry_id]
    fields = {k: v for k, v in vars(entry).items() if k not in ("hash", "previous_hash")}
    digest = entry_hash(previous_hash, **fields)
    behind_its_back(
        db_url,
        f"UPDATE audit_entries SET previous_hash = '{previous_hash}', hash = '{digest}' "
        f"WHERE id = {entry_id}",
    )
    return digest


# -- the chain ----------------------------------------------------------------------------


def test_entries_form_one_chain_from_64_zeros(audit: AuditLog) -> None:
    first = audit.record(
        AuditAction.PROPOSAL_TABLED,
        person="p-ana",
        party="AOSIS",
        negotiation_id="cop21",
        text_id="t1",
        target="p9x",
        detail={"clause": "c12", "kind": "insert"},
    )
    ids = [first] + [audit.record(AuditAction.EXPORT, person=f"p{n}") for n in range(150)]
    ids += audit.record_many([AuditEvent(AuditAction.SIGN_OUT, person=f"q{n}") for n in range(99)])

    entries = audit.entries(limit=5000)
    assert [e.id for e in entries] == ids == list(range(1, 251))
    assert entries[0].previous_hash == GENESIS == "0" * 64
    for before, after in itertools.pairwise(entries):
        assert after.previous_hash == before.hash
    # The hash is sha256(previous hash + canonical JSON of the entry's fields).
    fields = {
        "id": 1,
        "at": entries[0].at.isoformat(timespec="milliseconds"),
        "negotiation_id": "cop21",
        "text_id": "t1",
        "person": "p-ana",
        "party": "AOSIS",
        "action": "proposal-tabled",
        "target": "p9x",
        "detail": {"clause": "c12", "kind": "insert"},
    }
    canonical = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert entries[0].hash == hashlib.sha256((GENESIS + canonical).encode()).hexdigest()

    verification = audit.verify()
    assert verification.ok and verification.problems == []
    assert verification.checked == 250
    assert verification.head == AuditHead(250, entries[-1].hash) == audit.head()


def test_an_empty_log_verifies_with_no_head(audit: AuditLog) -> None:
    verification = audit.verify()
    assert (verification.ok, verification.checked, verification.head) == (True, 0, None)


def test_a_refused_entry_in_a_batch_writes_none_of_it(audit: AuditLog) -> None:
    fill(audit, 2)
    with pytest.raises(AuditError):
        audit.record_many(
            [
                AuditEvent(AuditAction.SIGN_IN),
                AuditEvent(AuditAction.SIGN_IN, detail={"pin": math.nan}),
            ]
        )
    assert [e.id for e in audit.entries()] == [1, 2]
    assert audit.record(AuditAction.SIGN_OUT) == 3  # no id was lost to the refusal
    assert audit.verify().ok


def test_threads_writing_at_once_keep_one_unbroken_chain(audit: AuditLog) -> None:
    def write(worker: int) -> None:
        for n in range(15):
            if n % 5 == 0:
                audit.record_many([AuditEvent(AuditAction.EXPORT, person=f"w{worker}")] * 3)
            else:
                audit.record(AuditAction.SIGN_IN, person=f"w{worker}", detail={"n": n})

    threads = [threading.Thread(target=write, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    entries = audit.entries(limit=5000)
    assert len(entries) == 6 * (12 + 3 * 3)
    assert [e.id for e in entries] == list(range(1, len(entries) + 1))
    assert audit.verify().ok


WRITER = """
import sys, time
from pathlib import Path
from crdt_sync.audit import AuditLog
from crdt_sync.store import Store
url, name, count, gate = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
with Store(url) as store:
    log = AuditLog(store)
    (gate / name).touch()
    while not (gate / "go").exists():
        time.sleep(0.005)
    for n in range(count):
        log.record("sign-in", person=name, detail={"n": n})
        time.sleep(0.002)  # a server does other work between entries
"""


def test_two_processes_writing_at_once_keep_one_unbroken_chain(
    db_url: str, audit: AuditLog, tmp_path: Path
) -> None:
    names = ("process-a", "process-b")
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, db_url, name, "120", str(tmp_path)], cwd=ROOT
        )
        for name in names
    ]
    # Both start writing at the same moment, once each has its store open.
    deadline = time.monotonic() + 60
    while not all((tmp_path / name).exists() for name in names) and time.monotonic() < deadline:
        time.sleep(0.01)
    (tmp_path / "go").touch()
    assert [w.wait(timeout=120) for w in writers] == [0, 0]

    entries = audit.entries(limit=5000)
    assert [e.id for e in entries] == list(range(1, 241))
    persons = [e.person for e in entries]
    assert persons.count("process-a") == persons.count("process-b") == 120
    # They did interleave: otherwise this test proves nothing about the lock.
    switches = sum(a != b for a, b in itertools.pairwise(persons))
    assert switches > 1
    verification = audit.verify()
    assert verification.ok, verification.problems


# -- the database refuses changes ----------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_entries SET person = 'someone else' WHERE id = 2", "DELETE FROM audit_entries"],
)
def test_the_database_refuses_to_change_or_delete_an_entry(
    db_url: str, audit: AuditLog, statement: str
) -> None:
    fill(audit, 3)
    engine = create_engine(db_url)
    try:
        with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
            conn.execute(text(statement))
    finally:
        engine.dispose()
    assert [e.person for e in audit.entries()] == ["person-0", "person-1", "person-2"]
    assert audit.verify().ok


# -- tampering found ----------------------------------------------------------------------


def test_an_edited_field_is_found_at_its_entry(db_url: str, audit: AuditLog) -> None:
    fill(audit, 10)
    behind_its_back(db_url, "UPDATE audit_entries SET party = 'US' WHERE id = 4")
    verification = audit.verify()
    assert not verification.ok
    assert [(p.entry_id, p.what.split(":")[0]) for p in verification.problems] == [(4, "edited")]


def test_an_edited_detail_and_time_are_found(db_url: str, audit: AuditLog) -> None:
    audit.record(AuditAction.STATUS_CHANGED, detail={"from": "bracketed", "to": "agreed"})
    fill(audit, 3)
    behind_its_back(
        db_url,
        """UPDATE audit_entries SET detail = '{"from":"bracketed","to":"parked"}' WHERE id = 1""",
        "UPDATE audit_entries SET at = at + interval '1 hour' WHERE id = 3"
        if db_url.startswith("postgresql")
        else "UPDATE audit_entries SET at = datetime(at, '+1 hour') WHERE id = 3",
    )
    problems = audit.verify().problems
    assert [(p.entry_id, p.what.split(":")[0]) for p in problems] == [(1, "edited"), (3, "edited")]


def test_a_deleted_entry_in_the_middle_is_found(db_url: str, audit: AuditLog) -> None:
    fill(audit, 10)
    behind_its_back(db_url, "DELETE FROM audit_entries WHERE id IN (5, 6)")
    problems = audit.verify().problems
    assert [(p.entry_id, p.what) for p in problems] == [
        (7, "deleted before it: entries 5 to 6 are missing")
    ]


def test_a_deleted_first_entry_is_found(db_url: str, audit: AuditLog) -> None:
    fill(audit, 3)
    behind_its_back(db_url, "DELETE FROM audit_entries WHERE id = 1")
    problems = audit.verify().problems
    assert [(p.entry_id, p.what) for p in problems] == [
        (2, "deleted before it: entry 1 is missing")
    ]


def test_an_entry_edited_and_rehashed_breaks_the_chain_at_the_next(
    db_url: str, audit: AuditLog
) -> None:
    fill(audit, 8)
    before = {e.id: e for e in audit.entries()}
    behind_its_back(db_url, "UPDATE audit_entries SET person = 'nobody' WHERE id = 5")
    rehash(db_url, audit, 5, previous_hash=before[4].hash)
    problems = audit.verify().problems
    assert [(p.entry_id, p.what.split(":")[0]) for p in problems] == [(6, "chain broken")]
    assert "entry 5's hash" in problems[0].what


def test_reordered_entries_are_found(db_url: str, audit: AuditLog) -> None:
    fill(audit, 6)
    # Swap entries 3 and 4 (ids stay in place, so the order of events changes).
    behind_its_back(
        db_url,
        "UPDATE audit_entries SET id = 1000 WHERE id = 3",
        "UPDATE audit_entries SET id = 3 WHERE id = 4",
        "UPDATE audit_entries SET id = 4 WHERE id = 1000",
    )
    problems = audit.verify().problems
    assert {p.entry_id for p in problems} == {3, 4, 5}
    assert all(p.what.startswith(("edited", "chain broken")) for p in problems)


def test_a_truncated_tail_is_found_only_against_a_noted_head(db_url: str, audit: AuditLog) -> None:
    fill(audit, 10)
    noted = audit.verify().head
    assert noted == AuditHead(10, audit.entries()[-1].hash)
    behind_its_back(db_url, "DELETE FROM audit_entries WHERE id > 7")

    # The shortened log is itself a valid chain: this is the limit of a chain alone.
    alone = audit.verify()
    assert alone.ok and alone.head is not None and alone.head.id == 7

    against = audit.verify(expect_head=noted)
    assert not against.ok
    assert [(p.entry_id, p.what) for p in against.problems] == [
        (10, "truncated: entry 10 was noted as the head, the log now ends at entry 7")
    ]


def test_a_tail_rewritten_and_rehashed_is_found_against_a_noted_head(
    db_url: str, audit: AuditLog
) -> None:
    fill(audit, 6)
    noted = audit.verify().head
    assert noted is not None
    behind_its_back(db_url, "UPDATE audit_entries SET person = 'nobody' WHERE id = 4")
    previous = audit.entries()[2].hash
    for entry_id in (4, 5, 6):  # a careful forger re-hashes everything after the edit
        previous = rehash(db_url, audit, entry_id, previous_hash=previous)

    assert audit.verify().ok
    problems = audit.verify(expect_head=noted).problems
    assert [(p.entry_id, p.what.split(":")[0]) for p in problems] == [(6, "rewritten")]
    # The head noted before the tampering still matches an untouched earlier entry.
    assert audit.verify(expect_head=AuditHead(3, audit.entries()[2].hash)).ok


def test_a_head_is_written_and_read_as_id_colon_hash() -> None:
    head = AuditHead(42, "ab" * 32)
    assert AuditHead.parse(str(head)) == head
    assert AuditHead.parse(f" 42:{'AB' * 32} ") == head
    for wrong in ("42", f"x:{'ab' * 32}", "42:abc", f"-1:{'ab' * 32}"):
        with pytest.raises(ValueError, match="ID:HASH"):
            AuditHead.parse(wrong)


# -- reading --------------------------------------------------------------------------------


def test_entries_filter_by_negotiation_text_person_party_action_and_time(
    audit: AuditLog,
) -> None:
    audit.record(AuditAction.SIGN_IN, person="ana", party="AOSIS", negotiation_id="n1")
    audit.record(
        AuditAction.PROPOSAL_TABLED, person="ana", party="AOSIS", negotiation_id="n1", text_id="t1"
    )
    audit.record(AuditAction.SIGN_IN, person="bo", party="EU", negotiation_id="n2")
    audit.record(
        AuditAction.UPDATE_REFUSED, person="bo", party="EU", negotiation_id="n1", text_id="t1"
    )

    def ids(**filters: object) -> list[int]:
        return [e.id for e in audit.entries(**filters)]  # type: ignore[arg-type]

    assert ids(negotiation_id="n1") == [1, 2, 4]
    assert ids(text_id="t1") == [2, 4]
    assert ids(person="bo") == [3, 4]
    assert ids(party="AOSIS") == [1, 2]
    assert ids(actions={AuditAction.SIGN_IN, "update-refused"}) == [1, 3, 4]
    assert ids(actions=[]) == []
    assert ids(negotiation_id="n1", party="EU") == [4]
    assert ids(after_id=2) == [3, 4]
    assert ids(after_id=1, limit=2) == [2, 3]

    when = audit.entries()[0].at
    assert ids(since=when) == [1, 2, 3, 4]
    assert ids(since=when + timedelta(hours=1)) == []
    assert ids(until=when) == []
    assert ids(until=when + timedelta(hours=1)) == [1, 2, 3, 4]
    assert ids(since=datetime(2000, 1, 1), until=datetime(2100, 1, 1)) == [1, 2, 3, 4]  # naive: UTC


def test_entries_refuse_a_limit_out_of_range(audit: AuditLog) -> None:
    for limit in (0, 5001):
        with pytest.raises(AuditError, match="limit"):
            audit.entries(limit=limit)


def test_an_entry_reads_back_as_recorded(audit: AuditLog) -> None:
    before = datetime.now(UTC)
    audit.record(
        AuditAction.REVISION_CUT,
        person="chair",
        negotiation_id="n1",
        text_id="t1",
        target="Rev.2",
        detail={"number": 2, "hash": "ab" * 32, "labels": ["Rev.2"], "é": "ü"},
    )
    [entry] = audit.entries()
    assert before - timedelta(seconds=1) <= entry.at <= datetime.now(UTC)
    assert entry.at.microsecond % 1000 == 0  # milliseconds, as times are shown
    assert entry.to_json() | {"at": None, "hash": None} == {
        "id": 1,
        "at": None,
        "negotiation": "n1",
        "text": "t1",
        "person": "chair",
        "party": "",
        "action": "revision-cut",
        "target": "Rev.2",
        "detail": {"number": 2, "hash": "ab" * 32, "labels": ["Rev.2"], "é": "ü"},
        "previous_hash": GENESIS,
        "hash": None,
    }


# -- what may not be recorded -----------------------------------------------------------


@pytest.mark.parametrize(
    "detail",
    [
        {"password": "hunter2"},
        {"login": "ana", "Password": "hunter2"},
        {"attempt": {"passwd": "hunter2"}},
        {"token": "tk_live_1234"},
        {"csrf_token": "abc"},
        {"session_cookie": "abc"},
        {"headers": [{"Authorization": "Bearer tk"}]},
        {"api_key": "k"},
        {"client_secret": "s"},
    ],
)
def test_secret_material_is_refused_and_nothing_is_written(
    audit: AuditLog, detail: dict[str, object]
) -> None:
    with pytest.raises(AuditError, match="secret"):
        audit.record(AuditAction.SIGN_IN_REFUSED, person="ana", detail=detail)
    assert audit.entries() == []


def test_a_sign_in_records_who_and_how_never_the_password(audit: AuditLog) -> None:
    audit.record(
        AuditAction.SIGN_IN,
        person="p-ana",
        detail={"login": "ana@example.org", "via": "password", "token_id": 7, "token_name": "ci"},
    )
    [entry] = audit.entries()
    assert entry.detail["via"] == "password" and entry.detail["token_id"] == 7


def test_a_balloon_entry_keeps_that_it_existed_never_its_words(audit: AuditLog) -> None:
    audit.record(
        AuditAction.BALLOON_WITHDRAWN,
        person="p-ana",
        party="AOSIS",
        target="tb7",
        detail={"balloon": "tb7", "scope": "balloons:parties:AOSIS+EU", "attributed": True},
    )
    for words in ({"words": "1.5°C by 2030"}, {"balloon": "tb7", "note": {"text": "x"}}):
        with pytest.raises(AuditError, match="never its words"):
            audit.record(AuditAction.BALLOON_FLOATED, person="p-ana", detail=words)
    assert [e.detail["scope"] for e in audit.entries()] == ["balloons:parties:AOSIS+EU"]


def test_detail_must_be_json(audit: AuditLog) -> None:
    for detail in ({"when": datetime.now(UTC)}, {"x": math.inf}):
        with pytest.raises(AuditError, match="not JSON"):
            audit.record(AuditAction.EXPORT, detail=detail)


def test_an_entry_needs_an_action(audit: AuditLog) -> None:
    for action in ("", "   ", "x" * 61):
        with pytest.raises(AuditError, match="action"):
            audit.record(action)


def test_what_a_client_typed_is_cut_to_fit(audit: AuditLog) -> None:
    audit.record(AuditAction.SIGN_IN_REFUSED, person="a" * 10_000, target="b" * 500)
    [entry] = audit.entries()
    assert len(entry.person) == len(entry.target) == NAME_LENGTH
    assert entry.person.endswith("…")
    assert audit.verify().ok
