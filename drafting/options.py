"""Option blocks: alternatives of whole paragraphs or articles ("Option 1:", "Option 2:").

An option block is an `options` clause whose children are `option` clauses. Choosing an
option resolves the block: the chosen option stands in the text (without its label in the
clean text), the others leave it but stay in the record.
"""

from __future__ import annotations

from drafting.clauses import ClauseError, add_clause
from drafting.outline import ROOT, Outline
from drafting.schema import NegotiationText
from drafting.vocabulary import ClauseKind


def add_option_block(
    text: NegotiationText, *options: str, parent: str = ROOT, after: str | None = None
) -> str:
    """A new block with one option per given wording; returns the block's id."""
    if len(options) < 2:
        raise ClauseError("an option block needs at least two options")
    with text.transaction():
        block = add_clause(text, ClauseKind.OPTIONS, parent=parent, after=after)
        for words in options:
            add_clause(text, ClauseKind.OPTION, words, parent=block, base=True)
    return block


def add_option(text: NegotiationText, block: str, words: str = "") -> str:
    _require_block(text, block)
    return add_clause(text, ClauseKind.OPTION, words, parent=block, base=True)


def choose_option(text: NegotiationText, block: str, option: str) -> None:
    """Resolve a block: keep `option`."""
    with text.transaction():
        _require_block(text, block)
        options = [c.id for c in Outline(text).children(block) if c.kind == ClauseKind.OPTION]
        if option not in options:
            raise ClauseError(
                f"clause {option!r} is not an option of block {block!r} "
                f"(its options: {', '.join(options)})"
            )
        text.clause(block).chosen = option


def _require_block(text: NegotiationText, block: str) -> None:
    if text.clause(block).kind != ClauseKind.OPTIONS:
        raise ClauseError(f"clause {block!r} is a {text.clause(block).kind}, not an option block")
