"""Read-only views of a text: as negotiators print it, and clean.

The bracketed view prints every open bracket, alternative, option and placeholder, with
derived numbers ("5 bis"), optionally each bracket's Party (`[EU: …]`). The clean view
prints the text as it would be adopted: final numbering, lifted brackets gone, and every
bracket still open resolved by a rule and listed, so that nobody mistakes a text with
open brackets for a final one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from pycrdt import Text

from drafting.brackets import BracketSpan, spans, spans_of
from drafting.numbering import Numbering
from drafting.outline import Outline, Placed
from drafting.schema import (
    BEFORE,
    BRACKET_ATTR_PREFIX,
    NOTE_ATTR,
    ClauseRecord,
    NegotiationText,
    note_markers,
)
from drafting.vocabulary import BracketKind, BracketState, ClauseKind

# Clauses that start a block of their own; their descendants are indented under them.
HEADED = (
    ClauseKind.PREAMBLE,
    ClauseKind.SECTION,
    ClauseKind.ARTICLE,
    ClauseKind.ANNEX,
    ClauseKind.FINAL_CLAUSES,
    ClauseKind.HEADING,
)
INDENT = "    "


class CleanRule(StrEnum):
    KEEP = "keep"  # keep words in lone brackets; first alternative; first option
    DROP = "drop"  # drop words in lone brackets; first alternative; first option


@dataclass(frozen=True)
class OpenBracket:
    """A bracket (or option block) still open: where it is and what it holds."""

    clause: str
    label: str
    bracket: str
    kind: str
    words: str

    def __str__(self) -> str:
        return f"{self.label or self.clause}: [{self.words}]"


@dataclass
class CleanText:
    text: str
    open_brackets: list[OpenBracket] = field(default_factory=list)


def bracketed_words(text: NegotiationText, clause_id: str, *, show_parties: bool = False) -> str:
    """A clause's words with its brackets printed: `Parties [shall][should] act`."""
    return render_bracketed(text, text.clause(clause_id).words, show_parties=show_parties)


def render_bracketed(text: NegotiationText, words: Text, *, show_parties: bool = False) -> str:
    """Any words of the text (a clause's, a footnote's) with their brackets printed."""
    depth_of = {s.id: s for s in spans_of(text, words)}
    out: list[str] = []
    stack: list[str] = []
    waiting: list[tuple[str, str]] = []  # note markers due after a bracket closes

    def close(bracket_id: str) -> None:
        out.append(_closer(depth_of[bracket_id]))
        for marker in [m for m in waiting if m[1] == bracket_id]:
            out.append(f"[^{marker[0]}]")
            waiting.remove(marker)

    for chunk, attrs in words.diff():
        markers = note_markers((attrs or {}).get(NOTE_ATTR))
        out.extend(f"[^{note}]" for note, where in markers if where == BEFORE)
        wanted = sorted(
            (depth_of[b] for b in _bracket_ids(attrs) if b in depth_of),
            key=lambda s: (s.depth, s.id),
        )
        keep = 0
        while keep < len(stack) and keep < len(wanted) and stack[keep] == wanted[keep].id:
            keep += 1
        for closing in reversed(stack[keep:]):
            close(closing)
        out.extend(f"[^{note}]" for note, _ in waiting)  # their bracket is gone
        waiting.clear()
        for opening in wanted[keep:]:
            out.append(_opener(opening, show_parties))
        stack = [s.id for s in wanted]
        out.append(chunk)
        for note, after in markers:
            if after == BEFORE:
                continue
            if after in stack:
                waiting.append((note, after))
            else:
                out.append(f"[^{note}]")
    for bracket_id in reversed(stack):
        close(bracket_id)
    out.extend(f"[^{note}]" for note, _ in waiting)
    return "".join(out)


def clean_words(text: NegotiationText, clause_id: str, rule: CleanRule = CleanRule.KEEP) -> str:
    """A clause's words with every open bracket resolved by `rule`."""
    current = {s.id: s for s in spans(text, clause_id)}
    first_of_group = _first_alternatives(current.values())
    group_size = Counter(s.group for s in current.values())
    out: list[str] = []
    for chunk, attrs in text.clause(clause_id).words.diff():
        inside = [current[b] for b in _bracket_ids(attrs) if b in current]
        if all(_survives(s, first_of_group, group_size, rule) for s in inside):
            markers = note_markers((attrs or {}).get(NOTE_ATTR))
            out.extend(f"[^{note}]" for note, where in markers if where == BEFORE)
            out.append(chunk)
            out.extend(_note_markers(attrs))
    return _tidy("".join(out))


def bracketed_text(text: NegotiationText, *, show_parties: bool = False) -> str:
    with text.transaction():  # one transaction for all reads: pycrdt opens one per read
        return _bracketed_text(text, show_parties)


def _bracketed_text(text: NegotiationText, show_parties: bool) -> str:
    outline = Outline(text)
    numbering = Numbering(text, outline)
    blocks = [text.title] if text.title else []
    for placed in outline.walk():
        if not outline.is_live(placed.clause.id):
            continue
        words = bracketed_words(text, placed.clause.id, show_parties=show_parties)
        line = _line(placed.clause, numbering, words, show_parties, text)
        if line:
            blocks.append(_indent(outline, placed) + line)
    blocks.extend(_notes(text))
    return "\n\n".join(blocks) + "\n"


def clean_text(text: NegotiationText, rule: CleanRule | str = CleanRule.KEEP) -> CleanText:
    with text.transaction():
        return _clean_text(text, CleanRule(rule))


def _clean_text(text: NegotiationText, rule: CleanRule) -> CleanText:
    outline = Outline(text)
    numbering = Numbering(text, outline, final=True)
    negotiation_numbers = Numbering(text, outline)
    blocks = [text.title] if text.title else []
    still_open: list[OpenBracket] = []
    for placed in outline.walk():
        record = placed.clause
        if not outline.is_live(record.id) or _loses_by_default(outline, record):
            continue
        label = negotiation_numbers.label(record)
        still_open.extend(_open_in(text, record, label))
        if record.kind == ClauseKind.OPTIONS and not record.chosen:
            still_open.append(OpenBracket(record.id, label, "", "options", "option block"))
        clause_in_brackets = (
            record.bracket and text.bracket(record.bracket).state == BracketState.OPEN
        )
        if clause_in_brackets and rule == CleanRule.DROP:
            continue
        words = clean_words(text, record.id, rule)
        line = _line(record, numbering, words, False, text, clean=True)
        if line:
            blocks.append(_indent(outline, placed, clean=True) + line)
    blocks.extend(_notes(text))
    return CleanText("\n\n".join(blocks) + "\n", still_open)


def _line(
    record: ClauseRecord,
    numbering: Numbering,
    words: str,
    show_parties: bool,
    text: NegotiationText,
    *,
    clean: bool = False,
) -> str:
    kind = record.kind
    if kind == ClauseKind.OPTIONS:
        return words
    if kind == ClauseKind.OPTION and (clean or _chosen(record, text)):
        return words  # the option chosen stands in the text without its label
    if kind == ClauseKind.PREAMBLE:
        label = "Preamble"
    elif kind == ClauseKind.RECITAL and text.kind == "treaty":
        label = ""
    else:
        label = numbering.label(record)
    if not clean and record.bracket and text.bracket(record.bracket).state == BracketState.OPEN:
        party = text.bracket(record.bracket).party
        prefix = f"{party}: " if show_parties and party else ""
        if kind in HEADED and label:
            label = f"[{prefix}{label}]"
        else:
            return f"[{prefix}{' '.join(p for p in (label, words) if p)}]"
    if kind == ClauseKind.PREAMBLE and words:
        return f"{label}\n\n{words}"
    return " ".join(p for p in (label, words) if p)


def _chosen(record: ClauseRecord, text: NegotiationText) -> bool:
    return text.has_clause(record.parent) and text.clause(record.parent).chosen == record.id


def _indent(outline: Outline, placed: Placed, *, clean: bool = False) -> str:
    depth = 0
    for ancestor in outline.ancestors(placed.clause.id):
        if ancestor.kind in HEADED:
            break
        if ancestor.kind == ClauseKind.OPTIONS:
            continue  # its options are indented once, not twice
        if clean and ancestor.kind == ClauseKind.OPTION:
            continue
        depth += 1
    return INDENT * depth


def _loses_by_default(outline: Outline, record: ClauseRecord) -> bool:
    """In the clean text an unresolved option block stands as its first option."""
    for node in [record, *outline.ancestors(record.id)]:
        if node.kind != ClauseKind.OPTION:
            continue
        block = outline.records.get(outline.parent_of[node.id])
        if block is not None and not block.chosen:
            options = [c for c in outline.children(block.id) if c.kind == ClauseKind.OPTION]
            if options and options[0].id != node.id:
                return True
    return False


def _open_in(text: NegotiationText, record: ClauseRecord, label: str) -> list[OpenBracket]:
    found = []
    if record.bracket and text.bracket(record.bracket).state == BracketState.OPEN:
        found.append(OpenBracket(record.id, label, record.bracket, "clause", str(record.words)))
    words = str(record.words)
    for s in spans(text, record.id):
        found.append(OpenBracket(record.id, label, s.id, s.kind, words[s.start : s.end]))
    return found


def _bracket_ids(attrs: dict | None) -> list[str]:
    return [k[len(BRACKET_ATTR_PREFIX) :] for k in attrs or {} if k.startswith(BRACKET_ATTR_PREFIX)]


def _note_markers(attrs: dict | None) -> list[str]:
    return [
        f"[^{note}]"
        for note, where in note_markers((attrs or {}).get(NOTE_ATTR))
        if where != BEFORE
    ]


def _opener(span: BracketSpan, show_parties: bool) -> str:
    mark = "{" if span.kind == BracketKind.PLACEHOLDER else "["
    return f"{mark}{span.party}: " if show_parties and span.party else mark


def _closer(span: BracketSpan) -> str:
    return "}" if span.kind == BracketKind.PLACEHOLDER else "]"


def _first_alternatives(current) -> set[str]:
    firsts: dict[str, BracketSpan] = {}
    for s in current:
        if s.group not in firsts or s.start < firsts[s.group].start:
            firsts[s.group] = s
    return {s.id for s in firsts.values()}


def _survives(
    span: BracketSpan, first_of_group: set[str], group_size: Counter, rule: CleanRule
) -> bool:
    if group_size[span.group] > 1:  # alternatives: the first one stands
        return span.id in first_of_group
    return rule == CleanRule.KEEP


def _tidy(words: str) -> str:
    """Dropped words leave doubled spaces and spaces before punctuation behind."""
    while "  " in words:
        words = words.replace("  ", " ")
    for mark in (",", ".", ";", ":"):
        words = words.replace(" " + mark, mark)
    return words.strip()


def _notes(text: NegotiationText) -> list[str]:
    return [
        f"[^{note_id}]: {render_bracketed(text, text.note(note_id))}"
        for note_id in sorted(text.notes.keys(), key=_note_key)
    ]


def _note_key(note_id: str) -> tuple[int, str]:
    return (int(note_id), "") if note_id.isdigit() else (10**9, note_id)
