"""What an importer produces: a parsed negotiation text, before it becomes a CRDT document.

Importers (UNFCCC Markdown, later DOCX and Akoma Ntoso) turn a source file into this plain
tree; `drafting.importing.build_text` turns the tree into a document through the model's
operations. Keeping the two apart lets each importer be tested on its own, without pycrdt.

Inline content is a list of nodes: plain runs of words (with emphasis kept, since preamble
participles are italic), brackets (which nest), placeholders and footnote references.
Adjacent brackets with nothing between them (`[shall][should]`) are two `Bracket` nodes
side by side; the builder makes them alternatives of one another.

A source that records the negotiation itself (a Travaux Akoma Ntoso export) also gives
the records: ids, Parties, statuses, proposals and times. Those fields are empty (or
None) for a source that has none, and the builder then derives what it needs.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Run:
    """Words as written, with their Markdown emphasis and link target (if any)."""

    text: str
    italic: bool = False
    bold: bool = False
    link: str | None = None


@dataclass
class BracketRecord:
    """What a source says of a bracket beyond its words (all optional).

    `group` is the bracket's alternatives group ("" for a group of its own); None lets the
    builder group adjacent brackets. `parent` is None when the enclosing bracket decides.
    """

    id: str = ""
    party: str = ""
    proposal: str = ""
    created: str = ""
    group: str | None = None
    parent: str | None = None


@dataclass
class Bracket:
    """`[ … ]`: words not agreed. `closed` is False when the source never closed it."""

    content: list[Inline]
    line: int
    column: int
    closed: bool = True
    record: BracketRecord | None = None


@dataclass
class Placeholder:
    """`{ … }`: a slot agreed to exist whose content is open."""

    content: list[Inline]
    line: int
    column: int
    record: BracketRecord | None = None


@dataclass
class NoteRef:
    """A footnote marker such as `[^3]`: points at `ParsedText.notes["3"]`."""

    note: str


Inline = Run | Bracket | Placeholder | NoteRef


@dataclass
class ParsedClause:
    """One structural unit of the text.

    `kind` is one of the values of `drafting.vocabulary.ClauseKind`. `number` is the
    number as the source prints it ("2", "2bis", "(a)", "I", "Option 1" → "1"), or "" when
    the clause is unnumbered. `heading` holds a title (an article's "(purpose)", a
    section's name); `content` the clause's own words. `bracketed` is True when the whole
    clause is in brackets in the source (`## [Article 3bis]`).
    """

    kind: str
    number: str = ""
    heading: list[Inline] = field(default_factory=list)
    content: list[Inline] = field(default_factory=list)
    children: list[ParsedClause] = field(default_factory=list)
    bracketed: bool = False
    line: int = 0
    # Records, when the source has them (else derived by the builder):
    id: str = ""
    status: str = ""  # "" → pending, or bracketed if it holds brackets
    party: str = ""
    created: str = ""
    base: bool | None = None  # None → from the number ("5 bis" is inserted)
    chosen: str = ""  # an option block: the id of the option kept
    bracket: BracketRecord | None = None  # the record of the whole-clause bracket


@dataclass
class ParsedParty:
    code: str
    name: str
    kind: str
    members: list[str] = field(default_factory=list)


@dataclass
class ParsedProposal:
    """A proposal as the source records it (see `drafting.proposals`)."""

    id: str
    kind: str
    party: str
    clause: str
    status: str
    words: str = ""
    replaced: str = ""
    brackets: dict[str, str] = field(default_factory=dict)  # bracket id -> added | around
    target: dict[str, str | None] = field(default_factory=dict)
    created: str = ""
    updated: str = ""
    supporters: dict[str, str] = field(default_factory=dict)  # Party -> time
    objectors: dict[str, str] = field(default_factory=dict)


@dataclass
class SettledBracket:
    """A bracket record the text no longer shows (lifted, or its words gone), kept
    because proposals name it."""

    id: str
    kind: str
    clause: str
    group: str = ""
    parent: str = ""
    party: str = ""
    proposal: str = ""
    state: str = "open"
    created: str = ""
    lifted: str = ""


@dataclass
class ImportWarning:
    """Something the importer repaired; the text was still imported."""

    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}, column {self.column}: {self.message}"


@dataclass
class ParsedText:
    kind: str
    title: str
    clauses: list[ParsedClause]
    notes: dict[str, list[Inline]] = field(default_factory=dict)
    source_note: str = ""
    warnings: list[ImportWarning] = field(default_factory=list)
    # The negotiation's records, when the source has them:
    languages: list[str] = field(default_factory=list)
    revision: str = ""
    created: str = ""
    parties: list[ParsedParty] = field(default_factory=list)
    proposals: list[ParsedProposal] = field(default_factory=list)
    settled_brackets: list[SettledBracket] = field(default_factory=list)


class SourceError(ValueError):
    """Input that cannot be read as a negotiation text at all (with where and why)."""

    def __init__(self, message: str, line: int = 0, column: int = 0) -> None:
        self.line = line
        self.column = column
        where = f"line {line}, column {column}: " if line else ""
        super().__init__(where + message)
