"""Awareness is applied on the server: only newer states travel on, echoes stop here, and
renewals (the same state again) are told apart from changes."""

from __future__ import annotations

import json

import pytest

from crdt_sync.awareness import AwarenessRegistry, Forward, _decode, _encode
from crdt_sync.protocol import ProtocolError

NOTHING = Forward(None, None)


def update(*entries):
    return _encode([(c, clock, json.dumps(s).encode()) for c, clock, s in entries])


def test_a_new_state_is_forwarded_and_its_echo_is_not():
    registry = AwarenessRegistry()
    change = update((7, 1, {"user": "EU delegate", "clause": "c1"}))
    assert registry.apply(change, "conn-a") == Forward(change, None)
    assert registry.apply(change, "conn-b") == NOTHING  # every client re-sends what it gets
    assert registry.apply(update((7, 0, {"old": True})), "conn-b") == NOTHING


def test_only_the_newer_entries_of_a_mixed_update_travel_on():
    registry = AwarenessRegistry()
    registry.apply(update((1, 3, {"a": 1})), "x")
    forwarded, _ = registry.apply(update((1, 3, {"a": 1}), (2, 1, {"b": 2})), "y")
    assert [(c, clock) for c, clock, _ in _decode(forwarded)] == [(2, 1)]


def test_the_same_state_again_with_a_newer_clock_is_a_renewal_apart_from_the_changes():
    registry = AwarenessRegistry()
    registry.apply(update((1, 1, {"user": "EU"}), (2, 1, {"user": "AOSIS"})), "x")
    # Every 15 s y-protocols sends the unchanged state again; here client 2 moved too.
    changed, renewed = registry.apply(
        update((1, 2, {"user": "EU"}), (2, 2, {"user": "AOSIS", "clause": "c4"})), "x"
    )
    assert [(c, clock) for c, clock, _ in _decode(renewed)] == [(1, 2)]
    assert [(c, clock) for c, clock, _ in _decode(changed)] == [(2, 2)]
    # Its echo from another client is neither; a client leaving is a change.
    assert registry.apply(update((1, 2, {"user": "EU"})), "y") == NOTHING
    changed, renewed = registry.apply(update((1, 3, None)), "x")
    assert (_decode(changed), renewed) == ([(1, 3, b"null")], None)


def test_a_closed_connection_removes_the_clients_it_introduced():
    registry = AwarenessRegistry()
    registry.apply(update((1, 1, {"a": 1}), (2, 5, {"b": 2})), "x")
    registry.apply(update((3, 1, {"c": 3})), "y")
    gone = registry.remove_connection("x")
    assert sorted((c, clock, s) for c, clock, s in _decode(gone)) == [
        (1, 2, b"null"),
        (2, 6, b"null"),
    ]
    assert registry.live_count() == 1


def test_a_joining_client_is_told_every_live_state():
    registry = AwarenessRegistry()
    registry.apply(update((1, 1, {"a": 1}), (2, 1, {"b": 2})), "x")
    registry.apply(update((2, 2, None)), "x")
    assert [c for c, _, _ in _decode(registry.snapshot())] == [1]


def test_a_state_that_is_not_json_is_a_protocol_error():
    with pytest.raises(ProtocolError, match="not JSON"):
        AwarenessRegistry().apply(_encode([(1, 1, b"{nope")]), "x")


def test_another_connection_cannot_change_or_remove_a_client_it_did_not_introduce():
    registry = AwarenessRegistry()
    registry.apply(update((7, 1, {"user": "Chair", "clause": "c1"})), "chair-conn")
    # A delegate's connection forges a newer state for the chair's client id, or its exit.
    assert registry.apply(update((7, 2, {"user": "Chair", "clause": "c9"})), "eu-conn") == NOTHING
    assert registry.apply(update((7, 3, None)), "eu-conn") == NOTHING
    [(_, clock, state)] = _decode(registry.snapshot())
    assert (clock, json.loads(state)["clause"]) == (1, "c1")


def test_a_client_back_on_a_new_connection_after_its_owner_left_is_its_own_again():
    registry = AwarenessRegistry()
    registry.apply(update((7, 1, {"user": "EU"})), "old-conn")
    registry.remove_connection("old-conn")  # clock 2, gone
    back = update((7, 3, {"user": "EU"}))
    assert registry.apply(back, "new-conn") == Forward(back, None)
    assert registry.live_count() == 1


def test_a_stale_state_can_be_taken_over_by_the_same_client_reconnected_elsewhere():
    """Its owner (a killed server process, say) never said it left; a live client renews
    its state every 15 s, so 30 s of silence means it is gone."""
    now = [0.0]
    registry = AwarenessRegistry(clock=lambda: now[0])
    registry.apply(update((7, 4, {"user": "EU"})), "process:a")
    back = update((7, 5, {"user": "EU", "clause": "c2"}))
    now[0] = 10.0
    assert registry.apply(back, "new-conn") == NOTHING  # still the other process's
    now[0] = 31.0
    assert registry.apply(back, "new-conn") == Forward(back, None)
