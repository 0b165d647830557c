"""The structure a Travaux Word document carries for its own import: a custom XML part.

Word paragraphs are flat: a reader cannot tell from them alone whether an option block
sits in a paragraph or after it, whether "(b bis)" was inserted or counted, who proposed a
bracket or what became of a proposal. So a Travaux .docx carries, as a custom XML data
part (which Word and LibreOffice keep, and which no reader shows), the Akoma Ntoso export
of the same text in the same mode, and a list of the document's paragraphs:

    <tvx:word xmlns:tvx="urn:x-travaux:negotiation:1" version="1">
      <tvx:line n="7" key="c3f…" eId="art_2__para_1" part="" label="1." text="1.\tThe …"/>
      …
      <akomaNtoso …>…</akomaNtoso>
    </tvx:word>

Each paragraph written from a clause starts with a hidden bookmark `_tvx_<n>`, so that the
paragraph is found again after editing in Word (bookmarks move with their paragraph).
`drafting.importers.docx` reads the structure and records from the Akoma Ntoso, and the
words from the paragraphs: a paragraph whose words differ from `text` (edited in Word,
tracked changes) is read again from Word; one without a bookmark is new; a bookmark
that is gone is a clause deleted in Word. Every such difference is reported.
"""

from __future__ import annotations

import uuid

from docx.document import Document
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml.ns import qn
from lxml import etree

from drafting.importers.akn import TVX_NS
from exporters.docx_layout import Line

CUSTOM_XML = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXml"
CUSTOM_XML_PROPS = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/customXmlProps"
)
PROPS_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.customXmlProperties+xml"
DATASTORE = "http://schemas.openxmlformats.org/officeDocument/2006/customXml"
BOOKMARK_PREFIX = "_tvx_"
STRUCTURE_VERSION = "1"


def line_signature(line: Line) -> str:
    """A line's text as Word will hold it (every run's words, tabs as tabs)."""
    return "".join(piece.text for piece in line.pieces)


class Structure:
    """Collects the paragraphs written, then adds the part to the package."""

    def __init__(self, akn: etree._Element, clause_eids: dict[str, str]) -> None:
        self.root = etree.Element(f"{{{TVX_NS}}}word", nsmap={"tvx": TVX_NS})
        self.root.set("version", STRUCTURE_VERSION)
        self.akn = akn
        self.clause_eids = clause_eids
        self.count = 0

    def mark(self, paragraph: etree._Element, line: Line) -> None:
        """Bookmark `paragraph` (written from `line`) and record the line."""
        clause, _, part = line.key.partition("#")
        if not clause:
            return  # the title, the notes: not clauses
        eid = self.clause_eids.get(clause)
        if eid is None:
            return
        self.count += 1
        number = str(self.count)
        entry = etree.SubElement(self.root, f"{{{TVX_NS}}}line")
        entry.set("n", number)
        entry.set("key", line.key)
        entry.set("eId", eid)
        entry.set("part", part)
        entry.set("label", line.label)
        entry.set("text", line_signature(line))
        start = etree.Element(qn("w:bookmarkStart"))
        start.set(qn("w:id"), str(900000 + self.count))
        start.set(qn("w:name"), f"{BOOKMARK_PREFIX}{number}")
        end = etree.Element(qn("w:bookmarkEnd"))
        end.set(qn("w:id"), str(900000 + self.count))
        properties = paragraph.find(qn("w:pPr"))
        index = 1 if properties is not None else 0
        paragraph.insert(index, start)
        paragraph.insert(index + 1, end)

    def attach(self, word: Document) -> None:
        self.root.append(self.akn)
        package = word.part.package
        item_name = package.next_partname("/customXml/item%d.xml")
        number = item_name.idx
        item = Part(
            item_name,
            "application/xml",
            etree.tostring(self.root, xml_declaration=True, encoding="UTF-8"),
            package,
        )
        props = etree.Element(f"{{{DATASTORE}}}datastoreItem", nsmap={"ds": DATASTORE})
        props.set(f"{{{DATASTORE}}}itemID", "{" + str(uuid.uuid4()).upper() + "}")
        etree.SubElement(props, f"{{{DATASTORE}}}schemaRefs")
        props_part = Part(
            PackURI(f"/customXml/itemProps{number}.xml"),
            PROPS_CONTENT_TYPE,
            etree.tostring(props, xml_declaration=True, encoding="UTF-8", standalone=False),
            package,
        )
        item.relate_to(props_part, CUSTOM_XML_PROPS)
        word.part.relate_to(item, CUSTOM_XML)
