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
    BracketRecord,
    ImportWarning,
    Inline,
    NoteRef,
    ParsedClause,
    ParsedText,
    Placeholder,
    Run,
    SourceError,
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

# "2bis", "3 ter", "8 bis", "(b bis)", "(b) ter", "iv bis": numbers given to clauses
# inserted during negotiation. A letter needs a space or a parenthesis before the suffix,
# so that no word ("inter") reads as one.
INSERTED_NUMBER = re.compile(
    r"(?:\d\s*|\)\s*|\b[a-z]{1,6}\s+)"
    r"(bis|ter|quater|quinquies|sexies|septies|octies|novies|decies|undecies|duodecies)\b",
    re.IGNORECASE,
)


@dataclass
class ImportResult:
    text: NegotiationText
    warnings: list[ImportWarning] = field(default_factory=list)


def import_markdown(source: str) -> ImportResult:
    """Read a UNFCCC-style Markdown or plain-text negotiation text."""
    return build(parse_markdown(source))


def document_kind(name: str, data: bytes) -> str | None:
    """The kind of a file, by its name or content: "docx", "akn", or None (Markdown, plain)."""
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    head = bytes(data[:4096]).lstrip(b"\xef\xbb\xbf").lstrip()
    if suffix == "docx" or data[:4] == b"PK\x03\x04":
        return "docx"
    if suffix in ("xml", "akn") or (head.startswith(b"<") and b"akomaNtoso" in head):
        return "akn"
    return None


def is_document_file(name: str, data: bytes) -> bool:
    return document_kind(name, data) is not None


def import_bytes(name: str, data: bytes) -> ImportResult:
    """Any file Travaux reads, by its name and content: Word (.docx, or a zip), Akoma
    Ntoso (.xml, .akn, or XML with an <akomaNtoso> root), else UTF-8 Markdown / text.
    Raises `SourceError` for what cannot be read (with where and why)."""
    from drafting.importers.akn import read_akn
    from drafting.importers.docx import parse_docx

    kind = document_kind(name, data)
    if kind == "docx":
        return build(parse_docx(bytes(data)))
    if kind == "akn":
        source = read_akn(bytes(data))
        return build(source.parsed, language=source.language)
    try:
        source_text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as error:
        raise SourceError(
            f"not UTF-8 text, nor a .docx or Akoma Ntoso file (byte 0x{data[error.start]:02x} "
            f"at offset {error.start})"
        ) from None
    return import_markdown(source_text)


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
            "languages": list(parsed.languages) or [language],
            "revision": parsed.revision,
            "source_note": parsed.source_note,
            "created": parsed.created or now(),
        }.items():
            text.set_meta(key, value)
        for party in parsed.parties:
            text.parties[party.code] = {
                "name": party.name or party.code,
                "kind": party.kind,
                "members": list(party.members),
            }
        builder = _Builder(text, warnings)
        builder.clauses(parsed.clauses, parent="")
        for note_id, content in parsed.notes.items():
            _write_inline(text, text.create_note(note_id), content, "", warnings, builder.ids)
        _records(text, parsed, builder.ids)
    found = sorted([*parsed.warnings, *warnings], key=lambda w: (w.line, w.column))
    return ImportResult(text, found)


class _Ids:
    """The ids a source gives, kept when they are usable (a fresh one otherwise)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, wanted: str, prefix: str) -> str:
        if wanted and wanted not in self.used and _ID.fullmatch(wanted):
            self.used.add(wanted)
            return wanted
        fresh = new_id(prefix)
        self.used.add(fresh)
        return fresh


_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class _Builder:
    def __init__(self, text: NegotiationText, warnings: list[ImportWarning]) -> None:
        self.text = text
        self.warnings = warnings
        self.ids = _Ids()

    def clauses(self, clauses: list[ParsedClause], parent: str) -> None:
        for parsed, order in zip(clauses, first_keys(len(clauses)), strict=True):
            clause_id = self.ids.take(parsed.id, "c")
            base = parsed.base
            if base is None:
                base = not INSERTED_NUMBER.search(parsed.number)
            record = self.text.create_clause(
                clause_id,
                {
                    "kind": str(parsed.kind),
                    "parent": parent,
                    "order": order,
                    "base": base,
                    "number": parsed.number,
                    "status": str(ClauseStatus.PENDING),
                    "bracket": "",
                    "chosen": "",
                    "party": parsed.party,
                    "created": parsed.created or now(),
                },
            )
            # A preamble's heading is its kind ("Preamble"), printed from the kind.
            heading = [] if parsed.kind == ClauseKind.PREAMBLE else parsed.heading
            inline = list(heading)
            if heading and parsed.content:
                inline.append(Run(" "))
            inline.extend(parsed.content)
            has_brackets = _write_inline(
                self.text, record.words, inline, clause_id, self.warnings, self.ids
            )
            if parsed.bracketed:
                given = parsed.bracket or BracketRecord()
                bracket_id = self.ids.take(given.id, "b")
                create_record(
                    self.text,
                    bracket_id,
                    BracketKind.CLAUSE,
                    clause_id,
                    party=given.party,
                    proposal=given.proposal,
                )
                _stamp(self.text, bracket_id, given.created)
                record.bracket = bracket_id
                has_brackets = True
            if parsed.status:
                record.status = parsed.status
            elif has_brackets:
                record.status = str(ClauseStatus.BRACKETED)
            self.clauses(parsed.children, parent=clause_id)
            if parsed.chosen and self.text.has_clause(parsed.chosen):
                record.chosen = parsed.chosen


def _stamp(text: NegotiationText, bracket_id: str, created: str) -> None:
    if created:
        text.bracket(bracket_id).map["created"] = created


def _records(text: NegotiationText, parsed: ParsedText, ids: _Ids) -> None:
    """The records a source keeps beside the words: brackets no longer shown, proposals."""
    for settled in parsed.settled_brackets:
        if text.has_bracket(settled.id) or not _ID.fullmatch(settled.id):
            continue
        ids.used.add(settled.id)
        text.create_bracket(
            settled.id,
            {
                "kind": settled.kind,
                "clause": settled.clause,
                "group": settled.group,
                "parent": settled.parent,
                "party": settled.party,
                "proposal": settled.proposal,
                "state": settled.state,
                "created": settled.created or now(),
                "lifted": settled.lifted,
            },
        )
    for proposal in parsed.proposals:
        proposal_id = ids.take(proposal.id, "p")
        record = text.create_proposal(
            proposal_id,
            {
                "kind": proposal.kind,
                "party": proposal.party,
                "clause": proposal.clause,
                "status": proposal.status,
                "words": proposal.words,
                "replaced": proposal.replaced,
                "brackets": dict(proposal.brackets),
                "target": dict(proposal.target),
                "created": proposal.created or now(),
                "updated": proposal.updated or proposal.created or now(),
            },
        )
        for party, stamp in proposal.supporters.items():
            record.supporters[party] = stamp
        for party, stamp in proposal.objectors.items():
            record.objectors[party] = stamp


def _write_inline(
    text: NegotiationText,
    ytext: Any,
    inline: list[Inline],
    clause_id: str,
    warnings: list[ImportWarning],
    ids: _Ids,
) -> bool:
    """Append inline content to a Y.Text; return whether it held any bracket."""
    writer = _InlineWriter(text, ytext, clause_id, warnings, ids)
    writer.write(inline, enclosing=[], parent="")
    writer.flush()
    return writer.brackets > 0


class _InlineWriter:
    """Collects (words, attrs) runs, then inserts them in one pass at the end."""

    def __init__(
        self,
        text: NegotiationText,
        ytext: Any,
        clause_id: str,
        warnings: list[ImportWarning],
        ids: _Ids,
    ) -> None:
        self.ids = ids
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
        given = node.record or BracketRecord()
        bracket_id = self.ids.take(given.id, "b")
        if given.group is not None:  # the source says which brackets alternate
            create_record(
                self.text,
                bracket_id,
                kind,
                self.clause_id,
                parent=parent if given.parent is None else given.parent,
                group=given.group,
                party=given.party,
                proposal=given.proposal,
            )
        else:
            adjacent = kind == BracketKind.BRACKET and group
            create_record(
                self.text,
                bracket_id,
                kind,
                self.clause_id,
                parent=parent if given.parent is None else given.parent,
                group=group if adjacent else "",
                party=given.party,
                proposal=given.proposal,
            )
            if adjacent and self.text.bracket(group).group != group:
                self.text.bracket(group).group = group
        _stamp(self.text, bracket_id, given.created)
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
