"""Proposals are tabled in a Party's name, gather support, and are withdrawn or decided."""

from __future__ import annotations

import pytest

from drafting.clauses import add_clause, words_of
from drafting.outline import Outline
from drafting.parties import UnknownParty
from drafting.proposals import (
    ProposalError,
    accept,
    merge,
    object_to,
    propose_alternative,
    propose_deletion,
    propose_insertion,
    propose_move,
    propose_new_paragraph,
    propose_replacement,
    reject,
    support,
    withdraw,
)
from drafting.views import bracketed_words
from drafting.vocabulary import ProposalStatus


def test_a_replacement_sets_the_new_words_beside_the_old(text, paragraph):
    proposal = propose_replacement(text, "EU", paragraph, 8, 13, "should")
    assert bracketed_words(text, paragraph, show_parties=True) == (
        "Parties [EU: shall][EU: should] take action."
    )
    record = text.proposal(proposal)
    assert (record.kind, record.party, record.status) == ("replace", "EU", "tabled")
    assert record.map["replaced"] == "shall"


def test_a_replacement_of_words_already_in_brackets_adds_an_alternative(text, paragraph):
    first = propose_replacement(text, "EU", paragraph, 8, 13, "should")
    shall = next(b for b, role in text.proposal(first).map["brackets"].items() if role == "around")
    assert shall
    propose_replacement(text, "AOSIS", paragraph, 8, 13, "must")
    assert bracketed_words(text, paragraph) == "Parties [shall][should][must] take action."


def test_an_insertion_is_new_words_in_the_partys_bracket(text, paragraph):
    propose_insertion(text, "AOSIS", paragraph, 25, " urgently")
    assert bracketed_words(text, paragraph, show_parties=True) == (
        "Parties shall take action[AOSIS:  urgently]."
    )


def test_a_deletion_brackets_the_words(text, paragraph):
    propose_deletion(text, "G77/China", paragraph, 7, 13)
    assert bracketed_words(text, paragraph) == "Parties[ shall] take action."


def test_withdrawing_removes_the_new_words_but_keeps_the_record(text, paragraph):
    proposal = propose_replacement(text, "EU", paragraph, 8, 13, "should")
    withdraw(text, proposal, "EU")
    assert bracketed_words(text, paragraph) == "Parties shall take action."
    assert text.proposal(proposal).status == ProposalStatus.WITHDRAWN
    assert text.proposal(proposal).words == "should"


def test_only_the_tabling_party_can_withdraw(text, paragraph):
    proposal = propose_insertion(text, "AOSIS", paragraph, 25, " now")
    with pytest.raises(ProposalError, match="only 'AOSIS' can withdraw"):
        withdraw(text, proposal, "EU")
    assert text.proposal(proposal).status == ProposalStatus.TABLED


def test_accepting_a_replacement_lifts_its_brackets_the_proposals_way(text, paragraph):
    proposal = propose_replacement(text, "EU", paragraph, 8, 13, "should")
    accept(text, proposal)
    assert bracketed_words(text, paragraph) == "Parties should take action."
    assert text.proposal(proposal).status == ProposalStatus.ACCEPTED


def test_accepting_a_deletion_deletes_the_words(text, paragraph):
    proposal = propose_deletion(text, "G77/China", paragraph, 7, 13)
    accept(text, proposal)
    assert words_of(text, paragraph) == "Parties take action."


def test_rejecting_a_deletion_keeps_the_words_unbracketed(text, paragraph):
    proposal = propose_deletion(text, "G77/China", paragraph, 7, 13)
    reject(text, proposal)
    assert bracketed_words(text, paragraph) == "Parties shall take action."
    assert text.proposal(proposal).status == ProposalStatus.REJECTED


def test_accepting_one_alternative_rejects_the_competing_proposal(text, paragraph):
    eu = propose_replacement(text, "EU", paragraph, 8, 13, "should")
    bracket = next(iter(text.proposal(eu).map["brackets"]))
    aosis = propose_alternative(text, "AOSIS", bracket, "must")
    accept(text, aosis)
    assert bracketed_words(text, paragraph) == "Parties must take action."
    assert text.proposal(eu).status == ProposalStatus.REJECTED


def test_a_new_paragraph_is_numbered_bis_and_bracketed_as_a_whole(text, article, paragraph):
    proposal = propose_new_paragraph(
        text, "G77/China", "Developed countries shall lead.", parent=article, after=paragraph
    )
    clause = text.proposal(proposal).clause
    assert text.clause(clause).bracket
    from drafting.views import bracketed_text

    assert "[1 bis. Developed countries shall lead.]" in bracketed_text(text)
    accept(text, proposal)
    assert "\n1 bis. Developed countries shall lead." in bracketed_text(text)


def test_a_move_changes_the_text_only_when_accepted(text, article, paragraph):
    second = add_clause(text, "paragraph", "Second.", parent=article, base=True)
    proposal = propose_move(text, "EU", second, parent=article, after="")
    assert [c.id for c in Outline(text).children(article)] == [paragraph, second]
    accept(text, proposal)
    assert [c.id for c in Outline(text).children(article)] == [second, paragraph]


def test_support_and_objection_are_per_party_and_exclusive(text, paragraph):
    proposal = propose_insertion(text, "AOSIS", paragraph, 25, " now")
    support(text, proposal, "EU")
    object_to(text, proposal, "G77/China")
    object_to(text, proposal, "EU")  # the EU changes its mind
    record = text.proposal(proposal)
    assert set(record.supporters.keys()) == set()
    assert set(record.objectors.keys()) == {"EU", "G77/China"}


def test_a_party_cannot_support_its_own_proposal(text, paragraph):
    proposal = propose_insertion(text, "AOSIS", paragraph, 25, " now")
    with pytest.raises(ProposalError, match="cannot support"):
        support(text, proposal, "AOSIS")


def test_a_decided_proposal_takes_no_more_support_and_cannot_be_decided_again(text, paragraph):
    proposal = propose_insertion(text, "AOSIS", paragraph, 25, " now")
    merge(text, proposal)
    with pytest.raises(ProposalError, match="merged, no longer tabled"):
        support(text, proposal, "EU")
    with pytest.raises(ProposalError, match="no longer tabled"):
        accept(text, proposal)


def test_a_refused_proposal_leaves_no_trace(text, paragraph):
    from drafting.brackets import bracket_span

    bracket_span(text, paragraph, 8, 18)
    state = text.doc.get_state()
    with pytest.raises(ValueError, match="crosses bracket"):
        propose_deletion(text, "EU", paragraph, 0, 12)
    with pytest.raises(UnknownParty):
        propose_insertion(text, "Atlantis", paragraph, 0, "All ")
    with pytest.raises(ProposalError, match="name one"):
        propose_insertion(text, "", paragraph, 0, "All ")
    assert text.doc.get_state() == state
    assert list(text.proposals()) == []


def test_a_move_that_could_never_be_made_is_not_tabled(text, article):
    with pytest.raises(ValueError, match="under itself"):
        propose_move(text, "EU", article, parent=article)
    assert list(text.proposals()) == []


def test_accepting_a_proposal_whose_words_were_deleted_is_refused_and_changes_nothing(
    text, paragraph
):
    from drafting.clauses import delete_words

    proposal = propose_insertion(text, "EU", paragraph, 7, " all")
    delete_words(text, paragraph, 7, 11)
    state = text.doc.get_state()
    with pytest.raises(ProposalError, match="were deleted"):
        accept(text, proposal)
    assert text.proposal(proposal).status == ProposalStatus.TABLED
    assert text.doc.get_state() == state
