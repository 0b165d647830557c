"""Proposals: what a Party tables formally, and what becomes of it.

Each proposal is a record (kind, Party, time, status, supporters, objectors) and, for the
kinds that change words, brackets in the text attributed to the Party: an insertion is
new words in brackets, a deletion brackets the words, a replacement sets the new words as
an alternative beside the old (`[old][new]`). Withdrawing or rejecting undoes the
proposal's effect on the text; accepting lifts its brackets the proposal's way. The
record stays either way: the history must show what was tabled.
"""

from __future__ import annotations

from drafting import brackets as br
from drafting.clauses import add_clause, check_move, move_clause
from drafting.offsets import check_span, to_utf8
from drafting.outline import ROOT
from drafting.parties import require_party
from drafting.schema import NegotiationText, ProposalRecord, bracket_attr, new_id, now
from drafting.vocabulary import BracketState, ClauseKind, ProposalKind, ProposalStatus

# Roles of the brackets a proposal makes: its own new words, or a bracket around old ones.
ADDED = "added"
AROUND = "around"


class ProposalError(ValueError):
    """A proposal operation the state of the proposal (or the Party) does not allow."""


def propose_insertion(text: NegotiationText, party: str, clause: str, at: int, words: str) -> str:
    with text.transaction():
        proposal_id = _new(text, party)
        bracket = br.insert_bracketed(text, clause, at, words, party=party, proposal=proposal_id)
        _record(
            text, proposal_id, ProposalKind.INSERT, party, clause, {bracket: ADDED}, words=words
        )
    return proposal_id


def propose_deletion(text: NegotiationText, party: str, clause: str, start: int, end: int) -> str:
    with text.transaction():
        old = _words(text, clause, start, end)
        proposal_id = _new(text, party)
        bracket = br.bracket_span(text, clause, start, end, party=party, proposal=proposal_id)
        roles = {bracket: AROUND}
        _record(text, proposal_id, ProposalKind.DELETE, party, clause, roles, replaced=old)
    return proposal_id


def propose_replacement(
    text: NegotiationText, party: str, clause: str, start: int, end: int, words: str
) -> str:
    """`[old][new]`: the new words as an alternative to the old (bracketed if they were not)."""
    if not words:
        raise ProposalError("a replacement needs new words (to delete words, propose a deletion)")
    with text.transaction():
        old = _words(text, clause, start, end)
        proposal_id = _new(text, party)
        existing = [s for s in br.spans(text, clause) if (s.start, s.end) == (start, end)]
        roles: dict[str, str] = {}
        if existing:
            around = existing[-1].id  # the innermost bracket on exactly these words
        else:
            around = br.bracket_span(text, clause, start, end, party=party, proposal=proposal_id)
            roles[around] = AROUND
        added = br.add_alternative(text, around, words, party=party, proposal=proposal_id)
        roles[added] = ADDED
        _record(
            text, proposal_id, ProposalKind.REPLACE, party, clause, roles, words=words, replaced=old
        )
    return proposal_id


def propose_alternative(text: NegotiationText, party: str, bracket: str, words: str) -> str:
    with text.transaction():
        clause = text.bracket(bracket).clause
        proposal_id = _new(text, party)
        added = br.add_alternative(text, bracket, words, party=party, proposal=proposal_id)
        roles = {added: ADDED}
        _record(text, proposal_id, ProposalKind.ALTERNATIVE, party, clause, roles, words=words)
    return proposal_id


def propose_new_paragraph(
    text: NegotiationText,
    party: str,
    words: str,
    *,
    parent: str = ROOT,
    after: str | None = None,
    kind: ClauseKind | str = ClauseKind.PARAGRAPH,
) -> str:
    """A new clause ("5 bis"), in brackets as a whole, attributed to the Party."""
    with text.transaction():
        proposal_id = _new(text, party)
        clause = add_clause(text, kind, words, parent=parent, after=after, party=party)
        bracket = br.bracket_clause(text, clause, party=party, proposal=proposal_id)
        roles = {bracket: ADDED}
        _record(text, proposal_id, ProposalKind.NEW_PARAGRAPH, party, clause, roles, words=words)
    return proposal_id


def propose_move(
    text: NegotiationText, party: str, clause: str, *, parent: str = ROOT, after: str | None = None
) -> str:
    """Propose moving a clause; the text changes only if the proposal is accepted."""
    with text.transaction():
        check_move(text, clause, parent=parent, after=after)  # a move that could never be made
        proposal_id = _new(text, party)
        _record(text, proposal_id, ProposalKind.MOVE, party, clause, {})
        text.proposal(proposal_id).map["target"] = {"parent": parent, "after": after}
    return proposal_id


def support(text: NegotiationText, proposal_id: str, party: str) -> None:
    _take_side(text, proposal_id, party, supports=True)


def object_to(text: NegotiationText, proposal_id: str, party: str) -> None:
    _take_side(text, proposal_id, party, supports=False)


def withdraw(text: NegotiationText, proposal_id: str, party: str) -> None:
    """The author Party withdraws its proposal; its new words leave the text."""
    with text.transaction():
        proposal = _tabled(text, proposal_id)
        if party != proposal.party:
            raise ProposalError(
                f"proposal {proposal_id!r} was tabled by {proposal.party!r}; "
                f"only {proposal.party!r} can withdraw it, not {party!r}"
            )
        _close(proposal, ProposalStatus.WITHDRAWN)
        _undo(text, proposal)


def reject(text: NegotiationText, proposal_id: str) -> None:
    with text.transaction():
        proposal = _tabled(text, proposal_id)
        _close(proposal, ProposalStatus.REJECTED)
        _undo(text, proposal)


def accept(text: NegotiationText, proposal_id: str) -> None:
    """The room agrees: the proposal's words stand, unbracketed, or its move is made."""
    with text.transaction():
        proposal = _tabled(text, proposal_id)
        # The text changes first, the status after: a refusal must leave both as they were
        # (a transaction cannot roll back).
        if proposal.kind == ProposalKind.MOVE:
            target = proposal.target
            move_clause(text, proposal.clause, parent=target["parent"], after=target["after"])
            _close(proposal, ProposalStatus.ACCEPTED)
            return
        roles = _roles(proposal)
        added = [b for b, role in roles.items() if role == ADDED]
        around = [b for b, role in roles.items() if role == AROUND]
        _require_words_still_there(text, proposal, added)
        for bracket in added:
            if _is_open(text, bracket):
                br.lift_bracket(text, bracket, keep=bracket)
        for bracket in around:
            if _is_open(text, bracket):
                # A deletion accepted: the words go. (A replacement's old words went
                # already, as the losing alternative of the lift above.)
                br.lift_bracket(text, bracket, keep=None)
        _close(proposal, ProposalStatus.ACCEPTED)


def _require_words_still_there(
    text: NegotiationText, proposal: ProposalRecord, added: list[str]
) -> None:
    for bracket in added:
        record = text.bracket(bracket)
        if not _is_open(text, bracket) or record.kind == "clause":
            continue
        if all(s.id != bracket for s in br.spans(text, record.clause)):
            raise ProposalError(
                f"proposal {proposal.id!r} cannot be accepted: the words it proposed "
                "were deleted from the text"
            )


def merge(text: NegotiationText, proposal_id: str) -> None:
    """Merged into a chair's compromise: closed, and the text is left to the chair."""
    with text.transaction():
        _close(_tabled(text, proposal_id), ProposalStatus.MERGED)


def _undo(text: NegotiationText, proposal: ProposalRecord) -> None:
    for bracket, role in _roles(proposal).items():
        if _is_open(text, bracket):
            remove_one_bracket(text, bracket, keep_words=role == AROUND)


def remove_one_bracket(text: NegotiationText, bracket_id: str, *, keep_words: bool) -> None:
    """Take one bracket out (not its whole group): keep its words unbracketed, or drop them."""
    record = text.bracket(bracket_id)
    if record.kind == "clause":
        br.lift_bracket(text, bracket_id, keep=bracket_id if keep_words else None)
        return
    current = {s.id: s for s in br.spans(text, record.clause)}
    record.state = str(BracketState.KEPT if keep_words else BracketState.DROPPED)
    record.map["lifted"] = now()
    span = current.get(bracket_id)
    if span is None:
        return
    ytext = text.clause(record.clause).words
    words = str(ytext)
    start, end = to_utf8(words, span.start), to_utf8(words, span.end)
    if keep_words:
        ytext.format(start, end, {bracket_attr(bracket_id): None})
    else:
        del ytext[start:end]


def _new(text: NegotiationText, party: str) -> str:
    """Check the Party and pick the proposal's id, before anything is written."""
    if not party:
        raise ProposalError("a proposal is tabled in the name of a Party: name one")
    require_party(text, party)
    return new_id("p")


def _record(
    text: NegotiationText,
    proposal_id: str,
    kind: ProposalKind,
    party: str,
    clause: str,
    roles: dict[str, str],
    *,
    words: str = "",
    replaced: str = "",
) -> None:
    """Written last, once the text has changed: a refused proposal leaves no record."""
    stamp = now()
    text.create_proposal(
        proposal_id,
        {
            "kind": str(kind),
            "party": party,
            "clause": clause,
            "status": str(ProposalStatus.TABLED),
            "words": words,
            "replaced": replaced,
            "brackets": roles,
            "target": {},
            "created": stamp,
            "updated": stamp,
        },
    )


def _roles(proposal: ProposalRecord) -> dict[str, str]:
    return dict(proposal.map.get("brackets") or {})


def _words(text: NegotiationText, clause: str, start: int, end: int) -> str:
    words = str(text.clause(clause).words)
    check_span(words, start, end)
    return words[start:end]


def _is_open(text: NegotiationText, bracket_id: str) -> bool:
    return text.has_bracket(bracket_id) and text.bracket(bracket_id).state == BracketState.OPEN


def _tabled(text: NegotiationText, proposal_id: str) -> ProposalRecord:
    proposal = text.proposal(proposal_id)
    if proposal.status != ProposalStatus.TABLED:
        raise ProposalError(f"proposal {proposal_id!r} is {proposal.status}, no longer tabled")
    return proposal


def _close(proposal: ProposalRecord, status: ProposalStatus) -> None:
    proposal.status = str(status)
    proposal.map["updated"] = now()


def _take_side(text: NegotiationText, proposal_id: str, party: str, *, supports: bool) -> None:
    with text.transaction():
        require_party(text, party)
        if not party:
            raise ProposalError("support and objections are given by a Party: name one")
        proposal = _tabled(text, proposal_id)
        if party == proposal.party:
            raise ProposalError(
                f"{party!r} tabled proposal {proposal_id!r}; it cannot support or object to it"
            )
        side, other = (
            (proposal.supporters, proposal.objectors)
            if supports
            else (proposal.objectors, proposal.supporters)
        )
        if party in other:
            del other[party]
        if party not in side:
            side[party] = now()
