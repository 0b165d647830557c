"""Is this update allowed? Judged on a shadow copy before the room's document is touched.

The room keeps a shadow document in step with its own. An incoming update is applied to
the shadow first, with its changes observed; `drafting.permissions.check_changes` judges
them against the sender. Allowed: the caller applies the update to the room's document,
stores and broadcasts it. Refused: the shadow is rebuilt from the room's document (an
update cannot be taken back), the room's document, the store and every other client are
untouched, and the sender is closed with a reason and must resync.
"""

from __future__ import annotations

from pycrdt import Doc

from drafting.permissions import Actor, Refused, apply_observed, check_changes
from drafting.schema import NegotiationText
from drafting.vocabulary import Capability


class UpdateGuard:
    def __init__(self, room_doc: Doc) -> None:
        self.room = NegotiationText(room_doc)
        self.shadow = self._copy()

    def check(self, update: bytes, actor: Actor) -> None:
        """Raise `Refused` unless `actor` may make every change in `update`."""
        if actor.capabilities >= {Capability.DECIDE, Capability.STRUCTURE, Capability.EDIT}:
            # Whoever may do everything needs no judging; keep the shadow in step.
            self.shadow.doc.apply_update(update)
            return
        try:
            changes = apply_observed(self.shadow, update)
            check_changes(self.room, self.shadow, changes, actor)
        except Refused:
            self.shadow = self._copy()
            raise
        except Exception:
            self.shadow = self._copy()
            raise

    def _copy(self) -> NegotiationText:
        return NegotiationText.from_update(self.room.doc.get_update())


__all__ = ["Refused", "UpdateGuard"]
