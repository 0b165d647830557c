"""The life of a clause: pending -> bracketed -> agreed ad ref -> agreed.

A clause may be parked (set aside for a later round) or deleted from any state, and
brought back; nothing is agreed until everything is agreed, so an agreed clause can be
reopened. What is refused is a jump the room would not recognise, such as agreeing a
clause nobody has discussed, or editing the status of a deleted clause without restoring it.
"""

from __future__ import annotations

from drafting.vocabulary import ClauseStatus

S = ClauseStatus

ALLOWED: dict[ClauseStatus, frozenset[ClauseStatus]] = {
    S.PENDING: frozenset({S.BRACKETED, S.AGREED_AD_REF, S.PARKED, S.DELETED}),
    S.BRACKETED: frozenset({S.PENDING, S.AGREED_AD_REF, S.PARKED, S.DELETED}),
    S.AGREED_AD_REF: frozenset({S.AGREED, S.BRACKETED, S.PARKED, S.DELETED}),
    S.AGREED: frozenset({S.BRACKETED, S.AGREED_AD_REF, S.DELETED}),
    S.PARKED: frozenset({S.PENDING, S.BRACKETED, S.DELETED}),
    S.DELETED: frozenset({S.PENDING, S.BRACKETED}),
}


class StatusError(ValueError):
    """A change of clause status that the negotiation does not allow."""


def check_transition(clause_id: str, current: ClauseStatus, wanted: ClauseStatus) -> None:
    if current == wanted:
        return
    if wanted not in ALLOWED[current]:
        allowed = ", ".join(sorted(s.value for s in ALLOWED[current]))
        raise StatusError(
            f"clause {clause_id!r} is {current.value!r} and cannot become {wanted.value!r} "
            f"(from {current.value!r} it may become: {allowed})"
        )
