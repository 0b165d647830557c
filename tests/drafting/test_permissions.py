"""Each role may make exactly the changes the negotiation grants it, judged per update."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from drafting import brackets as br
from drafting import clauses as cl
from drafting import proposals as pr
from drafting.permissions import Actor, Refused, apply_observed, check_changes
from drafting.schema import NegotiationText
from drafting.vocabulary import ClauseStatus, Role


def judge(text: NegotiationText, actor: Actor, operation: Callable[[NegotiationText], object]):
    """Run `operation` on a client's replica; judge the update it sends, as the server does."""
    client = NegotiationText.from_update(text.to_update())
    state = client.doc.get_state()
    operation(client)
    update = client.doc.get_update(state)
    shadow = NegotiationText.from_update(text.to_update())
    changes = apply_observed(shadow, update)
    assert changes, "the operation changed nothing"
    check_changes(text, shadow, changes, actor)


EU = Actor.of(Role.DELEGATE, "EU")
AOSIS = Actor.of(Role.DELEGATE, "AOSIS")
CHAIR = Actor.of(Role.CHAIR)
SECRETARIAT = Actor.of(Role.SECRETARIAT)


@pytest.mark.parametrize("role", [Role.OBSERVER, Role.DELEGATION_VIEWER, Role.LEGAL_ADVISER])
def test_readers_change_nothing(text, paragraph, role):
    with pytest.raises(Refused, match="reads the text and changes nothing"):
        judge(text, Actor.of(role, "EU"), lambda t: cl.insert_words(t, paragraph, 0, "All "))


def test_a_delegate_tables_in_the_name_of_their_own_party(text, paragraph):
    judge(text, EU, lambda t: pr.propose_insertion(t, "EU", paragraph, 7, " all"))
    judge(text, EU, lambda t: pr.propose_replacement(t, "EU", paragraph, 8, 13, "should"))
    judge(text, EU, lambda t: pr.propose_deletion(t, "EU", paragraph, 7, 13))
    judge(text, EU, lambda t: pr.propose_new_paragraph(t, "EU", "New.", parent=paragraph))


def test_forged_attribution_is_refused(text, paragraph):
    with pytest.raises(Refused, match="may not"):
        judge(text, EU, lambda t: pr.propose_insertion(t, "AOSIS", paragraph, 7, " all"))
    with pytest.raises(Refused, match="in the name of 'AOSIS'"):
        judge(text, EU, lambda t: pr.propose_new_paragraph(t, "AOSIS", "x", parent=paragraph))


def test_a_delegate_supports_only_as_their_party_and_never_alters_anothers_proposal(
    text, paragraph
):
    proposal = pr.propose_insertion(text, "AOSIS", paragraph, 7, " all")
    judge(text, EU, lambda t: pr.support(t, proposal, "EU"))
    with pytest.raises(Refused, match="'G77/China' among the supporters"):
        judge(text, EU, lambda t: pr.support(t, proposal, "G77/China"))
    with pytest.raises(Refused):
        judge(text, EU, lambda t: pr.withdraw(t, proposal, "AOSIS"))
    judge(text, AOSIS, lambda t: pr.withdraw(t, proposal, "AOSIS"))


def test_typing_is_allowed_inside_ones_own_brackets_only(text, paragraph):
    bracket = br.bracket_span(text, paragraph, 8, 13, party="EU")
    assert bracket
    judge(text, EU, lambda t: cl.insert_words(t, paragraph, 10, "XX"))
    with pytest.raises(Refused, match="add words outside 'AOSIS''s brackets"):
        judge(text, AOSIS, lambda t: cl.insert_words(t, paragraph, 10, "XX"))
    with pytest.raises(Refused, match="add words outside"):
        judge(text, EU, lambda t: cl.insert_words(t, paragraph, 0, "All "))
    with pytest.raises(Refused, match="delete words outside 'AOSIS''s brackets"):
        judge(text, AOSIS, lambda t: cl.delete_words(t, paragraph, 8, 13))


def test_an_alternative_beside_another_partys_bracket_is_a_proposal_of_ones_own(text, paragraph):
    shall = br.bracket_span(text, paragraph, 8, 13, party="AOSIS")
    judge(text, EU, lambda t: pr.propose_alternative(t, "EU", shall, "should"))


def test_only_the_chair_decides(text, paragraph):
    bracket = br.bracket_span(text, paragraph, 8, 13, party="AOSIS")
    for actor in (EU, SECRETARIAT):
        with pytest.raises(Refused):
            judge(text, actor, lambda t: br.lift_bracket(t, bracket, keep=bracket))
    judge(text, CHAIR, lambda t: br.lift_bracket(t, bracket, keep=bracket))
    # A Party may take its own bracket out again: that is withdrawing, not deciding.
    judge(text, AOSIS, lambda t: pr.remove_one_bracket(t, bracket, keep_words=True))
    plain = cl.add_clause(text, "paragraph", "Agreed words.", parent=paragraph)
    cl.set_status(text, plain, ClauseStatus.BRACKETED)
    with pytest.raises(Refused, match="to 'agreed ad ref'"):
        judge(text, SECRETARIAT, lambda t: cl.set_status(t, plain, ClauseStatus.AGREED_AD_REF))
    judge(text, CHAIR, lambda t: cl.set_status(t, plain, ClauseStatus.AGREED_AD_REF))


def test_the_secretariat_edits_and_restructures_but_tables_nothing(text, article, paragraph):
    judge(text, SECRETARIAT, lambda t: cl.insert_words(t, paragraph, 0, "All "))
    judge(text, SECRETARIAT, lambda t: cl.add_clause(t, "paragraph", "x", parent=article))
    judge(text, SECRETARIAT, lambda t: cl.move_clause(t, paragraph, parent=""))
    with pytest.raises(Refused, match="in the name of 'EU'"):
        judge(text, SECRETARIAT, lambda t: pr.propose_insertion(t, "EU", paragraph, 7, " all"))


def test_a_delegate_cannot_restructure_or_rename(text, article, paragraph):
    with pytest.raises(Refused, match="move or renumber"):
        judge(text, EU, lambda t: cl.move_clause(t, paragraph, parent=""))
    with pytest.raises(Refused, match="change the text's meta"):
        judge(text, EU, lambda t: t.set_meta("title", "Something else"))
    with pytest.raises(Refused, match="change the text's parties"):
        judge(text, EU, lambda t: t.parties.__setitem__("EU", {"name": "x"}))


def test_a_negotiation_can_regrant_capabilities():
    from drafting.vocabulary import Capability

    observer_who_tables = Actor.of(
        Role.OBSERVER, "NGO", {Role.OBSERVER: frozenset({Capability.READ, Capability.TABLE})}
    )
    assert observer_who_tables.may(Capability.TABLE)
    assert not Actor.of(Role.OBSERVER).may(Capability.TABLE)
