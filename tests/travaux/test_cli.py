"""The `travaux` command, run as a user runs it: a separate process, output and exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cop21 import COP21 as CORPUS
from web.app import DEMO_TEXT


def travaux(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TRAVAUX_DATA_DIR": str(data_dir), "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "travaux.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


@pytest.fixture
def demo_id(tmp_path: Path) -> str:
    imported = travaux("import", str(DEMO_TEXT), data_dir=tmp_path)
    assert imported.returncode == 0, imported.stderr
    return imported.stdout.strip()


def test_import_prints_the_new_id_and_reports_progress_on_stderr(tmp_path: Path) -> None:
    result = travaux("import", str(DEMO_TEXT), data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    text_id = result.stdout.strip()
    assert text_id.isalnum() and len(text_id) == 10
    assert f"importing {DEMO_TEXT} … done in" in result.stderr
    assert " clauses, " in result.stderr and " brackets" in result.stderr
    assert (tmp_path / "travaux.sqlite3").is_file()
    listed = travaux("list", "--json", data_dir=tmp_path)
    assert [t["id"] for t in json.loads(listed.stdout)] == [text_id]


def test_stats_of_a_stored_text_as_json(tmp_path: Path, demo_id: str) -> None:
    result = travaux("stats", demo_id, "--json", data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    counts = json.loads(result.stdout)
    assert counts["title"] == "Draft Agreement on the Protection of Mountain Glaciers"
    assert counts["articles"] == 5
    assert counts["options"] == 2
    assert counts["placeholders"] == 1
    assert counts["brackets"] > 20 and counts["alternatives"] > 5


def test_stats_as_a_table_line_up_the_numbers(tmp_path: Path, demo_id: str) -> None:
    result = travaux("stats", demo_id, data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "Draft Agreement on the Protection of Mountain Glaciers (treaty)"
    articles = next(line for line in lines if line.startswith("articles "))
    clauses = next(line for line in lines if line.startswith("clauses "))
    assert articles.split()[-1] == "5"
    assert len(articles) == len(clauses)  # right-aligned in one column
    assert "per status" in lines


def test_show_bracketed_prints_the_text_as_negotiators_do(tmp_path: Path, demo_id: str) -> None:
    result = travaux("show", demo_id, "--bracketed", data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Parties [shall][should] take into account" in result.stdout
    assert "2 bis. [Parties recognize" in result.stdout
    assert "{X}" in result.stdout


def test_show_clean_reports_the_brackets_still_open(tmp_path: Path, demo_id: str) -> None:
    result = travaux("show", demo_id, "--clean", data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Parties shall take into account" in result.stdout
    assert "[" not in result.stdout
    assert "travaux: note:" in result.stderr and "still open" in result.stderr


def test_a_file_is_read_directly_without_storing_it(tmp_path: Path) -> None:
    result = travaux("stats", str(DEMO_TEXT), "--json", data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["articles"] == 5
    assert not (tmp_path / "travaux.sqlite3").exists()


def test_unbalanced_brackets_are_warnings_with_file_line_and_column(tmp_path: Path) -> None:
    source = tmp_path / "draft.md"
    source.write_text("## Article 1 *(purpose)*\n\n1. Parties [shall] act.]\n", encoding="utf-8")

    result = travaux("import", str(source), data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f"{source}:3:" in result.stderr and ": warning: " in result.stderr


def test_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = travaux("import", str(tmp_path / "nowhere.md"), data_dir=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip() == f"travaux: error: {tmp_path / 'nowhere.md'}: no such file"
    assert result.stdout == ""


def test_a_file_that_is_not_utf8_says_where(tmp_path: Path) -> None:
    source = tmp_path / "latin1.md"
    source.write_bytes("## Preamble\n\nRéaffirmant\n".encode("latin-1"))

    result = travaux("import", str(source), data_dir=tmp_path)

    assert result.returncode == 2
    assert "not UTF-8 text (byte 0xe9 at line 3, column 2)" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_id_is_not_found(tmp_path: Path, demo_id: str) -> None:
    result = travaux("show", "nosuchtext", "--clean", data_dir=tmp_path)

    assert result.returncode == 1
    assert "no text with id 'nosuchtext'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_database_url_that_cannot_be_used_is_bad_input(tmp_path: Path) -> None:
    result = travaux("stats", "abc", "--db", "nosuchdb://x", data_dir=tmp_path)

    assert result.returncode == 2
    assert "cannot use the database URL" in result.stderr


def test_help_explains_the_commands(tmp_path: Path) -> None:
    result = travaux("--help", data_dir=tmp_path)

    assert result.returncode == 0
    for command in ("import", "list", "stats", "show", "serve"):
        assert command in result.stdout
    assert "exit codes" in result.stdout


def test_show_needs_a_choice_of_view(tmp_path: Path, demo_id: str) -> None:
    result = travaux("show", demo_id, data_dir=tmp_path)

    assert result.returncode == 2
    assert "--bracketed" in result.stderr


def test_a_real_draft_imports_with_its_warnings(tmp_path: Path) -> None:
    source = CORPUS / "draft-agreement-23-oct-2015.md"
    result = travaux("import", str(source), data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    assert f"{source}:" in result.stderr and ": warning: " in result.stderr
    stats = travaux("stats", result.stdout.strip(), "--json", data_dir=tmp_path)
    assert json.loads(stats.stdout)["articles"] >= 20


@pytest.mark.parametrize("suffix", ["docx", "xml"])
def test_a_word_or_akoma_ntoso_file_imports_like_a_markdown_draft(
    tmp_path: Path, demo_id: str, suffix: str
) -> None:
    exported = tmp_path / f"demo.{suffix}"
    fmt = "docx" if suffix == "docx" else "akn"
    made = travaux("export", demo_id, "--format", fmt, "-o", str(exported), data_dir=tmp_path)
    assert made.returncode == 0, made.stderr

    result = travaux("import", str(exported), data_dir=tmp_path)

    assert result.returncode == 0, result.stderr
    shown = [
        travaux("show", text_id, "--bracketed", data_dir=tmp_path).stdout
        for text_id in (demo_id, result.stdout.strip())
    ]
    assert shown[0] == shown[1] and "[" in shown[0]


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("TRAVAUX_HISTORY_POLL_SECONDS", "5s", "'5s' is not a number of seconds"),
        (
            "TRAVAUX_HISTORY_INDEXING",
            "never",
            "'never': expected one of thread, process, elsewhere",
        ),
    ],
)
def test_serve_refuses_history_settings_it_cannot_use(
    tmp_path: Path, variable: str, value: str, said: str
) -> None:
    env = {**os.environ, "TRAVAUX_DATA_DIR": str(tmp_path), variable: value}
    result = subprocess.run(
        [sys.executable, "-m", "travaux.cli", "serve", "--no-demo", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert f"{variable}={said}" in result.stderr
