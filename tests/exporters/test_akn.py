"""Akoma Ntoso export: valid against the OASIS schema, structured as AKN expects, and
carrying the negotiation (brackets, alternatives, Parties, proposals) where AKN allows."""

from __future__ import annotations

import pytest
from lxml import etree

from drafting.importers.akn import AKN_NS, TVX_NS, parse_xml
from drafting.importing import import_markdown
from exporters.akn import export_akn
from exporters.akn_meta import RevisionEvent
from exporters.document import OpenBracketsError
from exporters.validate import akn_problems
from tests.cop21 import COP21_FILES

NS = {"a": AKN_NS, "tvx": TVX_NS}


def xml(data: bytes) -> etree._Element:
    return parse_xml(data)


def one(root: etree._Element, path: str) -> etree._Element:
    found = root.xpath(path, namespaces=NS)
    assert len(found) == 1, (path, len(found))
    return found[0]


def words(element: etree._Element) -> str:
    return "".join(element.itertext())


@pytest.mark.parametrize("name", COP21_FILES)
def test_every_corpus_file_validates_in_both_modes(corpus, name):
    text = corpus[name]
    for mode in ("negotiation", "clean"):
        data = export_akn(text, mode, keep_brackets=True)
        assert akn_problems(data) == [], (name, mode)


@pytest.mark.parametrize("name", COP21_FILES)
def test_every_negotiated_corpus_file_validates(negotiated_corpus, name):
    """With proposals, Parties, statuses, deleted clauses and settled brackets recorded."""
    text = negotiated_corpus[name]
    for mode in ("negotiation", "clean"):
        data = export_akn(text, mode, keep_brackets=True)
        assert akn_problems(data) == [], (name, mode)


def test_a_treaty_is_an_act_with_full_frbr_identification(negotiated):
    root = xml(export_akn(negotiated, exported="2027-06-01T10:00:00+00:00"))
    act = one(root, "/a:akomaNtoso/a:act[@name='treaty']")
    work = "/akn/un/act/treaty/{}/agreement-on-mountain-glaciers".format(
        negotiated.get_meta("created")[:10]
    )
    identification = one(act, "a:meta/a:identification")
    assert one(identification, "a:FRBRWork/a:FRBRuri").get("value") == work
    assert one(identification, "a:FRBRWork/a:FRBRthis").get("value") == work + "/!main"
    expression = one(identification, "a:FRBRExpression/a:FRBRuri").get("value")
    assert expression.startswith(work + "/eng@")
    assert one(identification, "a:FRBRExpression/a:FRBRlanguage").get("language") == "eng"
    assert one(identification, "a:FRBRExpression/a:FRBRauthoritative").get("value") == "true"
    manifestation = one(identification, "a:FRBRManifestation")
    assert one(manifestation, "a:FRBRthis").get("value") == expression + "/!main.xml"
    assert one(manifestation, "a:FRBRdate").get("date") == "2027-06-01T10:00:00+00:00"
    title = one(act, "a:preface/a:longTitle/a:p/a:docTitle")
    assert title.text == "Agreement on Mountain Glaciers"


def test_each_language_is_an_expression_of_one_work(negotiated):
    negotiated.set_meta("languages", ["en", "fr"])
    english, french = (xml(export_akn(negotiated, language=code)) for code in ("en", "fr"))
    path = "//a:identification/a:{}/a:FRBRuri"
    assert one(english, path.format("FRBRWork")).get("value") == one(
        french, path.format("FRBRWork")
    ).get("value")
    assert one(french, "//a:FRBRlanguage").get("language") == "fra"
    assert one(french, path.format("FRBRExpression")).get("value").split("/")[-1].startswith("fra@")


def test_the_parties_are_organisations_that_brackets_refer_to(negotiated):
    root = xml(export_akn(negotiated))
    aosis = one(root, "//a:references/a:TLCOrganization[@shortForm='AOSIS']")
    assert aosis.get("showAs") == "Alliance of Small Island States"
    objective = one(root, "//a:span[.='objective']")
    aim = one(root, "//a:span[.='aim']")
    assert f"#{aosis.get('eId')}" in aim.get("refersTo").split()
    assert "#bracket" in aim.get("refersTo").split()
    assert aim.get("alternativeTo") == objective.get("eId")
    assert objective.get("alternativeTo") is None


def test_articles_paragraphs_and_subparagraphs_get_naming_convention_eids(negotiated):
    root = xml(export_akn(negotiated))
    body = one(root, "//a:body")
    assert [a.get("eId") for a in body.findall(f"{{{AKN_NS}}}article")] == [
        "art_1",
        "art_2",
        "art_3",
    ]
    assert one(body, "a:article[@eId='art_1']/a:heading").xpath("string()") == "(objective)"
    paragraphs = one(body, "a:article[@eId='art_1']").findall(f"{{{AKN_NS}}}paragraph")
    assert [(p.get("eId"), p.findtext(f"{{{AKN_NS}}}num")) for p in paragraphs] == [
        ("art_1__para_1", "1."),
        ("art_1__para_2", "2."),
        ("art_1__para_2bis", "2 bis."),
        ("art_1__para_3", "3."),
    ]
    inventory = one(body, "//a:subparagraph[@eId='art_3__para_1__subpara_a']")
    assert inventory.findtext(f"{{{AKN_NS}}}num") == "(a)"
    assert "#status-agreed-ad-ref" in inventory.get("refersTo").split()
    chapeau = one(body, "//a:paragraph[@eId='art_3__para_1']/a:intro/a:p")
    assert chapeau.text == "Each Party shall:"


def test_a_paragraph_proposed_in_brackets_names_its_party(negotiated):
    root = xml(export_akn(negotiated))
    inserted = one(root, "//a:paragraph[@eId='art_1__para_2bis']")
    g77 = one(root, "//a:TLCOrganization[@shortForm='G77/China']").get("eId")
    assert inserted.get("refersTo").split()[:2] == ["#bracket", f"#{g77}"]
    assert inserted.get(f"{{{TVX_NS}}}party") == "G77/China"


def test_placeholders_options_notes_and_words_in_any_script(negotiated):
    root = xml(export_akn(negotiated))
    assert one(root, "//a:placeholder").text == "X"
    first, second = root.xpath("//a:hcontainer[@name='option']", namespaces=NS)
    assert second.get("alternativeTo") == first.get("eId")
    assert [o.findtext(f"{{{AKN_NS}}}num") for o in (first, second)] == ["Option 1:", "Option 2:"]
    note_ref = one(root, "//a:recital//a:noteRef")
    note = one(root, f"//a:meta/a:notes/a:note[@eId='{note_ref.get('href')[1:]}']")
    assert words(one(note, "a:p")) == "As estimated by the IPCC."
    assert one(root, "//a:span[.='حماية']").get("eId")
    assert one(root, "//a:a").get("href") == "https://example.org/glaciers"
    assert one(root, "//a:recital[1]/a:p/a:i").text == "Recognizing"


def test_the_preamble_has_its_chapeau_recitals_and_formula(negotiated):
    root = xml(export_akn(negotiated))
    preamble = one(root, "//a:preamble")
    assert one(preamble, "a:p").text == "The Parties to this Agreement,"
    assert len(preamble.findall(f"{{{AKN_NS}}}recitals/{{{AKN_NS}}}recital")) == 2
    formula = one(preamble, "a:formula[@name='enactingFormula']/a:p")
    assert words(formula) == "Have agreed as follows:"


def test_the_signature_formula_closes_the_text_in_conclusions(negotiated):
    root = xml(export_akn(negotiated))
    assert words(one(root, "//a:conclusions/a:p")).startswith("DONE at Geneva")
    assert not root.xpath("//a:body//a:p[starts-with(., 'DONE at')]", namespaces=NS)


def test_proposals_are_workflow_steps_by_their_parties(negotiated):
    root = xml(export_akn(negotiated))
    steps = root.xpath("//a:workflow/a:step", namespaces=NS)
    outcomes = [(s.get("by"), s.get("outcome")) for s in steps]
    assert ("#party_AOSIS", "#tabled") in outcomes
    assert ("#party_EU", "#supported") in outcomes
    assert ("#party_G77-China", "#objected") in outcomes
    assert ("#party_EU", "#withdrawn") in outcomes
    tabled = [s for s in steps if s.get("outcome") == "#tabled"]
    records = [one(s, "tvx:proposal") for s in tabled]
    assert sorted(r.get("kind") for r in records) == ["insert", "new paragraph", "replace"]
    withdrawn = next(r for r in records if r.get("kind") == "insert")
    assert withdrawn.get("status") == "withdrawn"
    assert withdrawn.findtext(f"{{{TVX_NS}}}words") == " every five years"
    assert all(s.get("date") for s in steps)


def test_revisions_are_lifecycle_events(negotiated):
    revisions = [RevisionEvent("Rev.1", "2027-05-02"), RevisionEvent("Rev.2", "2027-05-09")]
    data = export_akn(negotiated, revisions=revisions)
    root = xml(data)
    events = root.xpath("//a:lifecycle/a:eventRef", namespaces=NS)
    assert [e.get("date") for e in events][1:] == ["2027-05-02", "2027-05-09"]
    assert one(root, "//a:TLCEvent[@showAs='Rev.2']") is not None
    assert akn_problems(data) == []


def test_clean_mode_refuses_open_brackets_and_keeps_them_when_asked(negotiated):
    with pytest.raises(OpenBracketsError):
        export_akn(negotiated, "clean")
    root = xml(export_akn(negotiated, "clean", keep_brackets=True))
    assert root.xpath("//a:span[.='objective']", namespaces=NS)
    assert not root.xpath("//a:workflow", namespaces=NS)
    assert not root.xpath("//a:TLCOrganization[@shortForm]", namespaces=NS)
    assert not root.xpath("//@tvx:party | //@tvx:bracket | //tvx:party", namespaces=NS)
    assert not root.xpath("//@refersTo[contains(., 'status-')]", namespaces=NS)
    # Not final, so numbered as in negotiation: clause ids say where deleted clauses stood.
    assert root.xpath("//@tvx:id", namespaces=NS)
    assert root.xpath("//tvx:clause[@status='deleted']", namespaces=NS)
    final = xml(export_akn(import_markdown("1. Parties shall act.\n").text, "clean"))
    assert not final.xpath("//@tvx:id | //tvx:clause", namespaces=NS)


def test_the_final_text_has_no_brackets_and_final_numbers(corpus):
    root = xml(export_akn(corpus["draft-agreement-12-dec-2015.md"], "clean"))
    assert not root.xpath("//a:span | //a:placeholder | //@alternativeTo", namespaces=NS)
    nums = [a.findtext(f"{{{AKN_NS}}}num") for a in root.iter(f"{{{AKN_NS}}}article")]
    assert nums == [f"Article {n}" for n in range(1, 30)]
    recital = one(root, "//a:recital[1]")
    assert one(recital, "a:p/a:i").text == "Being"


def test_a_decision_is_a_statement_with_operative_paragraphs(corpus):
    root = xml(export_akn(corpus["draft-decision-4-dec-2015.md"]))
    statement = one(root, "/a:akomaNtoso/a:statement[@name='decision']")
    body = one(statement, "a:mainBody")
    operative = body.xpath(".//a:paragraph[@tvx:kind='operative']", namespaces=NS)
    assert len(operative) > 100
    preamble = one(body, ".//a:hcontainer[@name='preamble']")
    assert preamble.xpath("a:hcontainer[@name='recital']", namespaces=NS)


def test_annexes_are_attachments_with_their_own_identification():
    text = import_markdown(
        "## Article 1\n\n1. Parties shall act.\n\n## Annex I *(list)*\n\n1. One [item].\n"
    ).text
    data = export_akn(text)
    root = xml(data)
    attachment = one(root, "//a:attachments/a:attachment")
    assert attachment.findtext(f"{{{AKN_NS}}}num") == "I."
    doc = one(attachment, "a:doc[@name='annex']")
    assert one(doc, "a:meta//a:FRBRWork/a:FRBRthis").get("value").endswith("/!annex_1")
    assert one(doc, "a:mainBody/a:paragraph").get("eId").startswith(attachment.get("eId"))
    assert akn_problems(data) == []


def test_a_text_with_nothing_but_a_preamble_still_validates():
    text = import_markdown("## Preamble\n\nThe Parties,\n\n*Noting* things,\n").text
    data = export_akn(text, "clean")
    assert akn_problems(data) == []


def test_words_keep_their_exact_spacing(negotiated):
    from drafting.clauses import add_clause

    add_clause(negotiated, "paragraph", "Two  spaces, and\ta tab.", parent="")
    root = xml(export_akn(negotiated))
    assert root.xpath("//a:p[.='Two  spaces, and\ta tab.']", namespaces=NS)
