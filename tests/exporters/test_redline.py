"""Redlines: real Word tracked changes, authored by the Party when it is known, that turn
the earlier version into the later one when accepted and back when rejected."""

from __future__ import annotations

import io
import zipfile

import pytest
from lxml import etree

from drafting.clauses import delete_clause
from drafting.importing import import_markdown
from drafting.proposals import accept, propose_insertion, propose_new_paragraph, withdraw
from drafting.schema import NegotiationText
from exporters.document import Mode, build_document
from exporters.docx_layout import Piece, layout
from exporters.redline import TOKEN, export_redline, word_diff
from tests.exporters.samples import SOURCE, find

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W}


def copy(text: NegotiationText) -> NegotiationText:
    return NegotiationText.from_update(text.to_update())


def document_xml(data: bytes, part: str = "word/document.xml") -> etree._Element:
    return etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read(part))


def changes(root: etree._Element, tag: str) -> list[tuple[str, str, str]]:
    """(author, date, words) of every w:ins or w:del around runs."""
    found = []
    for element in root.iter(f"{{{W}}}{tag}"):
        if element.getparent().tag == f"{{{W}}}rPr":
            continue  # a paragraph mark
        words = "".join(element.xpath(".//w:t/text() | .//w:delText/text()", namespaces=NS))
        found.append((element.get(f"{{{W}}}author"), element.get(f"{{{W}}}date"), words))
    return found


def version(root: etree._Element, *, accepted: bool) -> list[str]:
    """The paragraphs' words once every change is accepted (or rejected)."""
    dropped = "del" if accepted else "ins"
    paragraphs = []
    for p in root.iter(f"{{{W}}}p"):
        mark = p.find("w:pPr/w:rPr", NS)
        if mark is not None and mark.find(f"w:{dropped}", NS) is not None:
            continue
        words = []
        for node in p.iter(f"{{{W}}}t", f"{{{W}}}delText", f"{{{W}}}tab"):
            inside = {etree.QName(ancestor).localname for ancestor in node.iterancestors()}
            if dropped in inside:
                continue
            words.append("\t" if node.tag.endswith("tab") else node.text or "")
        paragraphs.append("".join(words))
    return paragraphs


def lines(text: NegotiationText, mode: Mode = Mode.NEGOTIATION) -> list[str]:
    """The paragraphs of a version as a redline prints them."""
    return [line.text for line in layout(build_document(text, mode), attributions=False)]


def test_an_accepted_replacement_is_the_party_s_change(negotiated):
    before = copy(negotiated)
    replacement = next(p for p in negotiated.proposals() if p.kind == "replace")
    accept(negotiated, replacement.id)
    root = document_xml(export_redline(before, negotiated, date="2027-06-01"))
    deleted, inserted = changes(root, "del"), changes(root, "ins")
    assert [(author, words) for author, _, words in deleted] == [("AOSIS", "[objective][aim]")]
    assert [words for _, _, words in inserted] == ["aim"]
    assert root.xpath("count(//w:p[.//w:del])", namespaces=NS) == 1


def test_new_words_in_a_party_s_bracket_are_its_insertion_dated_when_tabled(negotiated):
    before = copy(negotiated)
    clause = find(negotiated, "Article 1", "2")
    proposal = propose_insertion(negotiated, "EU", clause, len("Parties shall"), " regularly")
    [bracket] = negotiated.proposal(proposal).brackets
    created = negotiated.bracket(bracket).map["created"]
    root = document_xml(export_redline(before, negotiated, date="2027-06-01"))
    [(author, date, words)] = changes(root, "ins")
    assert (author, words) == ("EU", "[ regularly]")
    assert date == created[:19] + "Z"
    assert changes(root, "del") == []


def test_a_withdrawal_is_a_deletion_by_the_party_that_withdrew(negotiated):
    clause = find(negotiated, "Article 1", "2")
    proposal = propose_insertion(negotiated, "EU", clause, len("Parties shall"), " regularly")
    before = copy(negotiated)
    withdraw(negotiated, proposal, "EU")
    root = document_xml(export_redline(before, negotiated, date="2027-06-01"))
    [(author, date, words)] = changes(root, "del")
    assert (author, words) == ("EU", "[ regularly]")
    assert date == negotiated.proposal(proposal).map["updated"][:19] + "Z"


def test_whole_paragraphs_are_inserted_and_deleted_with_their_paragraph_marks(negotiated):
    before = copy(negotiated)
    article = find(negotiated, "Article 3")
    propose_new_paragraph(negotiated, "AOSIS", "Parties shall share data.", parent=article)
    delete_clause(negotiated, find(negotiated, "Article 1", "3"))
    root = document_xml(export_redline(before, negotiated, date="2027-06-01"))
    inserted = root.xpath("//w:p[w:pPr/w:rPr/w:ins]", namespaces=NS)
    deleted = root.xpath("//w:p[w:pPr/w:rPr/w:del]", namespaces=NS)
    assert len(inserted) == len(deleted) == 1
    assert {a for a, _, _ in changes(inserted[0], "ins")} == {"AOSIS"}
    assert "".join(inserted[0].xpath(".//w:t/text()", namespaces=NS)).endswith(
        "Parties shall share data.]"
    )
    assert "يجب على الأطراف" in "".join(deleted[0].xpath(".//w:delText/text()", namespaces=NS))
    assert {a for a, _, _ in changes(deleted[0], "del")} == {"Secretariat"}


def test_accepting_every_change_gives_the_later_text_and_rejecting_the_earlier(corpus):
    before = corpus["draft-agreement-9-dec-2015.md"]
    after = corpus["draft-agreement-12-dec-2015.md"]
    root = document_xml(export_redline(before, after, date="2015-12-12"))
    assert len(changes(root, "ins")) > 100 and len(changes(root, "del")) > 100
    # 9 Dec has open brackets: both are printed as negotiation texts, without attributions.
    assert version(root, accepted=True) == lines(after)
    assert version(root, accepted=False) == lines(before)


CHAIN = [
    ("draft-agreement-23-oct-2015.md", "draft-agreement-4-dec-2015.md"),
    ("draft-agreement-4-dec-2015.md", "draft-agreement-9-dec-2015.md"),
    ("draft-agreement-12-dec-2015.md", "paris-agreement-adopted.md"),
    ("draft-decision-4-dec-2015.md", "draft-decision-4-dec-2015.md"),
]


@pytest.mark.parametrize(("earlier", "later"), CHAIN)
def test_every_draft_redlines_against_the_next(corpus, earlier, later):
    before, after = corpus[earlier], corpus[later]
    root = document_xml(export_redline(before, after, date="2015-12-12"))
    mode = Mode.CLEAN if earlier == "draft-agreement-12-dec-2015.md" else Mode.NEGOTIATION
    assert version(root, accepted=True) == lines(after, mode)
    assert version(root, accepted=False) == lines(before, mode)
    if earlier == later:
        assert changes(root, "ins") == changes(root, "del") == []


def test_two_imports_of_one_file_have_no_difference():
    # Different clause ids, same words (and both have a footnote): paired by their words.
    first, second = (import_markdown(SOURCE).text for _ in range(2))
    root = document_xml(export_redline(first, second))
    assert changes(root, "ins") == changes(root, "del") == []


def test_two_different_texts_are_compared_by_order_and_number(corpus):
    data = export_redline(
        corpus["draft-agreement-12-dec-2015.md"],
        corpus["paris-agreement-adopted.md"],
        date="2016-01-29",
    )
    root = document_xml(data)
    deleted = [words for _, _, words in changes(root, "del")]
    inserted = [words for _, _, words in changes(root, "ins")]
    assert "to pursue" in deleted and "pursuing" in inserted
    assert {(a, d) for a, d, _ in changes(root, "ins")} == {("Secretariat", "2016-01-29T00:00:00Z")}
    assert not root.xpath("//w:pPr/w:rPr/w:ins | //w:pPr/w:rPr/w:del", namespaces=NS)
    settings = document_xml(data, "word/settings.xml")
    assert settings.find("w:trackRevisions", NS) is not None


def test_words_are_the_unit_of_change():
    old = [Piece("Parties shall take "), Piece("urgent", italic=True), Piece(" action.")]
    new = [Piece("Parties should take "), Piece("urgent", italic=True), Piece(" action now.")]
    diff = [(op, "".join(text for text, _ in tokens)) for op, tokens in word_diff(old, new)]
    assert diff == [
        (0, "Parties "),
        (-1, "shall"),
        (1, "should"),
        (0, " take urgent action"),
        (1, " now"),
        (0, "."),
    ]
    assert TOKEN.findall("各缔约方应") == ["各", "缔", "约", "方", "应"]
