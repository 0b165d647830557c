"""Who may change what in a negotiation text, judged change by change.

A client sends CRDT updates, and an update can change anything in a document. The server
applies each incoming update to a shadow copy of the text, collects what it changed (the
`Change`s below, from pycrdt's deep-observe events) and asks `check_changes` whether the
person sending it may make every one of them. The answer is all or nothing: an update
cannot be half-refused (STACK-NOTES.md).

The rules follow the roles of NEGOTIATION-PRACTICE.md, as capabilities a negotiation may
regrant (`Actor.capabilities`):

| role | capabilities (default) |
|---|---|
| chair | read, table, edit, structure, decide, export |
| secretariat | read, edit, structure, export |
| delegate | read, table (in the name of their own Party only) |
| delegation viewer, observer | read |
| legal adviser | read, export |

*table* lets a delegate bracket words, add alternatives, propose insertions and new
paragraphs, support or object, and withdraw — each only as their own Party: the brackets
and proposals they create must name their Party, words they add must sit inside one of
their Party's brackets, words they delete must be their Party's own proposed words, and
they touch another Party's proposal only to add or remove their own support or objection.
*edit* is editorial work on any words; *structure* adds, moves and renumbers clauses and
keeps the metadata and the registry of Parties; *decide* lifts brackets, agrees clauses,
chooses options and accepts, rejects or merges proposals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Map

from drafting.schema import BRACKET_ATTR_PREFIX, NegotiationText
from drafting.vocabulary import (
    BracketState,
    Capability,
    ClauseStatus,
    ProposalStatus,
    Role,
)

C = Capability

DEFAULT_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.CHAIR: frozenset({C.READ, C.TABLE, C.EDIT, C.STRUCTURE, C.DECIDE, C.EXPORT}),
    Role.SECRETARIAT: frozenset({C.READ, C.EDIT, C.STRUCTURE, C.EXPORT}),
    Role.DELEGATE: frozenset({C.READ, C.TABLE}),
    Role.DELEGATION_VIEWER: frozenset({C.READ}),
    Role.OBSERVER: frozenset({C.READ}),
    Role.LEGAL_ADVISER: frozenset({C.READ, C.EXPORT}),
}

CHANGING = (C.TABLE, C.EDIT, C.STRUCTURE, C.DECIDE)
AGREEMENT = (ClauseStatus.AGREED, ClauseStatus.AGREED_AD_REF)


@dataclass(frozen=True)
class Actor:
    """A person as the rules see them: a role, the Party they act for, what they may do."""

    role: Role
    party: str = ""
    capabilities: frozenset[Capability] = field(default=frozenset())

    @classmethod
    def of(
        cls,
        role: Role | str,
        party: str = "",
        grants: dict[Role, frozenset[Capability]] | None = None,
    ) -> Actor:
        role = Role(role)
        table = DEFAULT_CAPABILITIES if grants is None else {**DEFAULT_CAPABILITIES, **grants}
        return cls(role, party, table[role])

    def may(self, capability: Capability) -> bool:
        return capability in self.capabilities


@dataclass(frozen=True)
class Change:
    """One observed change: in root `root`, at `path`, map `keys` or text `delta`."""

    root: str
    path: tuple[Any, ...]
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    delta: list[dict[str, Any]] | None = None


class Refused(PermissionError):
    """The update holds a change its sender may not make; nothing of it is applied."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_changes(
    before: NegotiationText, after: NegotiationText, changes: Iterable[Change], actor: Actor
) -> None:
    """Raise `Refused` unless `actor` may make every change (`before` → `after`)."""
    changes = list(changes)
    if changes and not any(actor.may(c) for c in CHANGING):
        raise Refused(f"{_a(actor.role.value)} reads the text and changes nothing")
    judge = _Judge(before, after, actor)
    for change in changes:
        judge.check(change)


class _Judge:
    def __init__(self, before: NegotiationText, after: NegotiationText, actor: Actor) -> None:
        self.before = before
        self.after = after
        self.actor = actor

    def check(self, change: Change) -> None:
        handler = {
            "meta": self._structure_only,
            "parties": self._structure_only,
            "notes": self._notes,
            "clauses": self._clauses,
            "brackets": self._brackets,
            "proposals": self._proposals,
        }.get(change.root)
        if handler is None:
            raise Refused(f"the text has no part named {change.root!r}")
        handler(change)

    # -- the parts -----------------------------------------------------------------------
    def _structure_only(self, change: Change) -> None:
        self._require(C.STRUCTURE, f"change the text's {change.root}")

    def _notes(self, change: Change) -> None:
        self._require(C.EDIT, "edit footnotes")

    def _clauses(self, change: Change) -> None:
        if change.path == ():
            for clause_id, key in change.keys.items():
                self._new_clause(clause_id, key)
        elif len(change.path) == 1:
            for name, key in change.keys.items():
                self._clause_field(str(change.path[0]), name, key)
        elif change.path[1:] == ("words",):
            self._words(str(change.path[0]), change.delta or [])
        else:
            raise Refused(f"unexpected change inside clause {change.path[0]!r}")

    def _new_clause(self, clause_id: str, key: dict[str, Any]) -> None:
        if key["action"] != "add":
            self._require(C.DECIDE, f"remove clause {clause_id!r} from the record")
            self._require(C.STRUCTURE, f"remove clause {clause_id!r} from the record")
            return
        if self.actor.may(C.STRUCTURE):
            return
        party = self.after.clause(clause_id).map.get("party")
        if self.actor.may(C.TABLE) and party and party == self.actor.party:
            return  # a new paragraph proposed in the actor's name
        raise self._refusal(
            f"add clause {clause_id!r}" + (f" in the name of {party!r}" if party else "")
        )

    def _clause_field(self, clause_id: str, name: str, key: dict[str, Any]) -> None:
        new = key.get("newValue")
        old = key.get("oldValue")
        if name == "status":
            self._status(clause_id, old, new)
        elif name in ("parent", "order", "base", "number"):
            if not (self.actor.may(C.STRUCTURE) or self.actor.may(C.DECIDE)):
                raise self._refusal(f"move or renumber clause {clause_id!r}")
        elif name == "chosen":
            self._require(C.DECIDE, f"choose an option in clause {clause_id!r}")
        elif name == "bracket":
            self._clause_bracket(clause_id, old, new)
        else:
            self._require(C.STRUCTURE, f"change the {name!r} of clause {clause_id!r}")

    def _status(self, clause_id: str, old: Any, new: Any) -> None:
        if new in AGREEMENT or old in AGREEMENT:
            self._require(C.DECIDE, f"set clause {clause_id!r} to {new!r}")
        elif old == ClauseStatus.PENDING and new == ClauseStatus.BRACKETED:
            if not any(self.actor.may(c) for c in CHANGING):
                raise self._refusal(f"set clause {clause_id!r} to {new!r}")
        elif new == ClauseStatus.DELETED and self._own_clause(clause_id):
            pass  # a Party withdrawing the paragraph it proposed
        elif not (self.actor.may(C.STRUCTURE) or self.actor.may(C.DECIDE)):
            raise self._refusal(f"set clause {clause_id!r} to {new!r}")

    def _clause_bracket(self, clause_id: str, old: Any, new: Any) -> None:
        if self.actor.may(C.DECIDE) or self.actor.may(C.STRUCTURE):
            return
        if new and self._own_bracket(str(new)):
            return  # bracketing a paragraph in the actor's name
        if not new and old and self._own_bracket(str(old)):
            return  # withdrawing it
        raise self._refusal(f"change the brackets around clause {clause_id!r}")

    def _words(self, clause_id: str, delta: list[dict[str, Any]]) -> None:
        if self.actor.may(C.EDIT) or self.actor.may(C.DECIDE):
            return
        if not self.actor.may(C.TABLE):
            raise self._refusal(f"change the words of clause {clause_id!r}")
        old_chunks = _byte_chunks(self.before.clause(clause_id).words.diff())
        position = 0
        for op in delta:
            if "insert" in op:
                attrs = op.get("attributes") or {}
                if not any(self._own_bracket(b) for b in _brackets_in(attrs)):
                    raise self._refusal(
                        f"add words outside {self._party_brackets()} in clause {clause_id!r}"
                    )
            elif "delete" in op:
                size = int(op["delete"])
                for attrs in _attrs_between(old_chunks, position, position + size):
                    if not any(self._own_bracket(b) for b in _brackets_in(attrs)):
                        raise self._refusal(
                            f"delete words outside {self._party_brackets()} in clause {clause_id!r}"
                        )
                position += size
            else:
                size = int(op.get("retain", 0))
                for bracket, value in (op.get("attributes") or {}).items():
                    if bracket.startswith(BRACKET_ATTR_PREFIX) and not self._own_bracket(
                        bracket[len(BRACKET_ATTR_PREFIX) :]
                    ):
                        raise self._refusal(
                            f"{'add' if value else 'lift'} a bracket of another Party "
                            f"in clause {clause_id!r}"
                        )
                    if not bracket.startswith(BRACKET_ATTR_PREFIX):
                        raise self._refusal(f"restyle the words of clause {clause_id!r}")
                position += size

    def _brackets(self, change: Change) -> None:
        if self.actor.may(C.DECIDE):
            return
        if change.path == ():
            for bracket_id, key in change.keys.items():
                if key["action"] != "add":
                    raise self._refusal(f"remove bracket {bracket_id!r} from the record")
                if not (self._own_bracket(bracket_id) and self.actor.may(C.TABLE)):
                    party = self.after.bracket(bracket_id).party
                    raise self._refusal(
                        f"make a bracket in the name of {party!r}"
                        if party
                        else "make a bracket that names no Party"
                    )
            return
        bracket_id = str(change.path[0])
        own = self._own_bracket(bracket_id)
        for name, key in change.keys.items():
            if name == "group" and key.get("newValue") == bracket_id:
                continue  # a lone bracket becoming the first of a group of alternatives
            if name == "parent" and self._own_bracket(str(key.get("newValue") or "")):
                continue  # nested inside a bracket the actor just made
            if name in ("state", "lifted") and own and self.actor.may(C.TABLE):
                state = self.after.bracket(bracket_id).state
                if state in (BracketState.KEPT, BracketState.DROPPED):
                    continue  # withdrawing one's own bracket
            raise self._refusal(f"change the {name!r} of bracket {bracket_id!r}")

    def _proposals(self, change: Change) -> None:
        if change.path == ():
            for proposal_id, key in change.keys.items():
                if key["action"] != "add":
                    raise self._refusal(f"remove proposal {proposal_id!r} from the record")
                party = self.after.proposal(proposal_id).party
                if not (self.actor.may(C.TABLE) and party == self.actor.party):
                    raise self._refusal(f"table a proposal in the name of {party!r}")
            return
        proposal_id = str(change.path[0])
        if len(change.path) == 2 and change.path[1] in ("supporters", "objectors"):
            for party in change.keys:
                if not (self.actor.may(C.TABLE) and party == self.actor.party):
                    raise self._refusal(
                        f"record {party!r} among the {change.path[1]} of {proposal_id!r}"
                    )
            return
        if len(change.path) != 1:
            raise Refused(f"unexpected change inside proposal {proposal_id!r}")
        proposal = self.after.proposal(proposal_id)
        for name, key in change.keys.items():
            if name == "updated":
                continue
            if name == "status":
                new = key.get("newValue")
                own = proposal.party == self.actor.party and self.actor.may(C.TABLE)
                if new == ProposalStatus.WITHDRAWN and own:
                    continue
                self._require(C.DECIDE, f"set proposal {proposal_id!r} to {new!r}")
                continue
            raise self._refusal(f"change the {name!r} of proposal {proposal_id!r}")

    # -- helpers -------------------------------------------------------------------------
    def _own_bracket(self, bracket_id: str) -> bool:
        if not bracket_id or not self.actor.party:
            return False
        for text in (self.after, self.before):
            if text.has_bracket(bracket_id):
                return text.bracket(bracket_id).party == self.actor.party
        return False

    def _own_clause(self, clause_id: str) -> bool:
        party = self.after.clause(clause_id).map.get("party")
        return bool(self.actor.party) and party == self.actor.party and self.actor.may(C.TABLE)

    def _party_brackets(self) -> str:
        return f"{self.actor.party!r}'s brackets" if self.actor.party else "a Party's brackets"

    def _require(self, capability: Capability, what: str) -> None:
        if not self.actor.may(capability):
            raise self._refusal(what)

    def _refusal(self, what: str) -> Refused:
        who = _a(self.actor.role.value)
        if self.actor.party:
            who += f" of {self.actor.party}"
        return Refused(f"{who} may not {what}")


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _brackets_in(attrs: dict[str, Any]) -> list[str]:
    return [
        k[len(BRACKET_ATTR_PREFIX) :]
        for k, v in attrs.items()
        if k.startswith(BRACKET_ATTR_PREFIX) and v
    ]


def _byte_chunks(diff: list[tuple[str, dict[str, Any] | None]]) -> list[tuple[int, int, dict]]:
    """(start, end, attrs) of each formatted chunk, in UTF-8 bytes as pycrdt deltas count."""
    chunks, offset = [], 0
    for words, attrs in diff:
        size = len(words.encode("utf-8"))
        chunks.append((offset, offset + size, dict(attrs or {})))
        offset += size
    return chunks


def _attrs_between(chunks: list[tuple[int, int, dict]], start: int, end: int) -> list[dict]:
    return [attrs for s, e, attrs in chunks if s < end and start < e]


ROOTS = ("meta", "parties", "clauses", "brackets", "proposals", "notes")


def apply_observed(text: NegotiationText, update: bytes) -> list[Change]:
    """Apply `update` to `text` and return what it changed, root by root."""
    changes: list[Change] = []

    def collector(root: str):
        def collect(events: list[Any]) -> None:
            for event in events:
                keys = getattr(event, "keys", None)
                delta = getattr(event, "delta", None) if keys is None else None
                changes.append(
                    Change(root, tuple(event.path), dict(keys or {}), list(delta or []) or None)
                )

        return collect

    roots = {name: text.doc.get(name, type=Map) for name in ROOTS}
    subscriptions = [(root, root.observe_deep(collector(name))) for name, root in roots.items()]
    try:
        text.doc.apply_update(update)
    finally:
        for root, subscription in subscriptions:
            root.unobserve(subscription)
    return changes
