"""`travaux export`, as the `travaux` command will run it: files or stored ids in, a file
out, errors as one line and an exit code."""

from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import docx
import pytest

from crdt_sync.store import Store
from drafting.importers.akn import read_akn
from travaux.cli import CommandError, Reporter
from travaux.export_command import add_export_parser, main
from web.app import DEMO_TEXT

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="travaux")
    add_export_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["export", *argv])
    return args.run(args, Reporter(quiet=True))


@pytest.fixture
def stored(tmp_path: Path) -> tuple[str, str]:
    """A database URL and the id of the demo text stored in it."""
    url = f"sqlite:///{tmp_path / 'travaux.sqlite3'}"
    with Store(url) as store:
        from web.app import import_demo

        return url, import_demo(store)


def test_a_stored_text_exports_as_akn(tmp_path: Path, stored):
    url, text_id = stored
    out = tmp_path / "demo.xml"
    assert run(text_id, "--db", url, "--format", "akn", "-o", str(out)) == 0
    source = read_akn(out.read_bytes())
    assert source.own and source.parsed.title.startswith("Draft Agreement on the Protection")


def test_a_markdown_file_exports_as_a_clean_copy_with_its_brackets(tmp_path: Path):
    out = tmp_path / "demo.docx"
    code = run(
        str(DEMO_TEXT), "--format", "docx", "--mode", "clean", "--keep-brackets", "-o", str(out)
    )
    assert code == 0
    printed = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    assert "Parties [shall][should] take into account" in printed


def test_a_clean_export_of_an_unsettled_text_lists_what_is_open(tmp_path: Path):
    with pytest.raises(CommandError) as refused:
        run(str(DEMO_TEXT), "--format", "akn", "--mode", "clean", "-o", str(tmp_path / "x"))
    message = str(refused.value)
    assert "still open" in message and "--keep-brackets" in message
    assert "\n  Article 2 1.: [slow]" in message or "[slow]" in message
    assert refused.value.code == 2
    assert not (tmp_path / "x").exists()


def test_a_redline_between_two_files_is_a_word_document(tmp_path: Path, cop21_dir: Path):
    out = tmp_path / "redline.docx"
    before = cop21_dir / "draft-agreement-12-dec-2015.md"
    after = cop21_dir / "paris-agreement-adopted.md"
    code = run(
        str(after), "--format", "docx", "--mode", "redline", "--from", str(before), "-o", str(out)
    )
    assert code == 0
    document = zipfile.ZipFile(out).read("word/document.xml").decode()
    assert "<w:del " in document and "<w:ins " in document


def test_an_export_converts_between_formats(tmp_path: Path):
    akn = tmp_path / "demo.xml"
    assert run(str(DEMO_TEXT), "--format", "akn", "-o", str(akn)) == 0
    docx = tmp_path / "demo.docx"
    assert run(str(akn), "--format", "docx", "-o", str(docx)) == 0
    again = tmp_path / "again.xml"
    assert run(str(docx), "--format", "akn", "-o", str(again)) == 0
    assert read_akn(again.read_bytes()).parsed.title == read_akn(akn.read_bytes()).parsed.title


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--format", "akn", "--mode", "redline", "--from", "x"], "a redline is a Word document"),
        (["--format", "docx", "--mode", "redline"], "needs --from"),
        (["--format", "docx", "--from", "x"], "are for --mode redline"),
        (["--format", "docx", "--language", "ru"], "no 'ru' version"),
    ],
)
def test_wrong_options_are_refused_with_a_reason(tmp_path: Path, argv, message):
    with pytest.raises(CommandError, match=message):
        run(str(DEMO_TEXT), *argv, "-o", str(tmp_path / "out"))


def test_an_unknown_id_is_exit_code_1(tmp_path: Path, stored):
    url, _ = stored
    with pytest.raises(CommandError) as refused:
        run("nosuchtext", "--db", url, "--format", "akn", "-o", str(tmp_path / "x"))
    assert refused.value.code == 1


def test_the_command_runs_on_its_own_and_writes_to_stdout(capsysbinary):
    assert main([str(DEMO_TEXT), "--format", "docx", "-q", "-o", "-"]) == 0
    data = capsysbinary.readouterr().out
    assert zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").startswith(b"<?xml")
    assert main([str(DEMO_TEXT), "--format", "akn", "--mode", "clean", "-o", "-"]) == 2
