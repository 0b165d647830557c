"""The changes to a text that the audit log records: proposals tabled, withdrawn or
decided, clause statuses changed, brackets lifted.

Keystrokes are not audit events (the per-clause history keeps them); these are the acts a
chair or a secretariat looks for when asking "who did what". They are read off the
`Change`s an update made (`drafting.permissions.Change`, from pycrdt's deep-observe
events), so the server finds them while applying the update, at no extra decoding.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from drafting.permissions import Change
from drafting.vocabulary import BracketState, ProposalStatus

DECISIONS = (ProposalStatus.ACCEPTED, ProposalStatus.REJECTED, ProposalStatus.MERGED)
LIFTED = (BracketState.KEPT, BracketState.DROPPED)


@dataclass(frozen=True)
class Notable:
    action: str  # an audit action: "proposal-tabled", "status-changed" …
    target: str  # the proposal, clause or bracket id
    detail: dict[str, Any] = field(default_factory=dict)


def notable_changes(changes: Iterable[Change]) -> list[Notable]:
    found: list[Notable] = []
    for change in changes:
        if change.root == "proposals" and not change.path:
            found.extend(
                Notable("proposal-tabled", key)
                for key, what in change.keys.items()
                if what.get("action") == "add"
            )
        elif len(change.path) == 1:
            found.extend(_field_changes(change))
    return found


def _field_changes(change: Change) -> Iterable[Notable]:
    target = str(change.path[0])
    for key, what in change.keys.items():
        new, old = what.get("newValue"), what.get("oldValue")
        if what.get("action") == "delete" or new == old:
            continue
        if change.root == "proposals" and key == "status":
            if new == ProposalStatus.WITHDRAWN:
                yield Notable("proposal-withdrawn", target)
            elif new in DECISIONS:
                yield Notable("proposal-decided", target, {"status": new})
        elif change.root == "clauses" and key == "status":
            yield Notable("status-changed", target, {"from": old, "to": new})
        elif change.root == "brackets" and key == "state" and new in LIFTED:
            yield Notable("bracket-lifted", target, {"state": new})
