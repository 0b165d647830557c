"""Clause numbers, derived from the tree every time they are shown.

During negotiation a paragraph inserted after paragraph 5 is "5 bis", then "5 ter", so that
numbers others cite do not move; deleted clauses keep their number. Clauses that count in
the numbering carry `base=True` (imported ones, or all after `renumber`); inserted ones
carry `base=False`. The final text is renumbered cleanly: live clauses only, 1, 2, 3 …
"""

from __future__ import annotations

from drafting.outline import ROOT, Outline
from drafting.schema import ClauseRecord, NegotiationText
from drafting.vocabulary import ClauseKind, TextKind

LATIN_ORDINALS = (
    "bis", "ter", "quater", "quinquies", "sexies", "septies", "octies", "novies", "decies",
    "undecies", "duodecies", "terdecies", "quaterdecies", "quindecies", "sexdecies",
    "septdecies", "octodecies", "novodecies", "vicies",
)  # fmt: skip

# Kinds numbered through the whole text rather than within their parent.
TEXT_WIDE = (ClauseKind.ARTICLE, ClauseKind.RECITAL, ClauseKind.OPERATIVE)
# Kinds that keep the number their source gave them (headings are not renumbered).
SOURCE_NUMBERED = (ClauseKind.SECTION, ClauseKind.ANNEX, ClauseKind.HEADING)


def latin_suffix(n: int) -> str:
    """1 -> "bis", 2 -> "ter" …; past the list, a plain count keeps numbers unique."""
    return LATIN_ORDINALS[n - 1] if n <= len(LATIN_ORDINALS) else f"bis{n}"


def letter(n: int) -> str:
    """1 -> a, 26 -> z, 27 -> aa (as UN texts letter long lists)."""
    out = ""
    while n > 0:
        n, r = divmod(n - 1, 26)
        out = chr(ord("a") + r) + out
    return out


def roman(n: int) -> str:
    numerals = (
        (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
        (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
    )  # fmt: skip
    out = ""
    for value, numeral in numerals:
        while n >= value:
            out += numeral
            n -= value
    return out


class Numbering:
    """Numbers of every clause of a text, for negotiation (`final=False`) or final."""

    def __init__(self, text: NegotiationText, outline: Outline, *, final: bool = False) -> None:
        self.kind = text.kind
        self.outline = outline
        self.final = final
        self.numbers: dict[str, str] = {}
        self._count(ROOT, text_wide={})

    def number(self, clause_id: str) -> str:
        """The bare number: "3", "3 bis", "a", "ii", "PP2", "OP4"."""
        return self.numbers.get(clause_id, "")

    def label(self, record: ClauseRecord) -> str:
        """The number as printed before the clause's words."""
        number = self.number(record.id)
        if record.kind == ClauseKind.ARTICLE:
            return f"Article {number}"
        if record.kind == ClauseKind.OPTION:
            return f"Option {number}:"
        if record.kind == ClauseKind.SUBPARAGRAPH:
            return f"({number})"
        if record.kind in SOURCE_NUMBERED:
            return f"{number}." if number else ""
        return f"{number}." if number and not number[0].isalpha() else number

    def _count(self, parent: str, text_wide: dict[str, list[int]]) -> None:
        local: dict[str, list[int]] = {}
        for child in self.outline.children(parent):
            if self.final and not self.outline.is_live(child.id):
                continue
            counters = text_wide if child.kind in TEXT_WIDE else local
            self.numbers[child.id] = self._next(child, counters)
            self._count(child.id, text_wide)

    def _next(self, record: ClauseRecord, counters: dict[str, list[int]]) -> str:
        if record.kind in SOURCE_NUMBERED:
            return record.source_number
        if record.kind in (ClauseKind.TEXT, ClauseKind.PREAMBLE, ClauseKind.OPTIONS):
            return ""
        if record.kind == ClauseKind.FINAL_CLAUSES:
            return ""
        # [base number, insertions since it]
        count = counters.setdefault(record.kind, [0, 0])
        if record.base or self.final:
            count[0] += 1
            count[1] = 0
            suffix = ""
        else:
            count[1] += 1
            suffix = " " + latin_suffix(count[1])
        return self._style(record, count[0]) + suffix

    def _style(self, record: ClauseRecord, n: int) -> str:
        resolution_like = self.kind in (TextKind.RESOLUTION, TextKind.JOINT_STATEMENT)
        if record.kind == ClauseKind.RECITAL and resolution_like:
            return f"PP{n}"
        if record.kind == ClauseKind.OPERATIVE and resolution_like:
            return f"OP{n}"
        if record.kind == ClauseKind.SUBPARAGRAPH:
            nested = sum(
                a.kind == ClauseKind.SUBPARAGRAPH for a in self.outline.ancestors(record.id)
            )
            return roman(n) if nested % 2 else letter(n)
        return str(n)
