"""Numbers are derived: bis/ter during negotiation, a clean count in the final text."""

from __future__ import annotations

from drafting.clauses import add_clause, delete_clause, renumber
from drafting.numbering import Numbering, latin_suffix, letter, roman
from drafting.outline import Outline


def numbers(text, final=False):
    outline = Outline(text)
    numbering = Numbering(text, outline, final=final)
    return [
        numbering.label(p.clause)
        for p in outline.walk()
        if not final or outline.is_live(p.clause.id)
    ]


def test_inserted_paragraphs_are_bis_ter_quater_of_the_one_before(text, article, paragraph):
    second = add_clause(text, "paragraph", "Two.", parent=article, base=True)
    add_clause(text, "paragraph", "One bis.", parent=article, after=paragraph)
    add_clause(text, "paragraph", "Two bis.", parent=article, after=second)
    add_clause(text, "paragraph", "Two ter.", parent=article)
    assert numbers(text) == ["Article 1", "1.", "1 bis.", "2.", "2 bis.", "2 ter."]


def test_the_final_text_is_renumbered_cleanly_without_deleted_clauses(text, article, paragraph):
    inserted = add_clause(text, "paragraph", "One bis.", parent=article, after=paragraph)
    gone = add_clause(text, "paragraph", "Two.", parent=article, base=True)
    add_clause(text, "paragraph", "Three.", parent=article, base=True)
    delete_clause(text, gone)
    assert numbers(text) == ["Article 1", "1.", "1 bis.", "2.", "3."]  # 2 is deleted, 3 stays
    assert numbers(text, final=True) == ["Article 1", "1.", "2.", "3."]
    renumber(text)
    assert text.clause(inserted).base


def test_articles_count_through_the_whole_text_and_subparagraphs_are_lettered(text, paragraph):
    outer = add_clause(text, "subparagraph", "a", parent=paragraph, base=True)
    add_clause(text, "subparagraph", "b", parent=paragraph, base=True)
    add_clause(text, "subparagraph", "i", parent=outer, base=True)
    add_clause(text, "article", "(second)", base=True)
    assert numbers(text) == ["Article 1", "1.", "(a)", "(i)", "(b)", "Article 2"]


def test_resolutions_number_preambular_and_operative_paragraphs(text):
    text.set_meta("kind", "resolution")
    add_clause(text, "recital", "Recalling", base=True)
    add_clause(text, "operative", "Decides", base=True)
    add_clause(text, "operative", "Also decides")
    assert numbers(text) == ["PP1", "OP1", "OP1 bis"]


def test_latin_ordinals_letters_and_roman_numerals():
    assert [latin_suffix(n) for n in (1, 2, 3, 4)] == ["bis", "ter", "quater", "quinquies"]
    assert [letter(n) for n in (1, 26, 27)] == ["a", "z", "aa"]
    assert [roman(n) for n in (1, 4, 9, 14, 40)] == ["i", "iv", "ix", "xiv", "xl"]
