"""Reading back a Word document Travaux wrote: its structure part and its paragraphs.

A Travaux .docx carries the Akoma Ntoso export of the same text and a list of its
paragraphs, each paragraph starting with a hidden bookmark (`exporters.docx_structure`).
The clause tree, numbers, Parties, statuses and proposals come from the Akoma Ntoso; the
words come from Word wherever they were changed there:

- a paragraph whose words are still those written is taken from the structure, exactly;
- a paragraph edited in Word (tracked changes included: read as accepted, and reported)
  has its words read again from Word, brackets typed as brackets; its brackets keep their
  records (Party, proposal) when there are as many of the same kinds as before;
- a paragraph without a bookmark was added in Word: it becomes a new clause after the
  clause of the paragraph before it, its kind from its style;
- a clause whose paragraph is gone was deleted in Word: it is left out (its clauses stay).

Each of these is a warning. Footnotes come from the structure.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lxml import etree

from drafting.importers.akn import (
    AKN_NS,
    TVX_NS,
    _literal_brackets,
    _trimmed,
    label_number,
    read_akn,
)
from drafting.importers.parsed import (
    Bracket,
    ImportWarning,
    Inline,
    NoteRef,
    ParsedClause,
    ParsedText,
    Placeholder,
    Run,
)
from drafting.vocabulary import ClauseKind, TextKind

if TYPE_CHECKING:
    from drafting.importers.docx import _Reader

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
BOOKMARK = re.compile(r"_tvx_(\d+)$")
HEADED = (
    ClauseKind.ARTICLE,
    ClauseKind.SECTION,
    ClauseKind.ANNEX,
    ClauseKind.HEADING,
    ClauseKind.FINAL_CLAUSES,
)
# Paragraphs a Travaux export writes that are not clauses (the title, the notes, the
# table of proposals): read from the structure, never as new clauses.
OWN_STYLES = ("Treaty Title", "Notes Heading", "Note Text", "Proposals Heading", "Table Text")
NEW_KINDS = {
    "Numbered Paragraph": ClauseKind.PARAGRAPH,
    "Subparagraph": ClauseKind.SUBPARAGRAPH,
    "Option": ClauseKind.OPTION,
    "Recital": ClauseKind.RECITAL,
}
_TYPED_NUMBER = re.compile(r"^\s*(\(?[0-9A-Za-z]{1,6}(?:\s?[a-z]{3,10})?\)?\.?)\t")


def w(name: str) -> str:
    return f"{{{W}}}{name}"


def structure_of(reader: _Reader) -> etree._Element | None:
    """The Travaux structure part of the package, if it has one."""
    for rel_type, target in reader.package.rels.values():
        if not rel_type.endswith("/customXml") or target not in reader.package.zip.namelist():
            continue
        root = reader.package.xml(target)
        if root.tag == f"{{{TVX_NS}}}word":
            return root
    return None


def signature(paragraph: etree._Element) -> str:
    """The words of a Word paragraph as Word shows them with changes accepted."""
    out: list[str] = []
    for node in paragraph.iter(w("t"), w("tab")):
        if any(a.tag in (w("del"), w("moveFrom")) for a in node.iterancestors()):
            continue
        out.append("\t" if node.tag == w("tab") else node.text or "")
    return "".join(out)


def read_own(reader: _Reader, structure: etree._Element, body: etree._Element) -> ParsedText:
    akn = structure.find(f"{{{AKN_NS}}}akomaNtoso")
    if akn is None:
        return reader.read_markdown(body)
    source = read_akn(akn)
    return _Own(reader, structure, source.parsed, source.elements).read(body)


class _Own:
    def __init__(
        self,
        reader: _Reader,
        structure: etree._Element,
        parsed: ParsedText,
        elements: dict[str, ParsedClause],
    ) -> None:
        self.reader = reader
        self.parsed = parsed
        self.elements = elements
        self.lines = {entry.get("n", ""): entry for entry in structure.iter(f"{{{TVX_NS}}}line")}
        self.seen: set[str] = set()
        self.warnings: list[ImportWarning] = []

    def warn(self, message: str) -> None:
        self.warnings.append(ImportWarning(self.reader.paragraph_number, 0, message))

    def read(self, body: etree._Element) -> ParsedText:
        from drafting.importers.docx import _blocks

        previous: ParsedClause | None = None
        title_seen = False
        for element in _blocks(body):
            if element.tag != w("p"):
                continue  # the table of proposals: the proposals are in the structure
            paragraph = self.reader._paragraph(element)
            marks = [
                match.group(1)
                for start in element.iter(w("bookmarkStart"))
                if (match := BOOKMARK.match(start.get(w("name"), "")))
            ]
            entry = next((self.lines[n] for n in marks if n in self.lines), None)
            if entry is not None:
                self.seen.add(entry.get("n", ""))
                clause = self.elements.get(entry.get("eId", ""))
                if clause is None:
                    continue
                previous = clause
                if signature(element) != entry.get("text", ""):
                    self.changed(clause, entry, paragraph.spans)
                continue
            text = paragraph.text.strip()
            if not text:
                continue
            if paragraph.style in OWN_STYLES:
                if paragraph.style == "Treaty Title" and not title_seen:
                    title_seen = True
                    if text != self.parsed.title:
                        self.warn(f"the title was changed in Word: {text!r}")
                        self.parsed.title = text
                continue
            previous = self.added(previous, paragraph)
        self.deleted()
        self.reader.left_out.clear()  # Party labels and statuses: in the structure
        self.parsed.warnings = sorted(
            [*self.parsed.warnings, *self.reader.warnings, *self.warnings],
            key=lambda warning: (warning.line, warning.column),
        )
        return self.parsed

    # -- a paragraph edited in Word ---------------------------------------------------------
    def changed(self, clause: ParsedClause, entry: etree._Element, spans: list) -> None:
        part = entry.get("part", "")
        label = entry.get("label", "")
        if part == "heading" or (part == "" and clause.kind in (ClauseKind.ARTICLE,
                                                                ClauseKind.ANNEX)):  # fmt: skip
            self.warn(f"the heading {label or clause.kind!r} was changed in Word; numbers and "
                      "headings of that kind are derived, so the change was not taken")  # fmt: skip
            return
        words = _inline(spans)
        if clause.bracketed:
            words = _strip_enclosing(words)
        if label:
            words = _strip_prefix(words, label)
        words = _literal_brackets(_trimmed(words), self.reader.warnings, 0)
        old = clause.heading if (part == "title" or clause.kind in HEADED) else clause.content
        if _brackets(old) and not _keep_records(old, words):
            self.warn(
                f"the brackets of {label or clause.kind!r} were changed in Word: they were "
                "read again, without their Parties and proposals"
            )
        if part == "title" or clause.kind in HEADED:
            clause.heading = words
        else:
            clause.content = words
        self.warn(f"{label or clause.kind!r} was edited in Word: its words were read from Word")

    # -- a paragraph added in Word ----------------------------------------------------------
    def added(self, previous: ParsedClause | None, paragraph) -> ParsedClause | None:
        base = re.sub(r" \d$", "", paragraph.style)
        kind = NEW_KINDS.get(base, ClauseKind.TEXT)
        if kind == ClauseKind.PARAGRAPH and self.parsed.kind != TextKind.TREATY:
            kind = ClauseKind.OPERATIVE if previous is None or previous.kind != "paragraph" \
                else ClauseKind.PARAGRAPH  # fmt: skip
        words = _inline(paragraph.spans)
        number = ""
        first = words[0] if words and isinstance(words[0], Run) else None
        typed = _TYPED_NUMBER.match(first.text) if first is not None else None
        if typed is not None and first is not None:
            number = label_number(kind, typed.group(1))
            first.text = first.text[typed.end() :]
        clause = ParsedClause(
            kind,
            number,
            content=_literal_brackets(_trimmed(words), self.reader.warnings, 0),
            line=self.reader.paragraph_number,
        )
        siblings, index = self.place(previous)
        siblings.insert(index, clause)
        where = f"after {previous.kind} {previous.number}".rstrip() if previous else "at the start"
        self.warn(f"a paragraph added in Word was read as a new {kind} {where}")
        return clause

    def place(self, previous: ParsedClause | None) -> tuple[list[ParsedClause], int]:
        if previous is None:
            return self.parsed.clauses, 0
        found = _find(self.parsed.clauses, previous)
        if found is None:
            return self.parsed.clauses, len(self.parsed.clauses)
        siblings, index = found
        return siblings, index + 1

    # -- paragraphs deleted in Word -------------------------------------------------------------
    def deleted(self) -> None:
        gone = {
            entry.get("eId", "")
            for n, entry in self.lines.items()
            if n not in self.seen and entry.get("part") == ""
        }
        for eid in sorted(gone):
            clause = self.elements.get(eid)
            found = _find(self.parsed.clauses, clause) if clause is not None else None
            if clause is None or found is None:
                continue
            siblings, index = found
            siblings[index : index + 1] = clause.children  # its clauses stay, one level up
            name = f"{clause.kind} {clause.number}".strip()
            self.warnings.append(ImportWarning(0, 0, f"{name} was deleted in Word: left out"))


def _find(
    clauses: list[ParsedClause], wanted: ParsedClause
) -> tuple[list[ParsedClause], int] | None:
    for index, clause in enumerate(clauses):
        if clause is wanted:
            return clauses, index
        found = _find(clause.children, wanted)
        if found is not None:
            return found
    return None


def _inline(spans: list) -> list[Inline]:
    """Word's spans as inline words: runs, and footnote marks as note references."""
    found: list[Inline] = []
    for span in spans:
        if span.markup:
            found.append(NoteRef(span.text[2:-1]))
        elif (
            found
            and isinstance(found[-1], Run)
            and (found[-1].italic, found[-1].bold, found[-1].link)
            == (span.italic, span.bold, span.link)
        ):
            found[-1].text += span.text
        else:
            found.append(Run(span.text, span.italic, span.bold, span.link))
    return found


def _strip_prefix(words: list[Inline], prefix: str) -> list[Inline]:
    """`words` without a leading `prefix` (a label) and the space or tab after it."""
    first = words[0] if words and isinstance(words[0], Run) else None
    if first is None:
        return words
    text = first.text.lstrip()
    if text.startswith(prefix):
        text = text[len(prefix) :]
        first.text = text[1:] if text[:1] in ("\t", " ") else text
    return words


def _strip_enclosing(words: list[Inline]) -> list[Inline]:
    """The words of a clause in brackets, without the brackets around it."""
    first = words[0] if words and isinstance(words[0], Run) else None
    last = words[-1] if words and isinstance(words[-1], Run) else None
    if first is None or last is None or not first.text.lstrip().startswith("["):
        return words
    if not last.text.rstrip().endswith("]"):
        return words
    first.text = first.text.lstrip()[1:]
    last.text = last.text.rstrip()[:-1]
    return words


def _brackets(inline: list[Inline]) -> list[Bracket | Placeholder]:
    found: list[Bracket | Placeholder] = []
    for node in inline:
        if isinstance(node, Bracket | Placeholder):
            found.append(node)
            found.extend(_brackets(node.content))
    return found


def _keep_records(old: list[Inline], new: list[Inline]) -> bool:
    """Give the new brackets the records of the old, if they are as many of each kind."""
    before, after = _brackets(old), _brackets(new)
    if [type(b) for b in before] != [type(b) for b in after]:
        return False
    for was, now in zip(before, after, strict=True):
        now.record = was.record
    return True
