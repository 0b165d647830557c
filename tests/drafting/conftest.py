from __future__ import annotations

import pytest

from drafting.clauses import add_clause
from drafting.parties import register_party
from drafting.schema import NegotiationText
from drafting.vocabulary import ClauseKind, PartyKind, TextKind


@pytest.fixture
def text() -> NegotiationText:
    """An empty treaty with three registered Parties."""
    t = NegotiationText()
    t.set_meta("kind", str(TextKind.TREATY))
    t.set_meta("title", "Agreement on Mountain Glaciers")
    register_party(t, "EU", "European Union", PartyKind.ORGANISATION)
    register_party(t, "AOSIS", "Alliance of Small Island States", PartyKind.GROUP)
    register_party(t, "G77/China", "Group of 77 and China", PartyKind.GROUP)
    return t


@pytest.fixture
def article(text: NegotiationText) -> str:
    return add_clause(text, ClauseKind.ARTICLE, "(purpose)", base=True)


@pytest.fixture
def paragraph(text: NegotiationText, article: str) -> str:
    return add_clause(
        text, ClauseKind.PARAGRAPH, "Parties shall take action.", parent=article, base=True
    )
