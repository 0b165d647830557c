"""`travaux admin`, as the operator of a server uses it, and the demo negotiation that
`travaux serve` starts with.

The commands run through `travaux.cli.main` on a SQLite file (output and exit codes as a
shell sees them); one runs as a separate process to show the installed command works.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from crdt_sync.accounts import Accounts, NotSignedIn, SignInRefused
from crdt_sync.audit import AuditLog
from crdt_sync.store import Store
from drafting.vocabulary import Capability, Role
from travaux.cli import main
from travaux.demo import DEMO_PASSWORD, DEMO_PEOPLE, seed_demo, sign_in_help
from web.app import DEMO_TEXT

PASSWORD = "a long enough password"
# Still Argon2id, at a cost that suits a test seeding seven people and signing them in.
CHEAP = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


class Shell:
    """`travaux … --db URL` with stdin, stdout, stderr and the exit code."""

    def __init__(self, db: str, capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> None:
        self.db = db
        self.capsys = capsys
        self.monkeypatch = monkeypatch

    def __call__(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main([*args, "--db", self.db])
        out, err = self.capsys.readouterr()
        return code, out, err

    def ok(self, *args: str, stdin: str = "") -> str:
        code, out, err = self(*args, stdin=stdin)
        assert code == 0, err
        return out.strip()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'travaux.sqlite3'}"


@pytest.fixture
def travaux(db: str, capsys: pytest.CaptureFixture[str], monkeypatch: Any) -> Shell:
    monkeypatch.setenv("TRAVAUX_USER", "operator")
    return Shell(db, capsys, monkeypatch)


def test_an_operator_sets_up_a_negotiation_from_the_command_line(travaux: Shell, db: str) -> None:
    neg = travaux.ok(
        "admin", "create-negotiation", "COP 31",
        "--party", "EU=European Union", "--party", "AOSIS=Alliance of Small Island States",
    )  # fmt: skip
    travaux.ok("admin", "add-party", neg, "G77/China", "Group of 77 and China", "--group")
    person_id = travaux.ok(
        "admin", "add-person", "eu@cop", "--name", "EU delegate", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    travaux.ok("admin", "add-person", "chair@cop", "--name", "Chair", "--password", PASSWORD)
    travaux.ok("admin", "add-person", "idle@cop", "--name", "Nobody yet", "--password", PASSWORD)
    travaux.ok("admin", "grant", "eu@cop", neg, "delegate", "--party", "EU")
    travaux.ok("admin", "grant", "chair@cop", neg, "chair")
    text_id = travaux.ok("import", str(DEMO_TEXT), "--negotiation", neg, "-q")

    listed = json.loads(travaux.ok("admin", "list", "--json"))

    [negotiation] = listed["negotiations"]
    assert (negotiation["id"], negotiation["name"]) == (neg, "COP 31")
    assert [(p["code"], p["kind"]) for p in negotiation["parties"]] == [
        ("EU", "delegation"),
        ("AOSIS", "delegation"),
        ("G77/China", "group"),
    ]
    assert negotiation["texts"] == [text_id]
    assert [(p["login"], p["role"], p["party"]) for p in negotiation["people"]] == [
        ("chair@cop", "chair", ""),
        ("eu@cop", "delegate", "EU"),
    ]
    assert [p["login"] for p in listed["people_without_a_role"]] == ["idle@cop"]
    table = travaux.ok("admin", "list", neg)
    assert "eu@cop" in table and "delegate for EU" in table and "G77/China" in table
    with Store(db) as store:
        accounts = Accounts(store)
        assert accounts.sign_in("eu@cop", PASSWORD).identity.person_id == person_id
        membership = accounts.membership(person_id, neg)
        assert membership is not None and membership.actor.party == "EU"
        assert accounts.negotiation_of(text_id) == neg
        recorded = [(e.action, e.target, e.person) for e in AuditLog(store).entries()]
    assert ("person-created", "eu@cop", "admin:operator") in recorded
    assert ("membership-granted", "eu@cop", "admin:operator") in recorded
    assert [action for action, _, _ in recorded].count("text-attached") == 1


def test_roles_are_changed_and_taken_away(travaux: Shell, db: str) -> None:
    neg = travaux.ok("admin", "create-negotiation", "Talks", "--party", "EU=European Union")
    travaux.ok("admin", "add-person", "eu@cop", "--name", "EU delegate", "--password", PASSWORD)
    travaux.ok("admin", "grant", "eu@cop", neg, "delegate", "--party", "EU")
    travaux.ok("admin", "grant", "eu@cop", neg, "delegation viewer", "--party", "EU")
    before = json.loads(travaux.ok("admin", "list", neg, "--json"))["negotiations"][0]

    travaux.ok("admin", "revoke", "eu@cop", neg)

    after = json.loads(travaux.ok("admin", "list", neg, "--json"))["negotiations"][0]
    assert [p["role"] for p in before["people"]] == ["delegation viewer"]
    assert after["people"] == []
    assert after["rights_version"] == before["rights_version"] + 1
    with Store(db) as store:
        entries = AuditLog(store).entries(negotiation_id=neg)
    revoked = [e for e in entries if e.action == "membership-revoked"]
    assert [(e.target, e.detail["role"]) for e in revoked] == [("eu@cop", "delegation viewer")]


def test_a_negotiation_regrants_what_a_role_may_do(travaux: Shell, db: str) -> None:
    neg = travaux.ok("admin", "create-negotiation", "Talks", "--party", "EU=European Union")
    travaux.ok("admin", "add-person", "eu@cop", "--name", "EU delegate", "--password", PASSWORD)
    travaux.ok("admin", "grant", "eu@cop", neg, "delegate", "--party", "EU")

    table = travaux.ok("admin", "grants", neg, "delegate=read,table,export", "observer=")

    assert "delegate           export, read, table   (changed here)" in table
    with Store(db) as store:
        accounts = Accounts(store)
        membership = accounts.membership(accounts.person("eu@cop").id, neg)
    assert membership is not None and membership.actor.may(Capability.EXPORT)
    assert "(changed here)" not in travaux.ok("admin", "grants", neg, "--defaults")


def test_an_api_token_is_printed_once_and_can_be_revoked(travaux: Shell, db: str) -> None:
    travaux.ok("admin", "add-person", "bot@cop", "--name", "Export bot", "--password", PASSWORD)
    code, out, err = travaux("admin", "token", "bot@cop", "--name", "nightly", "--days", "30")
    token = out.strip()
    assert code == 0 and token.startswith("trv_")
    assert "not shown again" in err
    with Store(db) as store:
        assert Accounts(store).authenticate(token).login == "bot@cop"

    travaux.ok("admin", "revoke-token", token)

    with Store(db) as store:
        with pytest.raises(NotSignedIn):
            Accounts(store).authenticate(token)
        entries = AuditLog(store).entries(actions={"token-created", "token-revoked"})
    assert [(e.action, e.target) for e in entries] == [
        ("token-created", "bot@cop"),
        ("token-revoked", "bot@cop"),
    ]
    # The audit log names the token, never holds it.
    assert all(token not in json.dumps(e.to_json()) for e in entries)


def test_a_disabled_person_can_no_longer_sign_in(travaux: Shell, db: str) -> None:
    travaux.ok("admin", "add-person", "eu@cop", "--name", "EU delegate", "--password", PASSWORD)
    travaux.ok("admin", "password", "eu@cop", "--password-stdin", stdin="a new long password\n")
    travaux.ok("admin", "disable", "eu@cop")

    with Store(db) as store, pytest.raises(SignInRefused, match="disabled"):
        Accounts(store).sign_in("eu@cop", "a new long password")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["admin", "grant", "eu@cop", "NEG", "delegate", "--party", "XX"], "no Party 'XX'"),
        (["admin", "grant", "eu@cop", "nope", "delegate"], "no negotiation 'nope'"),
        (["admin", "grant", "eu@cop", "NEG", "king"], "no role 'king'"),
        (["admin", "grant", "who@cop", "NEG", "observer"], "no person with login 'who@cop'"),
        (["admin", "add-person", "x@cop", "--name", "X", "--password", "short"], "8 characters"),
        (["admin", "add-person", "x@cop", "--name", "X", "--password-stdin"], "nothing on stdin"),
        (["admin", "create-negotiation", "T", "--party", "EU"], "expected CODE=Name"),
        (["admin", "attach", "notatext", "NEG"], "no text with id 'notatext'"),
        (["admin", "revoke-token", "trv_forged"], "no such API token"),
        (["admin", "grants", "NEG", "delegate=veto"], "no capability 'veto'"),
        (["admin", "token", "eu@cop", "--name", "t", "--days", "0"], "at least 1"),
        (["import", str(DEMO_TEXT), "--negotiation", "nope"], "no negotiation 'nope'"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_exit_code_2(
    travaux: Shell, db: str, args: list[str], message: str
) -> None:
    neg = travaux.ok("admin", "create-negotiation", "Talks", "--party", "EU=European Union")
    travaux.ok("admin", "add-person", "eu@cop", "--name", "EU delegate", "--password", PASSWORD)
    with Store(db) as store:
        texts = store.count_texts()

    code, out, err = travaux(*[neg if a == "NEG" else a for a in args])

    assert code == 2
    assert out == ""
    error = err.splitlines()[-1]  # after any progress
    assert error.startswith("travaux: error: ") and message in error
    with Store(db) as store:
        assert store.count_texts() == texts  # an import refused stores nothing


def test_the_installed_command_runs_the_admin_commands(tmp_path: Path) -> None:
    env = {**os.environ, "TRAVAUX_DATA_DIR": str(tmp_path), "PYTHONIOENCODING": "utf-8"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "travaux.cli", "admin", *args],
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=120,
        )

    created = run("create-negotiation", "Talks", "--id", "talks", "--party", "EU=European Union")
    listed = run("list")

    assert created.returncode == 0 and created.stdout.strip() == "talks", created.stderr
    assert listed.returncode == 0 and "talks  Talks" in listed.stdout
    assert "EU" in listed.stdout


# -- the demo -------------------------------------------------------------------------------------


def test_the_demo_negotiation_has_a_text_parties_and_one_person_per_role(db: str) -> None:
    with Store(db) as store:
        accounts = Accounts(store, password_hasher=CHEAP)

        demo = seed_demo(store, accounts)
        again = seed_demo(store, accounts)

        assert demo.created and not again.created
        assert demo.negotiation_id == again.negotiation_id == "demo"
        assert demo.name == "Demo conference on mountain glaciers"
        assert store.count_texts() == 1 and demo.text_ids == again.text_ids
        assert accounts.negotiation_of(demo.text_id) == "demo"
        assert [(p.code, p.kind) for p in accounts.parties("demo")] == [
            ("EU", "delegation"),
            ("AOSIS", "delegation"),
            ("G77", "group"),
        ]
        roles = {}
        for person in DEMO_PEOPLE:
            identity = accounts.sign_in(person.login, DEMO_PASSWORD).identity
            membership = accounts.membership(identity.person_id, "demo")
            assert membership is not None
            roles[person.login] = (membership.role, membership.party)
        assert len(accounts.people()) == len(DEMO_PEOPLE)
    assert roles == {
        "chair@demo": (Role.CHAIR, ""),
        "secretariat@demo": (Role.SECRETARIAT, ""),
        "eu@demo": (Role.DELEGATE, "EU"),
        "aosis@demo": (Role.DELEGATE, "AOSIS"),
        "eu-viewer@demo": (Role.DELEGATION_VIEWER, "EU"),
        "observer@demo": (Role.OBSERVER, ""),
        "legal@demo": (Role.LEGAL_ADVISER, ""),
    }
    help_text = sign_in_help(demo)
    assert "password 'travaux-demo'" in help_text
    assert re.search(r"\n  eu-viewer@demo +delegation viewer for EU\n", help_text)


def test_seeding_again_leaves_an_operators_changes_alone(db: str) -> None:
    with Store(db) as store:
        accounts = Accounts(store, password_hasher=CHEAP)
        seed_demo(store, accounts)
        accounts.revoke("observer@demo", "demo")

        seed_demo(store, accounts)

        assert accounts.membership(accounts.person("observer@demo").id, "demo") is None
