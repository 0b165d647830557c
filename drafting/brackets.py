"""Brackets: words not agreed, as attributable spans of a clause's words.

A bracket is not a "[" character. It is a record in `brackets` plus a formatting
attribute `br:<id>` on each character it covers, so that brackets survive concurrent
typing inside them, nest, and carry the Party that proposed them. Adjacent alternatives
(`[shall][should]`) are brackets of one `group`; a lone bracket is a group of one (keep or
delete). A bracket is `lifted` when the room agrees: the kept words lose their brackets,
the other alternatives lose their words.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pycrdt import Text

from drafting.offsets import check_span, to_utf8
from drafting.parties import require_party
from drafting.schema import (
    BRACKET_ATTR_PREFIX,
    NegotiationText,
    bracket_attr,
    new_id,
    now,
)
from drafting.vocabulary import BracketKind, BracketState, ClauseStatus, ProposalStatus


class BracketError(ValueError):
    """A bracket operation that the brackets of the clause do not allow."""


@dataclass(frozen=True)
class BracketSpan:
    """An open bracket where it stands now: character positions in its clause's words."""

    id: str
    kind: str
    group: str
    parent: str
    party: str
    proposal: str
    start: int
    end: int
    depth: int

    def contains(self, other: BracketSpan) -> bool:
        return self.start <= other.start and other.end <= self.end


def spans(text: NegotiationText, clause_id: str) -> list[BracketSpan]:
    """The open brackets of a clause, outermost first, in text order.

    A bracket whose words were all deleted by editing has no span and is not listed.
    """
    return spans_of(text, text.clause(clause_id).words)


def spans_of(text: NegotiationText, words: Text) -> list[BracketSpan]:
    """The open brackets in any words of the text (a clause's, a footnote's)."""
    extents: dict[str, list[int]] = {}
    position = 0
    for chunk, attrs in words.diff():
        length = len(chunk)
        for key in attrs or {}:
            if key.startswith(BRACKET_ATTR_PREFIX):
                bracket_id = key[len(BRACKET_ATTR_PREFIX) :]
                extent = extents.setdefault(bracket_id, [position, position + length])
                extent[1] = position + length
        position += length
    records = {
        bid: text.bracket(bid)
        for bid in extents
        if text.has_bracket(bid) and text.bracket(bid).state == BracketState.OPEN
    }
    depths = _depths({bid: tuple(extents[bid]) for bid in records}, records)
    found = [
        BracketSpan(
            id=bid,
            kind=r.kind,
            group=r.group,
            parent=r.parent,
            party=r.party,
            proposal=r.proposal,
            start=extents[bid][0],
            end=extents[bid][1],
            depth=depths[bid],
        )
        for bid, r in records.items()
    ]
    return sorted(found, key=lambda s: (s.start, s.depth, s.id))


def open_brackets_in(text: NegotiationText, clause_id: str) -> list[str]:
    found = [s.id for s in spans(text, clause_id)]
    clause_bracket = text.clause(clause_id).bracket
    if clause_bracket and text.bracket(clause_bracket).state == BracketState.OPEN:
        found.insert(0, clause_bracket)
    return found


def bracket_span(
    text: NegotiationText,
    clause_id: str,
    start: int,
    end: int,
    *,
    party: str = "",
    proposal: str = "",
    kind: BracketKind | str = BracketKind.BRACKET,
) -> str:
    """Put words start..end of a clause in brackets; return the new bracket's id."""
    kind = BracketKind(kind)
    with text.transaction():
        require_party(text, party)
        record = text.clause(clause_id)
        words = str(record.words)
        check_span(words, start, end)
        if start == end:
            raise BracketError(f"clause {clause_id!r}: cannot bracket an empty span at {start}")
        existing = spans(text, clause_id)
        parent = _enclosing(existing, start, end, clause_id)
        bracket_id = new_id("b")
        create_record(
            text, bracket_id, kind, clause_id, parent=parent, party=party, proposal=proposal
        )
        record.words.format(
            to_utf8(words, start), to_utf8(words, end), {bracket_attr(bracket_id): True}
        )
        _mark_bracketed(text, clause_id)
        for inner in existing:
            # Brackets now inside the new one hang from it, so nesting reads correctly
            # where the two start or end together.
            if start <= inner.start and inner.end <= end and inner.parent == parent:
                text.bracket(inner.id).map["parent"] = bracket_id
    return bracket_id


def insert_bracketed(
    text: NegotiationText,
    clause_id: str,
    at: int,
    words: str,
    *,
    party: str = "",
    proposal: str = "",
    kind: BracketKind | str = BracketKind.BRACKET,
) -> str:
    """Insert new words at `at`, in a bracket of their own (an insertion proposal, `{…}`)."""
    from drafting.clauses import insert_words, shared_attrs

    if not words:
        raise BracketError(f"clause {clause_id!r}: nothing to insert in brackets")
    with text.transaction():
        require_party(text, party)  # check before writing: a transaction cannot roll back
        ytext = text.clause(clause_id).words
        check_span(str(ytext), at, at)
        attrs = shared_attrs(ytext, str(ytext), at)
        insert_words(text, clause_id, at, words, attrs=attrs)
        return bracket_span(
            text, clause_id, at, at + len(words), party=party, proposal=proposal, kind=kind
        )


def add_alternative(
    text: NegotiationText, bracket_id: str, words: str, *, party: str = "", proposal: str = ""
) -> str:
    """Add `[words]` right after the last alternative of `bracket_id`'s group."""
    if not words:
        raise BracketError(f"bracket {bracket_id!r}: an alternative needs words")
    with text.transaction():
        require_party(text, party)
        target = text.bracket(bracket_id)
        _require_open(target.id, target.state)
        if target.kind != BracketKind.BRACKET:
            raise BracketError(
                f"bracket {bracket_id!r} is a {target.kind}: it takes no alternative"
            )
        clause_id = target.clause
        current = spans(text, clause_id)
        members = [s for s in current if s.group == target.group]
        if not members:
            raise BracketError(f"bracket {bracket_id!r} has no words left in the text")
        last = max(members, key=lambda s: s.end)
        enclosing = [s for s in current if s.contains(last) and s.depth < last.depth]
        new_id_ = new_id("b")
        ytext = text.clause(clause_id).words
        words_now = str(ytext)
        attrs = {bracket_attr(s.id): True for s in enclosing} | {bracket_attr(new_id_): True}
        ytext.insert(to_utf8(words_now, last.end), words, attrs)
        target.group = target.group  # a lone bracket becomes the first of a group
        create_record(
            text,
            new_id_,
            BracketKind.BRACKET,
            clause_id,
            parent=target.parent,
            party=party,
            proposal=proposal,
            group=target.group,
        )
        _mark_bracketed(text, clause_id)
    return new_id_


def bracket_clause(
    text: NegotiationText, clause_id: str, *, party: str = "", proposal: str = ""
) -> str:
    """Put a whole clause in brackets (`[Article 3 bis]`, a new paragraph proposed)."""
    with text.transaction():
        require_party(text, party)
        record = text.clause(clause_id)
        if record.bracket and text.bracket(record.bracket).state == BracketState.OPEN:
            raise BracketError(f"clause {clause_id!r} is already in brackets ({record.bracket})")
        bracket_id = new_id("b")
        create_record(
            text, bracket_id, BracketKind.CLAUSE, clause_id, party=party, proposal=proposal
        )
        record.bracket = bracket_id
        _mark_bracketed(text, clause_id)
    return bracket_id


def lift_bracket(text: NegotiationText, bracket_id: str, *, keep: str | None) -> None:
    """Lift a bracket group: keep the words of `keep` (a member of the group), drop the rest.

    `keep=None` drops every member: for a lone bracket, the words are deleted.
    """
    with text.transaction():
        target = text.bracket(bracket_id)
        _require_open(target.id, target.state)
        if target.kind == BracketKind.CLAUSE:
            _lift_clause_bracket(text, bracket_id, keep=keep == bracket_id)
            return
        clause_id = target.clause
        current = spans(text, clause_id)
        members = [s for s in current if s.group == target.group]
        if keep is not None and keep not in {m.id for m in members}:
            raise BracketError(
                f"bracket {keep!r} is not an alternative of {bracket_id!r} "
                f"(alternatives: {', '.join(m.id for m in members)})"
            )
        ytext = text.clause(clause_id).words
        words = str(ytext)
        kept = [m for m in members if m.id == keep]
        dropped = [m for m in members if m.id != keep]
        for m in kept:
            ytext.format(to_utf8(words, m.start), to_utf8(words, m.end), {bracket_attr(m.id): None})
        # Delete from the end so that earlier positions stay valid.
        for m in sorted(dropped, key=lambda s: s.start, reverse=True):
            del ytext[to_utf8(words, m.start) : to_utf8(words, m.end)]
        swept = [s.id for m in dropped for s in current if m.contains(s) and s.id != m.id]
        _settle(text, kept=[m.id for m in kept], dropped=[m.id for m in dropped] + swept)


def _lift_clause_bracket(text: NegotiationText, bracket_id: str, *, keep: bool) -> None:
    record = text.bracket(bracket_id)
    clause = text.clause(record.clause)
    clause.bracket = ""
    if not keep:
        clause.status = str(ClauseStatus.DELETED)
    _settle(text, kept=[bracket_id] if keep else [], dropped=[] if keep else [bracket_id])


def _settle(text: NegotiationText, *, kept: Iterable[str], dropped: Iterable[str]) -> None:
    """Record the outcome on the brackets and on the proposals that tabled them."""
    stamp = now()
    for ids, state, outcome in (
        (kept, BracketState.KEPT, ProposalStatus.ACCEPTED),
        (dropped, BracketState.DROPPED, ProposalStatus.REJECTED),
    ):
        for bid in ids:
            record = text.bracket(bid)
            record.state = str(state)
            record.map["lifted"] = stamp
            if record.proposal:
                proposal = text.proposal(record.proposal)
                if proposal.status == ProposalStatus.TABLED:
                    proposal.status = str(outcome)
                    proposal.map["updated"] = stamp


def create_record(
    text: NegotiationText,
    bracket_id: str,
    kind: BracketKind,
    clause_id: str,
    *,
    parent: str = "",
    party: str = "",
    proposal: str = "",
    group: str = "",
) -> None:
    """The record of a new open bracket (its words get the `br:<id>` attribute apart)."""
    text.create_bracket(
        bracket_id,
        {
            "kind": str(kind),
            "clause": clause_id,
            "group": group,
            "parent": parent,
            "party": party,
            "proposal": proposal,
            "state": str(BracketState.OPEN),
            "created": now(),
            "lifted": "",
        },
    )


def _mark_bracketed(text: NegotiationText, clause_id: str) -> None:
    """A pending clause that gets a bracket is under negotiation."""
    record = text.clause(clause_id)
    if record.status == ClauseStatus.PENDING:
        record.status = str(ClauseStatus.BRACKETED)


def _require_open(bracket_id: str, state: str) -> None:
    if state != BracketState.OPEN:
        raise BracketError(f"bracket {bracket_id!r} is already lifted ({state})")


def _enclosing(existing: list[BracketSpan], start: int, end: int, clause_id: str) -> str:
    """The innermost bracket around start..end; refuse spans that cross a bracket's edge."""
    parent: BracketSpan | None = None
    for s in existing:
        disjoint = s.end <= start or end <= s.start
        inside = s.start <= start and end <= s.end
        around = start <= s.start and s.end <= end
        if not (disjoint or inside or around):
            raise BracketError(
                f"clause {clause_id!r}: span {start}..{end} crosses bracket {s.id} "
                f"({s.start}..{s.end}); brackets must nest"
            )
        if inside and not around and (parent is None or s.depth > parent.depth):
            parent = s
    return parent.id if parent else ""


def _depths(extents: dict[str, tuple[int, int]], records: dict) -> dict[str, int]:
    """Nesting depth of each open bracket, from extents; the recorded parent (then the id)
    decides between brackets covering exactly the same words."""

    def is_ancestor(a: str, b: str) -> bool:
        seen = set()
        node = records[b].parent
        while node and node not in seen:
            if node == a:
                return True
            seen.add(node)
            node = records[node].parent if node in records else ""
        return False

    def outside(a: str, b: str) -> bool:
        (sa, ea), (sb, eb) = extents[a], extents[b]
        if not (sa <= sb and eb <= ea):
            return False
        if (sa, ea) != (sb, eb):
            return True
        if is_ancestor(a, b):
            return True
        return not is_ancestor(b, a) and a < b

    return {b: sum(outside(a, b) for a in extents if a != b) for b in extents}
