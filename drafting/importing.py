"""Turn a parsed source (see `drafting.importers.parsed`) into a negotiation text.

The importer of a format only parses; this module builds the document, so every format
produces the same structure: clause records, words with bracket attributes, adjacent
brackets grouped as alternatives, footnotes as notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from drafting.brackets import create_record
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
from drafting.importers.unfccc_markdown import parse_markdown
from drafting.ordering import first_keys
from drafting.schema import (
    BEFORE,
    BOLD_ATTR,
    ITALIC_ATTR,
    LINK_ATTR,
    NOTE_ATTR,
    SCHEMA_VERSION,
    NegotiationText,
    bracket_attr,
    format_note_markers,
    new_id,
    note_markers,
    now,
)
from drafting.vocabulary import BracketKind, ClauseKind, ClauseStatus

# "2bis", "3 ter", "8 bis": numbers given to clauses inserted during negotiation.
INSERTED_NUMBER = re.compile(
    r"\d\s*(bis|ter|quater|quinquies|sexies|septies|octies|novies|decies)\b", re.IGNORECASE
)


@dataclass
class ImportResult:
    text: NegotiationText
    warnings: list[ImportWarning] = field(default_factory=list)


def import_markdown(source: str) -> ImportResult:
    """Read a UNFCCC-style Markdown or plain-text negotiation text."""
    return build(parse_markdown(source))


def build_text(parsed: ParsedText, *, language: str = "en") -> NegotiationText:
    return build(parsed, language=language).text


def build(parsed: ParsedText, *, language: str = "en") -> ImportResult:
    """The document of a parsed text, with the parser's warnings and the builder's."""
    text = NegotiationText()
    warnings: list[ImportWarning] = []
    with text.transaction(origin="import"):
        for key, value in {
            "schema": SCHEMA_VERSION,
            "kind": str(parsed.kind),
            "title": parsed.title,
            "languages": [language],
            "revision": "",
            "source_note": parsed.source_note,
            "created": now(),
        }.items():
            text.set_meta(key, value)
        _Builder(text, warnings).clauses(parsed.clauses, parent="")
        for note_id, content in parsed.notes.items():
            _write_inline(text, text.create_note(note_id), content, "", warnings)
    found = sorted([*parsed.warnings, *warnings], key=lambda w: (w.line, w.column))
    return ImportResult(text, found)


class _Builder:
    def __init__(self, text: NegotiationText, warnings: list[ImportWarning]) -> None:
        self.text = text
        self.warnings = warnings

    def clauses(self, clauses: list[ParsedClause], parent: str) -> None:
        for parsed, order in zip(clauses, first_keys(len(clauses)), strict=True):
            clause_id = new_id("c")
            record = self.text.create_clause(
                clause_id,
                {
                    "kind": str(parsed.kind),
                    "parent": parent,
                    "order": order,
                    "base": not INSERTED_NUMBER.search(parsed.number),
                    "number": parsed.number,
                    "status": str(ClauseStatus.PENDING),
                    "bracket": "",
                    "chosen": "",
                    "party": "",
                    "created": now(),
                },
            )
            # A preamble's heading is its kind ("Preamble"), printed from the kind.
            heading = [] if parsed.kind == ClauseKind.PREAMBLE else parsed.heading
            inline = list(heading)
            if heading and parsed.content:
                inline.append(Run(" "))
            inline.extend(parsed.content)
            has_brackets = _write_inline(self.text, record.words, inline, clause_id, self.warnings)
            if parsed.bracketed:
                bracket_id = new_id("b")
                create_record(self.text, bracket_id, BracketKind.CLAUSE, clause_id)
                record.bracket = bracket_id
                has_brackets = True
            if has_brackets:
                record.status = str(ClauseStatus.BRACKETED)
            self.clauses(parsed.children, parent=clause_id)


def _write_inline(
    text: NegotiationText,
    ytext: Any,
    inline: list[Inline],
    clause_id: str,
    warnings: list[ImportWarning],
) -> bool:
    """Append inline content to a Y.Text; return whether it held any bracket."""
    writer = _InlineWriter(text, ytext, clause_id, warnings)
    writer.write(inline, enclosing=[], parent="")
    writer.flush()
    return writer.brackets > 0


class _InlineWriter:
    """Collects (words, attrs) runs, then inserts them in one pass at the end."""

    def __init__(
        self, text: NegotiationText, ytext: Any, clause_id: str, warnings: list[ImportWarning]
    ) -> None:
        self.text = text
        self.ytext = ytext
        self.clause_id = clause_id
        self.runs: list[tuple[str, dict[str, Any]]] = []
        self.brackets = 0
        self.warnings = warnings
        self.leading: list[tuple[str, str]] = []

    def write(self, inline: list[Inline], enclosing: list[str], parent: str) -> None:
        group = ""  # the group of the bracket just written, while brackets stay adjacent
        closed = ""  # the bracket that closed just before, which a note marker may follow
        for node in inline:
            if isinstance(node, Run):
                if node.text:
                    group = closed = ""
                    self.runs.append((node.text, self._attrs(node, enclosing)))
            elif isinstance(node, NoteRef):
                self._attach_note(node.note, after=closed)
            elif not _has_words(node.content):
                self._wordless(node, enclosing)
            else:
                closed = self._bracket(node, enclosing, parent, group)
                group = (group or closed) if isinstance(node, Bracket) else ""

    def _bracket(
        self, node: Bracket | Placeholder, enclosing: list[str], parent: str, group: str
    ) -> str:
        kind = BracketKind.PLACEHOLDER if isinstance(node, Placeholder) else BracketKind.BRACKET
        bracket_id = new_id("b")
        adjacent = kind == BracketKind.BRACKET and group
        create_record(
            self.text,
            bracket_id,
            kind,
            self.clause_id,
            parent=parent,
            group=group if adjacent else "",
        )
        if adjacent and self.text.bracket(group).group != group:
            self.text.bracket(group).group = group
        self.brackets += 1
        self.write(node.content, [*enclosing, bracket_id], bracket_id)
        return bracket_id

    def _wordless(self, node: Bracket | Placeholder, enclosing: list[str]) -> None:
        """A bracket around nothing but footnote markers ("Parties[[^9]]") brackets no
        words: its markers are kept, the empty brackets are not."""
        self.write(node.content, enclosing, "")
        self.warnings.append(
            ImportWarning(
                node.line, node.column, "brackets around no words (only a footnote marker) dropped"
            )
        )

    def _attrs(self, run: Run, enclosing: list[str]) -> dict[str, Any]:
        attrs: dict[str, Any] = {bracket_attr(b): True for b in enclosing}
        if run.italic:
            attrs[ITALIC_ATTR] = True
        if run.bold:
            attrs[BOLD_ATTR] = True
        if run.link:
            attrs[LINK_ATTR] = run.link
        return attrs

    def _attach_note(self, note_id: str, *, after: str) -> None:
        if not self.runs:
            self.leading.append((note_id, BEFORE))  # printed before the first character
            return
        words, attrs = self.runs[-1]
        if len(words) > 1:
            self.runs[-1] = (words[:-1], attrs)
            self.runs.append((words[-1], dict(attrs)))
        last_words, last_attrs = self.runs[-1]
        notes = [*note_markers(last_attrs.get(NOTE_ATTR)), (note_id, after)]
        self.runs[-1] = (last_words or " ", {**last_attrs, NOTE_ATTR: format_note_markers(notes)})

    def flush(self) -> None:
        if self.leading:
            if not self.runs:
                self.runs.append((" ", {}))  # a clause of nothing but markers
            words, attrs = self.runs[0]
            first = (words[0], {**attrs, NOTE_ATTR: format_note_markers(self.leading)})
            self.runs[0:1] = [first, (words[1:], attrs)] if len(words) > 1 else [first]
        offset = 0
        for words, attrs in self.runs:
            self.ytext.insert(offset, words, attrs)  # {} clears: no inheriting
            offset += len(words.encode("utf-8"))


def _has_words(inline: list[Inline]) -> bool:
    return any(
        (isinstance(node, Run) and node.text)
        or (isinstance(node, Bracket | Placeholder) and _has_words(node.content))
        for node in inline
    )
