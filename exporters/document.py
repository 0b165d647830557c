"""What an export prints, before any format: the clause tree, numbered and worded for one
mode, with the Parties, footnotes and proposals.

    CLEAN        the final text: final numbering, words without brackets, option blocks
                 replaced by the option chosen, no attributions. A text with open brackets
                 or option blocks is refused (`OpenBracketsError`, listing them) unless
                 `keep_brackets` is set: then they stay visible as in the bracketed view,
                 with the negotiation numbering ("5 bis"), since the text is not final.
    NEGOTIATION  the text as negotiators print it: every open bracket, alternative, option
                 and placeholder, "5 bis" numbers, and who proposed what (Parties,
                 clause statuses, proposals with supporters and objectors).

Deleted clauses and options that lost are in neither (they are history, not text), as
in `drafting.views`. The AKN, DOCX and redline writers all render an `ExportDocument`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from pycrdt import Text

from drafting.importing import INSERTED_NUMBER
from drafting.numbering import SOURCE_NUMBERED, Numbering
from drafting.outline import ROOT, Outline
from drafting.parties import Party, parties
from drafting.schema import ClauseRecord, NegotiationText
from drafting.views import OpenBracket, clean_text
from drafting.vocabulary import BracketState, ClauseKind, TextKind
from exporters.inline import Bracketed, Inline, Words, bracketed_inline, final_inline

# Kinds whose words are a title (printed as a heading), not a sentence.
HEADED = (
    ClauseKind.ARTICLE,
    ClauseKind.SECTION,
    ClauseKind.ANNEX,
    ClauseKind.HEADING,
    ClauseKind.FINAL_CLAUSES,
)


# "DONE at Paris …", "IN WITNESS WHEREOF …": the signature formula that closes a treaty.
SIGNATURE = re.compile(r"\s*(done\s+at\b|in\s+witness\s+whereof\b)", re.IGNORECASE)


class Mode(StrEnum):
    CLEAN = "clean"
    NEGOTIATION = "negotiation"


class ExportError(ValueError):
    """A text that cannot be exported as asked; the message says why and what to do."""


class OpenBracketsError(ExportError):
    """A clean export of a text that still has open brackets or option blocks."""

    def __init__(self, open_brackets: list[OpenBracket]) -> None:
        self.open_brackets = open_brackets
        count = len(open_brackets)
        shown = "; ".join(str(b) for b in open_brackets[:5])
        more = f" … and {count - 5} more" if count > 5 else ""
        self.headline = (
            f"the text is not final: {count} bracket(s) or option block(s) are still open"
        )
        super().__init__(
            f"{self.headline} ({shown}{more}); settle them, export in negotiation mode, or "
            "ask for a clean export that keeps them (keep_brackets / --keep-brackets)"
        )


@dataclass(frozen=True)
class ClauseBracket:
    """An open bracket around a whole clause."""

    id: str
    party: str = ""
    proposal: str = ""
    created: str = ""


@dataclass
class Node:
    """One clause as exported.

    `label` is printed before the words ("Article 3", "1.", "(a)", "Option 2:", "PP4");
    `number` is the bare number ("3", "5 bis", "a", "PP4"); `alternative_to` names the
    first option of the block for the options after it.
    """

    id: str
    kind: str
    label: str
    number: str
    words: list[Inline]
    children: list[Node] = field(default_factory=list)
    status: str = ""
    party: str = ""
    bracket: ClauseBracket | None = None
    alternative_to: str = ""
    # The number an importer should record so that the clause counts in the numbering (or
    # is a "bis") as it does here: see `_source_number`.
    source_number: str = ""
    base: bool = True  # counts in the numbering (False: inserted, "5 bis")
    created: str = ""  # negotiation mode: when the clause was made
    chosen: str = ""  # negotiation mode, an option block: the option kept

    @property
    def headed(self) -> bool:
        return self.kind in HEADED


@dataclass(frozen=True)
class RemovedClause:
    """A clause the text no longer shows (deleted, an option that lost, or inside one),
    kept in a negotiation export as a record: deleted clauses keep their number, so the
    numbers of the others depend on them. `after` is the sibling it follows ("" first)."""

    id: str
    kind: str
    parent: str
    after: str
    base: bool
    number: str
    status: str
    party: str
    created: str
    chosen: str
    bracket: str
    words: str


@dataclass(frozen=True)
class ProposalInfo:
    id: str
    kind: str
    party: str
    clause: str
    status: str
    words: str
    replaced: str
    created: str
    updated: str
    supporters: dict[str, str]
    objectors: dict[str, str]
    brackets: tuple[str, ...]
    roles: dict[str, str] = field(default_factory=dict)  # bracket id -> added | around
    target: dict[str, str | None] = field(default_factory=dict)  # a move's destination


@dataclass
class ExportDocument:
    mode: Mode
    keep_brackets: bool
    final: bool  # final layout: final numbers, no brackets left, options resolved
    kind: str
    title: str
    language: str
    languages: list[str]
    revision: str
    created: str
    clauses: list[Node]
    notes: dict[str, list[Inline]]
    parties: list[Party]
    proposals: list[ProposalInfo]
    open_brackets: list[OpenBracket]  # in clean mode: what is still open (else [])
    settled: bool = True  # no bracket or option block open in the text's clauses
    source_note: str = ""
    # Negotiation mode: every bracket record (id -> fields), so that an export keeps the
    # times of the brackets it shows and the records of those it no longer shows.
    bracket_records: dict[str, dict[str, str]] = field(default_factory=dict)
    removed: list[RemovedClause] = field(default_factory=list)  # negotiation mode

    @property
    def negotiation(self) -> bool:
        return self.mode == Mode.NEGOTIATION

    def walk(self) -> list[Node]:
        found: list[Node] = []

        def visit(nodes: list[Node]) -> None:
            for node in nodes:
                found.append(node)
                visit(node.children)

        visit(self.clauses)
        return found


def is_signature(node: Node) -> bool:
    """An unnumbered paragraph that is part of the signature formula."""
    words = "".join(w.text for w in node.words if isinstance(w, Words))
    return node.kind == ClauseKind.TEXT and not node.children and bool(SIGNATURE.match(words))


def signature_nodes(clauses: list[Node]) -> list[Node]:
    """The paragraphs of the signature formula that close the text: the last top-level
    clauses, or the last paragraphs of the last clause (where a transcription that has no
    heading for them leaves them, as under Article 29 of the Paris Agreement)."""
    found: list[Node] = []
    for siblings in (clauses, clauses[-1].children if clauses else []):
        index = len(siblings)
        while index and is_signature(siblings[index - 1]):
            index -= 1
        found.extend(siblings[index:])
        if found:
            break
    return found


def build_document(
    text: NegotiationText,
    mode: Mode | str = Mode.NEGOTIATION,
    *,
    keep_brackets: bool = False,
    language: str | None = None,
) -> ExportDocument:
    """The export tree of `text` in `mode` (see the module docstring)."""
    mode = Mode(mode)
    with text.transaction():  # one transaction for all reads
        languages = list(text.get_meta("languages", []) or ["en"])
        language = _language(language, languages)
        # Only a clean export needs the list (computing it costs a whole clean view).
        still_open = clean_text(text).open_brackets if mode == Mode.CLEAN else []
        if mode == Mode.CLEAN and still_open and not keep_brackets:
            raise OpenBracketsError(still_open)
        final = mode == Mode.CLEAN and not still_open
        builder = _Builder(text, mode, final)
        clauses = builder.children(ROOT)
        notes = {note_id: builder.inline(text.note(note_id)) for note_id in sorted_notes(text)}
        return ExportDocument(
            mode=mode,
            keep_brackets=keep_brackets,
            final=final,
            kind=text.kind or str(TextKind.TREATY),
            title=text.title,
            language=language,
            languages=languages,
            revision=str(text.get_meta("revision", "")),
            created=str(text.get_meta("created", "")),
            clauses=clauses,
            notes=notes,
            parties=parties(text) if mode == Mode.NEGOTIATION else [],
            proposals=_proposals(text) if mode == Mode.NEGOTIATION else [],
            open_brackets=still_open,
            settled=not builder.open_found,
            source_note=str(text.get_meta("source_note", "") or ""),
            bracket_records=_bracket_records(text) if mode == Mode.NEGOTIATION else {},
            # Deleted clauses keep their number: whatever is not renumbered needs them.
            removed=[] if final else _removed(builder.outline),
        )


def sorted_notes(text: NegotiationText) -> list[str]:
    """Footnote ids in the order the views print them: numbers first, in numeric order."""
    return sorted(text.notes.keys(), key=lambda n: (int(n), "") if n.isdigit() else (10**9, n))


def _language(asked: str | None, languages: list[str]) -> str:
    if asked is None:
        return languages[0]
    if asked not in languages:
        raise ExportError(
            f"the text has no {asked!r} version (its languages: {', '.join(languages)})"
        )
    return asked


class _Builder:
    def __init__(self, text: NegotiationText, mode: Mode, final: bool) -> None:
        self.text = text
        self.mode = mode
        self.final = final
        self.outline = Outline(text)
        self.numbering = Numbering(text, self.outline, final=final)
        self.resolved: set[str] = set()  # unnumbered paragraphs made of an option's words
        self.open_found = False  # a bracket or an option block still open (as clean_text)

    def inline(self, words: Text) -> list[Inline]:
        if self.final:
            return final_inline(self.text, words)
        return bracketed_inline(self.text, words)

    def children(self, parent: str) -> list[Node]:
        nodes: list[Node] = []
        for record in self.outline.children(parent):
            if not self.outline.is_live(record.id):
                continue
            if self.final and record.kind in (ClauseKind.OPTIONS, ClauseKind.OPTION):
                nodes.extend(self._resolved(record))
            else:
                nodes.append(self.node(record))
        return nodes

    def node(self, record: ClauseRecord) -> Node:
        node = Node(
            id=record.id,
            kind=record.kind,
            label=self._label(record),
            number=self.numbering.number(record.id),
            words=self.inline(record.words),
            children=self.children(record.id),
        )
        node.source_number = self._source_number(record, node.number)
        if (
            node.bracket is not None
            or (record.kind == ClauseKind.OPTIONS and not record.chosen)
            or any(isinstance(n, Bracketed) for n in node.words)
        ):
            self.open_found = True
        first = node.children[0] if node.children else None
        if first is not None and first.id in self.resolved and not node.words and not node.headed:
            # "50." followed by the option kept reads "50. <the option's words>".
            node.words = first.words
            node.children.pop(0)
        if record.kind == ClauseKind.OPTION and not self.final:
            node.alternative_to = self._first_option(record)
        node.base = record.base
        if not self.final:
            node.chosen = record.chosen
        if self.mode == Mode.NEGOTIATION:
            node.status = record.status
            node.party = str(record.map.get("party") or "")
            node.created = str(record.map.get("created") or "")
        if not self.final and record.bracket and self.text.has_bracket(record.bracket):
            bracket = self.text.bracket(record.bracket)
            if bracket.state == BracketState.OPEN:
                show = self.mode == Mode.NEGOTIATION
                node.bracket = ClauseBracket(
                    bracket.id,
                    bracket.party if show else "",
                    bracket.proposal if show else "",
                    str(bracket.map.get("created") or "") if show else "",
                )
        return node

    def _resolved(self, record: ClauseRecord) -> list[Node]:
        """In the final text an option block stands as the option kept, without its label:
        the option's own words as an unnumbered paragraph, then its clauses."""
        nodes: list[Node] = []
        words = self.inline(record.words)
        if words:
            nodes.append(Node(record.id, str(ClauseKind.TEXT), "", "", words))
            self.resolved.add(record.id)
        nodes.extend(self.children(record.id))
        return nodes

    def _source_number(self, record: ClauseRecord, derived: str) -> str:
        """The number to write for a re-import: importers take a clause whose number reads
        "5 bis" as inserted (not counted), any other as counted. Headings and annexes keep
        their own numbers. Otherwise the source's number if it says the right thing, else
        the derived one; a lettered insertion made in Travaux ("(a) bis", source number "")
        has no number that says so and comes back counted."""
        if record.kind in SOURCE_NUMBERED or self.mode == Mode.NEGOTIATION:
            # Negotiation mode writes the record as it is (with `base` where the number
            # does not say it): the round trip is exact.
            return record.source_number
        if self.final:
            return derived
        inserted = not record.base
        for candidate in (record.source_number, derived):
            if bool(INSERTED_NUMBER.search(candidate)) == inserted:
                return candidate
        return record.source_number

    def _label(self, record: ClauseRecord) -> str:
        if record.kind in (ClauseKind.PREAMBLE, ClauseKind.OPTIONS, ClauseKind.TEXT):
            return ""
        label = self.numbering.label(record)
        if record.kind == ClauseKind.RECITAL and not label.startswith("PP"):
            return ""  # only a resolution's recitals are numbered (PP1, PP2 …)
        if label.startswith("( ") and record.source_number:
            # An insertion before the first lettered sub-paragraph counts from nothing
            # ("( bis)"): the number its source gave it reads better ("(17bis)").
            number = record.source_number
            return number if number.startswith("(") else f"({number})"
        return label

    def _first_option(self, record: ClauseRecord) -> str:
        options = [
            c
            for c in self.outline.children(self.outline.parent_of[record.id])
            if c.kind == ClauseKind.OPTION and self.outline.is_live(c.id)
        ]
        return options[0].id if options and options[0].id != record.id else ""


BRACKET_FIELDS = ("kind", "clause", "group", "parent", "party", "proposal", "state", "created",
                  "lifted")  # fmt: skip


def _removed(outline: Outline) -> list[RemovedClause]:
    """The clauses that are not live, in document order, each placed after its sibling."""
    found: list[RemovedClause] = []

    def visit(parent: str) -> None:
        after = ""
        for record in outline.children(parent):
            if not outline.is_live(record.id):
                found.append(
                    RemovedClause(
                        id=record.id,
                        kind=record.kind,
                        parent=parent,
                        after=after,
                        base=record.base,
                        number=record.source_number,
                        status=record.status,
                        party=str(record.map.get("party") or ""),
                        created=str(record.map.get("created") or ""),
                        chosen=record.chosen,
                        bracket=record.bracket,
                        words=str(record.words),
                    )
                )
            visit(record.id)
            after = record.id

    visit(ROOT)
    return found


def _bracket_records(text: NegotiationText) -> dict[str, dict[str, str]]:
    found: dict[str, dict[str, str]] = {}
    for bracket in text.brackets():
        raw = bracket.map.to_py()  # one read of the record, not one per field
        found[bracket.id] = {key: str(raw.get(key) or "") for key in BRACKET_FIELDS}
    return found


def _proposals(text: NegotiationText) -> list[ProposalInfo]:
    found = [
        ProposalInfo(
            id=p.id,
            kind=p.kind,
            party=p.party,
            clause=p.clause,
            status=p.status,
            words=p.words,
            replaced=str(p.map.get("replaced") or ""),
            created=str(p.map.get("created") or ""),
            updated=str(p.map.get("updated") or ""),
            supporters={party: str(t) for party, t in p.supporters.items()},
            objectors={party: str(t) for party, t in p.objectors.items()},
            brackets=tuple(p.brackets),
            roles={k: str(v) for k, v in dict(p.map.get("brackets") or {}).items()},
            target=dict(p.map.get("target") or {}),
        )
        for p in text.proposals()
    ]
    return sorted(found, key=lambda p: (p.created, p.id))
