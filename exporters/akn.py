"""Akoma Ntoso 3.0 (OASIS LegalDocML) export, written with lxml.

    data = export_akn(text, mode="negotiation")        # bytes, UTF-8, with declaration

A treaty is an `act name="treaty"` with a `body`; a resolution, decision, joint statement
or declaration a `statement` with a `mainBody` (STACK-NOTES.md, AKN4UN). Where clauses go:

    title                          preface/longTitle/p/docTitle
    clauses before the preamble    preface (blockContainer, p)
    preamble                       preamble: its chapeau as a p, recitals in `recitals`,
                                   the closing formula ("Have agreed as follows:") as a
                                   `formula`, anything else as a blockContainer
    articles, sections …           body: article, section, paragraph, subparagraph;
                                   hcontainer name="<kind>" for the other kinds (options,
                                   option, text, annex, preamble, final-clauses, heading)
    signature formula              conclusions ("DONE at …", "IN WITNESS WHEREOF …" that
                                   close the last article)
    annexes at the end             attachments/attachment/doc name="annex"
    footnotes                      meta/notes/note, `noteRef` where the marker stands

An element's own words are its `heading` (articles, sections, annexes: their words are a
title) or the first `p` of its `content` or `intro`; an unnumbered paragraph among its
siblings is a `p` (in `intro`, `content` or `wrapUp`) or an `hcontainer name="text"`.
Every element made from a clause has an eId and `tvx:kind` (the clause's kind), so that
`drafting.importers.akn` reads the same tree back.

Negotiation mode adds what AKN has no words for, in constructs the schema accepts: a
bracket is a `span` (a placeholder a `placeholder`) whose `refersTo` names the TLCConcept
`bracket` and the TLCOrganization of its Party; a later alternative carries
`alternativeTo` (the eId of the first); a whole clause in brackets carries the same
`refersTo`; a clause's status is a TLCConcept in its `refersTo`; proposals, supports and
objections are `workflow` steps (with a `tvx:proposal` element each); the Parties are
`TLCOrganization`s. See docs/EXPORTS.md for the project namespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from lxml import etree

from drafting.importers.akn import (
    AKN_NS,
    BRACKET_CONCEPT,
    PLACEHOLDER_CONCEPT,
    TVX_NS,
    label_number,
)
from drafting.importing import INSERTED_NUMBER
from drafting.schema import NegotiationText
from drafting.vocabulary import ClauseKind, TextKind
from exporters.akn_ids import Eids, token_of
from exporters.akn_meta import Meta, RevisionEvent, write_meta
from exporters.document import ExportDocument, Mode, Node, build_document, is_signature
from exporters.frbr import DOCUMENT_TYPES, frbr_names
from exporters.inline import Bracketed, Inline, NoteMarker, Words, markers_in

HIERARCHY = {
    ClauseKind.ARTICLE: ("article", "art"),
    ClauseKind.SECTION: ("section", "sec"),
    ClauseKind.PARAGRAPH: ("paragraph", "para"),
    ClauseKind.OPERATIVE: ("paragraph", "para"),
    ClauseKind.SUBPARAGRAPH: ("subparagraph", "subpara"),
}


def export_akn(
    text: NegotiationText,
    mode: Mode | str = Mode.NEGOTIATION,
    *,
    keep_brackets: bool = False,
    language: str | None = None,
    revisions: Sequence[RevisionEvent] = (),
    exported: str | None = None,
) -> bytes:
    """The text as an Akoma Ntoso document (see the module docstring)."""
    document = build_document(text, mode, keep_brackets=keep_brackets, language=language)
    return akn_bytes(document, revisions=revisions, exported=exported)


def akn_bytes(
    document: ExportDocument,
    *,
    revisions: Sequence[RevisionEvent] = (),
    exported: str | None = None,
) -> bytes:
    root = AknWriter(document, revisions, exported).write()
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def q(tag: str) -> str:
    return f"{{{AKN_NS}}}{tag}"


def tvx(name: str) -> str:
    return f"{{{TVX_NS}}}{name}"


def sub(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, q(tag), attrs)


class AknWriter:
    def __init__(
        self,
        document: ExportDocument,
        revisions: Sequence[RevisionEvent] = (),
        exported: str | None = None,
    ) -> None:
        self.doc = document
        self.eids = Eids()
        self.revisions = list(revisions)
        self.exported = exported or datetime.now(UTC).isoformat(timespec="seconds")
        self.names = frbr_names(
            document.kind, document.title, document.created, document.language, document.revision
        )
        self.clause_eids: dict[str, str] = {}  # clause id -> eId
        self.bracket_eids: dict[str, str] = {}  # bracket id -> eId
        self.shown_brackets: set[str] = set()  # bracket records the text shows
        self.concepts: set[str] = set()  # TLCConcept eIds named by refersTo
        self.party_eids = {
            party.code: self.eids.claim(f"party_{token_of(party.code)}")
            for party in document.parties
        }
        # A marker whose note the source never defined still points somewhere: an empty
        # note marked tvx:missing (read back as no note).
        marked = [m for node in document.walk() for m in markers_in(node.words)]
        marked += [m for words in document.notes.values() for m in markers_in(words)]
        self.missing_notes = sorted(set(marked) - set(document.notes))
        self.note_eids = {
            note_id: self.eids.claim(f"note_{token_of(note_id)}")
            for note_id in [*document.notes, *self.missing_notes]
        }

    # -- the document ----------------------------------------------------------------
    def write(self) -> etree._Element:
        root = etree.Element(q("akomaNtoso"), nsmap={None: AKN_NS, "tvx": TVX_NS})
        doctype = DOCUMENT_TYPES.get(self.doc.kind, "statement")
        main = sub(root, doctype, name=self.doc.kind or str(TextKind.TREATY))
        meta = sub(main, "meta")  # filled last: it lists what the text refers to
        layout = _layout(self.doc.clauses)
        self._preface(main, layout.preface)
        if layout.preamble is not None:
            self._preamble(main, layout.preamble)
        body = sub(main, "body" if doctype == "act" else "mainBody")
        for node in layout.body:
            self._hier(body, node, "")
        if not layout.body:
            self._empty(body)
        if layout.conclusions:
            conclusions = sub(main, "conclusions")
            for node in layout.conclusions:
                self._block(conclusions, node, "conclusions")
            if layout.moved:  # they close the last clause of the body: say so
                for element in conclusions:
                    element.set(tvx("in"), "last")
        if layout.annexes:
            attachments = sub(main, "attachments")
            for index, node in enumerate(layout.annexes, 1):
                self._attachment(attachments, node, index)
        write_meta(meta, self._meta())
        _indent(root)
        return root

    def _meta(self, component: str = "main") -> Meta:
        return Meta(
            document=self.doc,
            names=self.names,
            component=component,
            exported=self.exported,
            revisions=self.revisions,
            party_eids=self.party_eids,
            clause_eids=self.clause_eids,
            concepts=self.concepts,
            notes=self._notes,
            note_eids=self.note_eids,
            eids=self.eids,
            shown_brackets=self.shown_brackets,
        )

    def _notes(self, parent: etree._Element, note_id: str) -> None:
        """Write the words of footnote `note_id` into `parent` (a `note`)."""
        p = sub(parent, "p")
        if note_id in self.doc.notes:
            self._inline(p, self.doc.notes[note_id], self.note_eids[note_id])
        else:
            parent.set(tvx("missing"), "true")

    def _preface(self, main: etree._Element, nodes: list[Node]) -> None:
        if not (self.doc.title or nodes):
            return
        preface = sub(main, "preface")
        if self.doc.title:
            p = sub(sub(preface, "longTitle", eId=self.eids.claim("longTitle")), "p")
            sub(p, "docTitle").text = self.doc.title
        for node in nodes:
            self._block(preface, node, "preface")

    def _preamble(self, main: etree._Element, node: Node) -> None:
        preamble = sub(main, "preamble")
        self._clause_attrs(preamble, node, self.eids.claim("preamble"))
        eid = preamble.get("eId", "preamble")
        if node.words:
            self._inline(sub(preamble, "p"), node.words, eid)
        formulas = _trailing_texts(node.children)
        group: etree._Element | None = None
        for index, child in enumerate(node.children):
            if child.kind == ClauseKind.RECITAL:
                if group is None:
                    group = sub(preamble, "recitals", eId=self.eids.make(eid, "recitals"))
                self._recital(group, child)
                continue
            group = None
            if index >= formulas:
                formula = sub(preamble, "formula", name="enactingFormula")
                self._clause_attrs(formula, child, self.eids.make(eid, "formula"))
                self._inline(sub(formula, "p"), child.words, formula.get("eId", ""))
            else:
                self._block(preamble, child, eid)
        if len(preamble) == 0:
            sub(preamble, "p")

    def _recital(self, group: etree._Element, node: Node) -> None:
        recital = sub(group, "recital")
        eid = self.eids.make(group.get("eId", ""), "recital", node.label)
        self._clause_attrs(recital, node, eid)
        if node.label:
            sub(recital, "num").text = node.label
        self._inline(sub(recital, "p"), node.words, eid)
        for child in node.children:
            self._block(recital, child, eid)

    def _attachment(self, parent: etree._Element, node: Node, index: int) -> None:
        attachment = sub(parent, "attachment")
        eid = self.eids.make("", "attachment", str(index))
        self._clause_attrs(attachment, node, eid)
        if node.label:
            sub(attachment, "num").text = node.label
        if node.words:
            self._inline(sub(attachment, "heading"), node.words, eid)
        doc = sub(attachment, "doc", name="annex")
        meta = sub(doc, "meta")
        body = sub(doc, "mainBody")
        for child in node.children:
            self._hier(body, child, eid)
        if not node.children:
            sub(body, "p")
        write_meta(meta, self._meta(component=f"annex_{index}"), attachment=True)

    def _empty(self, body: etree._Element) -> None:
        """A body has at least one element: an empty, unnamed container when the text has
        no clause outside its preamble (read back as nothing)."""
        hcontainer = sub(body, "hcontainer", name="empty", eId=self.eids.claim("hcontainer_1"))
        sub(sub(hcontainer, "content"), "p")

    # -- clauses -------------------------------------------------------------------------
    def _clause_attrs(self, element: etree._Element, node: Node, eid: str) -> None:
        element.set("eId", eid)
        self.clause_eids[node.id] = eid
        refers: list[str] = []
        if node.bracket is not None:
            refers.append(self._concept(BRACKET_CONCEPT))
            refers.extend(self._party(node.bracket.party))
        if self.doc.negotiation and node.status:
            refers.append(self._concept(f"status-{token_of(node.status)}"))
        if refers:
            element.set("refersTo", " ".join(refers))
        if node.alternative_to and node.alternative_to in self.clause_eids:
            element.set("alternativeTo", self.clause_eids[node.alternative_to])
        element.set(tvx("kind"), node.kind)
        if node.source_number != label_number(node.kind, node.label):
            element.set(tvx("number"), node.source_number)
        if not self.doc.final and bool(INSERTED_NUMBER.search(node.source_number)) == node.base:
            # The number alone would make an importer count it wrongly ("5 bis" counted).
            element.set(tvx("base"), "true" if node.base else "false")
        if not self.doc.final:  # ids: where deleted clauses stood, which option was kept
            element.set(tvx("id"), node.id)
            if node.chosen:
                element.set(tvx("chosen"), node.chosen)
        if self.doc.negotiation:
            if node.created:
                element.set(tvx("created"), node.created)
            if node.party:
                element.set(tvx("party"), node.party)
            if node.bracket is not None:
                self.shown_brackets.add(node.bracket.id)
                element.set(tvx("bracket"), node.bracket.id)
                if node.bracket.proposal:
                    element.set(tvx("proposal"), node.bracket.proposal)
                if node.bracket.created:
                    element.set(tvx("bracketCreated"), node.bracket.created)

    def _hier(self, parent: etree._Element, node: Node, scope: str) -> None:
        """A clause where hierarchical elements go (a body, an article, a paragraph …)."""
        tag, abbreviation = HIERARCHY.get(node.kind, ("hcontainer", "hcontainer"))
        element = sub(parent, tag)
        if tag == "hcontainer":
            element.set("name", node.kind)
        eid = self.eids.make(scope, abbreviation, node.number if node.label else "")
        self._clause_attrs(element, node, eid)
        if node.label:
            sub(element, "num").text = node.label
        if node.headed and node.words:
            self._inline(sub(element, "heading"), node.words, eid)
        own = None if node.headed else node.words
        children = node.children
        if not children:
            if own is not None:
                self._inline(sub(sub(element, "content"), "p"), own, eid)
            return
        if all(_text_leaf(child) for child in children):
            content = sub(element, "content")
            if own:
                self._inline(sub(content, "p"), own, eid)
            for child in children:
                self._text_p(content, child, eid)
            return
        first = next(i for i, child in enumerate(children) if not _text_leaf(child))
        last = max(i for i, child in enumerate(children) if not _text_leaf(child))
        if own or first:
            intro = sub(element, "intro")
            if own:
                self._inline(sub(intro, "p"), own, eid)
            for child in children[:first]:
                self._text_p(intro, child, f"{eid}__intro")
        for child in children[first : last + 1]:
            self._hier(element, child, eid)
        if last + 1 < len(children):
            wrap_up = sub(element, "wrapUp")
            for child in children[last + 1 :]:
                self._text_p(wrap_up, child, f"{eid}__wrapup")

    def _block(self, parent: etree._Element, node: Node, scope: str) -> None:
        """A clause where only blocks may go (preface, preamble, conclusions)."""
        if _text_leaf(node):
            self._text_p(parent, node, scope)
            return
        container = sub(parent, "blockContainer")
        eid = self.eids.make(scope, "blockContainer", node.number if node.label else "")
        self._clause_attrs(container, node, eid)
        if node.label:
            sub(container, "num").text = node.label
        if node.headed and node.words:
            self._inline(sub(container, "heading"), node.words, eid)
        if not node.headed and node.words:
            self._inline(sub(container, "p"), node.words, eid)
        for child in node.children:
            self._block(container, child, eid)
        if not any(child.tag != q("num") and child.tag != q("heading") for child in container):
            sub(container, "p")  # a blockContainer holds at least one block

    def _text_p(self, parent: etree._Element, node: Node, scope: str) -> None:
        p = sub(parent, "p")
        eid = self.eids.make(scope, "p")
        self._clause_attrs(p, node, eid)
        self._inline(p, node.words, eid)

    # -- words ---------------------------------------------------------------------------
    def _inline(
        self, parent: etree._Element, inline: list[Inline], scope: str, enclosing: str = ""
    ) -> None:
        for node in inline:
            if isinstance(node, Words):
                self._words(parent, node)
            elif isinstance(node, NoteMarker):
                note_eid = self.note_eids.get(node.note, f"note_{token_of(node.note)}")
                sub(parent, "noteRef", href=f"#{note_eid}", marker=node.note)
            else:
                self._bracket(parent, node, scope, enclosing)

    def _words(self, parent: etree._Element, words: Words) -> None:
        if not (words.italic or words.bold or words.link):
            _append_text(parent, words.text)
            return
        target = parent
        if words.link:
            target = sub(target, "a", href=words.link)
        if words.bold:
            target = sub(target, "b")
        if words.italic:
            target = sub(target, "i")
        target.text = words.text

    def _bracket(
        self, parent: etree._Element, node: Bracketed, scope: str, enclosing: str = ""
    ) -> None:
        span = node.span
        tag = "placeholder" if node.placeholder else "span"
        element = sub(parent, tag)
        eid = self.eids.make(scope, tag)
        element.set("eId", eid)
        self.bracket_eids[span.id] = eid
        concept = PLACEHOLDER_CONCEPT if node.placeholder else BRACKET_CONCEPT
        refers = [self._concept(concept)]
        if self.doc.negotiation:
            refers.extend(self._party(span.party))
        element.set("refersTo", " ".join(refers))
        if node.alternative_to in self.bracket_eids:
            element.set("alternativeTo", self.bracket_eids[node.alternative_to])
        if self.doc.negotiation:
            self.shown_brackets.add(span.id)
            element.set(tvx("bracket"), span.id)
            if span.proposal:
                element.set(tvx("proposal"), span.proposal)
            record = self.doc.bracket_records.get(span.id, {})
            if record.get("created"):
                element.set(tvx("created"), record["created"])
            if record.get("group"):  # the raw record: "" is a group of its own
                element.set(tvx("group"), record["group"])
            if span.parent != enclosing:
                element.set(tvx("parent"), span.parent)
        self._inline(element, node.children, scope, span.id)

    def _concept(self, eid: str) -> str:
        self.concepts.add(eid)
        return f"#{eid}"

    def _party(self, code: str) -> list[str]:
        return [f"#{self.party_eids[code]}"] if code in self.party_eids else []


# -- layout ----------------------------------------------------------------------------------
class _Layout:
    def __init__(self) -> None:
        self.preface: list[Node] = []
        self.preamble: Node | None = None
        self.body: list[Node] = []
        self.conclusions: list[Node] = []
        self.moved = False  # the conclusions were the last paragraphs of the last clause
        self.annexes: list[Node] = []


def _layout(clauses: list[Node]) -> _Layout:
    """Which clauses go to the preface, preamble, body, conclusions and attachments."""
    layout = _Layout()
    rest = list(clauses)
    for index, node in enumerate(clauses):
        if node.kind == ClauseKind.PREAMBLE:
            before = clauses[:index]
            if all(not n.children and n.kind != ClauseKind.ANNEX for n in before):
                layout.preface, layout.preamble, rest = before, node, clauses[index + 1 :]
            break
    while rest and rest[-1].kind == ClauseKind.ANNEX:
        layout.annexes.insert(0, rest.pop())
    while rest and _text_leaf(rest[-1]):
        layout.conclusions.insert(0, rest.pop())
    if rest and not layout.conclusions:
        last = rest[-1]
        keep = len(last.children)
        while (
            keep and _text_leaf(last.children[keep - 1]) and is_signature(last.children[keep - 1])
        ):
            keep -= 1
        if keep < len(last.children) and (keep or last.headed):
            layout.conclusions = last.children[keep:]
            layout.moved = True
            rest[-1] = replace(last, children=last.children[:keep])
    if not rest:
        rest, layout.conclusions, layout.moved = layout.conclusions, [], False
    layout.body = rest
    return layout


def _text_leaf(node: Node) -> bool:
    return node.kind == ClauseKind.TEXT and not node.children


def _trailing_texts(children: list[Node]) -> int:
    """Index of the first of the unnumbered paragraphs that close a preamble."""
    index = len(children)
    while index and _text_leaf(children[index - 1]):
        index -= 1
    return index


# -- serialisation ---------------------------------------------------------------------------
def _append_text(parent: etree._Element, text: str) -> None:
    if len(parent):
        last = parent[-1]
        last.tail = (last.tail or "") + text
    else:
        parent.text = (parent.text or "") + text


# Elements whose content is words: never indented inside, whitespace there is text.
INLINE_HOLDERS = frozenset(
    q(tag)
    for tag in (
        "p",
        "num",
        "heading",
        "subheading",
        "span",
        "placeholder",
        "i",
        "b",
        "a",
        "docTitle",
        "noteRef",
    )
)


def _indent(element: etree._Element, level: int = 0) -> None:
    """Pretty-print the structure, leaving every word-holding element untouched."""
    if element.tag in INLINE_HOLDERS or not len(element) or (element.text and element.text.strip()):
        return
    inner = "\n" + "  " * (level + 1)
    element.text = inner
    for child in element:
        _indent(child, level + 1)
        child.tail = inner
    element[-1].tail = "\n" + "  " * level
