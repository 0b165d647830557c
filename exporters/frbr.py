"""FRBR identifiers of an exported text, after the Akoma Ntoso Naming Convention.

    work           /akn/un/act/treaty/2015-12-12/paris-agreement
    expression     /akn/un/act/treaty/2015-12-12/paris-agreement/eng@2015-12-12
    manifestation  /akn/un/act/treaty/2015-12-12/paris-agreement/eng@2015-12-12/!main.xml

The jurisdiction is `un` (the AKN4UN practice for texts of the United Nations system); the
date is the day the text was created in Travaux (the model has no adoption date); the
number is the title made into a slug; the expression version is the revision label
("rev-1") when there is one, else the date. Languages are ISO 639-2 codes in URIs and in
`FRBRlanguage`, as the naming convention asks.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from drafting.importers.akn import three_letter
from drafting.vocabulary import TextKind

COUNTRY = "un"

# The AKN document type and its `name` for each kind of text (STACK-NOTES.md, AKN4UN).
DOCUMENT_TYPES = {
    TextKind.TREATY: "act",
    TextKind.RESOLUTION: "statement",
    TextKind.DECISION: "statement",
    TextKind.JOINT_STATEMENT: "statement",
    TextKind.DECLARATION: "statement",
}


def slug(words: str, fallback: str = "untitled") -> str:
    ascii_words = unicodedata.normalize("NFKD", words).encode("ascii", "ignore").decode()
    made = re.sub(r"[^a-z0-9]+", "-", ascii_words.lower()).strip("-")
    return made[:80].rstrip("-") or fallback


@dataclass(frozen=True)
class FrbrNames:
    doctype: str
    subtype: str
    date: str
    number: str
    language: str  # ISO 639-2
    version: str

    @property
    def work(self) -> str:
        return f"/akn/{COUNTRY}/{self.doctype}/{self.subtype}/{self.date}/{self.number}"

    @property
    def expression(self) -> str:
        return f"{self.work}/{self.language}@{self.version}"

    def work_this(self, component: str = "main") -> str:
        return f"{self.work}/!{component}"

    def expression_this(self, component: str = "main") -> str:
        return f"{self.expression}/!{component}"

    def manifestation_this(self, component: str = "main") -> str:
        return f"{self.expression}/!{component}.xml"

    @property
    def manifestation(self) -> str:
        return f"{self.expression}.akn"


def frbr_names(kind: str, title: str, created: str, language: str, revision: str) -> FrbrNames:
    date = created[:10] if re.fullmatch(r"\d{4}-\d{2}-\d{2}", created[:10]) else "2000-01-01"
    version = slug(revision, fallback="") if revision else date
    return FrbrNames(
        doctype=DOCUMENT_TYPES.get(kind, "statement") if kind else "act",
        subtype=kind or str(TextKind.TREATY),
        date=date,
        number=slug(title),
        language=three_letter(language),
        version=version or date,
    )
