"""Real Word footnotes, which python-docx cannot write: a `footnotes.xml` part, and a
`w:footnoteReference` where each marker stands.

A footnote keeps the source's own mark ("13", "3-2") through `w:customMarkFollows`, so
that the notes read as in the text negotiators cite rather than renumbered 1, 2, 3. A note
marked twice is two footnotes with the same words (Word ties one footnote to one mark).
"""

from __future__ import annotations

from docx.document import Document
from docx.opc.constants import CONTENT_TYPE, RELATIONSHIP_TYPE
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml.ns import nsdecls, qn
from lxml import etree

SEPARATORS = (
    f"<w:footnotes {nsdecls('w', 'r')}>"
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:pPr><w:spacing w:after="0"/></w:pPr>'
    "<w:r><w:separator/></w:r></w:p></w:footnote>"
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:pPr><w:spacing w:after="0"/>'
    "</w:pPr><w:r><w:continuationSeparator/></w:r></w:p></w:footnote>"
    "</w:footnotes>"
)


class Footnotes:
    """The footnotes part of one document, filled as markers are written."""

    def __init__(self, word: Document, note_style: str, reference_style: str) -> None:
        self.root = etree.fromstring(SEPARATORS)
        self.word = word
        self.note_style = note_style
        self.reference_style = reference_style
        self.next_id = 1

    def reference(self, mark: str) -> tuple[etree._Element, etree._Element]:
        """A run with the reference to a new footnote, and that footnote's paragraph (to
        be filled with the note's words by the caller)."""
        footnote_id = str(self.next_id)
        self.next_id += 1
        run = etree.Element(qn("w:r"))
        properties = etree.SubElement(run, qn("w:rPr"))
        etree.SubElement(properties, qn("w:rStyle")).set(qn("w:val"), self.reference_style)
        reference = etree.SubElement(run, qn("w:footnoteReference"))
        reference.set(qn("w:customMarkFollows"), "1")
        reference.set(qn("w:id"), footnote_id)
        text = etree.SubElement(run, qn("w:t"))
        text.text = mark
        footnote = etree.SubElement(self.root, qn("w:footnote"))
        footnote.set(qn("w:id"), footnote_id)
        paragraph = etree.SubElement(footnote, qn("w:p"))
        style = etree.SubElement(etree.SubElement(paragraph, qn("w:pPr")), qn("w:pStyle"))
        style.set(qn("w:val"), self.note_style)
        mark_run = etree.SubElement(paragraph, qn("w:r"))
        mark_properties = etree.SubElement(mark_run, qn("w:rPr"))
        etree.SubElement(mark_properties, qn("w:rStyle")).set(qn("w:val"), self.reference_style)
        mark_text = etree.SubElement(mark_run, qn("w:t"))
        mark_text.text = mark
        tab = etree.SubElement(paragraph, qn("w:r"))
        etree.SubElement(tab, qn("w:tab"))
        return run, paragraph

    def attach(self) -> None:
        """Add the part to the package (only if some footnote was written)."""
        if self.next_id == 1:
            return
        document_part = self.word.part
        part = Part(
            PackURI("/word/footnotes.xml"),
            CONTENT_TYPE.WML_FOOTNOTES,
            etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", standalone=True),
            document_part.package,
        )
        document_part.relate_to(part, RELATIONSHIP_TYPE.FOOTNOTES)
