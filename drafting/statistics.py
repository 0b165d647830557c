"""How far a text is from agreement: the counts delegations compare between revisions.

("916 brackets and 91 options" on 5 December 2015, "367 open brackets and 47 options" on
9 December.) Only what is live is counted: deleted clauses, options that lost and lifted
brackets are history, not text.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from drafting.brackets import spans
from drafting.outline import Outline
from drafting.schema import NegotiationText
from drafting.vocabulary import BracketKind, BracketState, ClauseKind, ClauseStatus


def statistics(text: NegotiationText) -> dict[str, Any]:
    with text.transaction():  # one transaction for all reads: pycrdt opens one per read
        return _statistics(text)


def _statistics(text: NegotiationText) -> dict[str, Any]:
    outline = Outline(text)
    live = [r for r in outline.records.values() if outline.is_live(r.id)]
    kinds = Counter(r.kind for r in live)
    per_status = Counter(r.status for r in live)
    per_party: dict[str, Counter] = {}
    brackets = placeholders = alternatives = alternative_texts = words = 0
    deepest = 0
    for record in live:
        words += len(str(record.words).split())
        current = spans(text, record.id)
        groups = Counter(s.group for s in current if s.kind == BracketKind.BRACKET)
        alternatives += sum(1 for n in groups.values() if n > 1)
        alternative_texts += sum(n for n in groups.values() if n > 1)
        for s in current:
            if s.kind == BracketKind.PLACEHOLDER:
                placeholders += 1
            else:
                brackets += 1
                deepest = max(deepest, s.depth + 1)
            if s.party:
                per_party.setdefault(s.party, Counter())["brackets"] += 1
        if record.bracket and text.bracket(record.bracket).state == BracketState.OPEN:
            brackets += 1
            party = text.bracket(record.bracket).party
            if party:
                per_party.setdefault(party, Counter())["brackets"] += 1
    proposals = Counter()
    for proposal in text.proposals():
        proposals[proposal.status] += 1
        per_party.setdefault(proposal.party, Counter())["proposals"] += 1
        for supporter in proposal.supporters:
            per_party.setdefault(supporter, Counter())["supports"] += 1
        for objector in proposal.objectors:
            per_party.setdefault(objector, Counter())["objections"] += 1
    open_blocks = [r for r in live if r.kind == ClauseKind.OPTIONS and not r.chosen]
    options = sum(
        1 for b in open_blocks for c in outline.children(b.id) if c.kind == ClauseKind.OPTION
    )
    numbered = (ClauseKind.PARAGRAPH, ClauseKind.SUBPARAGRAPH, ClauseKind.OPERATIVE)
    return {
        "kind": text.kind,
        "title": text.title,
        "clauses": len(live),
        "articles": kinds[ClauseKind.ARTICLE],
        "recitals": kinds[ClauseKind.RECITAL],
        "paragraphs": sum(kinds[k] for k in numbered),
        "brackets": brackets,
        "alternatives": alternatives,
        "alternative_texts": alternative_texts,
        "options": options,
        "option_blocks": len(open_blocks),
        "placeholders": placeholders,
        "max_nesting": deepest,
        "words": words,
        "per_status": {
            s.value: per_status.get(s.value, 0) for s in ClauseStatus if s != ClauseStatus.DELETED
        },
        "per_party": {p: dict(c) for p, c in sorted(per_party.items()) if p},
        "proposals": dict(proposals),
    }
