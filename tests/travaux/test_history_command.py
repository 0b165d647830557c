"""The history commands, run as a user runs them: separate processes, output, exit codes.

They are registered on `travaux` by `add_history_parsers`; here they run through
`python -m travaux.history_command`, the same parsers and code on their own."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.servers import start_server

FIRST = """\
## Article 1 *(purpose)*

1. Parties [shall][should] take action.

2. Each Party shall report.
"""

LATER = """\
## Article 1 *(purpose)*

1. Parties shall take urgent action.

2. Each Party shall report [every year].

3. Parties shall cooperate.
"""


def run(
    *args: str, data_dir: Path, module: str = "travaux.history_command"
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "TRAVAUX_DATA_DIR": str(data_dir),
        "TRAVAUX_USER": "Secretariat",
        "PYTHONIOENCODING": "utf-8",
    }
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A data directory with FIRST imported and LATER loaded into it as Rev.2 (read
    only: tests that write work on a copy), and what loading it printed."""
    data = tmp_path_factory.mktemp("data")
    (data / "first.md").write_text(FIRST, encoding="utf-8")
    (data / "later.md").write_text(LATER, encoding="utf-8")
    imported = run("import", str(data / "first.md"), data_dir=data, module="travaux.cli")
    assert imported.returncode == 0, imported.stderr
    text_id = imported.stdout.strip()
    loaded = run(
        "import-revision", str(data / "later.md"), "--into", text_id, "--label", "Rev.2",
        data_dir=data,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    return data, text_id, loaded.stdout + loaded.stderr


def copy_of(stored: tuple[Path, str, str], tmp_path: Path) -> Path:
    shutil.copy(stored[0] / "travaux.sqlite3", tmp_path / "travaux.sqlite3")
    return tmp_path


def test_a_later_draft_is_loaded_as_the_next_revision(stored: tuple[Path, str, str]) -> None:
    data, text_id, printed = stored
    assert "2 Rev.2: 1 brackets, 0 options" in printed
    assert "3 clauses continued (0 moved, 2 reworded), 1 added, 0 deleted" in printed
    assert "cut first as revision 1 'Rev.1'" in printed
    listed = run("revisions", text_id, "--verify", "--json", data_dir=data)
    assert listed.returncode == 0, listed.stderr
    body = json.loads(listed.stdout)
    assert body["intact"] is True
    assert [(r["label"], r["author"], r["statistics"]["brackets"]) for r in body["revisions"]] == [
        ("Rev.1", "Secretariat", 2),
        ("Rev.2", "Secretariat", 1),
    ]


def test_revisions_are_cut_and_an_altered_one_is_reported(
    stored: tuple[Path, str, str], tmp_path: Path
) -> None:
    data = copy_of(stored, tmp_path)
    text_id = stored[1]
    cut = run("revise", text_id, "--label", "Chair's text", data_dir=data)
    assert cut.returncode == 0, cut.stderr
    assert len(cut.stdout.strip()) == 64  # the revision's hash
    assert 'revision 3 "Chair\'s text": 1 brackets' in cut.stderr
    with sqlite3.connect(data / "travaux.sqlite3") as db:
        db.execute("DROP TRIGGER revisions_immutable")
        db.execute("UPDATE revisions SET author = 'Someone else' WHERE number = 2")
    altered = run("revisions", text_id, "--verify", data_dir=data)
    assert altered.returncode == 3
    assert "ALTERED revision 2: the record does not match its hash" in altered.stderr
    assert "Chair's text" in altered.stdout


def test_the_history_of_a_clause_cited_by_its_number(stored: tuple[Path, str, str]) -> None:
    data, text_id, _ = stored
    shown = run("history", text_id, "Article 1.1", data_dir=data)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0] == "1. Parties shall take urgent action."
    assert "added" in lines[1] and "import" in lines[1]
    assert "  ── Rev.1 (revision 1) ──" in lines
    assert "{+urgent +}" in shown.stdout and "[-[-]shall[-][should]-]" in shown.stdout
    assert "Secretariat" in shown.stdout and "draft Rev.2" in shown.stdout

    as_json = json.loads(run("history", text_id, "1.1", "--json", data_dir=data).stdout)
    assert [e["revision"] for e in as_json["entries"]] == ["Rev.1", "Rev.2"]
    assert as_json["entries"][1]["kinds"][0] == "bracket lifted"
    then = run("history", text_id, "Article 1.1", "--at", "Rev.1", data_dir=data)
    assert then.stdout.strip() == "1. Parties [shall][should] take action."


def test_a_diff_between_revisions_in_a_terminal_and_as_json(
    stored: tuple[Path, str, str],
) -> None:
    data, text_id, _ = stored
    shown = run("diff", text_id, "Rev.1", "Rev.2", data_dir=data)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("Rev.1 → Rev.2: 1 added, 1 status, 2 words")
    assert "Article 1 › 3.  [added]" in shown.stdout
    assert "report{+ [every year]+}." in shown.stdout

    since = run("diff", text_id, "2000-01-01", "now", data_dir=data)  # a time: before it all
    assert since.returncode == 2 and "did not exist yet" in since.stderr
    one = run("diff", text_id, "1", "now", "--clause", "Article 1.2", "--json", data_dir=data)
    as_json = json.loads(one.stdout)
    assert (as_json["from"], as_json["to"]) == ("Rev.1", "now")
    assert [c["reference"] for c in as_json["clauses"]] == ["Article 1 › 2."]


def test_a_restore_is_a_new_change_in_the_history(
    stored: tuple[Path, str, str], tmp_path: Path
) -> None:
    data = copy_of(stored, tmp_path)
    text_id = stored[1]
    restored = run("restore", text_id, "Article 1.1", "--to", "Rev.1", data_dir=data)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.strip() == "1. Parties [shall][should] take action."
    history = run("history", text_id, "Article 1.1", "--kind", "restored", data_dir=data)
    assert "restored" in history.stdout and "Secretariat" in history.stdout


def test_writing_is_refused_while_a_server_uses_the_database(
    stored: tuple[Path, str, str], tmp_path: Path
) -> None:
    data = copy_of(stored, tmp_path)
    text_id = stored[1]
    server = start_server(f"sqlite:///{data / 'travaux.sqlite3'}", tmp_path)
    try:
        for args in [
            ("revise", text_id, "--label", "Rev.3"),
            ("restore", text_id, "Article 1.1", "--to", "Rev.1"),
            ("import-revision", str(stored[0] / "later.md"), "--into", text_id),
        ]:
            refused = run(*args, data_dir=data)
            assert refused.returncode == 4, refused.stderr
            assert "a server is using this database" in refused.stderr
            assert f"pid {server.process.pid}" in refused.stderr
            assert f"/api/texts/{text_id}/" in refused.stderr
        listed = run("revisions", text_id, "--json", data_dir=data)  # reading is fine
        assert len(json.loads(listed.stdout)["revisions"]) == 2
        forced = run("revise", text_id, "--label", "Rev.3", "--force", data_dir=data)
        assert forced.returncode == 0, forced.stderr
        assert "writing all the same (--force)" in forced.stderr
    finally:
        server.stop()
    after = run("revise", text_id, "--label", "Rev.4", data_dir=data)
    assert after.returncode == 0, after.stderr


def test_errors_say_what_went_wrong(stored: tuple[Path, str, str]) -> None:
    data, text_id, _ = stored
    for args, code, message in [
        (("history", "nosuchtext", "Article 1"), 1, "no text with id 'nosuchtext'"),
        (("history", text_id, "Article 9"), 1, "no clause 'Article 9'"),
        (("diff", text_id, "Rev.9", "now"), 2, "no revision 'Rev.9'"),
        (("import-revision", "missing.md", "--into", text_id), 2, "missing.md: no such file"),
    ]:
        result = run(*args, data_dir=data)
        assert (result.returncode, message in result.stderr) == (code, True), result.stderr


def test_the_adopted_text_loaded_into_the_draft_of_9_december(
    tmp_path: Path, cop21_dir: Path
) -> None:
    draft = cop21_dir / "draft-agreement-9-dec-2015.md"
    text_id = run("import", str(draft), data_dir=tmp_path, module="travaux.cli").stdout.strip()
    adopted = cop21_dir / "draft-agreement-12-dec-2015.md"
    loaded = run(
        "import-revision", str(adopted), "--into", text_id, "--label", "12 Dec 2015",
        "--base-label", "9 Dec 2015", data_dir=tmp_path,
    )  # fmt: skip
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "2 12 Dec 2015: 0 brackets, 0 options"
    goal = run("history", text_id, "Article 2.1(a)", "--json", data_dir=tmp_path)
    entries = json.loads(goal.stdout)["entries"]
    assert [e["revision"] for e in entries] == ["9 Dec 2015", "12 Dec 2015"]
    assert entries[-1]["words_after"].startswith("Holding the increase in the global average")
