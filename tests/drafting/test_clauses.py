"""Clauses keep a stable id through moves; statuses follow the life of a paragraph."""

from __future__ import annotations

import pytest

from drafting.brackets import bracket_span, lift_bracket
from drafting.clauses import (
    ClauseError,
    add_clause,
    delete_clause,
    delete_words,
    insert_words,
    move_clause,
    replace_words,
    set_status,
    words_of,
)
from drafting.outline import Outline
from drafting.statuses import StatusError
from drafting.vocabulary import ClauseStatus


def ids(text, parent):
    return [c.id for c in Outline(text).children(parent)]


def test_clauses_are_added_in_order_after_a_chosen_sibling(text, article, paragraph):
    last = add_clause(text, "paragraph", "Last.", parent=article)
    middle = add_clause(text, "paragraph", "Middle.", parent=article, after=paragraph)
    first = add_clause(text, "paragraph", "First.", parent=article, after="")
    assert ids(text, article) == [first, paragraph, middle, last]


def test_moving_a_clause_keeps_its_id_words_and_children(text, article, paragraph):
    sub = add_clause(text, "subparagraph", "a sub-paragraph", parent=paragraph)
    other = add_clause(text, "article", "(other)", base=True)
    move_clause(text, paragraph, parent=other)
    assert ids(text, other) == [paragraph]
    assert ids(text, paragraph) == [sub]
    assert words_of(text, paragraph) == "Parties shall take action."


def test_a_clause_cannot_be_moved_under_itself(text, article, paragraph):
    with pytest.raises(ClauseError, match="under itself"):
        move_clause(text, article, parent=paragraph)


def test_words_cannot_hang_under_a_clause_that_holds_none(text, article):
    recital = add_clause(text, "text", "No text")
    with pytest.raises(ClauseError, match="cannot hold other clauses"):
        add_clause(text, "paragraph", "x", parent=recital)


def test_deleting_keeps_the_clause_in_the_record(text, paragraph):
    delete_clause(text, paragraph)
    assert text.clause(paragraph).status == ClauseStatus.DELETED
    assert words_of(text, paragraph) == "Parties shall take action."


def test_a_clause_with_open_brackets_cannot_be_agreed(text, paragraph):
    bracket = bracket_span(text, paragraph, 8, 13)
    set_status(text, paragraph, ClauseStatus.BRACKETED)
    with pytest.raises(ClauseError, match="1 bracket"):
        set_status(text, paragraph, ClauseStatus.AGREED_AD_REF)
    lift_bracket(text, bracket, keep=bracket)
    set_status(text, paragraph, ClauseStatus.AGREED_AD_REF)
    set_status(text, paragraph, ClauseStatus.AGREED)
    assert text.clause(paragraph).status == ClauseStatus.AGREED


def test_a_status_jump_the_room_would_not_recognise_is_refused(text, paragraph):
    with pytest.raises(StatusError, match="'pending' and cannot become 'agreed'"):
        set_status(text, paragraph, ClauseStatus.AGREED)


def test_editing_words_counts_characters(text, article):
    clause = add_clause(text, "paragraph", "Стороны действуют.", parent=article)
    insert_words(text, clause, 7, " немедленно")
    replace_words(text, clause, 0, 7, "Все стороны")
    delete_words(text, clause, len("Все стороны немедленно"), len("Все стороны немедленно "))
    assert words_of(text, clause) == "Все стороны немедленнодействуют."


def test_an_unknown_clause_is_named_in_the_error(text):
    with pytest.raises(KeyError, match="no clause 'c-missing'"):
        insert_words(text, "c-missing", 0, "x")
