"""Sample texts for the export and import tests (a plain module: importable anywhere)."""

from __future__ import annotations

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
