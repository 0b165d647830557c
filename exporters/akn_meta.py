"""The `meta` block of an Akoma Ntoso export: FRBR identification, lifecycle, workflow,
references, notes and the Travaux `proprietary` record (in the order the schema wants).

    identification  FRBRWork / FRBRExpression (one per language: the language exported,
                    marked authoritative) / FRBRManifestation (this XML file)
    lifecycle       the text's creation, then each revision given (label and date)
    workflow        negotiation mode: every proposal tabled, supported, objected to,
                    withdrawn, accepted, rejected or merged, as a step `by` its Party
    references      Travaux, the Parties (TLCOrganization), the concepts `refersTo` names
                    (bracket, placeholder, clause statuses, proposal outcomes), the roles
    notes           the footnotes
    proprietary     <tvx:export …/>: how the file was made, and the Parties' registry
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from drafting.importers.akn import AKN_NS, TVX_NS
from drafting.vocabulary import ProposalStatus
from exporters.akn_ids import Eids, token_of
from exporters.document import ExportDocument, ProposalInfo
from exporters.frbr import COUNTRY, FrbrNames

SOURCE = "#travaux"
EXPORT_FORMAT_VERSION = "1"

CONCEPTS = {
    "bracket": "Words in square brackets: not agreed",
    "placeholder": "Placeholder: a slot agreed to exist whose content is open",
    "status-pending": "Clause status: pending (not yet discussed)",
    "status-bracketed": "Clause status: bracketed (under negotiation)",
    "status-agreed-ad-ref": "Clause status: agreed ad referendum",
    "status-agreed": "Clause status: agreed",
    "status-parked": "Clause status: parked",
    "status-deleted": "Clause status: deleted",
    "tabled": "Proposal tabled",
    "supported": "Proposal supported",
    "objected": "Objection to a proposal",
    "withdrawn": "Proposal withdrawn",
    "accepted": "Proposal accepted",
    "rejected": "Proposal rejected",
    "merged": "Proposal merged into a compromise",
    "generation": "Creation of the text",
}


@dataclass(frozen=True)
class RevisionEvent:
    """A revision of the text to list in `lifecycle`: its label ("Rev.1") and date."""

    label: str
    date: str


@dataclass
class Meta:
    document: ExportDocument
    names: FrbrNames
    component: str
    exported: str
    revisions: list[RevisionEvent]
    party_eids: dict[str, str]
    clause_eids: dict[str, str]
    concepts: set[str]
    notes: Callable[[etree._Element, str], None]
    note_eids: dict[str, str]
    eids: Eids
    shown_brackets: set[str] = field(default_factory=set)
    events: list[str] = field(default_factory=list)


def q(tag: str) -> str:
    return f"{{{AKN_NS}}}{tag}"


def sub(parent: etree._Element, tag: str, **attrs: str) -> etree._Element:
    return etree.SubElement(parent, q(tag), attrs)


def write_meta(meta_element: etree._Element, meta: Meta, *, attachment: bool = False) -> None:
    _identification(meta_element, meta)
    if attachment:
        return
    doc = meta.document
    # Footnotes are written first (their brackets name concepts the references list),
    # then placed where the schema wants them, after the references.
    notes = etree.Element(q("notes"), source=SOURCE)
    for note_id in meta.note_eids:
        note = sub(notes, "note", eId=meta.note_eids[note_id], marker=note_id)
        meta.notes(note, note_id)
    _lifecycle(meta_element, meta)
    if doc.negotiation and doc.proposals:
        _workflow(meta_element, meta)
    _references(meta_element, meta)
    if len(notes):
        meta_element.append(notes)
    _proprietary(meta_element, meta)


def _identification(parent: etree._Element, meta: Meta) -> None:
    doc, names, component = meta.document, meta.names, meta.component
    date = names.date
    identification = sub(parent, "identification", source=SOURCE)
    work = sub(identification, "FRBRWork")
    sub(work, "FRBRthis", value=names.work_this(component))
    sub(work, "FRBRuri", value=names.work)
    if doc.title:
        sub(work, "FRBRalias", value=doc.title, name="title")
    sub(work, "FRBRdate", date=date, name="creation")
    sub(work, "FRBRauthor", href="#parties", **{"as": "#author"})
    sub(work, "FRBRcountry", value=COUNTRY)
    sub(work, "FRBRsubtype", value=names.subtype)
    sub(work, "FRBRnumber", value=names.number)
    expression = sub(identification, "FRBRExpression")
    sub(expression, "FRBRthis", value=names.expression_this(component))
    sub(expression, "FRBRuri", value=names.expression)
    sub(expression, "FRBRdate", date=date, name="version")
    sub(expression, "FRBRauthor", href="#parties", **{"as": "#author"})
    if doc.revision:
        sub(expression, "FRBRversionNumber", value=doc.revision)
    # Every language of the text is equally authentic, as in a treaty's final clause.
    sub(expression, "FRBRauthoritative", value="true")
    sub(expression, "FRBRlanguage", language=names.language)
    manifestation = sub(identification, "FRBRManifestation")
    sub(manifestation, "FRBRthis", value=names.manifestation_this(component))
    sub(manifestation, "FRBRuri", value=names.manifestation)
    sub(manifestation, "FRBRdate", date=meta.exported, name="transformation")
    sub(manifestation, "FRBRauthor", href=SOURCE, **{"as": "#editor"})
    sub(manifestation, "FRBRformat", value="application/akn+xml")


def _lifecycle(parent: etree._Element, meta: Meta) -> None:
    lifecycle = sub(parent, "lifecycle", source=SOURCE)
    created = meta.document.created[:10] or meta.names.date
    sub(
        lifecycle,
        "eventRef",
        eId=meta.eids.claim("e_generation"),
        date=created if len(created) == 10 else meta.names.date,
        source="#original",
        refersTo="#generation",
        type="generation",
    )
    meta.concepts.add("generation")
    for revision in meta.revisions:
        event = meta.eids.claim(f"rev_{token_of(revision.label)}")
        meta.events.append(event)
        sub(
            lifecycle,
            "eventRef",
            eId=meta.eids.claim(f"e_{event}"),
            date=revision.date,
            source="#original",
            refersTo=f"#{event}",
            type="amendment",
        )


def _workflow(parent: etree._Element, meta: Meta) -> None:
    workflow = sub(parent, "workflow", source=SOURCE)
    steps: list[tuple[str, str, str, ProposalInfo]] = []  # (date, party, outcome, proposal)
    for proposal in meta.document.proposals:
        steps.append((proposal.created, proposal.party, "tabled", proposal))
        steps.extend((t, party, "supported", proposal) for party, t in proposal.supporters.items())
        steps.extend((t, party, "objected", proposal) for party, t in proposal.objectors.items())
        if proposal.status != ProposalStatus.TABLED:
            by = proposal.party if proposal.status == ProposalStatus.WITHDRAWN else ""
            steps.append((proposal.updated, by, proposal.status, proposal))
    for number, (date, party, outcome, proposal) in enumerate(sorted(steps, key=_by_date), 1):
        attrs: dict[str, Any] = {
            "eId": meta.eids.claim(f"step_{number}"),
            "date": date or meta.names.date,
            "by": f"#{meta.party_eids[party]}" if party in meta.party_eids else "#chair",
            "outcome": f"#{outcome}",
        }
        if proposal.clause in meta.clause_eids:
            attrs["href"] = f"#{meta.clause_eids[proposal.clause]}"
        meta.concepts.add(outcome)
        step = sub(workflow, "step", **attrs)
        step.set(f"{{{TVX_NS}}}proposal", proposal.id)
        if outcome == "tabled":
            _proposal_record(step, proposal)


def _proposal_record(step: etree._Element, proposal: ProposalInfo) -> None:
    """What was tabled, on the step that tabled it (the other steps name the proposal)."""
    record = etree.SubElement(step, f"{{{TVX_NS}}}proposal")
    record.set("id", proposal.id)
    record.set("kind", proposal.kind)
    record.set("party", proposal.party)
    record.set("status", proposal.status)
    record.set("clause", proposal.clause)
    record.set("created", proposal.created)
    record.set("updated", proposal.updated)
    if proposal.roles:
        record.set("brackets", " ".join(f"{b}:{role}" for b, role in proposal.roles.items()))
    if proposal.target:
        target = etree.SubElement(record, f"{{{TVX_NS}}}target")
        target.set("parent", proposal.target.get("parent") or "")
        if proposal.target.get("after") is not None:
            target.set("after", proposal.target.get("after") or "")
    if proposal.words:
        etree.SubElement(record, f"{{{TVX_NS}}}words").text = proposal.words
    if proposal.replaced:
        etree.SubElement(record, f"{{{TVX_NS}}}replaced").text = proposal.replaced


def _by_date(step: tuple[str, str, str, ProposalInfo]) -> tuple[str, str]:
    return (step[0], step[3].id)


def _references(parent: etree._Element, meta: Meta) -> None:
    doc = meta.document
    references = sub(parent, "references", source=SOURCE)
    sub(references, "original", eId="original", href=meta.names.expression, showAs=doc.title or "")
    for label, eid in zip([r.label for r in meta.revisions], meta.events, strict=True):
        sub(references, "TLCEvent", eId=eid, href=f"/ontology/event/travaux/{eid}", showAs=label)
    sub(
        references,
        "TLCOrganization",
        eId="travaux",
        href="/ontology/organization/travaux",
        showAs="Travaux",
    )
    sub(
        references,
        "TLCOrganization",
        eId="parties",
        href=f"/ontology/organization/{COUNTRY}/parties",
        showAs="The negotiating Parties",
    )
    sub(
        references,
        "TLCOrganization",
        eId="chair",
        href=f"/ontology/organization/{COUNTRY}/chair",
        showAs="The Chair",
    )
    for party in doc.parties:
        eid = meta.party_eids[party.code]
        sub(
            references,
            "TLCOrganization",
            eId=eid,
            href=f"/ontology/organization/{COUNTRY}/{eid.removeprefix('party_').lower()}",
            showAs=party.name,
            shortForm=party.code,
        )
    for concept in sorted(meta.concepts):
        show = CONCEPTS.get(concept, concept)
        sub(
            references,
            "TLCConcept",
            eId=concept,
            href=f"/ontology/concept/travaux/{concept}",
            showAs=show,
        )
    sub(references, "TLCRole", eId="author", href="/ontology/role/author", showAs="Author")
    sub(references, "TLCRole", eId="editor", href="/ontology/role/editor", showAs="Editor")


def _proprietary(parent: etree._Element, meta: Meta) -> None:
    doc = meta.document
    proprietary = sub(parent, "proprietary", source=SOURCE)
    record = etree.SubElement(proprietary, f"{{{TVX_NS}}}export")
    record.set("version", EXPORT_FORMAT_VERSION)
    record.set("mode", str(doc.mode))
    record.set("keepBrackets", "true" if doc.keep_brackets else "false")
    record.set("final", "true" if doc.final else "false")
    record.set("kind", doc.kind)
    record.set("language", doc.language)
    record.set("languages", " ".join(doc.languages))
    if doc.revision:
        record.set("revision", doc.revision)
    if doc.created:
        record.set("created", doc.created)
    record.set("exported", meta.exported)
    if doc.source_note:
        etree.SubElement(record, f"{{{TVX_NS}}}sourceNote").text = doc.source_note
    for party in doc.parties:
        entry = etree.SubElement(record, f"{{{TVX_NS}}}party")
        entry.set("code", party.code)
        entry.set("name", party.name)
        entry.set("kind", str(party.kind))
        for member in party.members:
            etree.SubElement(entry, f"{{{TVX_NS}}}member").set("code", member)
    # Clauses the text no longer shows (deleted, options that lost): their words as plain
    # text, and where they stood, since the numbers of the others count them.
    for removed in doc.removed:
        entry = etree.SubElement(record, f"{{{TVX_NS}}}clause")
        for key in ("id", "kind", "parent", "after", "number", "status", "party", "created",
                    "chosen", "bracket"):  # fmt: skip
            value = getattr(removed, key)
            if value:
                entry.set(key, value)
        entry.set("base", "true" if removed.base else "false")
        entry.text = removed.words
    # Bracket records the text no longer shows (lifted, or in a deleted clause): the
    # proposals that made them still name them.
    for bracket_id, fields in doc.bracket_records.items():
        if bracket_id in meta.shown_brackets:
            continue
        entry = etree.SubElement(record, f"{{{TVX_NS}}}bracket")
        entry.set("id", bracket_id)
        for key, value in fields.items():
            if value:
                entry.set(key, value)
