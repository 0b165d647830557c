"""`travaux audit verify|list`, and the entries other commands leave in the log.

Most cases call `travaux.cli.main` in this process (the parsers and code a user runs);
one runs `travaux audit verify` as a separate process for its real exit codes. The log is
tampered with as a database owner could: triggers dropped, rows changed with plain SQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crdt_sync.accounts import Accounts
from crdt_sync.audit import AuditAction, AuditEvent, AuditLog
from crdt_sync.store import Store
from tests.crdt_sync.conftest import db_url, pg_schema_url  # noqa: F401  (both databases)
from travaux import cli

ROOT = Path(__file__).resolve().parents[2]

TEXT = """\
## Article 1 *(purpose)*

1. Parties [shall][should] take action.

2. Each Party shall report.
"""


def travaux(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def seed(url: str) -> None:
    """Five entries in two negotiations."""
    with Store(url) as store:
        AuditLog(store).record_many(
            [
                AuditEvent(AuditAction.SIGN_IN, person="ana", party="AOSIS", negotiation_id="n1"),
                AuditEvent(
                    AuditAction.PROPOSAL_TABLED,
                    person="ana",
                    party="AOSIS",
                    negotiation_id="n1",
                    text_id="t1",
                    target="p1",
                    detail={"clause": "c3"},
                ),
                AuditEvent(AuditAction.SIGN_IN, person="bo", party="EU", negotiation_id="n2"),
                AuditEvent(
                    AuditAction.UPDATE_REFUSED, person="bo", party="EU", negotiation_id="n1"
                ),
                AuditEvent(AuditAction.SIGN_OUT, person="ana", party="AOSIS", negotiation_id="n1"),
            ]
        )


def tamper(url: str, statement: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for event in ("update", "delete"):
                on = " ON audit_entries" if engine.dialect.name == "postgresql" else ""
                conn.execute(text(f"DROP TRIGGER IF EXISTS audit_entries_no_{event}{on}"))
            conn.execute(text(statement))
    finally:
        engine.dispose()


# -- verify ---------------------------------------------------------------------------------


def test_verify_an_intact_log_prints_its_head_and_exits_0(
    db_url: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(db_url)
    code, out, err = travaux(capsys, "audit", "verify", "--db", db_url)
    with Store(db_url) as store:
        head = AuditLog(store).head()
    assert code == 0
    assert out.splitlines() == ["intact: 5 entries chained", f"head {head}"]
    assert "--expect-head" in err  # the advice to note the head elsewhere


def test_verify_an_empty_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = travaux(capsys, "audit", "verify", "--db", f"sqlite:///{tmp_path}/a.db")
    assert code == 0
    assert out.splitlines() == ["intact: 0 entries chained", "head none (the log is empty)"]


def test_verify_prints_each_problem_with_its_entry_and_exits_1(
    db_url: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(db_url)
    tamper(db_url, "UPDATE audit_entries SET person = 'someone' WHERE id = 2")
    tamper(db_url, "DELETE FROM audit_entries WHERE id = 4")
    code, out, _ = travaux(capsys, "audit", "verify", "--db", db_url)
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == "ALTERED entry 2: edited: the entry does not match its hash"
    assert lines[1] == "ALTERED entry 5: deleted before it: entry 4 is missing"
    assert lines[2] == "ALTERED: 2 problems in 4 entries; the log is not what was written"
    assert lines[3].startswith("head 5:")


def test_verify_against_a_noted_head_catches_a_truncated_tail(
    db_url: str,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed(db_url)
    _, out, _ = travaux(capsys, "audit", "verify", "--db", db_url)
    noted = out.splitlines()[-1].removeprefix("head ")
    assert travaux(capsys, "audit", "verify", "--db", db_url, "--expect-head", noted)[:2] == (
        0,
        f"intact: 5 entries chained, and entry 5 is as noted\nhead {noted}\n",
    )

    tamper(db_url, "DELETE FROM audit_entries WHERE id >= 4")
    assert travaux(capsys, "audit", "verify", "--db", db_url)[0] == 0  # the chain alone: fine
    code, out, _ = travaux(capsys, "audit", "verify", "--db", db_url, "--expect-head", noted)
    assert code == 1
    assert out.splitlines()[0] == (
        "ALTERED entry 5: truncated: entry 5 was noted as the head, the log now ends at entry 3"
    )


def test_verify_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/a.db"
    seed(url)
    tamper(url, "UPDATE audit_entries SET action = 'sign-out' WHERE id = 1")
    code, out, _ = travaux(capsys, "audit", "verify", "--db", url, "--json")
    body = json.loads(out)
    assert code == 1
    assert body["ok"] is False and body["checked"] == 5 and body["head"].startswith("5:")
    assert body["problems"] == [
        {"entry": 1, "problem": "edited: the entry does not match its hash"}
    ]


@pytest.mark.parametrize("head", ["5", "5:abc", "five:" + "0" * 64])
def test_verify_refuses_a_malformed_head_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], head: str
) -> None:
    code, _, err = travaux(
        capsys, "audit", "verify", "--db", f"sqlite:///{tmp_path}/a.db", "--expect-head", head
    )
    assert code == 2
    assert "--expect-head" in err and "ID:HASH" in err


def test_verify_as_a_separate_process(tmp_path: Path) -> None:
    seed(f"sqlite:///{tmp_path / 'travaux.sqlite3'}")
    env = {**os.environ, "TRAVAUX_DATA_DIR": str(tmp_path), "PYTHONIOENCODING": "utf-8"}

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "travaux.cli", "audit", "verify"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    intact = verify()
    assert intact.returncode == 0, intact.stderr
    tamper(f"sqlite:///{tmp_path / 'travaux.sqlite3'}", "DELETE FROM audit_entries WHERE id = 2")
    altered = verify()
    assert altered.returncode == 1
    assert "ALTERED entry 3: deleted before it: entry 2 is missing" in altered.stdout


# -- list -------------------------------------------------------------------------------------


def listed(capsys: pytest.CaptureFixture[str], url: str, *filters: str) -> list[int]:
    code, out, _ = travaux(capsys, "audit", "list", "--db", url, "--json", *filters)
    assert code == 0
    return [entry["id"] for entry in json.loads(out)]


def test_list_filters(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    seed(db_url)
    assert listed(capsys, db_url) == [1, 2, 3, 4, 5]
    assert listed(capsys, db_url, "--negotiation", "n1") == [1, 2, 4, 5]
    assert listed(capsys, db_url, "--party", "EU") == [3, 4]
    assert listed(capsys, db_url, "--person", "ana", "--negotiation", "n1") == [1, 2, 5]
    assert listed(capsys, db_url, "--text", "t1") == [2]
    assert listed(capsys, db_url, "--action", "sign-in", "sign-out") == [1, 3, 5]
    assert listed(capsys, db_url, "--action", "sign-in", "--action", "update-refused") == [1, 3, 4]
    assert listed(capsys, db_url, "--since", "2000-01-01", "--until", "2100-01-01Z") == [
        1,
        2,
        3,
        4,
        5,
    ]
    assert listed(capsys, db_url, "--until", "2000-01-01T00:00") == []
    assert listed(capsys, db_url, "--after", "2", "--limit", "2") == [3, 4]


def test_list_pages_through_a_long_log(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/a.db"
    with Store(url) as store:
        AuditLog(store).record_many([AuditEvent(AuditAction.EXPORT)] * 5200)
    assert listed(capsys, url) == list(range(1, 5201))
    assert listed(capsys, url, "--limit", "5100")[-1] == 5100


def test_list_as_a_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/a.db"
    seed(url)
    code, out, _ = travaux(capsys, "audit", "list", "--db", url, "--text", "t1")
    assert code == 0
    [line] = out.splitlines()
    assert line.split()[0] == "2"
    for shown in ("proposal-tabled", "ana (AOSIS)", "n1/t1", "p1", '{"clause": "c3"}'):
        assert shown in line


def test_list_with_nothing_matching_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = travaux(capsys, "audit", "list", "--db", f"sqlite:///{tmp_path}/a.db")
    assert (code, out) == (0, "")
    assert "no entries match" in err


@pytest.mark.parametrize(
    ("option", "value"), [("--since", "yesterday"), ("--until", "22/11/2026"), ("--limit", "0")]
)
def test_list_refuses_bad_input_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str
) -> None:
    code, _, err = travaux(
        capsys, "audit", "list", "--db", f"sqlite:///{tmp_path}/a.db", option, value
    )
    assert code == 2
    assert option in err


# -- what other commands record ---------------------------------------------------------------


@pytest.fixture
def negotiated_text(tmp_path: Path) -> tuple[str, str]:
    """A database URL and the id of a stored text of negotiation "cop"."""
    url = f"sqlite:///{tmp_path}/a.db"
    source = tmp_path / "text.md"
    source.write_text(TEXT, encoding="utf-8")
    with Store(url) as store:
        from drafting.importing import import_markdown

        imported = import_markdown(TEXT).text
        text_id = store.create_text(
            imported.to_update(), title=imported.title, kind=imported.kind, origin="import"
        )
        accounts = Accounts(store)
        accounts.create_negotiation("COP", [("EU", "European Union")], negotiation_id="cop")
        accounts.attach_text(text_id, "cop")
    return url, text_id


def entries(url: str) -> list[dict[str, object]]:
    with Store(url) as store:
        return [e.to_json() for e in AuditLog(store).entries()]


def test_revise_restore_and_export_are_recorded(
    negotiated_text: tuple[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, text_id = negotiated_text
    monkeypatch.setenv("TRAVAUX_USER", "Secretariat")
    db = ["--db", url]
    assert travaux(capsys, "revise", text_id, *db, "--author", "Chair")[0] == 0
    later = tmp_path / "later.md"
    later.write_text(TEXT.replace("Each Party", "Every Party"), encoding="utf-8")
    assert travaux(capsys, "import-revision", str(later), "--into", text_id, *db)[0] == 0
    restored = travaux(
        capsys, "restore", text_id, "1.2", "--to", "Rev.1", "--person", "Ana", "--party", "EU", *db
    )
    assert restored[0] == 0
    out = tmp_path / "out.docx"
    assert travaux(capsys, "export", text_id, "--format", "docx", "-o", str(out), *db)[0] == 0

    log = entries(url)
    assert [(e["action"], e["person"], e["target"]) for e in log] == [
        ("revision-cut", "Chair", "Rev.1"),
        ("revision-cut", "Secretariat", "Rev.2"),
        ("clause-restored", "Ana", log[2]["target"]),
        ("export", "Secretariat", ""),
    ]
    assert all(e["negotiation"] == "cop" and e["text"] == text_id for e in log)
    assert log[0]["detail"]["via"] == "cli" and log[0]["detail"]["number"] == 1
    assert log[1]["detail"]["draft"] == "later.md"
    assert log[2]["party"] == "EU" and log[2]["detail"]["to"] == "Rev.1"
    assert log[3]["detail"] == {
        "via": "cli",
        "format": "docx",
        "mode": "negotiation",
        "output": str(out),
    }
    assert travaux(capsys, "audit", "verify", *db)[0] == 0


def test_an_export_of_a_file_is_not_recorded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/a.db"
    source = tmp_path / "text.md"
    source.write_text(TEXT, encoding="utf-8")
    out = tmp_path / "out.docx"
    code, _, err = travaux(
        capsys, "export", str(source), "--format", "docx", "-o", str(out), "--db", url
    )
    assert code == 0, err
    assert entries(url) == []
