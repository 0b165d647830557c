"""Turn a parsed source (see `drafting.importers.parsed`) into a negotiation text.

The importer of a format only parses; this module builds the document, so every format
produces the same structure: clause records, words with bracket attributes, adjacent
brackets grouped as alternatives, footnotes as notes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from drafting.importers.parsed import (
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
    BOLD_ATTR,
    ITALIC_ATTR,
    LINK_ATTR,
    NOTE_ATTR,
    SCHEMA_VERSION,
    NegotiationText,
    bracket_attr,
    new_id,
    now,
)
from drafting.vocabulary import BracketKind, BracketState, ClauseStatus

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
    parsed = parse_markdown(source)
    return ImportResult(build_text(parsed), list(parsed.warnings))


def build_text(parsed: ParsedText, *, language: str = "en") -> NegotiationText:
    text = NegotiationText()
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
        _Builder(text).clauses(parsed.clauses, parent="")
        for note_id, content in parsed.notes.items():
            _write_inline(text, text.create_note(note_id), content, clause_id="")
    return text


class _Builder:
    def __init__(self, text: NegotiationText) -> None:
        self.text = text

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
            inline = list(parsed.heading)
            if parsed.heading and parsed.content:
                inline.append(Run(" "))
            inline.extend(parsed.content)
            has_brackets = _write_inline(self.text, record.words, inline, clause_id)
            if parsed.bracketed:
                bracket_id = new_id("b")
                _create_bracket(self.text, bracket_id, BracketKind.CLAUSE, clause_id, "", "")
                record.bracket = bracket_id
                has_brackets = True
            if has_brackets:
                record.status = str(ClauseStatus.BRACKETED)
            self.clauses(parsed.children, parent=clause_id)


def _write_inline(text: NegotiationText, ytext: Any, inline: list[Inline], clause_id: str) -> bool:
    """Append inline content to a Y.Text; return whether it held any bracket."""
    writer = _InlineWriter(text, ytext, clause_id)
    writer.write(inline, enclosing=[], parent="")
    writer.flush()
    return writer.brackets > 0


class _InlineWriter:
    """Collects (words, attrs) runs, then inserts them in one pass at the end."""

    def __init__(self, text: NegotiationText, ytext: Any, clause_id: str) -> None:
        self.text = text
        self.ytext = ytext
        self.clause_id = clause_id
        self.runs: list[tuple[str, dict[str, Any]]] = []
        self.brackets = 0

    def write(self, inline: list[Inline], enclosing: list[str], parent: str) -> None:
        group = ""  # the group of the bracket just written, while brackets stay adjacent
        for node in inline:
            if isinstance(node, Run):
                if node.text:
                    group = ""
                    self.runs.append((node.text, self._attrs(node, enclosing)))
            elif isinstance(node, NoteRef):
                self._attach_note(node.note)
            else:
                kind = (
                    BracketKind.PLACEHOLDER
                    if isinstance(node, Placeholder)
                    else BracketKind.BRACKET
                )
                bracket_id = new_id("b")
                adjacent = kind == BracketKind.BRACKET and group
                _create_bracket(
                    self.text, bracket_id, kind, self.clause_id, parent, group if adjacent else ""
                )
                if adjacent and self.text.bracket(group).group != group:
                    self.text.bracket(group).group = group
                group = (group or bracket_id) if kind == BracketKind.BRACKET else ""
                self.brackets += 1
                before = len(self.runs)
                self.write(node.content, [*enclosing, bracket_id], bracket_id)
                if len(self.runs) == before:
                    # An empty bracket "[]" has no words to carry it; keep a space.
                    self.runs.append(
                        (" ", {bracket_attr(b): True for b in [*enclosing, bracket_id]})
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

    def _attach_note(self, note_id: str) -> None:
        if not self.runs:
            self.runs.append(("", {}))
        words, attrs = self.runs[-1]
        if len(words) > 1:
            self.runs[-1] = (words[:-1], attrs)
            self.runs.append((words[-1], dict(attrs)))
        last_words, last_attrs = self.runs[-1]
        notes = [*str(last_attrs.get(NOTE_ATTR, "")).split(), note_id]
        self.runs[-1] = (last_words or " ", {**last_attrs, NOTE_ATTR: " ".join(notes)})

    def flush(self) -> None:
        offset = 0
        for words, attrs in self.runs:
            self.ytext.insert(offset, words, attrs)  # {} clears: no inheriting
            offset += len(words.encode("utf-8"))


def _create_bracket(
    text: NegotiationText,
    bracket_id: str,
    kind: BracketKind,
    clause_id: str,
    parent: str,
    group: str,
) -> None:
    text.create_bracket(
        bracket_id,
        {
            "kind": str(kind),
            "clause": clause_id,
            "group": group,
            "parent": parent,
            "party": "",
            "proposal": "",
            "state": str(BracketState.OPEN),
            "created": now(),
            "lifted": "",
        },
    )
