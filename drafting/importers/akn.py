"""Read Akoma Ntoso 3.0 documents into a `ParsedText`.

    parsed = parse_akn(data)                       # bytes or str
    source = read_akn(data)                        # parsed, language, whether Travaux made it

Files exported by Travaux (`exporters.akn`) carry `tvx:kind` on every element made from a
clause; they are read back exactly: the same clauses, words, brackets, alternatives,
placeholders, options and footnotes (Party attributions, statuses and proposals are in the
file, but a `ParsedText` has no place for them). Other Akoma Ntoso files are read as
faithfully as the model allows: the kind of each unit from its element (`article`,
`paragraph` — operative outside articles in a statement —, `subparagraph`, `point`,
`section`/`part`/`chapter` …, `recital`, `hcontainer name="…"`), its `num` and `heading`,
its words with italics, bold and links, footnotes (`noteRef` and `authorialNote`), and
square brackets typed in the words as brackets. What cannot be kept (a deletion in an
amendment, a table, a reference to another document) is reported as a warning.

Documents that are not a text (a judgment, a debate, a gazette, an amendment list) are
refused with `SourceError`, as is anything that is not well-formed XML in the AKN 3.0
namespace. Parsing is safe: no DTD, no entities, no network (`parse_xml`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from drafting.importers.parsed import (
    Bracket,
    BracketRecord,
    ImportWarning,
    Inline,
    NoteRef,
    ParsedClause,
    ParsedParty,
    ParsedProposal,
    ParsedText,
    Placeholder,
    Run,
    SettledBracket,
    SourceError,
)
from drafting.vocabulary import ClauseKind, ClauseStatus, PartyKind, TextKind

AKN_NS = "http://docs.oasis-open.org/legaldocml/ns/akn/3.0"
AKN2_NS = "http://www.akomantoso.org/2.0"
# The project namespace: attributes and elements Travaux adds to AKN (docs/EXPORTS.md).
TVX_NS = "urn:x-travaux:negotiation:1"

# TLCConcept eIds that `refersTo` names on brackets and placeholders.
BRACKET_CONCEPT = "bracket"
PLACEHOLDER_CONCEPT = "placeholder"


def status_concept(status: str) -> str:
    """The TLCConcept eId of a clause status: "agreed ad ref" → "status-agreed-ad-ref"."""
    return "status-" + re.sub(r"[^A-Za-z0-9]+", "-", status).strip("-")


STATUS_CONCEPTS = {status_concept(status): str(status) for status in ClauseStatus}
SETTLED_FIELDS = ("id", "kind", "clause", "group", "parent", "party", "proposal", "state",
                  "created", "lifted")  # fmt: skip

MAX_BYTES = 32 * 1024 * 1024

TEXT_DOCUMENTS = ("act", "bill", "statement", "doc")
OTHER_DOCUMENTS = (
    "amendmentList",
    "officialGazette",
    "documentCollection",
    "debateReport",
    "debate",
    "amendment",
    "judgment",
    "portion",
)
HEADED = (
    ClauseKind.ARTICLE,
    ClauseKind.SECTION,
    ClauseKind.ANNEX,
    ClauseKind.HEADING,
    ClauseKind.FINAL_CLAUSES,
)
SECTION_LIKE = frozenset(
    {
        "section", "part", "chapter", "title", "book", "tome", "division", "subdivision",
        "subpart", "subchapter", "subtitle", "clause", "level", "rule", "subrule", "proviso",
        "transitional", "list", "sublist",
    }
)  # fmt: skip
SUBPARAGRAPH_LIKE = frozenset(
    {"subparagraph", "point", "indent", "alinea", "subclause", "subsection"}
)
# Wrappers whose children belong to the clause that holds them.
WRAPPERS = frozenset(["intro", "content", "wrapUp", "recitals", "citations", "mainBody", "body"])
SKIPPED = frozenset(["num", "heading", "subheading", "componentRef", "documentRef"])
_LABEL_WORD = re.compile(
    r"^(article|art\.|annex(?:e|es)?|option|section|part|chapter|paragraph|para\.)\s*",
    re.IGNORECASE,
)


def safe_parser() -> etree.XMLParser:
    """No entity expansion, no network, no DTD, libxml2's default size limits."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )


def parse_xml(data: bytes | str) -> etree._Element:
    """The root element of an XML document from an untrusted source.

    Refuses what an Akoma Ntoso file never needs and an attacker would: a DOCTYPE (the way
    to declare entities, internal or external), and anything over `MAX_BYTES`.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_BYTES:
        raise SourceError(f"the file is {len(raw)} bytes; at most {MAX_BYTES} are read")
    if not raw.strip():
        raise SourceError("the file is empty", 1, 1)
    try:
        tree = etree.fromstring(raw, safe_parser()).getroottree()
    except etree.XMLSyntaxError as error:
        line, column = error.position if error.position else (0, 0)
        raise SourceError(f"not well-formed XML: {error.msg}", line, column) from None
    if tree.docinfo.doctype or tree.docinfo.internalDTD is not None:
        raise SourceError(
            "the document declares a DOCTYPE: DTDs and entities are refused "
            "(Akoma Ntoso needs neither, and they are how XML entity attacks work)",
            1,
            1,
        )
    root = tree.getroot()
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise SourceError(f"entity reference &{node.name}; is refused", node.sourceline or 0)
    return root


@dataclass
class AknSource:
    parsed: ParsedText
    language: str  # ISO 639-1 where known ("en"), else as the file gives it
    own: bool  # exported by Travaux
    # The clause read from each element with an eId (what a Travaux .docx points at).
    elements: dict[str, ParsedClause] = field(default_factory=dict)


def parse_akn(data: bytes | str) -> ParsedText:
    return read_akn(data).parsed


def read_akn(data: bytes | str | etree._Element) -> AknSource:
    """The text of an AKN file (its bytes, or its root element already parsed safely)."""
    root = data if isinstance(data, etree._Element) else parse_xml(data)
    document = _document_element(root)
    reader = _Reader(document)
    return AknSource(reader.read(), reader.language(), reader.own, reader.elements)


def _document_element(root: etree._Element) -> etree._Element:
    name = etree.QName(root)
    if name.namespace == AKN2_NS:
        raise SourceError(
            "this is Akoma Ntoso 2.0; Travaux reads AKN 3.0 (OASIS LegalDocML): convert it first",
            root.sourceline or 1,
        )
    if name.namespace != AKN_NS or name.localname != "akomaNtoso":
        raise SourceError(
            f"not an Akoma Ntoso 3.0 document: the root element is <{name.localname}> in "
            f"namespace {name.namespace or '(none)'!r}; expected <akomaNtoso> in {AKN_NS!r}",
            root.sourceline or 1,
        )
    documents = [child for child in root if isinstance(child.tag, str)]
    if not documents:
        raise SourceError("the <akomaNtoso> element holds no document", root.sourceline or 1)
    document = documents[0]
    local = etree.QName(document).localname
    if local in OTHER_DOCUMENTS:
        raise SourceError(
            f"an AKN <{local}> is not a negotiation text; Travaux imports <act>, <bill>, "
            "<statement> and <doc> documents",
            document.sourceline or 1,
        )
    if local not in TEXT_DOCUMENTS:
        raise SourceError(f"unknown AKN document type <{local}>", document.sourceline or 1)
    return document


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname if isinstance(element.tag, str) else ""


def _akn(element: etree._Element) -> bool:
    return isinstance(element.tag, str) and etree.QName(element).namespace == AKN_NS


def _child(element: etree._Element, name: str) -> etree._Element | None:
    return element.find(f"{{{AKN_NS}}}{name}")


def _refers(element: etree._Element) -> list[str]:
    return [token.removeprefix("#") for token in (element.get("refersTo") or "").split()]


@dataclass
class _Format:
    italic: bool = False
    bold: bool = False
    link: str | None = None


@dataclass
class _Reader:
    document: etree._Element
    warnings: list[ImportWarning] = field(default_factory=list)
    notes: dict[str, list[Inline]] = field(default_factory=dict)
    note_keys: dict[str, str] = field(default_factory=dict)  # note eId -> note id
    moved: set[int] = field(default_factory=set)  # clauses (by id()) marked tvx:in="last"
    elements: dict[str, ParsedClause] = field(default_factory=dict)  # eId -> clause

    def __post_init__(self) -> None:
        self.doctype = _local(self.document)
        self.meta = _child(self.document, "meta")
        self.export = (
            self.meta.find(f"{{{AKN_NS}}}proprietary/{{{TVX_NS}}}export")
            if self.meta is not None
            else None
        )
        self.own = self.export is not None
        self.kind = self._kind()
        # TLCOrganization eId -> Party code, for the `refersTo` and `by` of a Travaux file.
        self.party_codes: dict[str, str] = {}
        if self.own and self.meta is not None:
            for organisation in self.meta.iter(f"{{{AKN_NS}}}TLCOrganization"):
                if organisation.get("shortForm") and organisation.get("eId"):
                    self.party_codes[organisation.get("eId", "")] = organisation.get(
                        "shortForm", ""
                    )

    # -- the document ----------------------------------------------------------------
    def read(self) -> ParsedText:
        self._read_notes()
        clauses: list[ParsedClause] = []
        title = self._title()
        for part in self.document:
            local = _local(part) if _akn(part) else ""
            if local == "preface":
                clauses.extend(self._preface(part, title))
            elif local == "preamble":
                clauses.append(self._clause(part, ClauseKind.PREAMBLE))
            elif local in ("body", "mainBody") or local == "conclusions":
                clauses.extend(self._children(part, worded=False)[1])
            elif local == "attachments":
                for attachment in part:
                    if _local(attachment) == "attachment":
                        clauses.append(self._attachment(attachment))
            elif local == "components":
                self._warn(part, "components (documents embedded after the text) were skipped")
        if not clauses and not title:
            raise SourceError("the document has no text: no preamble, body or title", 1, 1)
        parsed = ParsedText(
            kind=self.kind,
            title=title,
            clauses=_placed_back(clauses, self.moved),
            notes=self.notes,
            warnings=sorted(self.warnings, key=lambda w: (w.line, w.column)),
        )
        if self.export is not None:
            self._records(parsed, self.export)
            _splice_removed(parsed.clauses, self.export)
        return parsed

    def _records(self, parsed: ParsedText, export: etree._Element) -> None:
        """What a Travaux file keeps beside the words: the text's metadata, the Parties,
        the proposals (from the workflow) and the brackets the text no longer shows."""
        parsed.languages = (export.get("languages") or "").split()
        parsed.revision = export.get("revision", "")
        parsed.created = export.get("created", "")
        note = export.find(f"{{{TVX_NS}}}sourceNote")
        parsed.source_note = note.text or "" if note is not None else ""
        for entry in export.findall(f"{{{TVX_NS}}}party"):
            kind = entry.get("kind", "")
            parsed.parties.append(
                ParsedParty(
                    code=entry.get("code", ""),
                    name=entry.get("name", ""),
                    kind=kind if kind in set(PartyKind) else str(PartyKind.STATE),
                    members=[m.get("code", "") for m in entry.findall(f"{{{TVX_NS}}}member")],
                )
            )
        for entry in export.findall(f"{{{TVX_NS}}}bracket"):
            fields = {key: entry.get(key, "") for key in SETTLED_FIELDS}
            parsed.settled_brackets.append(SettledBracket(**fields))
        parsed.proposals = self._proposals()

    def _proposals(self) -> list[ParsedProposal]:
        if self.meta is None:
            return []
        found: dict[str, ParsedProposal] = {}
        steps = self.meta.findall(f"{{{AKN_NS}}}workflow/{{{AKN_NS}}}step")
        for step in steps:
            record = step.find(f"{{{TVX_NS}}}proposal")
            if record is None:
                continue
            target = record.find(f"{{{TVX_NS}}}target")
            roles = dict(
                entry.split(":", 1)
                for entry in (record.get("brackets") or "").split()
                if ":" in entry
            )
            found[record.get("id", "")] = ParsedProposal(
                id=record.get("id", ""),
                kind=record.get("kind", ""),
                party=record.get("party", ""),
                clause=record.get("clause", ""),
                status=record.get("status", ""),
                words=_child_text(record, "words"),
                replaced=_child_text(record, "replaced"),
                brackets=roles,
                target=(
                    {"parent": target.get("parent", ""), "after": target.get("after")}
                    if target is not None
                    else {}
                ),
                created=record.get("created", ""),
                updated=record.get("updated", ""),
            )
        for step in steps:
            proposal = found.get(step.get(f"{{{TVX_NS}}}proposal", ""))
            party = self.party_codes.get((step.get("by") or "").removeprefix("#"), "")
            outcome = (step.get("outcome") or "").removeprefix("#")
            if proposal is None or not party:
                continue
            if outcome == "supported":
                proposal.supporters[party] = step.get("date", "")
            elif outcome == "objected":
                proposal.objectors[party] = step.get("date", "")
        return list(found.values())

    def language(self) -> str:
        if self.export is not None and self.export.get("language"):
            return self.export.get("language", "")
        found = self.document.find(
            f"{{{AKN_NS}}}meta/{{{AKN_NS}}}identification/{{{AKN_NS}}}FRBRExpression"
            f"/{{{AKN_NS}}}FRBRlanguage"
        )
        return two_letter(found.get("language", "en")) if found is not None else "en"

    def _kind(self) -> str:
        if self.export is not None and self.export.get("kind") in set(TextKind):
            return self.export.get("kind", "")
        if self.doctype in ("act", "bill"):
            return TextKind.TREATY
        name = re.sub(r"(?<=[a-z])(?=[A-Z])", "-", self.document.get("name", "")).lower()
        if name in set(TextKind):
            return TextKind(name)
        if "declaration" in name:
            return TextKind.DECLARATION
        if "decision" in name:
            return TextKind.DECISION
        return TextKind.RESOLUTION

    def _title(self) -> str:
        preface = _child(self.document, "preface")
        if preface is not None:
            title = preface.find(f".//{{{AKN_NS}}}docTitle")
            if title is not None:
                return " ".join("".join(title.itertext()).split())
        if self.meta is None:
            return ""
        work = self.meta.find(f"{{{AKN_NS}}}identification/{{{AKN_NS}}}FRBRWork")
        if work is None:
            return ""
        for tag in ("FRBRalias", "FRBRname"):
            found = work.find(f"{{{AKN_NS}}}{tag}")
            if found is not None and found.get("value"):
                return found.get("value", "")
        return ""

    def _read_notes(self) -> None:
        if self.meta is None:
            return
        for notes in self.meta.findall(f"{{{AKN_NS}}}notes"):
            for note in notes.findall(f"{{{AKN_NS}}}note"):
                key = note.get("marker") or note.get("eId") or f"n{len(self.notes) + 1}"
                if note.get("eId"):
                    self.note_keys[note.get("eId", "")] = key
                if note.get(f"{{{TVX_NS}}}missing") == "true":
                    continue
                self.notes[key] = self._blocks_inline(note)

    def _preface(self, preface: etree._Element, title: str) -> list[ParsedClause]:
        found: list[ParsedClause] = []
        for child in preface:
            if not _akn(child):
                continue
            if child.find(f".//{{{AKN_NS}}}docTitle") is not None:
                continue  # the title
            if child.get(f"{{{TVX_NS}}}kind"):
                found.append(self._clause(child, child.get(f"{{{TVX_NS}}}kind", "")))
                continue
            for words in self._paragraphs(child):
                found.append(ParsedClause(ClauseKind.HEADING, heading=words, line=_line(child)))
        return found

    def _attachment(self, attachment: etree._Element) -> ParsedClause:
        clause = ParsedClause(ClauseKind.ANNEX, line=_line(attachment))
        num = _child(attachment, "num")
        clause.number = label_number(ClauseKind.ANNEX, _text(num)) if num is not None else ""
        heading = _child(attachment, "heading")
        if heading is not None:
            clause.heading = self._inline(heading)
        clause.bracketed = BRACKET_CONCEPT in _refers(attachment)
        self._clause_records(clause, attachment)
        if attachment.get("eId"):
            self.elements[attachment.get("eId", "")] = clause
        for inner in attachment:
            if _local(inner) in TEXT_DOCUMENTS:
                for part in inner:
                    local = _local(part)
                    if local == "preamble":
                        clause.children.append(self._clause(part, ClauseKind.PREAMBLE))
                    elif local in ("body", "mainBody", "conclusions"):
                        clause.children.extend(self._children(part, worded=False)[1])
            elif _akn(inner) and _local(inner) not in ("num", "heading", "subheading"):
                self._warn(inner, f"an attachment's <{_local(inner)}> was skipped")
        return clause

    # -- clauses ---------------------------------------------------------------------------
    def _clause_records(self, clause: ParsedClause, element: etree._Element) -> None:
        """The records a Travaux file gives on a clause's element."""
        if not self.own:
            return
        get = element.get
        if get(tvx("number")) is not None:
            clause.number = get(tvx("number"), "")
        if get(tvx("base")) in ("true", "false"):
            clause.base = get(tvx("base")) == "true"
        clause.id = get(tvx("id"), "")
        clause.party = get(tvx("party"), "")
        clause.created = get(tvx("created"), "")
        clause.chosen = get(tvx("chosen"), "")
        statuses = [STATUS_CONCEPTS[r] for r in _refers(element) if r in STATUS_CONCEPTS]
        clause.status = statuses[0] if statuses else ""
        if clause.bracketed:
            clause.bracket = BracketRecord(
                id=get(tvx("bracket"), ""),
                party=self._party_of(element),
                proposal=get(tvx("proposal"), ""),
                created=get(tvx("bracketCreated"), ""),
            )

    def _party_of(self, element: etree._Element) -> str:
        parties = [self.party_codes[r] for r in _refers(element) if r in self.party_codes]
        return parties[0] if parties else ""

    def _clause(self, element: etree._Element, kind: str) -> ParsedClause:
        clause = ParsedClause(kind, line=_line(element))
        clause.bracketed = BRACKET_CONCEPT in _refers(element)
        num = _child(element, "num")
        if num is not None:
            clause.number = label_number(kind, _text(num))
        self._clause_records(clause, element)
        if element.get("eId"):
            self.elements[element.get("eId", "")] = clause
        if element.get(tvx("in")) == "last":
            self.moved.add(id(clause))
        local = _local(element)
        if local in ("p", "crossHeading"):
            words = self._inline(element)
            if kind in HEADED:
                clause.heading = words
            else:
                clause.content = words
            return clause
        heading = _child(element, "heading")
        if heading is not None:
            clause.heading = self._inline(heading)
        worded = kind not in HEADED
        own, children = self._children(element, worded=worded)
        if own is not None:
            clause.content = own
        clause.children = children
        return clause

    def _children(
        self, element: etree._Element, *, worded: bool
    ) -> tuple[list[Inline] | None, list[ParsedClause]]:
        """The words of `element` itself (the first plain paragraph before any clause, if
        it has words of its own) and the clauses inside it, in document order."""
        own: list[Inline] | None = None
        children: list[ParsedClause] = []
        for child in self._content(element):
            local = _local(child)
            kind = child.get(f"{{{TVX_NS}}}kind")
            if kind:
                children.append(self._clause(child, kind))
            elif local == "p":
                words = self._inline(child)
                if worded and own is None and not children:
                    own = words
                elif words:
                    children.append(ParsedClause(ClauseKind.TEXT, content=words, line=_line(child)))
            elif self.own and local == "hcontainer" and child.get("name") == "empty":
                continue
            else:
                children.extend(self._foreign(child))
        return own, children

    def _content(self, element: etree._Element) -> Iterator[etree._Element]:
        """The children of `element` that are blocks or clauses, wrappers opened."""
        for child in element:
            if not _akn(child):
                continue
            local = _local(child)
            if local in SKIPPED or (local == "longTitle" and self.own):
                continue
            if local in WRAPPERS and not child.get(f"{{{TVX_NS}}}kind"):
                yield from self._content(child)
            else:
                yield child

    def _foreign(self, element: etree._Element) -> list[ParsedClause]:
        """A unit of a file Travaux did not write: its kind inferred from the element."""
        local = _local(element)
        if local == "article":
            return [self._clause(element, ClauseKind.ARTICLE)]
        if local == "paragraph":
            operative = self.kind != TextKind.TREATY and not self._in_article(element)
            return [self._clause(element, ClauseKind.OPERATIVE if operative else "paragraph")]
        if local in SUBPARAGRAPH_LIKE:
            return [self._clause(element, ClauseKind.SUBPARAGRAPH)]
        if local in SECTION_LIKE:
            return [self._clause(element, ClauseKind.SECTION)]
        if local == "hcontainer":
            return [self._clause(element, self._hcontainer_kind(element))]
        if local == "crossHeading":
            return [self._clause(element, ClauseKind.HEADING)]
        if local in ("recital", "citation"):
            return [self._clause(element, ClauseKind.RECITAL)]
        if local == "blockContainer":
            num = _child(element, "num")
            option = num is not None and _text(num).lower().startswith("option")
            return [self._clause(element, ClauseKind.OPTION if option else ClauseKind.TEXT)]
        if local in ("formula", "container", "longTitle", "blockList", "ul", "ol", "tblock"):
            return self._loose_paragraphs(element)
        if local == "table":
            self._warn(element, "a table was read as one paragraph per row")
            return [
                ParsedClause(ClauseKind.TEXT, content=words, line=_line(element))
                for words in self._rows(element)
            ]
        self._warn(element, f"<{local}> is not a part of a text Travaux knows; its words kept")
        return self._loose_paragraphs(element)

    def _hcontainer_kind(self, element: etree._Element) -> str:
        name = element.get("name", "")
        if name in set(ClauseKind):
            return name
        if name.lower() in ("crossheading", "heading"):
            return ClauseKind.HEADING
        has_units = any(
            _local(child) not in ("num", "heading", "subheading", "content")
            for child in element
            if _akn(child)
        )
        heading = _child(element, "heading") is not None
        return ClauseKind.SECTION if heading or has_units else ClauseKind.TEXT

    def _in_article(self, element: etree._Element) -> bool:
        parent = element.getparent()
        while parent is not None:
            if _local(parent) == "article" or parent.get(f"{{{TVX_NS}}}kind") == "article":
                return True
            parent = parent.getparent()
        return False

    def _loose_paragraphs(self, element: etree._Element) -> list[ParsedClause]:
        """Each paragraph of a block (formula, container, list …) as an unnumbered one;
        list items with a number as sub-paragraphs."""
        found: list[ParsedClause] = []
        for child in element:
            if not _akn(child):
                continue
            local = _local(child)
            if local in ("item", "li") and _child(child, "num") is not None:
                clause = ParsedClause(ClauseKind.SUBPARAGRAPH, line=_line(child))
                clause.number = label_number(ClauseKind.SUBPARAGRAPH, _text(_child(child, "num")))
                words = [w for ws in self._paragraphs(child) for w in [*ws, Run(" ")]][:-1]
                clause.content = words
                found.append(clause)
            elif local in ("p", "listIntroduction", "listWrapUp", "li", "item", "tocItem"):
                words = self._inline(child)
                if words:
                    found.append(ParsedClause(ClauseKind.TEXT, content=words, line=_line(child)))
            elif local != "num":
                found.extend(self._foreign(child))
        if not found and element.text and element.text.strip():
            found.append(
                ParsedClause(ClauseKind.TEXT, content=self._inline(element), line=_line(element))
            )
        return found

    def _paragraphs(self, element: etree._Element) -> list[list[Inline]]:
        """The words of each paragraph inside `element` (itself, if it holds words)."""
        paragraphs = [
            self._inline(p) for p in element.iter(f"{{{AKN_NS}}}p") if "".join(p.itertext()).strip()
        ]
        if not paragraphs and "".join(element.itertext()).strip():
            paragraphs = [self._inline(element)]
        return paragraphs

    def _rows(self, table: etree._Element) -> list[list[Inline]]:
        rows = []
        for row in table.iter(f"{{{AKN_NS}}}tr"):
            cells = [" ".join("".join(cell.itertext()).split()) for cell in row]
            text = " | ".join(cell for cell in cells if cell)
            if text:
                rows.append([Run(text)])
        return rows

    def _blocks_inline(self, element: etree._Element) -> list[Inline]:
        """The words of a note: its paragraphs joined with a space."""
        found: list[Inline] = []
        for words in self._paragraphs(element):
            if found:
                found.append(Run(" "))
            found.extend(words)
        return found

    # -- words -------------------------------------------------------------------------------
    def _inline(self, element: etree._Element) -> list[Inline]:
        content: list[Inline] = []
        self._inline_into(content, element, _Format(), top=True)
        if self.own:
            return [node for node in content if not (isinstance(node, Run) and not node.text)]
        return _literal_brackets(_trimmed(content), self.warnings, _line(element))

    def _inline_into(
        self, content: list[Inline], element: etree._Element, fmt: _Format, *, top: bool = False
    ) -> None:
        if element.text:
            _append(content, self._space(element.text), fmt)
        for child in element:
            if isinstance(child.tag, str):
                self._inline_child(content, child, fmt)
            if child.tail:
                _append(content, self._space(child.tail), fmt)

    def _inline_child(self, content: list[Inline], child: etree._Element, fmt: _Format) -> None:
        local = _local(child) if _akn(child) else ""
        refers = _refers(child)
        if local in ("span", "placeholder") and (
            BRACKET_CONCEPT in refers or PLACEHOLDER_CONCEPT in refers or local == "placeholder"
        ):
            inner: list[Inline] = []
            self._inline_into(inner, child, fmt)
            line = _line(child)
            placeholder = local == "placeholder" or PLACEHOLDER_CONCEPT in refers
            record = self._bracket_record(child) if self.own else None
            content.append(
                Placeholder(inner, line, 0, record=record)
                if placeholder
                else Bracket(inner, line, 0, record=record)
            )
        elif local == "i":
            self._inline_into(content, child, _Format(True, fmt.bold, fmt.link))
        elif local == "b":
            self._inline_into(content, child, _Format(fmt.italic, True, fmt.link))
        elif local == "a":
            self._inline_into(content, child, _Format(fmt.italic, fmt.bold, child.get("href")))
        elif local == "noteRef":
            href = (child.get("href") or "").removeprefix("#")
            content.append(NoteRef(self.note_keys.get(href) or child.get("marker") or href))
        elif local == "authorialNote":
            key = child.get("marker") or f"n{len(self.notes) + 1}"
            while key in self.notes:
                key += "'"
            self.notes[key] = self._blocks_inline(child)
            content.append(NoteRef(key))
        elif local == "del":
            self._warn(child, "deleted words (<del>) were left out")
        elif local in ("eol", "br", "eop"):
            _append(content, " ", fmt)
        else:
            self._inline_into(content, child, fmt)

    def _bracket_record(self, element: etree._Element) -> BracketRecord | None:
        if element.get(tvx("bracket")) is None:
            return None  # a clean export: brackets without records
        get = element.get
        return BracketRecord(
            id=get(tvx("bracket"), ""),
            party=self._party_of(element),
            proposal=get(tvx("proposal"), ""),
            created=get(tvx("created"), ""),
            group=get(tvx("group"), ""),
            parent=get(tvx("parent")),
        )

    def _space(self, text: str) -> str:
        return text if self.own else re.sub(r"\s+", " ", text)

    def _warn(self, element: etree._Element, message: str) -> None:
        self.warnings.append(ImportWarning(_line(element), 0, message))


def tvx(name: str) -> str:
    return f"{{{TVX_NS}}}{name}"


def _child_text(element: etree._Element, name: str) -> str:
    found = element.find(tvx(name))
    return (found.text or "") if found is not None else ""


def _placed_back(clauses: list[ParsedClause], moved: set[int]) -> list[ParsedClause]:
    """Paragraphs an export moved to `conclusions` from the end of the last clause of the
    body (`tvx:in="last"`: a signature formula) go back to the end of that clause."""
    first = next((i for i, c in enumerate(clauses) if id(c) in moved), None)
    if not first:  # none, or nothing before them to hold them
        return clauses
    host = clauses[first - 1]
    host.children.extend(c for c in clauses if id(c) in moved)
    return [c for c in clauses if id(c) not in moved]


def _splice_removed(clauses: list[ParsedClause], export: etree._Element) -> None:
    """Put back the clauses a negotiation export kept as records (`tvx:clause`: deleted,
    options that lost), each after the sibling it followed, as deleted clauses keep their
    number and so count in the numbering of the others."""
    entries = export.findall(tvx("clause"))
    if not entries:
        return
    siblings: dict[str, list[ParsedClause]] = {"": clauses}

    def index(found: list[ParsedClause]) -> None:
        for clause in found:
            if clause.id:
                siblings[clause.id] = clause.children
                index(clause.children)

    index(clauses)
    for entry in entries:
        get = entry.get
        clause = ParsedClause(
            kind=get("kind", ClauseKind.TEXT),
            number=get("number", ""),
            content=[Run(entry.text)] if entry.text else [],
            id=get("id", ""),
            status=get("status", ""),
            party=get("party", ""),
            created=get("created", ""),
            base=get("base") != "false",
            chosen=get("chosen", ""),
            line=_line(entry),
        )
        if get("bracket"):
            clause.bracketed = True
            clause.bracket = BracketRecord(id=get("bracket", ""))
        place = siblings.get(get("parent", ""), clauses)
        after = get("after", "")
        position = next((i + 1 for i, c in enumerate(place) if c.id == after), 0)
        place.insert(position, clause)
        siblings[clause.id] = clause.children


def _append(content: list[Inline], text: str, fmt: _Format) -> None:
    if not text:
        return
    last = content[-1] if content else None
    if isinstance(last, Run) and (last.italic, last.bold, last.link) == (
        fmt.italic,
        fmt.bold,
        fmt.link,
    ):
        last.text += text
    else:
        content.append(Run(text, italic=fmt.italic, bold=fmt.bold, link=fmt.link))


def _trimmed(content: list[Inline]) -> list[Inline]:
    if content and isinstance(content[0], Run):
        content[0].text = content[0].text.lstrip()
    if content and isinstance(content[-1], Run):
        content[-1].text = content[-1].text.rstrip()
    return [node for node in content if not (isinstance(node, Run) and not node.text)]


def _literal_brackets(
    content: list[Inline], warnings: list[ImportWarning], line: int
) -> list[Inline]:
    """Square brackets and braces typed in the words, as brackets and placeholders.

    Unbalanced ones are repaired as the Markdown importer repairs them: a closing bracket
    with no opening one is dropped, one never closed is closed at the end of the
    paragraph; each repair is a warning.
    """
    root: list[Inline] = []
    frames: list[tuple[str, list[Inline]]] = []

    def here() -> list[Inline]:
        return frames[-1][1] if frames else root

    def close(closed: bool = True) -> None:
        char, inner = frames.pop()
        node = (
            Bracket(inner, line, 0, closed=closed) if char == "[" else Placeholder(inner, line, 0)
        )
        here().append(node)

    for node in content:
        if not isinstance(node, Run):
            if isinstance(node, Bracket | Placeholder):
                node.content = _literal_brackets(node.content, warnings, line)
            here().append(node)
            continue
        for piece in re.split(r"([\[\]{}])", node.text):
            if piece in ("[", "{"):
                frames.append((piece, []))
            elif piece in ("]", "}"):
                opening = "[" if piece == "]" else "{"
                if frames and frames[-1][0] == opening:
                    close()
                else:
                    warnings.append(
                        ImportWarning(line, 0, f"closing {piece!r} without an opening one dropped")
                    )
            elif piece:
                here().append(Run(piece, node.italic, node.bold, node.link))
    while frames:
        warnings.append(ImportWarning(line, 0, f"{frames[-1][0]!r} opened here is never closed"))
        close(closed=False)
    return root


# ISO 639-1 → ISO 639-2/T ("fra", "zho"): the six UN languages and a few others.
LANGUAGES_639_2 = {
    "ar": "ara",
    "zh": "zho",
    "en": "eng",
    "fr": "fra",
    "ru": "rus",
    "es": "spa",
    "de": "deu",
    "pt": "por",
    "it": "ita",
    "ja": "jpn",
}
_LANGUAGES_639_1 = {three: two for two, three in LANGUAGES_639_2.items()} | {
    "fre": "fr",
    "ger": "de",
    "chi": "zh",
}


def three_letter(code: str) -> str:
    """An ISO 639-1 language code as AKN names languages (ISO 639-2): "en" → "eng"."""
    code = code.strip().lower()
    return LANGUAGES_639_2.get(code, code if len(code) == 3 else code or "und")


def two_letter(code: str) -> str:
    """An AKN language ("eng", "fre") as Travaux stores languages ("en")."""
    code = code.strip().lower()
    return _LANGUAGES_639_1.get(code, code)


def _text(element: etree._Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def label_number(kind: str, label: str) -> str:
    """A printed label ("Article 2 bis", "3.", "(a)", "Option 1:") as the source number."""
    number = _LABEL_WORD.sub("", label.strip()).strip()
    number = number.rstrip(":").strip()
    if number.endswith(".") and not number.endswith(".."):
        number = number[:-1]
    return number


def _line(element: etree._Element) -> int:
    return element.sourceline or 0
