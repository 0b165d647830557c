"""The bracketed view prints a text as negotiators do; the clean view as it would be adopted."""

from __future__ import annotations

from drafting.brackets import add_alternative, bracket_span, insert_bracketed
from drafting.clauses import add_clause, words_of
from drafting.options import add_option, add_option_block, choose_option
from drafting.outline import Outline
from drafting.views import CleanRule, bracketed_text, clean_text


def test_bracketed_text_prints_structure_numbers_and_brackets(text, article, paragraph):
    shall = bracket_span(text, paragraph, 8, 13, party="EU")
    add_alternative(text, shall, "should")
    add_clause(text, "subparagraph", "in good faith;", parent=paragraph, base=True)
    assert bracketed_text(text) == (
        "Agreement on Mountain Glaciers\n\n"
        "Article 1 (purpose)\n\n"
        "1. Parties [shall][should] take action.\n\n"
        "    (a) in good faith;\n"
    )
    assert "[EU: shall][should]" in bracketed_text(text, show_parties=True)


def test_clean_text_keeps_the_first_alternative_and_reports_every_open_bracket(
    text, article, paragraph
):
    shall = bracket_span(text, paragraph, 8, 13)
    add_alternative(text, shall, "should")
    insert_bracketed(text, paragraph, words_of(text, paragraph).index("."), " urgently")
    clean = clean_text(text)
    assert "1. Parties shall take action urgently." in clean.text
    assert [b.words for b in clean.open_brackets] == ["shall", "should", " urgently"]
    assert all(b.label == "1." for b in clean.open_brackets)


def test_the_drop_rule_drops_lone_brackets(text, article, paragraph):
    insert_bracketed(text, paragraph, 25, " urgently")
    assert "1. Parties shall take action." in clean_text(text, CleanRule.DROP).text


def test_an_unresolved_option_block_is_reported_and_stands_as_its_first_option(text, article):
    block = add_option_block(text, "Parties shall report.", "No text", parent=article)
    clean = clean_text(text)
    assert "Parties shall report." in clean.text and "No text" not in clean.text
    assert [b.kind for b in clean.open_brackets] == ["options"]
    assert "Option 1: Parties shall report." in bracketed_text(text)
    assert "Option 2: No text" in bracketed_text(text)
    second = [c.id for c in Outline(text).children(block)][1]
    choose_option(text, block, second)
    clean = clean_text(text)
    assert "No text" in clean.text and "Parties shall report." not in clean.text
    assert clean.open_brackets == []
    assert "Option 1" not in bracketed_text(text)


def test_an_option_added_to_a_block_is_numbered_after_the_others(text, article):
    block = add_option_block(text, "Parties shall report.", "No text", parent=article)
    add_option(text, block, "Parties may report.")
    assert "Option 3: Parties may report." in bracketed_text(text)
