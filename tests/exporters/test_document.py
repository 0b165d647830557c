"""What an export prints, per mode: the negotiation text with its Parties and record, the
final text, or a clean copy that keeps its open brackets when asked to."""

from __future__ import annotations

import pytest

from drafting.clauses import add_clause
from drafting.importing import import_markdown
from drafting.options import add_option_block, choose_option
from drafting.outline import Outline
from drafting.views import clean_text
from exporters.document import (
    ExportError,
    Mode,
    Node,
    OpenBracketsError,
    build_document,
)
from exporters.inline import as_text


def labels(nodes: list[Node]) -> list[str]:
    return [node.label for node in nodes]


def by_label(nodes: list[Node], *path: str) -> Node:
    node = None
    for label in path:
        node = next(n for n in nodes if n.label == label)
        nodes = node.children
    assert node is not None
    return node


def test_a_clean_export_of_an_unsettled_text_is_refused_with_what_is_open(negotiated):
    with pytest.raises(OpenBracketsError) as refused:
        build_document(negotiated, Mode.CLEAN)
    expected = clean_text(negotiated).open_brackets
    assert refused.value.open_brackets == expected
    assert f"{len(expected)} bracket(s) or option block(s) are still open" in str(refused.value)
    assert "keep_brackets" in str(refused.value)


def test_a_clean_copy_may_keep_its_brackets_without_attributions(negotiated):
    document = build_document(negotiated, Mode.CLEAN, keep_brackets=True)
    assert not document.final and document.parties == [] and document.proposals == []
    article = by_label(document.clauses, "Article 1")
    assert labels(article.children) == ["1.", "2.", "2 bis.", "3."]
    inserted = article.children[2]
    assert inserted.bracket is not None and inserted.bracket.party == ""
    assert all(node.status == "" for node in document.walk())


def test_the_negotiation_text_carries_parties_statuses_and_proposals(negotiated):
    document = build_document(negotiated, Mode.NEGOTIATION)
    assert [p.code for p in document.parties] == ["AOSIS", "EU", "G77/China"]
    kinds = sorted((p.kind, p.party, p.status) for p in document.proposals)
    assert kinds == [
        ("insert", "EU", "withdrawn"),
        ("new paragraph", "G77/China", "tabled"),
        ("replace", "AOSIS", "tabled"),
    ]
    replace = next(p for p in document.proposals if p.kind == "replace")
    assert list(replace.supporters) == ["EU"] and list(replace.objectors) == ["G77/China"]
    inserted = by_label(document.clauses, "Article 1", "2 bis.")
    assert inserted.bracket is not None and inserted.bracket.party == "G77/China"
    assert inserted.party == "G77/China"
    inventory = by_label(document.clauses, "Article 3", "1.", "(a)")
    assert inventory.status == "agreed ad ref"
    assert as_text(inventory.words) == "Maintain an inventory of its glaciers;"


def test_deleted_clauses_are_in_no_export(negotiated):
    for mode in (Mode.NEGOTIATION, Mode.CLEAN):
        document = build_document(negotiated, mode, keep_brackets=True)
        words = [as_text(node.words) for node in document.walk()]
        assert "A paragraph deleted later." not in words


def test_options_keep_their_labels_and_point_at_the_first(negotiated):
    document = build_document(negotiated)
    [block] = by_label(document.clauses, "Article 2").children
    first, second = block.children
    assert (first.label, second.label) == ("Option 1:", "Option 2:")
    assert first.alternative_to == "" and second.alternative_to == first.id


def test_the_final_text_stands_as_the_option_chosen():
    text = import_markdown("## Article 1\n\n1. Parties shall act.\n").text
    article = Outline(text).children()[0].id
    empty = add_clause(text, "paragraph", "", parent=article, base=True)
    block = add_option_block(text, "Parties shall report.", "Parties may report.", parent=empty)
    choose_option(text, block, [c.id for c in Outline(text).children(block)][1])
    document = build_document(text, Mode.CLEAN)
    assert document.final
    _, second = document.clauses[0].children
    assert second.label == "2." and second.children == []
    assert as_text(second.words) == "Parties may report."


def test_final_numbers_are_counted_again(corpus):
    document = build_document(corpus["draft-agreement-12-dec-2015.md"], Mode.CLEAN)
    articles = [n for n in document.clauses if n.kind == "article"]
    assert labels(articles) == [f"Article {n}" for n in range(1, 30)]
    assert document.notes == {}


def test_the_language_exported_is_one_the_text_has(negotiated):
    negotiated.set_meta("languages", ["en", "fr"])
    assert build_document(negotiated).language == "en"
    assert build_document(negotiated, language="fr").language == "fr"
    with pytest.raises(ExportError, match="no 'ru' version"):
        build_document(negotiated, language="ru")


def test_a_document_knows_whether_its_text_is_settled(corpus, negotiated):
    for text in [*corpus.values(), negotiated]:
        assert build_document(text).settled == (not clean_text(text).open_brackets)
