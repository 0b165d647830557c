"""Diffs: words within clauses, structure between states, and what a redline needs."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from drafting.brackets import add_alternative, bracket_span, lift_bracket
from drafting.clauses import (
    add_clause,
    delete_clause,
    insert_words,
    move_clause,
    renumber,
    set_status,
)
from drafting.diffs import (
    Change,
    clause_rendering,
    columns,
    diff_texts,
    inline,
    ops_words,
    redlines,
    side_by_side,
    word_diff,
)
from drafting.schema import NegotiationText


def copy(text: NegotiationText) -> NegotiationText:
    return NegotiationText.from_update(text.to_update())


# -- words ------------------------------------------------------------------------------------


def test_words_are_compared_as_words_not_letters():
    ops = word_diff("Parties shall take action", "Parties should take urgent action")
    assert ops == [
        ("equal", "Parties "),
        ("delete", "shall"),
        ("insert", "should"),
        ("equal", " take "),
        ("insert", "urgent "),
        ("equal", "action"),
    ]


def test_semantic_cleanup_keeps_a_rewritten_sentence_readable():
    # Without the cleanup, "the" and "on" would stay equal between scraps of both
    # sentences; with it the rewrite reads as one deletion and one insertion.
    ops = word_diff("The cat sat on the mat", "A dog lay on a rug")
    assert ops == [("delete", "The cat sat on the mat"), ("insert", "A dog lay on a rug")]


def test_a_lifted_bracket_shows_as_its_brackets_going():
    ops = word_diff("hold [below 2 °C][well below 2 °C] levels", "hold well below 2 °C levels")
    assert inline(ops) == "hold [-[below 2 °C][-]well below 2 °C[-]-] levels"


def test_inline_and_side_by_side_marks():
    ops = word_diff("Parties shall act", "Parties should act")
    assert inline(ops) == "Parties [-shall-]{+should+} act"
    assert side_by_side(ops) == ("Parties [-shall-] act", "Parties {+should+} act")
    assert "\x1b[31;9mshall\x1b[0m" in inline(ops, color=True)
    assert columns("left words", "right words", width=60).startswith("left words")


def test_non_ascii_words_are_diffed_whole():
    ops = word_diff("Стороны соглашаются — 各缔约方", "Стороны решают — 各缔约方")
    assert ("delete", "соглашаются") in ops and ("insert", "решают") in ops
    assert word_diff("", "") == [] and word_diff("same", "same") == [("equal", "same")]


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet="ab [],.é各 ", max_size=40),
    st.text(alphabet="ab [],.é各 ", max_size=40),
)
def test_the_ops_give_back_both_texts(old: str, new: str):
    ops = word_diff(old, new)
    assert ops_words(ops, side="old") == old
    assert ops_words(ops, side="new") == new
    assert all(words for _, words in ops)
    assert all(a[0] != b[0] for a, b in itertools.pairwise(ops))  # adjacent runs merged


# -- structure -----------------------------------------------------------------------------------


def test_a_changed_clause_reports_its_words(text, article, paragraph):
    old = copy(text)
    shall = bracket_span(text, paragraph, 8, 13)
    add_alternative(text, shall, "should")
    [changed] = diff_texts(old, text).changed()
    assert changed.clause == paragraph and changed.changes == ("status", "words")
    assert inline(changed.ops) == "Parties {+[+}shall{+][should]+} take action."
    assert changed.new_reference == "Article 1 › 1."


def test_added_and_deleted_clauses_are_reported_as_such(text, article, paragraph):
    old = copy(text)
    second = add_clause(text, "paragraph", "Parties may act.", parent=article)
    delete_clause(text, paragraph)
    diff = diff_texts(old, text)
    assert [(c.clause, c.changes) for c in diff.changed()] == [
        (paragraph, ("deleted",)),
        (second, ("added",)),
    ]
    assert diff.changed()[0].ops == [("delete", "Parties shall take action.")]
    assert diff.counts()["added"] == 1 and diff.counts()["deleted"] == 1


def test_a_moved_clause_is_moved_not_deleted_and_added(text, article, paragraph):
    second = add_clause(text, "paragraph", "Parties may act.", parent=article, base=True)
    third = add_clause(text, "paragraph", "Parties will act.", parent=article, base=True)
    old = copy(text)
    move_clause(text, third, parent=article, after="")  # to the top
    moved = [(c.clause, c.changes) for c in diff_texts(old, text).changed()]
    # Only the clause that moved is "moved"; the others were renumbered by the move.
    assert moved == [
        (third, ("moved",)),
        (paragraph, ("renumbered",)),
        (second, ("renumbered",)),
    ]


def test_a_clause_moved_to_another_article_keeps_its_words(text, article, paragraph):
    other = add_clause(text, "article", "(general)", base=True)
    old = copy(text)
    move_clause(text, paragraph, parent=other)
    [moved] = diff_texts(old, text).changed()
    assert moved.changes == ("moved",)
    assert moved.old_reference == "Article 1 › 1." and moved.new_reference == "Article 2 › 1."


def test_renumbering_and_status_are_structural_changes(text, article, paragraph):
    inserted = add_clause(text, "paragraph", "New words.", parent=article)
    old = copy(text)
    renumber(text)
    set_status(text, paragraph, "agreed ad ref")
    changed = {c.clause: c for c in diff_texts(old, text).changed()}
    assert changed[inserted].changes == ("renumbered",)
    assert (changed[inserted].old_label, changed[inserted].new_label) == ("1 bis.", "2.")
    assert changed[paragraph].changes == ("status",)


def test_a_diff_can_be_limited_to_one_article(text, article, paragraph):
    other = add_clause(text, "article", "(general)", base=True)
    elsewhere = add_clause(text, "paragraph", "Elsewhere.", parent=other, base=True)
    old = copy(text)
    insert_words(text, paragraph, 0, "All ")
    insert_words(text, elsewhere, 0, "Also ")
    scoped = diff_texts(old, text, clause=article)
    assert [c.clause for c in scoped.clauses] == [article, paragraph]
    assert [c.clause for c in scoped.changed()] == [paragraph]


def test_two_texts_compared_through_matched_pairs(text, article, paragraph):
    other = NegotiationText()
    new_article = add_clause(other, "article", "(purpose)", base=True)
    new_paragraph = add_clause(
        other, "paragraph", "Parties shall take urgent action.", parent=new_article, base=True
    )
    pairs = {new_article: article, new_paragraph: paragraph}
    [changed] = diff_texts(text, other, pairs=pairs).changed()
    assert (changed.clause, changed.old_clause) == (new_paragraph, paragraph)
    assert inline(changed.ops) == "Parties shall take {+urgent +}action."


def test_redlines_list_every_clause_with_its_runs(text, article, paragraph):
    old = copy(text)
    shall = bracket_span(text, paragraph, 8, 13)
    lift_bracket(text, shall, keep=None)
    added = add_clause(text, "paragraph", "Parties may act.", parent=article)
    found = redlines(old, text)
    assert [(r.clause, r.label, r.change) for r in found] == [
        (article, "Article 1", "unchanged"),
        (paragraph, "1.", "changed"),
        (added, "1 bis.", "added"),
    ]
    assert found[1].ops == [
        ("equal", "Parties "),
        ("delete", "shall"),
        ("equal", " take action."),
    ]
    assert found[2].ops == [("insert", "Parties may act.")]


def test_a_clause_renders_with_the_clauses_under_it(text, article, paragraph):
    add_clause(text, "subparagraph", "in good faith;", parent=paragraph, base=True)
    assert clause_rendering(text, article) == "Article 1 (purpose)"
    assert clause_rendering(text, article, subtree=True) == (
        "Article 1 (purpose)\n    1. Parties shall take action.\n        (a) in good faith;"
    )


def test_nothing_changed_is_nothing_reported(text, article, paragraph):
    assert diff_texts(copy(text), text).changed() == []
    assert set(diff_texts(copy(text), text).counts().values()) == {0}
    assert {c.value for c in Change} >= {"added", "deleted", "moved", "renumbered"}
