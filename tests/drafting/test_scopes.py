"""Who may open and change each document of a text: the shared text, balloon scopes,
the chair's record of authors, delegations' workspaces."""

from __future__ import annotations

import pytest

from drafting.balloons import Scope
from drafting.permissions import Actor
from drafting.scopes import DocumentScope, ScopeError, refusal_to_change, refusal_to_open
from drafting.vocabulary import Role

CHAIR = Actor.of(Role.CHAIR)
SECRETARIAT = Actor.of(Role.SECRETARIAT)
EU = Actor.of(Role.DELEGATE, "EU")
EU_VIEWER = Actor.of(Role.DELEGATION_VIEWER, "EU")
AOSIS = Actor.of(Role.DELEGATE, "AOSIS")
OBSERVER = Actor.of(Role.OBSERVER)
LEGAL = Actor.of(Role.LEGAL_ADVISER)
EVERYONE = (CHAIR, SECRETARIAT, EU, EU_VIEWER, AOSIS, OBSERVER, LEGAL)


def may_open(scope: DocumentScope) -> set[tuple[Role, str]]:
    return {(a.role, a.party) for a in EVERYONE if refusal_to_open(a, scope) is None}


def test_everyone_who_reads_opens_the_shared_text():
    assert len(may_open(DocumentScope())) == len(EVERYONE)


def test_a_balloon_scope_opens_to_the_chair_and_its_delegations_only():
    scope = DocumentScope.balloons(Scope.of("EU"))
    assert may_open(scope) == {
        (Role.CHAIR, ""),
        (Role.DELEGATE, "EU"),
        (Role.DELEGATION_VIEWER, "EU"),
    }


def test_the_room_scope_never_reaches_observers_or_legal_advisers():
    opened = may_open(DocumentScope.balloons(Scope.room()))
    assert (Role.OBSERVER, "") not in opened and (Role.LEGAL_ADVISER, "") not in opened
    assert (Role.DELEGATE, "AOSIS") in opened


def test_the_chair_only_scope_opens_to_chair_and_secretariat():
    assert may_open(DocumentScope.balloons(Scope.chair())) == {
        (Role.CHAIR, ""),
        (Role.SECRETARIAT, ""),
    }


def test_only_the_chair_knows_who_floated_an_unattributed_balloon():
    assert may_open(DocumentScope.authors()) == {(Role.CHAIR, "")}


def test_a_workspace_is_the_delegations_own_not_even_the_chairs():
    assert may_open(DocumentScope.workspace("EU")) == {
        (Role.DELEGATE, "EU"),
        (Role.DELEGATION_VIEWER, "EU"),
    }
    assert refusal_to_change(EU, DocumentScope.workspace("EU")) is None
    assert "may read but not change" in refusal_to_change(EU_VIEWER, DocumentScope.workspace("EU"))


def test_nobody_writes_balloon_documents_over_the_wire():
    for actor in EVERYONE:
        assert refusal_to_change(actor, DocumentScope.balloons(Scope.room())) is not None


def test_document_names_parse_back_and_bad_ones_are_refused():
    for scope in (
        DocumentScope(),
        DocumentScope.balloons(Scope.of("EU", "AOSIS")),
        DocumentScope.authors(),
        DocumentScope.workspace("EU"),
    ):
        assert DocumentScope.parse(scope.key) == scope
    # The same Parties in another order name the same scope document.
    assert DocumentScope.parse("balloons:parties:EU+AOSIS").key == "balloons:parties:AOSIS+EU"
    for bad in ("balloons:", "balloons:parties:", "workspace:", "notes:EU"):
        with pytest.raises(ScopeError):
            DocumentScope.parse(bad)
