"""DOCX import: Word drafts with headings, Word numbering and square brackets become a
text; tracked changes are reported, never dropped in silence; Travaux's own DOCX comes
back with the same words, brackets and counts."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml import parse_xml as docx_xml
from docx.oxml.ns import nsdecls

from drafting.importers.docx import parse_docx
from drafting.importers.parsed import Bracket, Run, SourceError
from drafting.importing import build, import_markdown
from drafting.schema import NegotiationText
from drafting.statistics import statistics
from drafting.views import bracketed_text, clean_text
from exporters.docx import export_docx
from tests.cop21 import COP21_FILES
from tests.exporters.samples import negotiated_text

NUMBERING = (
    f'<w:abstractNum {nsdecls("w")} w:abstractNumId="90">'
    '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/>'
    '<w:lvlText w:val="%1."/></w:lvl>'
    '<w:lvl w:ilvl="1"><w:start w:val="1"/><w:numFmt w:val="lowerLetter"/>'
    '<w:lvlText w:val="(%2)"/></w:lvl></w:abstractNum>'
)


@pytest.fixture(scope="module")
def corpus(cop21_dir: Path) -> dict[str, NegotiationText]:
    return {
        name: import_markdown((cop21_dir / name).read_text(encoding="utf-8")).text
        for name in COP21_FILES
    }


def reimport(data: bytes) -> NegotiationText:
    return build(parse_docx(data)).text


def word_draft() -> bytes:
    """A decision drafted in Word: Word numbering, italics, typed brackets, two tracked
    changes by two delegations, a table."""
    document = docx.Document()
    numbering = document.part.numbering_part.element
    numbering.insert(0, docx_xml(NUMBERING))
    numbering.append(
        docx_xml(f'<w:num {nsdecls("w")} w:numId="90"><w:abstractNumId w:val="90"/></w:num>')
    )
    document.add_paragraph("Draft decision -/CP.22", style="Title")
    document.add_paragraph("The Conference of the Parties,")
    recital = document.add_paragraph()
    recital.add_run("Recalling").italic = True
    recital.add_run(" its decision 1/CP.21,")

    def numbered(level: int, *runs: tuple[str, bool]) -> docx.text.paragraph.Paragraph:
        paragraph = document.add_paragraph()
        paragraph._p.get_or_add_pPr().append(
            docx_xml(
                f'<w:numPr {nsdecls("w")}><w:ilvl w:val="{level}"/><w:numId w:val="90"/></w:numPr>'
            )
        )
        for words, italic in runs:
            paragraph.add_run(words).italic = italic
        return paragraph

    numbered(0, ("Decides", True), (" that Parties [shall][should] report:", False))
    numbered(1, ("every [two][five] years;", False))
    changed = numbered(1, ("on their {X} ", False))
    changed._p.append(
        docx_xml(
            f'<w:ins {nsdecls("w")} w:id="1" w:author="Brazil" w:date="2026-05-01T10:00:00Z">'
            "<w:r><w:t>national </w:t></w:r></w:ins>"
        )
    )
    changed._p.append(
        docx_xml(
            f'<w:del {nsdecls("w")} w:id="2" w:author="Norway" w:date="2026-05-02T10:00:00Z">'
            '<w:r><w:delText xml:space="preserve">voluntary </w:delText></w:r></w:del>'
        )
    )
    changed.add_run("inventories;")
    numbered(0, ("Requests the secretariat to report.", False))
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "Party"
    table.rows[0].cells[1].text = "Position"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


# -- Travaux's own DOCX -----------------------------------------------------------------------
@pytest.mark.parametrize("name", COP21_FILES)
def test_an_exported_text_comes_back_with_the_same_counts(corpus, name):
    text = corpus[name]
    again = reimport(export_docx(text, "negotiation"))
    assert statistics(again) == statistics(text)
    assert again.title == text.title
    assert sorted(again.notes.keys()) == sorted(text.notes.keys())


@pytest.mark.parametrize(
    "name", ["draft-agreement-9-dec-2015.md", "draft-agreement-12-dec-2015.md"]
)
def test_an_exported_text_comes_back_word_for_word(corpus, name):
    text = corpus[name]
    again = reimport(export_docx(text, "clean", keep_brackets=True))
    assert bracketed_text(again) == bracketed_text(text)
    assert clean_text(again).text == clean_text(text).text


def test_what_the_model_cannot_take_back_is_reported():
    parsed = parse_docx(export_docx(negotiated_text()))
    messages = [w.message for w in parsed.warnings]
    assert "3 Party attributions left out (a text holds no such thing)" in messages
    assert "1 clause statuses left out (a text holds no such thing)" in messages
    assert "1 tables of proposals left out (a text holds no such thing)" in messages
    again = build(parsed).text
    assert "[objective][aim]" in bracketed_text(again)
    assert "2 bis. [Parties shall cooperate in good faith.]" in bracketed_text(again)
    assert again.note("1") is not None


# -- Word drafts --------------------------------------------------------------------------------
def test_a_word_draft_becomes_a_decision_with_word_numbering():
    parsed = parse_docx(word_draft())
    assert (parsed.kind, parsed.title) == ("decision", "Draft decision -/CP.22")
    [preamble, decides, requests, table] = parsed.clauses
    assert preamble.kind == "preamble"
    [recital] = preamble.children
    assert recital.content[0] == Run("Recalling", italic=True)
    assert (decides.kind, decides.number, requests.number) == ("operative", "1", "2")
    assert decides.content[0] == Run("Decides", italic=True)
    assert [type(node) for node in decides.content[2:4]] == [Bracket, Bracket]
    first, second = decides.children
    assert (first.kind, first.number, second.number) == ("subparagraph", "(a)", "(b)")
    text = build(parsed).text
    printed = bracketed_text(text)
    assert "1. Decides that Parties [shall][should] report:" in printed
    assert "(a) every [two][five] years;" in printed
    assert "(b) on their {X} national inventories;" in printed
    assert statistics(text)["alternatives"] == 2
    assert (table.kind, table.content) == ("text", [Run("Party | Position")])


def test_tracked_changes_are_read_as_accepted_and_each_one_reported():
    data = word_draft()
    python_docx_text = [p.text for p in docx.Document(io.BytesIO(data)).paragraphs]
    assert "on their {X} inventories;" in python_docx_text  # what python-docx would give
    parsed = parse_docx(data)
    messages = [(w.line, w.message) for w in parsed.warnings]
    assert (6, "tracked insertion by Brazil on 2026-05-01T10:00:00Z kept: 'national '") in messages
    assert (
        6,
        "tracked deletion by Norway on 2026-05-02T10:00:00Z left out: 'voluntary '",
    ) in messages
    assert any("a table was read as one paragraph per row" in m for _, m in messages)


def test_headings_typed_without_heading_styles_are_headings():
    document = docx.Document()
    for words in (
        "Article 1",
        "1.\tParties shall act.",
        "[Article 2 bis] (finance)",
        "Parties [shall][may] pay.",
    ):
        document.add_paragraph(words)
    buffer = io.BytesIO()
    document.save(buffer)
    parsed = parse_docx(buffer.getvalue())
    first, second = parsed.clauses
    assert (first.kind, first.number, second.kind, second.bracketed) == (
        "article",
        "1",
        "article",
        True,
    )
    assert first.children[0].kind == "paragraph"
    assert [type(node) for node in second.children[0].content] == [Run, Bracket, Bracket, Run]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"PK not really", "not a zip archive"),
        (b"%PDF-1.7 ...", "not a zip archive"),
    ],
)
def test_what_is_not_a_docx_is_refused(data, message):
    with pytest.raises(SourceError, match=message):
        parse_docx(data)


def docx_with(document_xml: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "_rels/.rels",
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
        )
        archive.writestr("word/document.xml", document_xml)
    return buffer.getvalue()


def test_a_zip_without_a_document_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hello")
    with pytest.raises(SourceError, match="no main document part"):
        parse_docx(buffer.getvalue())


def test_entities_in_the_document_part_are_refused(tmp_path: Path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    hostile = (
        f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file://{secret}">]>'
        f"<w:document {nsdecls('w')}><w:body><w:p><w:r><w:t>&x;</w:t></w:r></w:p>"
        "</w:body></w:document>"
    ).encode()
    with pytest.raises(SourceError, match=r"word/document\.xml: .*DOCTYPE") as refused:
        parse_docx(docx_with(hostile))
    assert "TOP SECRET" not in str(refused.value)
