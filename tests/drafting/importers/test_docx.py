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
from docx.oxml.ns import nsdecls, qn
from lxml import etree

from drafting.importers.docx import parse_docx
from drafting.importers.parsed import Bracket, Run, SourceError
from drafting.importing import build, import_markdown
from drafting.outline import Outline
from drafting.proposals import propose_new_paragraph
from drafting.schema import NegotiationText
from drafting.statistics import statistics
from drafting.views import bracketed_text, clean_text
from exporters.docx import export_docx
from tests.cop21 import COP21_FILES
from tests.exporters.samples import find, negotiate, negotiated_text, records

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
@pytest.fixture(scope="module")
def negotiated_corpus(cop21_dir: Path) -> dict[str, NegotiationText]:
    return {
        name: negotiate(import_markdown((cop21_dir / name).read_text(encoding="utf-8")).text)
        for name in COP21_FILES
    }


def shape(text: NegotiationText) -> list[tuple[int, str, str, bool]]:
    return [
        (placed.depth, placed.clause.kind, placed.clause.source_number, placed.clause.base)
        for placed in Outline(text).walk()
    ]


@pytest.mark.parametrize("name", COP21_FILES)
def test_a_negotiated_text_comes_back_record_for_record(negotiated_corpus, name):
    """The structure part gives back the clause tree, "bis" numbers, Parties, statuses,
    proposals; the words, unchanged in Word, are the same."""
    text = negotiated_corpus[name]
    parsed = parse_docx(export_docx(text, "negotiation"))
    assert parsed.warnings == []
    again = build(parsed).text
    assert bracketed_text(again, show_parties=True) == bracketed_text(text, show_parties=True)
    assert statistics(again) == statistics(text)
    assert records(again) == records(text)


@pytest.mark.parametrize("name", COP21_FILES)
@pytest.mark.parametrize("mode", ["negotiation", "clean"])
def test_an_exported_text_comes_back_with_the_same_tree_and_words(corpus, name, mode):
    """Option blocks inside paragraphs, options holding paragraphs, "(a) bis": the same
    nesting and numbers after the round trip, in both modes."""
    text = corpus[name]
    again = reimport(export_docx(text, mode, keep_brackets=True))
    if mode == "clean" and name in FINAL:  # renumbered: the numbers are the final ones
        assert [s[:2] for s in shape(again)] == [s[:2] for s in shape(text)]
    else:
        assert shape(again) == shape(text)
    assert bracketed_text(again) == bracketed_text(text)
    assert statistics(again) == statistics(text)
    assert sorted(again.notes.keys()) == sorted(text.notes.keys())


FINAL = ("draft-agreement-12-dec-2015.md", "paris-agreement-adopted.md")


@pytest.mark.parametrize("name", FINAL)
def test_a_final_text_comes_back_word_for_word(corpus, name):
    text = corpus[name]
    again = reimport(export_docx(text, "clean"))
    assert clean_text(again).text == clean_text(text).text


def with_bis() -> NegotiationText:
    text = negotiated_text()
    parent, after = find(text, "Article 3", "1"), find(text, "Article 3", "1", "b")
    for words in ("Share data.", "Share more data."):
        propose_new_paragraph(text, "EU", words, parent=parent, after=after, kind="subparagraph")
    return text


def test_inserted_sub_paragraphs_keep_their_bis_numbers():
    text = with_bis()
    printed = bracketed_text(text)
    assert "[(b bis) Share more data.]" in printed and "[(b ter) Share data.]" in printed
    for mode in ("negotiation", "clean"):
        data = export_docx(text, mode, keep_brackets=True)
        assert bracketed_text(reimport(data)) == printed, mode
    # Without the structure part (a copy through another tool), from the words alone:
    drafted = reimport(without_structure(export_docx(text, "clean", keep_brackets=True)))
    assert "(b bis) [Share more data.]" in bracketed_text(drafted)
    assert "(b ter) [Share data.]" in bracketed_text(drafted)


def without_structure(data: bytes) -> bytes:
    """The .docx with its Travaux structure part emptied (as if another tool dropped it)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename.startswith("customXml/item") and b"<tvx:word" in content:
                content = b"<other/>"
            archive.writestr(info, content)
    return buffer.getvalue()


def edited(data: bytes, edit) -> bytes:
    """The .docx with `edit(body)` applied to its document part, as Word would save it."""
    source = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "word/document.xml":
                root = etree.fromstring(content)
                edit(root.find(qn("w:body")))
                content = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
            archive.writestr(info, content)
    return buffer.getvalue()


def paragraph_with(body: etree._Element, words: str) -> etree._Element:
    return next(p for p in body.iter(qn("w:p")) if words in "".join(p.itertext()))


def test_a_travaux_document_edited_in_word_comes_back_with_the_edits_reported():
    text = negotiated_text()

    def edit(body: etree._Element) -> None:
        report = paragraph_with(body, "Parties shall report every")
        report.append(
            docx_xml(
                f'<w:ins {nsdecls("w")} w:id="7" w:author="Brazil" '
                'w:date="2026-05-01T10:00:00Z"><w:r><w:t xml:space="preserve"> [and review]'
                "</w:t></w:r></w:ins>"
            )
        )
        gone = paragraph_with(body, "Maintain an inventory")
        gone.getparent().remove(gone)
        monitor = paragraph_with(body, "Monitor")
        added = docx_xml(
            f'<w:p {nsdecls("w")}><w:pPr><w:pStyle w:val="Subparagraph2"/></w:pPr>'
            "<w:r><w:t>(c)</w:t></w:r><w:r><w:tab/><w:t>Publish [its data].</w:t></w:r></w:p>"
        )
        monitor.addnext(added)

    parsed = parse_docx(edited(export_docx(text), edit))
    messages = [w.message for w in parsed.warnings]
    assert "tracked insertion by Brazil on 2026-05-01T10:00:00Z kept: ' [and review]'" in messages
    assert "'2.' was edited in Word: its words were read from Word" in messages
    assert "subparagraph (a) was deleted in Word: left out" in messages
    assert any(
        m.startswith("a paragraph added in Word was read as a new subparagraph") for m in messages
    )
    again = build(parsed).text
    printed = bracketed_text(again, show_parties=True)
    assert "2. Parties shall report every {X} years. [and review]" in printed
    assert "Maintain an inventory" not in printed
    assert "(b) Publish [its data]." in printed  # (a) is gone: numbers are derived
    # The rest keeps its records: Parties, proposals, statuses.
    assert "[AOSIS: aim]" in printed
    assert statistics(again)["proposals"] == statistics(text)["proposals"]


def test_a_word_copy_without_the_structure_is_read_from_its_words():
    """What the model cannot take back from words alone is reported."""
    parsed = parse_docx(without_structure(export_docx(negotiated_text())))
    messages = [w.message for w in parsed.warnings]
    assert "3 Party attributions left out (a text holds no such thing)" in messages
    assert "1 clause statuses left out (a text holds no such thing)" in messages
    assert "1 tables of proposals left out (a text holds no such thing)" in messages
    again = build(parsed).text
    assert "[objective][aim]" in bracketed_text(again)
    assert "2 bis. [Parties shall cooperate in good faith.]" in bracketed_text(again)
    assert again.note("1") is not None


@pytest.mark.parametrize("name", COP21_FILES)
def test_a_word_copy_without_the_structure_keeps_the_counts(corpus, name):
    text = corpus[name]
    again = reimport(without_structure(export_docx(text, "negotiation")))
    assert statistics(again) == statistics(text)


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
