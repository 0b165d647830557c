"""Brackets are attributable spans of words: they nest, group as alternatives, and lift."""

from __future__ import annotations

import pytest

from drafting.brackets import (
    BracketError,
    add_alternative,
    bracket_clause,
    bracket_span,
    insert_bracketed,
    lift_bracket,
    open_brackets_in,
    spans,
)
from drafting.clauses import insert_words, words_of
from drafting.parties import UnknownParty
from drafting.views import bracketed_words
from drafting.vocabulary import BracketState, ClauseStatus


def test_a_bracket_is_printed_around_its_words_not_stored_as_a_character(text, paragraph):
    bracket_span(text, paragraph, 8, 13)
    assert words_of(text, paragraph) == "Parties shall take action."
    assert bracketed_words(text, paragraph) == "Parties [shall] take action."


def test_a_bracket_names_the_party_that_proposed_it(text, paragraph):
    bracket_span(text, paragraph, 8, 13, party="EU")
    assert bracketed_words(text, paragraph, show_parties=True) == "Parties [EU: shall] take action."


def test_an_alternative_stands_right_after_the_last_one_of_its_group(text, paragraph):
    shall = bracket_span(text, paragraph, 8, 13)
    should = add_alternative(text, shall, "should", party="AOSIS")
    add_alternative(text, should, "may")
    assert bracketed_words(text, paragraph) == "Parties [shall][should][may] take action."
    assert {s.group for s in spans(text, paragraph)} == {shall}


def test_brackets_nest_and_print_outermost_first(text, paragraph):
    inner = bracket_span(text, paragraph, 8, 13)
    add_alternative(text, inner, "should")
    bracket_span(text, paragraph, 8, 24)  # "shallshould take"
    assert bracketed_words(text, paragraph) == "Parties [[shall][should] take] action."
    assert [s.depth for s in spans(text, paragraph)] == [0, 1, 1]


def test_a_bracket_around_exactly_the_same_words_nests_inside(text, paragraph):
    bracket_span(text, paragraph, 8, 13)
    bracket_span(text, paragraph, 8, 13)
    assert bracketed_words(text, paragraph) == "Parties [[shall]] take action."


def test_a_span_crossing_a_bracket_edge_is_refused_and_changes_nothing(text, paragraph):
    bracket_span(text, paragraph, 8, 18)
    state_before = text.doc.get_state()
    with pytest.raises(BracketError, match="crosses bracket"):
        bracket_span(text, paragraph, 0, 12)
    assert bracketed_words(text, paragraph) == "Parties [shall take] action."
    assert text.doc.get_state() == state_before  # not a single CRDT item was written


def test_an_unknown_party_is_refused(text, paragraph):
    with pytest.raises(UnknownParty, match="'ZZ'"):
        bracket_span(text, paragraph, 8, 13, party="ZZ")
    assert spans(text, paragraph) == []


def test_words_typed_inside_a_bracket_join_it_and_at_its_edge_stay_out(text, paragraph):
    bracket_span(text, paragraph, 8, 13)
    insert_words(text, paragraph, 10, "XX")  # sh|all
    insert_words(text, paragraph, 15, " not")  # after the closing bracket
    assert bracketed_words(text, paragraph) == "Parties [shXXall] not take action."


def test_lifting_keeps_the_chosen_alternative_and_drops_the_others(text, paragraph):
    shall = bracket_span(text, paragraph, 8, 13)
    should = add_alternative(text, shall, "should")
    lift_bracket(text, shall, keep=should)
    assert bracketed_words(text, paragraph) == "Parties should take action."
    assert text.bracket(shall).state == BracketState.DROPPED
    assert text.bracket(should).state == BracketState.KEPT


def test_lifting_a_lone_bracket_without_keeping_deletes_its_words(text, paragraph):
    bracket = bracket_span(text, paragraph, 7, 13)  # " shall"
    lift_bracket(text, bracket, keep=None)
    assert words_of(text, paragraph) == "Parties take action."


def test_brackets_inside_a_dropped_alternative_are_dropped_with_it(text, paragraph):
    outer = bracket_span(text, paragraph, 8, 24)
    inner = bracket_span(text, paragraph, 8, 13)
    other = add_alternative(text, outer, "must act")
    lift_bracket(text, outer, keep=other)
    assert text.bracket(inner).state == BracketState.DROPPED
    assert open_brackets_in(text, paragraph) == []


def test_keep_must_name_an_alternative_of_the_group(text, paragraph):
    shall = bracket_span(text, paragraph, 8, 13)
    elsewhere = bracket_span(text, paragraph, 19, 25)
    with pytest.raises(BracketError, match="not an alternative"):
        lift_bracket(text, shall, keep=elsewhere)


def test_a_lifted_bracket_cannot_be_lifted_again(text, paragraph):
    shall = bracket_span(text, paragraph, 8, 13)
    lift_bracket(text, shall, keep=shall)
    with pytest.raises(BracketError, match="already lifted"):
        lift_bracket(text, shall, keep=shall)


def test_a_placeholder_is_printed_in_braces(text, paragraph):
    insert_bracketed(text, paragraph, 25, " for the purposes of Article X", kind="placeholder")
    assert bracketed_words(text, paragraph) == (
        "Parties shall take action{ for the purposes of Article X}."
    )


def test_a_whole_clause_can_be_in_brackets_and_dropping_it_deletes_the_clause(text, paragraph):
    bracket = bracket_clause(text, paragraph, party="G77/China")
    assert open_brackets_in(text, paragraph) == [bracket]
    lift_bracket(text, bracket, keep=None)
    assert text.clause(paragraph).status == ClauseStatus.DELETED


def test_bracketing_a_pending_clause_makes_it_bracketed(text, paragraph):
    assert text.clause(paragraph).status == ClauseStatus.PENDING
    bracket_span(text, paragraph, 8, 13)
    assert text.clause(paragraph).status == ClauseStatus.BRACKETED


def test_positions_count_characters_in_arabic_chinese_and_russian(text, article):
    from drafting.clauses import add_clause

    words = "Стороны 应当 تتخذ إجراءات 🌍 now"
    clause = add_clause(text, "paragraph", words, parent=article)
    start = words.index("تتخذ")
    bracket_span(text, clause, start, start + len("تتخذ"))
    emoji = words.index("🌍")
    shall = bracket_span(text, clause, emoji + 2, emoji + 5)
    add_alternative(text, shall, "сейчас")
    assert bracketed_words(text, clause) == "Стороны 应当 [تتخذ] إجراءات 🌍 [now][сейчас]"
