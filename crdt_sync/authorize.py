"""Is this update allowed? Judged on a shadow copy before the room's document is touched.

The room keeps a shadow document in step with its own. An incoming update is applied to
the shadow first, with its changes observed; `drafting.permissions.check_changes` judges
them against the sender. Allowed: the caller applies the update to the room's document,
stores and broadcasts it. Refused: the shadow is rebuilt from the room's document (an
update cannot be taken back), the room's document, the store and every other client are
untouched, and the sender is closed with a reason and must resync.
"""

from __future__ import annotations

from typing import Protocol

from pycrdt import Doc

from drafting.permissions import Actor, Refused, apply_observed, check_changes
from drafting.schema import NegotiationText
from drafting.scopes import DocumentScope, refusal_to_change
from drafting.vocabulary import Capability, Role

# The server's own operations (a balloon floated through the API, a purge): the only
# sender a balloon document accepts. Compared by identity, so no client can be it.
SERVER = Actor(Role.CHAIR, "", frozenset(Capability))


class Guard(Protocol):
    def check(self, update: bytes, actor: Actor) -> None:
        """Raise `Refused` unless `actor` may make every change in `update`."""


class UpdateGuard:
    def __init__(self, room_doc: Doc) -> None:
        self.room = NegotiationText(room_doc)
        # Made on the first update that needs judging, and again whenever an update went
        # to the room without it: rooms where everyone has full rights never pay for it.
        self.shadow: NegotiationText | None = None

    def check(self, update: bytes, actor: Actor) -> None:
        """Raise `Refused` unless `actor` may make every change in `update`."""
        if actor.capabilities >= {Capability.DECIDE, Capability.STRUCTURE, Capability.EDIT}:
            self.shadow = None  # whoever may do everything needs no judging
            return
        shadow = self.shadow or self._copy()
        self.shadow = None  # until the update is judged, the shadow may be ahead of the room
        changes = apply_observed(shadow, update)  # a malformed update raises here
        check_changes(self.room, shadow, changes, actor)
        self.shadow = shadow  # allowed: the room applies the same update next

    def _copy(self) -> NegotiationText:
        return NegotiationText.from_update(self.room.doc.get_update())


class ScopeGuard:
    """A scoped document (balloons, a workspace) is judged by who sends, not by what:
    balloon documents change only through the server's operations, a workspace only by
    its own delegates (`drafting.scopes`)."""

    def __init__(self, scope: DocumentScope, room_doc: Doc) -> None:
        self.scope = scope
        self.room_doc = room_doc

    def check(self, update: bytes, actor: Actor) -> None:
        if actor is SERVER:
            return
        reason = refusal_to_change(actor, self.scope)
        if reason is not None and not self._changes_nothing(update):
            raise Refused(reason)

    def _changes_nothing(self, update: bytes) -> bool:
        """An update that only repeats what the document holds (a client echoing what it
        received) changes nothing, whoever sends it. Scoped documents are small."""
        before = self.room_doc.get_update()
        copy = Doc()
        copy.apply_update(before)
        copy.apply_update(update)
        return copy.get_update() == before


def guard_for(scope: DocumentScope, doc: Doc) -> Guard:
    return UpdateGuard(doc) if scope.shared else ScopeGuard(scope, doc)


__all__ = ["SERVER", "Guard", "Refused", "ScopeGuard", "UpdateGuard", "guard_for"]
