"""Trial balloons live in scope documents, stay anchored, and vanish when withdrawn."""

from __future__ import annotations

import pytest

from drafting.balloons import (
    BalloonError,
    Scope,
    anchor_position,
    balloons_seen_by,
    float_balloon,
    promote_balloon,
    withdraw_balloon,
)
from drafting.clauses import insert_words
from drafting.schema import BalloonDocument
from drafting.views import bracketed_text
from drafting.vocabulary import BalloonStatus, ProposalStatus


@pytest.fixture
def scope_doc() -> BalloonDocument:
    return BalloonDocument()


def test_a_scope_admits_only_its_parties_and_the_chair():
    scope = Scope.of("EU", "AOSIS")
    assert scope.admits("EU") and scope.admits("AOSIS")
    assert not scope.admits("G77/China")
    assert not scope.admits("")  # an observer acts for no Party
    assert scope.admits("G77/China", chair=True)
    assert not Scope.chair().admits("EU") and Scope.room().admits("EU")


def test_the_same_parties_always_name_the_same_scope_document():
    assert Scope.of("EU", "AOSIS").key == Scope.of("AOSIS", "EU", "EU").key == "parties:AOSIS+EU"


def test_an_unattributed_balloon_hides_its_author_from_all_but_the_chair(
    text, paragraph, scope_doc
):
    scope = Scope.of("AOSIS", "G77/China")
    authors = BalloonDocument()  # the chair's own document
    balloon = float_balloon(
        scope_doc,
        text,
        "EU",
        scope,
        clause=paragraph,
        at=8,
        words="must",
        attributed=False,
        authors=authors,
    )
    assert [v.author for v in balloons_seen_by(scope_doc, "AOSIS", authors=authors)] == [None]
    assert [v.author for v in balloons_seen_by(scope_doc, "", chair=True, authors=authors)] == [
        "EU"
    ]
    assert balloons_seen_by(scope_doc, "Atlantis") == []
    # What the scope's delegations receive does not name the author, not even in bytes.
    assert b"EU" not in scope_doc.doc.get_update()
    # Only the author withdraws it, known from the chair's record.
    with pytest.raises(BalloonError, match="only the Party"):
        withdraw_balloon(scope_doc, balloon, "AOSIS", authors=authors)
    withdraw_balloon(scope_doc, balloon, "EU", authors=authors)
    assert authors.author(balloon) is None


def test_an_unattributed_balloon_needs_the_chairs_record_of_authors(text, paragraph, scope_doc):
    with pytest.raises(BalloonError, match="record of authors"):
        float_balloon(
            scope_doc, text, "EU", Scope.room(), clause=paragraph, at=8, words="x", attributed=False
        )


def test_a_scope_key_names_its_scope_back():
    for scope in (Scope.chair(), Scope.room(), Scope.of("EU", "AOSIS")):
        assert Scope.from_key(scope.key) == scope
    with pytest.raises(BalloonError, match="names no balloon scope"):
        Scope.from_key("parties:")


def test_a_balloon_stays_beside_its_words_while_the_clause_is_edited(text, paragraph, scope_doc):
    balloon = float_balloon(
        scope_doc, text, "EU", Scope.chair(), clause=paragraph, at=8, words="must"
    )
    insert_words(text, paragraph, 0, "Всё: ")
    assert anchor_position(text, scope_doc.balloon(balloon)) == 13


def test_withdrawing_purges_the_words_and_keeps_only_that_it_existed(text, paragraph, scope_doc):
    balloon = float_balloon(
        scope_doc, text, "EU", Scope.chair(), clause=paragraph, at=8, words="a secret idea"
    )
    trace = withdraw_balloon(scope_doc, balloon, "EU")
    assert trace["balloon"] == balloon and "words" not in trace
    assert list(scope_doc.balloons()) == []
    assert b"a secret idea" not in scope_doc.doc.get_update()


def test_only_the_author_withdraws_or_promotes(text, paragraph, scope_doc):
    balloon = float_balloon(scope_doc, text, "EU", Scope.room(), clause=paragraph, at=8, words="x")
    with pytest.raises(BalloonError, match="only the Party"):
        withdraw_balloon(scope_doc, balloon, "AOSIS")
    with pytest.raises(BalloonError, match="only the Party"):
        promote_balloon(scope_doc, text, balloon, "AOSIS")


def test_promoting_tables_a_formal_proposal_of_the_author(text, paragraph, scope_doc):
    balloon = float_balloon(
        scope_doc, text, "EU", Scope.room(), clause=paragraph, at=25, words=" without delay"
    )
    proposal = promote_balloon(scope_doc, text, balloon, "EU")
    assert text.proposal(proposal).party == "EU"
    assert text.proposal(proposal).status == ProposalStatus.TABLED
    assert "take action[EU:  without delay]." in bracketed_text(text, show_parties=True)
    assert scope_doc.balloon(balloon).status == BalloonStatus.PROMOTED


def test_a_balloon_never_touches_the_shared_text(text, paragraph, scope_doc):
    state = text.doc.get_state()
    float_balloon(scope_doc, text, "EU", Scope.chair(), clause=paragraph, at=8, words="secret")
    assert text.doc.get_state() == state
    assert b"secret" not in text.to_update()
