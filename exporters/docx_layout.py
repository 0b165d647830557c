"""An export as the paragraphs of a Word document: a style and styled pieces of text each.

The DOCX writer and the redline both print these lines, so a redline looks exactly like
the document it compares. Each line has a `key` (the clause it comes from, or a name such
as "#title") by which the redline pairs the lines of two versions of one text.

How negotiators print a text, and so the lines: "Article 3" centred and its title below
it; "1.", "(a)" and their words on a hanging indent; "Option 1:" in bold before its
words; brackets as `[` `]`, placeholders as `{` `}`; in negotiation mode the Party after
the opening bracket (`[EU: …]`, in the `Party Attribution` style) and a clause's status
after its words when it is agreed, agreed ad referendum or parked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from drafting.vocabulary import ClauseKind, ClauseStatus
from exporters.document import HEADED, ExportDocument, Node, signature_nodes
from exporters.docx_styles import level_style
from exporters.inline import Bracketed, Inline, NoteMarker, Words

PARTY_STYLE = "Party Attribution"
STATUS_STYLE = "Clause Status"
OPTION_STYLE = "Option Label"
NOTE_STYLE = "Note Reference"
SHOWN_STATUSES = (ClauseStatus.AGREED_AD_REF, ClauseStatus.AGREED, ClauseStatus.PARKED)


@dataclass
class Piece:
    text: str
    italic: bool = False
    bold: bool = False
    link: str | None = None
    char_style: str | None = None
    note: str | None = None  # a footnote marker: the note's id
    bracket: str = ""  # the innermost open bracket around these words (its id)
    party: str = ""  # that bracket's Party


@dataclass
class Line:
    key: str
    style: str
    pieces: list[Piece] = field(default_factory=list)
    kind: str = ""
    label: str = ""
    party: str = ""  # the Party that proposed the clause, if any
    outline: int | None = None  # a heading's level in the document outline (0 = top)

    @property
    def text(self) -> str:
        return "".join(piece.text for piece in self.pieces)


def layout(
    document: ExportDocument, *, attributions: bool | None = None, notes_at_end: bool = True
) -> list[Line]:
    """The lines of `document`; `attributions` (default: in negotiation mode) prints the
    Parties of brackets and the statuses of clauses; `notes_at_end` lists the footnotes
    under a "Notes" heading (else the writer makes them real footnotes)."""
    shown = document.negotiation if attributions is None else attributions
    return _Layout(document, shown, notes_at_end).run()


def pieces(inline: list[Inline], *, attributions: bool) -> list[Piece]:
    found: list[Piece] = []
    _pieces(inline, found, attributions, "", "")
    return found


def _pieces(
    inline: list[Inline], found: list[Piece], attributions: bool, bracket: str, party: str
) -> None:
    for node in inline:
        if isinstance(node, Words):
            found.append(
                Piece(node.text, node.italic, node.bold, node.link, None, None, bracket, party)
            )
        elif isinstance(node, NoteMarker):
            found.append(Piece(node.note, char_style=NOTE_STYLE, note=node.note, bracket=bracket))
        elif isinstance(node, Bracketed):
            span = node.span
            opener, closer = ("{", "}") if node.placeholder else ("[", "]")
            found.append(Piece(opener, bracket=span.id, party=span.party))
            if attributions and span.party:
                label = Piece(f"{span.party}: ", char_style=PARTY_STYLE)
                label.bracket, label.party = span.id, span.party
                found.append(label)
            _pieces(node.children, found, attributions, span.id, span.party)
            found.append(Piece(closer, bracket=span.id, party=span.party))


def note_lines(document: ExportDocument, note_ids: list[str], attributions: bool) -> list[Line]:
    """Footnotes listed under a "Notes" heading: "3<tab>words"."""
    if not note_ids:
        return []
    lines = [Line("#notes", "Notes Heading", [Piece("Notes")], outline=0)]
    for note_id in note_ids:
        marker = Piece(note_id, char_style=NOTE_STYLE)
        line = Line(f"#note:{note_id}", "Note Text", [marker, Piece("\t")])
        line.pieces.extend(pieces(document.notes[note_id], attributions=attributions))
        lines.append(line)
    return lines


# Kinds whose headings hold other headings: the document outline.
OUTLINED = (ClauseKind.SECTION, ClauseKind.ARTICLE, ClauseKind.ANNEX, ClauseKind.FINAL_CLAUSES)


class _Layout:
    def __init__(self, document: ExportDocument, attributions: bool, notes_at_end: bool) -> None:
        self.doc = document
        self.attributions = attributions
        self.notes_at_end = notes_at_end
        self.signature = {node.id for node in signature_nodes(document.clauses)}
        self.lines: list[Line] = []
        self.outline = 0

    def run(self) -> list[Line]:
        if self.doc.title:
            self.lines.append(Line("#title", "Treaty Title", [Piece(self.doc.title)]))
        for node in self.doc.clauses:
            self.node(node, 0, closing_formula=False, outline=0)
        if self.notes_at_end:
            self.lines.extend(note_lines(self.doc, list(self.doc.notes), self.attributions))
        return self.lines

    def words(self, inline: list[Inline]) -> list[Piece]:
        return pieces(inline, attributions=self.attributions)

    # -- clauses --------------------------------------------------------------------------
    def node(self, node: Node, depth: int, *, closing_formula: bool, outline: int) -> None:
        kind = node.kind
        self.outline = outline
        if kind == ClauseKind.PREAMBLE:
            self.preamble(node, outline)
            return
        if kind == ClauseKind.ARTICLE:
            self.headed(node, "Article Heading", node.label, "Article Title")
        elif kind == ClauseKind.ANNEX:
            number = node.number or node.label.rstrip(".")
            self.headed(node, "Annex Heading", f"Annex {number}".strip(), "Annex Title")
        elif kind in HEADED:  # sections, headings, final clauses: one line
            self.add(node, "Section Heading", self.label_and_words(node, " "))
            self.lines[-1].outline = outline
        elif kind == ClauseKind.OPTIONS:
            if node.words:
                self.add(node, level_style("Unnumbered Paragraph", depth), self.words(node.words))
        elif kind == ClauseKind.OPTION:
            label = Piece(node.label, char_style=OPTION_STYLE)
            body = [label, Piece(" "), *self.words(node.words)] if node.words else [label]
            self.add(node, level_style("Option", depth), body)
        elif kind in (ClauseKind.PARAGRAPH, ClauseKind.OPERATIVE):
            style = level_style("Numbered Paragraph", depth)
            self.add(node, style, self.label_and_words(node, "\t"))
        elif kind == ClauseKind.SUBPARAGRAPH:
            self.add(node, level_style("Subparagraph", depth), self.label_and_words(node, "\t"))
        elif kind == ClauseKind.RECITAL:
            self.add(node, "Recital", self.label_and_words(node, " "))
        elif node.id in self.signature:
            self.add(node, "Signature Block", self.words(node.words))
        else:
            style = (
                "Enacting Formula"
                if closing_formula
                else level_style("Unnumbered Paragraph", depth)
            )
            self.add(node, style, self.label_and_words(node, " "))
        inner = 0 if kind in HEADED else depth + (0 if kind == ClauseKind.OPTIONS else 1)
        below = outline + (1 if kind in OUTLINED else 0)
        for child in node.children:
            self.node(child, inner, closing_formula=closing_formula, outline=below)

    def preamble(self, node: Node, outline: int) -> None:
        if not self.doc.final:
            heading = Line(f"{node.id}#heading", "Preamble Heading", [Piece("Preamble")])
            heading.outline = outline
            self.lines.append(heading)
        if node.words or node.bracket:
            self.add(node, "Preamble Chapeau", self.words(node.words))
        closing = len(node.children)
        while closing and node.children[closing - 1].kind == ClauseKind.TEXT:
            closing -= 1
        for index, child in enumerate(node.children):
            self.node(child, 0, closing_formula=index >= closing, outline=outline)

    def headed(self, node: Node, style: str, label: str, title_style: str) -> None:
        heading = [Piece(label)]
        if self.bracketed(node):
            heading = self.enclose(node, heading)
        line = Line(node.id, style, heading, node.kind, node.label, node.party, self.outline)
        self.lines.append(line)
        if node.words:
            title = Line(f"{node.id}#title", title_style, self.words(node.words), node.kind)
            self.lines.append(title)
        self.status(self.lines[-1], node)

    def label_and_words(self, node: Node, separator: str) -> list[Piece]:
        found = [Piece(node.label), Piece(separator)] if node.label else []
        found.extend(self.words(node.words))
        return self.enclose(node, found) if self.bracketed(node) else found

    def add(self, node: Node, style: str, body: list[Piece]) -> None:
        if node.kind == ClauseKind.OPTION and self.bracketed(node):
            body = self.enclose(node, body)
        line = Line(node.id, style, body, node.kind, node.label, node.party)
        self.status(line, node)
        self.lines.append(line)

    def bracketed(self, node: Node) -> bool:
        return node.bracket is not None

    def enclose(self, node: Node, body: list[Piece]) -> list[Piece]:
        """A whole clause in brackets: `[2 bis. …]`, `[EU: Article 3 bis]`."""
        assert node.bracket is not None
        bracket, party = node.bracket.id, node.bracket.party
        opener = [Piece("[", bracket=bracket, party=party)]
        if self.attributions and party:
            opener.append(Piece(f"{party}: ", char_style=PARTY_STYLE, bracket=bracket, party=party))
        for piece in body:
            if not piece.bracket:
                piece.bracket, piece.party = bracket, party
        return [*opener, *body, Piece("]", bracket=bracket, party=party)]

    def status(self, line: Line, node: Node) -> None:
        if self.attributions and node.status in SHOWN_STATUSES:
            line.pieces.append(Piece(f" ({node.status})", char_style=STATUS_STYLE))
