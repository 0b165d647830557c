"""Sample texts for the export and import tests (a plain module: importable anywhere)."""

from __future__ import annotations

import contextlib

from drafting.clauses import add_clause, delete_clause, set_status
from drafting.importing import import_markdown
from drafting.numbering import Numbering
from drafting.outline import Outline
from drafting.parties import register_party
from drafting.proposals import (
    object_to,
    propose_insertion,
    propose_new_paragraph,
    propose_replacement,
    support,
    withdraw,
)
from drafting.schema import NegotiationText
from drafting.vocabulary import PartyKind

SOURCE = """\
---
title: Agreement on Mountain Glaciers
---

## Preamble

The Parties to this Agreement,

*Recognizing* that glaciers [store][hold] fresh water for [hundreds of millions of] people,[^1]

*Noting* the [role of [indigenous peoples][local communities]] in the [protection of glaciers](https://example.org/glaciers),

Have agreed as follows:

## Article 1 *(objective)*

1. The objective of this Agreement is to [slow][halt] the loss of glaciers.

2. Parties shall report every {X} years.

3. يجب على الأطراف [حماية][صون] الأنهار الجليدية.

## Article 2 *(cooperation)*

**Option 1:** Developed country Parties shall provide support.

**Option 2:** Parties [in a position to do so] shall cooperate.

## Article 3

1. Each Party shall:

    (a) Maintain an inventory of its glaciers;

    (b) Monitor [its major glaciers].

DONE at Geneva this first day of June two thousand and twenty-seven.

[^1]: As estimated by the [IPCC].
"""


def find(text: NegotiationText, *labels: str) -> str:
    """The id of the clause reached by following printed numbers: ("3", "1", "(a)")."""
    outline = Outline(text)
    numbering = Numbering(text, outline)
    parent = ""
    for label in labels:
        parent = next(
            c.id
            for c in outline.children(parent)
            if numbering.number(c.id) == label or numbering.label(c) == label
        )
    return parent


def negotiated_text() -> NegotiationText:
    """A treaty under negotiation: Parties, proposals tabled, supported, objected to and
    withdrawn, a new paragraph in brackets, a clause agreed ad ref, a deleted clause."""
    text = import_markdown(SOURCE).text
    register_party(text, "EU", "European Union", PartyKind.ORGANISATION)
    register_party(text, "AOSIS", "Alliance of Small Island States", PartyKind.GROUP)
    register_party(text, "G77/China", "Group of 77 and China", PartyKind.GROUP)
    article_1, article_3 = find(text, "Article 1"), find(text, "Article 3")
    first = find(text, "Article 1", "1")
    start = str(text.clause(first).words).index("objective")
    replacement = propose_replacement(text, "AOSIS", first, start, start + 9, "aim")
    support(text, replacement, "EU")
    object_to(text, replacement, "G77/China")
    propose_new_paragraph(
        text,
        "G77/China",
        "Parties shall cooperate in good faith.",
        parent=article_1,
        after=find(text, "Article 1", "2"),
    )
    inventory = find(text, "Article 3", "1", "a")
    words = str(text.clause(inventory).words)
    withdrawn = propose_insertion(text, "EU", inventory, len(words) - 1, " every five years")
    withdraw(text, withdrawn, "EU")
    set_status(text, inventory, "agreed ad ref")
    gone = add_clause(text, "paragraph", "A paragraph deleted later.", parent=article_3)
    delete_clause(text, gone)
    return text


# -- a negotiation played on a real text --------------------------------------------------------
PARTIES = (
    ("G77/China", "Group of 77 and China", PartyKind.GROUP, ()),
    ("EU", "European Union", PartyKind.ORGANISATION, ()),
    ("AOSIS", "Alliance of Small Island States", PartyKind.GROUP, ()),
    ("BR", "Brazil", PartyKind.STATE, ()),
    ("NO", "Norway", PartyKind.STATE, ()),
    ("BASIC", "Brazil, South Africa, India and China", PartyKind.GROUP, ("BR",)),
)


def negotiate(text: NegotiationText, *, every: int = 9) -> NegotiationText:
    """Play a negotiation on `text` (in place), deterministically, with every kind of act:
    Parties and a group with members; insertions, deletions, replacements, alternatives
    to brackets already there, new paragraphs and sub-paragraphs ("5 bis", "(b bis)"),
    moves; support, objection, withdrawal, rejection, acceptance, merger; statuses agreed,
    agreed ad ref and parked; an option chosen; a clause deleted; a bracket lifted."""
    from drafting.brackets import lift_bracket, spans
    from drafting.clauses import ClauseError
    from drafting.options import choose_option
    from drafting.proposals import (
        accept,
        merge,
        propose_alternative,
        propose_deletion,
        propose_move,
        reject,
    )
    from drafting.statuses import StatusError

    for code, name, kind, members in PARTIES:
        register_party(text, code, name, kind, members)
    codes = [code for code, *_ in PARTIES]
    outline = Outline(text)
    live = [p.clause for p in outline.walk() if outline.is_live(p.clause.id)]
    worded = [c for c in live if c.kind in ("paragraph", "operative", "subparagraph") and c.words]
    for index, clause in enumerate(worded[::every]):
        party, other, third = (codes[(index + k) % len(codes)] for k in range(3))
        words = str(text.clause(clause.id).words)
        space = words.find(" ", len(words) // 3)
        if space <= 0:
            continue
        act = index % 8
        if act == 0:
            proposal = propose_insertion(text, party, clause.id, space, " and effective")
            support(text, proposal, other)
            object_to(text, proposal, third)
        elif act == 1:
            end = words.find(" ", space + 1)
            end = end if end > 0 else len(words)
            proposal = propose_deletion(text, party, clause.id, space + 1, end)
            withdraw(text, proposal, party)
        elif act == 2:
            end = words.find(" ", space + 1)
            end = end if end > 0 else len(words)
            proposal = propose_replacement(text, party, clause.id, space + 1, end, "enhanced")
            support(text, proposal, other)
            accept(text, proposal)
        elif act == 3:
            current = [s for s in spans(text, clause.id) if s.kind == "bracket"]
            if current:
                proposal = propose_alternative(text, party, current[0].id, "as appropriate")
                object_to(text, proposal, other)
                reject(text, proposal)
            else:
                proposal = propose_insertion(text, party, clause.id, space, " [sic]")
                merge(text, proposal)
        elif act == 4:
            parent = text.clause(clause.id).parent
            proposal = propose_new_paragraph(
                text, party, "Parties shall cooperate.", parent=parent, after=clause.id,
                kind=clause.kind,
            )  # fmt: skip
            support(text, proposal, other)
            support(text, proposal, third)
        elif act == 5:
            parent = text.clause(clause.id).parent
            siblings = [c.id for c in Outline(text).children(parent)]
            if len(siblings) > 2 and siblings[0] != clause.id:
                propose_move(text, party, clause.id, parent=parent, after=None)
        elif act == 6:
            if not spans(text, clause.id) and not text.clause(clause.id).bracket:
                for status in ("agreed ad ref", "agreed"):
                    try:
                        set_status(text, clause.id, status)
                    except (ClauseError, StatusError, ValueError):
                        break
            else:
                with contextlib.suppress(ClauseError, StatusError, ValueError):
                    set_status(text, clause.id, "parked")
        elif act == 7:
            current = spans(text, clause.id)
            if current:
                lift_bracket(text, current[-1].id, keep=current[-1].id)
            else:
                delete_clause(text, clause.id)
    blocks = [c for c in live if c.kind == "options" and not c.chosen]
    for block in blocks[:2]:
        options = [c for c in Outline(text).children(block.id) if c.kind == "option"]
        if len(options) > 1:
            choose_option(text, block.id, options[-1].id)
    return text


CLAUSE_FIELDS = ("kind", "parent", "base", "number", "status", "bracket", "chosen", "party",
                 "created")  # fmt: skip
PROPOSAL_FIELDS = ("kind", "party", "clause", "status", "words", "replaced", "brackets",
                   "target", "created", "updated")  # fmt: skip


def records(text: NegotiationText) -> dict[str, object]:
    """Every record of the text that an exact round trip must keep: the live clauses in
    order with their fields and formatted words, the brackets, the proposals with their
    supporters and objectors, the Parties, the notes and the metadata."""
    from drafting.outline import Outline as _Outline

    outline = _Outline(text)
    clauses = []
    shown: set[str] = set()
    for placed in outline.walk():
        record = placed.clause
        fields = {key: record.map.get(key) for key in CLAUSE_FIELDS}
        if outline.is_live(record.id):
            shown.add(record.id)
            clauses.append((record.id, placed.depth, fields, _runs(record.words)))
        else:  # kept as a record: its words as plain text
            clauses.append((record.id, placed.depth, fields, str(record.words)))
    brackets = {b.id: {key: b.map.get(key) for key in b.map} for b in text.brackets()}
    proposals = {}
    for p in text.proposals():
        fields = {key: p.map.get(key) for key in PROPOSAL_FIELDS}
        fields["brackets"] = dict(fields["brackets"] or {})
        fields["target"] = dict(fields["target"] or {})
        fields["supporters"] = dict(p.supporters.items())
        fields["objectors"] = dict(p.objectors.items())
        proposals[p.id] = fields
    notes = {note_id: _runs(text.note(note_id)) for note_id in text.notes}
    meta = {key: text.get_meta(key) for key in ("kind", "title", "languages", "revision",
                                                  "source_note", "created")}  # fmt: skip
    parties = {code: dict(value) for code, value in text.parties.items()}
    return {
        "meta": meta,
        "parties": parties,
        "clauses": clauses,
        "brackets": brackets,
        "proposals": proposals,
        "notes": notes,
    }


def _runs(words) -> list[tuple[str, list]]:
    """Formatted words as (chunk, sorted attributes), equal neighbours merged."""
    runs: list[tuple[str, list]] = []
    for chunk, attrs in words.diff():
        style = sorted((k, v) for k, v in (attrs or {}).items() if v is not None)
        if runs and runs[-1][1] == style:
            runs[-1] = (runs[-1][0] + chunk, style)
        else:
            runs.append((chunk, style))
    return runs
