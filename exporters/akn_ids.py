"""eIds after the Akoma Ntoso Naming Convention.

An eId is the path of abbreviated element names and numbers from the outermost numbered
ancestor down: `art_3__para_2__subpara_a`. The number is the element's `num` without
punctuation or spaces ("5 bis" → `5bis`, "(a)" → `a`, "PP4" → `4`); an unnumbered element
takes its position among its unnumbered siblings of the same name (`hcontainer_2`). Should
two siblings still come out the same (a source that numbered two sections alike), the
later one gets `_2`, `_3` … so that eIds stay unique, which the schema requires.
"""

from __future__ import annotations

import re
from collections import Counter

ABBREVIATIONS = {
    "article": "art",
    "section": "sec",
    "paragraph": "para",
    "subparagraph": "subpara",
    "recital": "rec",
    "recitals": "recs",
    "attachment": "att",
    "blockContainer": "blockContainer",
    "hcontainer": "hcontainer",
    "formula": "formula",
    "p": "p",
    "span": "span",
    "placeholder": "placeholder",
    "note": "note",
    "step": "step",
    "eventRef": "e",
}


def number_token(number: str) -> str:
    """The part of an eId a number gives: letters and digits only, "PP"/"OP" dropped."""
    token = re.sub(r"[^0-9A-Za-z]", "", number)
    if re.fullmatch(r"(PP|OP)\d+\w*", token):
        token = token[2:]
    return token


def token_of(value: str) -> str:
    """Any identifier (a Party code, a note label) as an eId part: no white space."""
    return re.sub(r"[^0-9A-Za-z_.-]+", "-", value).strip("-") or "x"


class Eids:
    """Hands out eIds, unique in the whole document."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self._ordinals: Counter[tuple[str, str]] = Counter()

    def make(self, scope: str, element: str, number: str = "") -> str:
        abbreviation = ABBREVIATIONS.get(element, element)
        token = number_token(number) if number else ""
        if not token:
            self._ordinals[(scope, abbreviation)] += 1
            token = str(self._ordinals[(scope, abbreviation)])
        base = f"{scope}__{abbreviation}_{token}" if scope else f"{abbreviation}_{token}"
        return self.claim(base)

    def claim(self, wanted: str) -> str:
        eid, copy = wanted, 1
        while eid in self.used:
            copy += 1
            eid = f"{wanted}_{copy}"
        self.used.add(eid)
        return eid
