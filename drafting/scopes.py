"""The documents of a negotiation text, and who may open and change each.

A text is one shared document plus scoped documents that only some people may receive,
each a separate CRDT document so that the server can refuse to send it at all:

- `""`, the shared text (clauses, brackets, proposals): opened by everyone with *read*;
  each update judged change by change (`drafting.permissions`).
- `balloons:<scope key>` (`drafting.balloons.Scope.key`), the trial balloons of one scope:
  opened by the chair, the delegations of the scope (every delegation for `all`), and the
  secretariat for `chair`; changed by nobody over the wire: balloons are floated,
  withdrawn and promoted through server operations.
- `balloons:authors`, who floated each unattributed balloon: the chair only; changed by
  server operations only.
- `workspace:<Party>`, a delegation's internal notes and drafts: opened by that Party's
  delegates and delegation viewers, no one else (not the chair); changed by its delegates.

The same rules as a table are in docs/ARCHITECTURE.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from drafting.balloons import AUTHORS_SCOPE, BalloonError, Scope
from drafting.permissions import Actor
from drafting.vocabulary import BalloonScopeKind, Capability, Role

BALLOONS = "balloons"
WORKSPACE = "workspace"
DELEGATION = (Role.DELEGATE, Role.DELEGATION_VIEWER)


class ScopeError(ValueError):
    """A document name that names no scope."""


@dataclass(frozen=True)
class DocumentScope:
    """Which document of a text: the shared text (`kind == ""`), a balloon scope or a
    delegation's workspace."""

    kind: str = ""
    name: str = ""

    @classmethod
    def parse(cls, value: str) -> DocumentScope:
        """`""`, `balloons:<scope key>`, `balloons:authors` or `workspace:<Party>`."""
        if not value:
            return cls()
        kind, _, name = value.partition(":")
        if kind == BALLOONS and name == AUTHORS_SCOPE:
            return cls(kind, name)
        if kind == BALLOONS:
            try:
                return cls(kind, Scope.from_key(name).key)
            except BalloonError as error:
                raise ScopeError(str(error)) from None
        if kind == WORKSPACE and name:
            return cls(kind, name)
        raise ScopeError(
            f"{value!r} names no document of a text (expected balloons:<scope> "
            "or workspace:<Party>)"
        )

    @classmethod
    def balloons(cls, scope: Scope) -> DocumentScope:
        return cls(BALLOONS, scope.key)

    @classmethod
    def authors(cls) -> DocumentScope:
        return cls(BALLOONS, AUTHORS_SCOPE)

    @classmethod
    def workspace(cls, party: str) -> DocumentScope:
        return cls(WORKSPACE, party)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.name}" if self.kind else ""

    @property
    def shared(self) -> bool:
        return not self.kind


def refusal_to_open(actor: Actor, scope: DocumentScope) -> str | None:
    """Why `actor` may not receive this document, or None if they may."""
    if not actor.may(Capability.READ):
        return f"{actor.role} may not read this text"
    if scope.shared:
        return None
    if scope.kind == WORKSPACE:
        if actor.role in DELEGATION and actor.party == scope.name:
            return None
        return f"only the delegation of {scope.name} may open its workspace"
    if scope.name == AUTHORS_SCOPE:
        return None if actor.role == Role.CHAIR else "only the chair knows who floated a balloon"
    balloon_scope = Scope.from_key(scope.name)
    if actor.role == Role.CHAIR:
        return None
    if actor.role == Role.SECRETARIAT and balloon_scope.kind == BalloonScopeKind.CHAIR:
        return None
    if actor.role in DELEGATION and balloon_scope.admits(actor.party):
        return None
    return "these trial balloons are not shown to you"


def refusal_to_change(actor: Actor, scope: DocumentScope) -> str | None:
    """Why `actor` may not send updates to a scoped document, or None if they may.
    (The shared text is judged update by update instead.)"""
    if scope.kind == BALLOONS:
        return "trial balloons are floated, withdrawn and promoted through the server's API"
    if scope.kind == WORKSPACE and actor.role == Role.DELEGATE and actor.party == scope.name:
        return None
    return f"{actor.role} may read but not change the workspace of {scope.name}"
