"""The acts the audit log records are read off the changes an update makes."""

from __future__ import annotations

from collections.abc import Callable

from drafting import proposals as pr
from drafting.brackets import insert_bracketed, lift_bracket
from drafting.clauses import insert_words, set_status
from drafting.notable import Notable, notable_changes
from drafting.permissions import apply_observed
from drafting.schema import NegotiationText
from drafting.vocabulary import ClauseStatus


def notables_of(text: NegotiationText, operation: Callable[[NegotiationText], object]):
    """What `operation`, made by a client on a copy of `text`, shows the server."""
    client = NegotiationText.from_update(text.to_update())
    state = client.doc.get_state()
    operation(client)
    return notable_changes(apply_observed(text, client.doc.get_update(state)))


def test_tabling_and_withdrawing_a_proposal_are_recorded(text, paragraph):
    found = notables_of(text, lambda t: pr.propose_insertion(t, "EU", paragraph, 8, " all"))
    [tabled] = [n for n in found if n.action == "proposal-tabled"]
    # Tabling words brackets the clause: that status change is recorded with it.
    assert Notable("status-changed", paragraph, {"from": "pending", "to": "bracketed"}) in found
    # (The withdrawal also drops the proposal's bracket, recorded as such.)
    assert Notable("proposal-withdrawn", tabled.target) in notables_of(
        text, lambda t: pr.withdraw(t, tabled.target, "EU")
    )


def test_a_decision_on_a_proposal_is_recorded_with_its_outcome(text, paragraph):
    proposal = pr.propose_insertion(text, "EU", paragraph, 8, " all")
    assert Notable("proposal-decided", proposal, {"status": "rejected"}) in notables_of(
        text, lambda t: pr.reject(t, proposal)
    )


def test_a_status_change_is_recorded_from_and_to(text, paragraph):
    [notable] = notables_of(text, lambda t: set_status(t, paragraph, ClauseStatus.AGREED_AD_REF))
    assert notable.action == "status-changed" and notable.target == paragraph
    assert notable.detail["to"] == "agreed ad ref"


def test_lifting_a_bracket_is_recorded(text, paragraph):
    bracket = insert_bracketed(text, paragraph, 8, " all", party="EU")
    found = notables_of(text, lambda t: lift_bracket(t, bracket, keep=bracket))
    assert Notable("bracket-lifted", bracket, {"state": "kept"}) in found


def test_typing_is_not_an_audit_event(text, paragraph):
    assert notables_of(text, lambda t: insert_words(t, paragraph, 0, "All ")) == []
