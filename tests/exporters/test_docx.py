"""Word export: the final text in named styles, the negotiation text as negotiators print
it (brackets, Parties, statuses, options, proposals), real footnotes and links."""

from __future__ import annotations

import io

import docx
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE
from lxml import etree

from drafting.views import clean_text
from exporters.document import OpenBracketsError
from exporters.docx import export_docx
from tests.cop21 import COP21_FILES

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def open_docx(data: bytes) -> docx.document.Document:
    return docx.Document(io.BytesIO(data))


def texts(document: docx.document.Document) -> list[str]:
    return [paragraph.text for paragraph in document.paragraphs]


def paragraph(document: docx.document.Document, starting: str) -> docx.text.paragraph.Paragraph:
    return next(p for p in document.paragraphs if p.text.startswith(starting))


def runs_in_style(document: docx.document.Document, style: str) -> list[str]:
    return [run.text for p in document.paragraphs for run in p.runs if run.style.name == style]


def footnotes(document: docx.document.Document) -> list[str]:
    part = next(
        rel.target_part
        for rel in document.part.rels.values()
        if rel.reltype == RELATIONSHIP_TYPE.FOOTNOTES
    )
    root = etree.fromstring(part.blob)
    notes = root.findall(f"{W}footnote")
    return ["".join(n.itertext()) for n in notes if n.get(f"{W}type") is None]


@pytest.mark.parametrize("name", COP21_FILES)
def test_every_corpus_file_exports_in_both_modes(corpus, name):
    for mode in ("negotiation", "clean"):
        document = open_docx(export_docx(corpus[name], mode, keep_brackets=True))
        assert len(document.paragraphs) > 100, (name, mode)


def test_the_final_text_reads_as_the_clean_view(corpus):
    text = corpus["draft-agreement-12-dec-2015.md"]
    document = open_docx(export_docx(text, "clean"))
    printed = [t.replace("\t", " ") for t in texts(document)]
    expected = [
        block.strip() for block in clean_text(text).text.split("\n\n") if block != "Preamble"
    ]
    assert printed == expected


def test_the_final_text_has_the_source_wording(corpus, cop21_dir):
    document = open_docx(export_docx(corpus["draft-agreement-12-dec-2015.md"], "clean"))
    source = (cop21_dir / "draft-agreement-12-dec-2015.md").read_text(encoding="utf-8")
    printed = set(texts(document))
    for line in (
        "The Parties to this Agreement,",
        "Have agreed as follows:",
        "The Secretary-General of the United Nations shall be the Depositary of this Agreement.",
        "DONE at Paris this twelfth day of December two thousand and fifteen.",
    ):
        assert line in source and line in printed
    article_2 = next(t for t in printed if t.startswith("1.\tThis Agreement, in enhancing"))
    assert article_2.removeprefix("1.\t") in source


def test_styles_are_named_for_a_secretariat_to_restyle(corpus):
    document = open_docx(export_docx(corpus["draft-agreement-12-dec-2015.md"], "clean"))
    used = {p.style.name for p in document.paragraphs}
    assert used == {
        "Treaty Title",
        "Preamble Chapeau",
        "Recital",
        "Enacting Formula",
        "Article Heading",
        "Numbered Paragraph",
        "Subparagraph 2",
        "Unnumbered Paragraph",
        "Signature Block",
    }
    assert document.styles["Article Heading"].base_style.name == "Heading 2"
    recital = paragraph(document, "Being Parties")
    assert recital.runs[0].text == "Being" and recital.runs[0].italic


def test_the_negotiation_text_prints_brackets_parties_and_statuses(negotiated):
    document = open_docx(export_docx(negotiated))
    first = paragraph(document, "1.\tThe ")
    assert (
        first.text == "1.\tThe [AOSIS: objective][AOSIS: aim] of this Agreement is to [slow]"
        "[halt] the loss of glaciers."
    )
    assert runs_in_style(document, "Party Attribution").count("AOSIS: ") == 2
    inserted = paragraph(document, "[G77/China")
    assert inserted.text == "[G77/China: 2 bis.\tParties shall cooperate in good faith.]"
    inventory = paragraph(document, "(a)")
    assert inventory.runs[-1].text == " (agreed ad ref)"
    assert inventory.runs[-1].style.name == "Clause Status"
    assert paragraph(document, "2.\t").text == "2.\tParties shall report every {X} years."
    assert runs_in_style(document, "Option Label") == ["Option 1:", "Option 2:"]
    assert "3.\tيجب على الأطراف [حماية][صون] الأنهار الجليدية." in texts(document)
    assert "Preamble" in texts(document)


def test_proposals_are_tabled_with_their_supporters_and_objectors(negotiated):
    document = open_docx(export_docx(negotiated))
    [table] = document.tables
    rows = [[cell.text for cell in row.cells] for row in table.rows]
    assert rows[0] == [
        "Party",
        "Proposal",
        "Clause",
        "Words",
        "Status",
        "Supported by",
        "Objected by",
    ]
    assert ["AOSIS", "replace", "1.", "objective → aim", "tabled", "EU", "G77/China"] in rows
    assert ["EU", "insert", "(a)", " every five years", "withdrawn", "—", "—"] in rows


def test_footnotes_are_word_footnotes_and_links_are_hyperlinks(negotiated):
    document = open_docx(export_docx(negotiated))
    assert footnotes(document) == ["1As estimated by the [IPCC]."]  # mark, tab, words
    body = document.element.body
    [reference] = body.iter(f"{W}footnoteReference")
    assert reference.getparent().findtext(f"{W}t") == "1"
    [link] = body.iter(f"{W}hyperlink")
    target = document.part.rels[
        link.get("{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id")
    ].target_ref
    assert target == "https://example.org/glaciers"
    assert link.xpath("string(.)") == "protection of glaciers"


def test_a_clean_copy_keeps_brackets_but_no_attributions(negotiated):
    with pytest.raises(OpenBracketsError):
        export_docx(negotiated, "clean")
    document = open_docx(export_docx(negotiated, "clean", keep_brackets=True))
    assert runs_in_style(document, "Party Attribution") == []
    assert runs_in_style(document, "Clause Status") == []
    assert document.tables == []
    assert "[2 bis.\tParties shall cooperate in good faith.]" in texts(document)
    assert "Preamble" in texts(document)  # not final: the draft's layout
