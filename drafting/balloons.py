"""Trial balloons: informal "what if" wording, shown only to the Parties of its scope.

A balloon never lives in the shared text. It lives in a scope document (`BalloonDocument`),
one per scope, so that the server can decide, per connection, whether to send that
document at all — not a byte of a balloon reaches a Party outside its scope. The balloon
is anchored in a clause of the shared text by a sticky index, so it stays beside the
right words while the clause is edited.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from pycrdt import Assoc, StickyIndex

from drafting.offsets import from_utf8, to_utf8
from drafting.parties import require_party
from drafting.proposals import propose_insertion
from drafting.schema import BalloonDocument, BalloonRecord, NegotiationText, new_id, now
from drafting.vocabulary import BalloonScopeKind, BalloonStatus

AUTHORS_SCOPE = "authors"  # the chair's record of who floated each unattributed balloon


class BalloonError(ValueError):
    """A trial balloon operation that its state or its scope does not allow."""


@dataclass(frozen=True)
class Scope:
    """Who may see a balloon: the chair only, the chair and some Parties, or all Parties."""

    kind: BalloonScopeKind
    parties: tuple[str, ...] = ()

    @classmethod
    def chair(cls) -> Scope:
        return cls(BalloonScopeKind.CHAIR)

    @classmethod
    def room(cls) -> Scope:
        return cls(BalloonScopeKind.ALL)

    @classmethod
    def of(cls, *parties: str) -> Scope:
        if not parties:
            raise BalloonError("a balloon shown to chosen delegations needs at least one")
        return cls(BalloonScopeKind.PARTIES, tuple(sorted(set(parties))))

    @property
    def key(self) -> str:
        """The name of the scope document: the same scope always gives the same key."""
        if self.kind == BalloonScopeKind.PARTIES:
            return "parties:" + "+".join(self.parties)
        return str(self.kind)

    def admits(self, party: str, *, chair: bool = False) -> bool:
        """May a person acting for `party` (or the chair) receive this scope's document?"""
        if chair:
            return True
        if self.kind == BalloonScopeKind.ALL:
            return bool(party)
        return self.kind == BalloonScopeKind.PARTIES and party in self.parties

    @classmethod
    def from_key(cls, key: str) -> Scope:
        """The scope a document name (`Scope.key`) stands for; BalloonError if none."""
        kind, _, parties = key.partition(":")
        if kind == BalloonScopeKind.PARTIES and parties:
            return cls.of(*parties.split("+"))
        if not parties and kind in (BalloonScopeKind.CHAIR, BalloonScopeKind.ALL):
            return cls(BalloonScopeKind(kind))
        raise BalloonError(
            f"{key!r} names no balloon scope (expected 'chair', 'all' or 'parties:A+B')"
        )

    def to_json(self) -> dict[str, Any]:
        return {"kind": str(self.kind), "parties": list(self.parties)}

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> Scope:
        return cls(BalloonScopeKind(value["kind"]), tuple(value.get("parties", ())))


@dataclass(frozen=True)
class BalloonView:
    """A balloon as one viewer may see it: the author hidden unless attributed (or chair)."""

    id: str
    clause: str
    words: str
    author: str | None
    status: str
    floated: str


def float_balloon(
    scope_doc: BalloonDocument,
    text: NegotiationText,
    party: str,
    scope: Scope,
    *,
    clause: str,
    at: int,
    words: str,
    attributed: bool = True,
    authors: BalloonDocument | None = None,
) -> str:
    """Float a balloon in `scope_doc`. An unattributed one names no Party there: its
    author goes to `authors`, the chair's document (required then)."""
    if not words.strip():
        raise BalloonError("a trial balloon needs words")
    if not attributed and authors is None:
        raise BalloonError("an unattributed balloon needs the chair's record of authors")
    require_party(text, party)
    for member in scope.parties:
        require_party(text, member)
    clause_words = text.clause(clause).words
    sticky = StickyIndex.new(clause_words, to_utf8(str(clause_words), at), Assoc.BEFORE)
    balloon_id = new_id("tb")
    with scope_doc.doc.transaction():
        record = scope_doc.create_balloon(
            balloon_id,
            {
                "clause": clause,
                # Encoded, not JSON: a Y.Map would turn its integers into floats.
                "anchor": {"clause": clause, "sticky": base64.b64encode(sticky.encode()).decode()},
                "party": party if attributed else "",
                "attributed": attributed,
                "scope": scope.to_json(),
                "status": str(BalloonStatus.FLOATED),
                "created": now(),
            },
        )
        record.words.insert(0, words)
    if authors is not None and not attributed:
        authors.record_author(balloon_id, party)
    return balloon_id


def author_of(
    scope_doc: BalloonDocument, balloon_id: str, authors: BalloonDocument | None = None
) -> str:
    """The Party that floated a balloon ("" if unattributed and `authors` not given)."""
    record = scope_doc.balloon(balloon_id)
    if record.attributed or authors is None:
        return record.party
    return authors.author(balloon_id) or ""


def anchor_position(text: NegotiationText, balloon: BalloonRecord) -> int:
    """Where the balloon stands now in its clause, in characters."""
    clause_words = text.clause(balloon.clause).words
    sticky = StickyIndex.decode(base64.b64decode(balloon.anchor["sticky"]), clause_words)
    current = str(clause_words)
    offset = min(sticky.get_index(), len(current.encode("utf-8")))
    return from_utf8(current, offset)


def withdraw_balloon(
    scope_doc: BalloonDocument,
    balloon_id: str,
    party: str,
    *,
    authors: BalloonDocument | None = None,
) -> dict[str, Any]:
    """Withdraw a balloon at once: its record, words included, leaves the scope document
    (and its author the chair's record).

    Returns what the negotiation record may keep: that a balloon existed, not its words
    (nor, for an unattributed one, its author).
    """
    record = _floated(scope_doc, balloon_id)
    if party != author_of(scope_doc, balloon_id, authors):
        raise BalloonError(f"only the Party that floated balloon {balloon_id!r} can withdraw it")
    trace = {
        "balloon": balloon_id,
        "clause": record.clause,
        "party": record.party,
        "scope": record.scope,
        "floated": record.map.get("created"),
        "withdrawn": now(),
    }
    with scope_doc.doc.transaction():
        scope_doc.purge(balloon_id)
    if authors is not None:
        with authors.doc.transaction():
            authors.forget_author(balloon_id)
    return trace


def promote_balloon(
    scope_doc: BalloonDocument,
    text: NegotiationText,
    balloon_id: str,
    party: str,
    *,
    authors: BalloonDocument | None = None,
) -> str:
    """Turn a balloon into a formal insertion proposal of its author Party."""
    record = _floated(scope_doc, balloon_id)
    if not party or party != author_of(scope_doc, balloon_id, authors):
        raise BalloonError(f"only the Party that floated balloon {balloon_id!r} can promote it")
    proposal = propose_insertion(
        text, party, record.clause, anchor_position(text, record), str(record.words)
    )
    with scope_doc.doc.transaction():
        record.status = str(BalloonStatus.PROMOTED)
        record.map["proposal"] = proposal
    return proposal


def balloons_seen_by(
    scope_doc: BalloonDocument,
    party: str,
    *,
    chair: bool = False,
    authors: BalloonDocument | None = None,
) -> list[BalloonView]:
    """The balloons of `scope_doc` that `party` (or the chair) may see."""
    views = [
        view_of(record, author_of(scope_doc, record.id, authors), party=party, chair=chair)
        for record in scope_doc.balloons()
        if Scope.from_json(record.scope).admits(party, chair=chair)
    ]
    return sorted(views, key=lambda v: (v.floated, v.id))


def view_of(record: BalloonRecord, author: str, *, party: str, chair: bool) -> BalloonView:
    """A balloon as `party` (or the chair) sees it: the author of an unattributed one is
    shown to the chair and to its own Party only."""
    show_author = record.attributed or (bool(author) and (chair or author == party))
    return BalloonView(
        id=record.id,
        clause=record.clause,
        words=str(record.words),
        author=author if show_author else None,
        status=record.status,
        floated=str(record.map.get("created")),
    )


def _floated(scope_doc: BalloonDocument, balloon_id: str) -> BalloonRecord:
    record = scope_doc.balloon(balloon_id)
    if record.status != BalloonStatus.FLOATED:
        raise BalloonError(f"trial balloon {balloon_id!r} is {record.status}")
    return record
