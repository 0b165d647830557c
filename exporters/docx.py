"""Word (DOCX) export with python-docx: the clean final text, or the negotiation text.

    data = export_docx(text, mode="negotiation")       # bytes of a .docx file

Clean: title, preamble (chapeau, recitals with their italic participles, the enacting
formula), articles with their titles and numbered paragraphs, sections, final clauses,
the signature block, annexes, footnotes; numbers as text (see `docx_styles`).
Negotiation: the same, with every bracket, alternative, option and placeholder printed as
negotiators print them, the Party of each bracket as an inline label (`[EU: …]`, not a
Word comment: labels print, survive copying and PDF, and are how compilation texts are
read), clause statuses, and a table of the proposals with their supporters and objectors.
Every paragraph and label has a named style (`docx_styles`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import replace

from docx import Document as new_document
from docx.document import Document
from docx.enum.section import WD_ORIENT
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm
from lxml import etree

from drafting.schema import NegotiationText
from exporters.akn import AknWriter
from exporters.document import ExportDocument, Mode, build_document
from exporters.docx_layout import NOTE_STYLE, Line, Piece, layout, note_lines, pieces
from exporters.docx_notes import Footnotes
from exporters.docx_structure import Structure
from exporters.docx_styles import install_styles

W_P, W_PPR, W_PSTYLE, W_OUTLINE = qn("w:p"), qn("w:pPr"), qn("w:pStyle"), qn("w:outlineLvl")
W_R, W_RPR, W_RSTYLE, W_VAL = qn("w:r"), qn("w:rPr"), qn("w:rStyle"), qn("w:val")
W_B, W_I, W_TAB, XML_SPACE = qn("w:b"), qn("w:i"), qn("w:tab"), qn("xml:space")
TEXT_TAGS = {"w:t": qn("w:t"), "w:delText": qn("w:delText")}
NOTE_TEXT = "Note Text"
# Column titles and widths (cm) of the table of proposals: 16 cm between the margins.
PROPOSAL_COLUMNS = (
    ("Party", 2.1),
    ("Proposal", 2.2),
    ("Clause", 1.7),
    ("Words", 4.1),
    ("Status", 2.3),
    ("Supported by", 1.8),
    ("Objected by", 1.8),
)


def export_docx(
    text: NegotiationText,
    mode: Mode | str = Mode.NEGOTIATION,
    *,
    keep_brackets: bool = False,
    language: str | None = None,
) -> bytes:
    """The text as a Word document (see the module docstring)."""
    document = build_document(text, mode, keep_brackets=keep_brackets, language=language)
    return docx_bytes(document)


def docx_bytes(document: ExportDocument) -> bytes:
    word = new_word_document(document.title, document.language)
    lines = layout(document, notes_at_end=False)
    # The same text in Akoma Ntoso, with the paragraphs' bookmarks: what the DOCX
    # importer needs to read a Travaux document back exactly (`docx_structure`).
    akn = AknWriter(document)
    structure = Structure(akn.write(), akn.clause_eids)
    # Notes no marker in the text points at (the transcriber's, a title's) are listed at
    # the end rather than lost.
    marked = {piece.note for line in lines for piece in line.pieces if piece.note}
    unmarked = [note_id for note_id in document.notes if note_id not in marked]
    lines.extend(note_lines(document, unmarked, document.negotiation))
    notes = {
        note_id: pieces(words, attributions=document.negotiation)
        for note_id, words in document.notes.items()
    }
    writer = LineWriter(word, notes, structure)
    writer.write(lines)
    writer.footnotes.attach()
    structure.attach(word)
    if document.negotiation and document.proposals:
        _proposals_table(word, document, lines)
    return save(word)


def new_word_document(title: str, language: str) -> Document:
    word = new_document()
    install_styles(word)
    section = word.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.5))
    properties = word.core_properties
    properties.title = title
    properties.language = language
    properties.author = "Travaux"
    _set_language(word, language)
    # The template's empty first paragraph would stand before the title.
    body = word.element.body
    for paragraph in list(body.iterchildren(qn("w:p"))):
        body.remove(paragraph)
    return word


def save(word: Document) -> bytes:
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


class StyleIds:
    """Style names to ids, looked up once: python-docx looks a name up in every style
    each time it is given one, which costs more than writing the whole text."""

    def __init__(self, word: Document) -> None:
        self.ids = {style.name: style.style_id for style in word.styles}
        self.body = word.element.body
        self.end = self.body.find(qn("w:sectPr"))  # paragraphs go before it

    def paragraph(self, name: str, outline: int | None = None) -> etree._Element:
        """A new paragraph at the end of the body, in style `name`, with its outline
        level for a heading (Word's navigation pane; the nesting on import)."""
        p = etree.Element(W_P)
        properties = etree.SubElement(p, W_PPR)
        etree.SubElement(properties, W_PSTYLE).set(W_VAL, self.ids[name])
        if outline is not None:
            etree.SubElement(properties, W_OUTLINE).set(W_VAL, str(min(outline, 8)))
        if self.end is not None:
            self.end.addprevious(p)
        else:
            self.body.append(p)
        return p


class LineWriter:
    """Writes lines as paragraphs; footnote markers become real footnotes."""

    def __init__(
        self, word: Document, notes: dict[str, list[Piece]], structure: Structure | None = None
    ) -> None:
        self.word = word
        self.styles = StyleIds(word)
        self.notes = notes
        self.structure = structure
        self.footnotes = Footnotes(word, self.styles.ids[NOTE_TEXT], self.styles.ids[NOTE_STYLE])

    def write(self, lines: Iterable[Line]) -> None:
        for line in lines:
            self.paragraph(line)

    def paragraph(self, line: Line) -> etree._Element:
        p = self.styles.paragraph(line.style, line.outline)
        for piece in line.pieces:
            p.append(self.run(piece))
        if self.structure is not None:
            self.structure.mark(p, line)
        return p

    def run(self, piece: Piece) -> etree._Element:
        """The run of a piece: a footnote reference for a marker whose note exists, a
        hyperlink around it when it has a link."""
        if piece.note is not None and piece.note in self.notes:
            run, note_paragraph = self.footnotes.reference(piece.text)
            for note_piece in self.notes[piece.note]:
                note_piece = replace(note_piece, note=None)  # a marker inside a note: text
                note_paragraph.append(make_run(note_piece, self.styles))
            return run
        run = make_run(piece, self.styles)
        if not piece.link:
            return run
        relationship = self.word.part.relate_to(
            piece.link, RELATIONSHIP_TYPE.HYPERLINK, is_external=True
        )
        link = etree.Element(qn("w:hyperlink"))
        link.set(qn("r:id"), relationship)
        link.append(run)
        return link


def write_lines(word: Document, lines: Iterable[Line]) -> None:
    LineWriter(word, {}).write(lines)


def make_run(piece: Piece, styles: StyleIds, *, text_tag: str = "w:t") -> etree._Element:
    """A `w:r` written directly: python-docx's run API costs a call per character.
    `text_tag` is "w:delText" for the words of a tracked deletion."""
    run = etree.Element(W_R)
    if piece.char_style or piece.italic or piece.bold:
        properties = etree.SubElement(run, W_RPR)
        if piece.char_style:
            etree.SubElement(properties, W_RSTYLE).set(W_VAL, styles.ids[piece.char_style])
        if piece.bold:
            etree.SubElement(properties, W_B)
        if piece.italic:
            etree.SubElement(properties, W_I)
    tag = TEXT_TAGS[text_tag]
    for index, part in enumerate(piece.text.split("\t")):
        if index:
            etree.SubElement(run, W_TAB)
        if part:
            element = etree.SubElement(run, tag)
            element.text = part
            element.set(XML_SPACE, "preserve")
    return run


def _set_language(word: Document, language: str) -> None:
    """The proofing language of the Normal style (and so of the text)."""
    rpr = word.styles["Normal"].element.get_or_add_rPr()
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), language)
    lang.set(qn("w:bidi"), language)
    rpr.append(lang)


def _proposals_table(word: Document, document: ExportDocument, lines: list[Line]) -> None:
    labels = {line.key: line.label or line.text[:40] for line in lines}
    word.add_paragraph("Proposals", style="Proposals Heading")
    table = word.add_table(rows=1, cols=len(PROPOSAL_COLUMNS))
    table.style = word.styles["Table Grid"]
    table.autofit = False
    for cell, (name, _) in zip(table.rows[0].cells, PROPOSAL_COLUMNS, strict=True):
        cell.text = name
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for proposal in document.proposals:
        words = proposal.words or proposal.replaced
        if proposal.kind == "replace" and proposal.replaced:
            words = f"{proposal.replaced} → {proposal.words}"
        row = table.add_row().cells
        values = (
            proposal.party,
            proposal.kind,
            labels.get(proposal.clause, "(clause no longer in the text)"),
            words,
            proposal.status,
            ", ".join(proposal.supporters) or "—",
            ", ".join(proposal.objectors) or "—",
        )
        for cell, value in zip(row, values, strict=True):
            cell.text = value
    for column, (_, width) in zip(table.columns, PROPOSAL_COLUMNS, strict=True):
        column.width = Cm(width)
        for cell in column.cells:
            cell.width = Cm(width)
            for paragraph in cell.paragraphs:
                paragraph.style = word.styles["Table Text"]
