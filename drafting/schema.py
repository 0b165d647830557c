"""The CRDT document schema: the one place that knows the raw pycrdt keys.

A negotiation text is one pycrdt `Doc` (a Yjs document for the browser) with these roots
(see docs/ARCHITECTURE.md for the field-by-field description a JavaScript client follows):

    meta       Y.Map   kind, title, languages, revision, source_note, created, schema
    parties    Y.Map   code -> {name, kind, members}          (plain JSON values)
    clauses    Y.Map   clause id -> Y.Map (kind, parent, order, status, words: Y.Text …)
    brackets   Y.Map   bracket id -> Y.Map (kind, clause, group, parent, party, state …)
    proposals  Y.Map   proposal id -> Y.Map (kind, party, status, supporters: Y.Map …)
    notes      Y.Map   note id -> Y.Text                       (footnotes)
    balloons   Y.Map   balloon id -> Y.Map (only in balloon scope documents)

Everything else in `drafting/` reads and writes through the record classes below, so a
renamed key is renamed here only.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from pycrdt import Doc, Map, Text

SCHEMA_VERSION = 1

# Formatting attributes inside a clause's words (a Y.Text).
BRACKET_ATTR_PREFIX = "br:"  # "br:<bracket id>": true — the character is inside that bracket
ITALIC_ATTR = "i"
BOLD_ATTR = "b"
LINK_ATTR = "link"  # value: the URL
# value: the footnote markers that follow this character, space-separated; "3" or, for a
# marker printed after a bracket closes ("etc.][^3]"), "3>b1f2e" with that bracket's id;
# "3><" for a marker printed before the character (a clause that starts with a marker).
NOTE_ATTR = "note"
BEFORE = "<"


def new_id(prefix: str) -> str:
    """A short random id; random (not sequential) so that replicas never collide."""
    return f"{prefix}{secrets.token_hex(6)}"


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def bracket_attr(bracket_id: str) -> str:
    return BRACKET_ATTR_PREFIX + bracket_id


def note_markers(value: str | None) -> list[tuple[str, str]]:
    """(note id, bracket the marker follows or "") pairs of a NOTE_ATTR value."""
    return [tuple(entry.partition(">")[::2]) for entry in (value or "").split()]  # type: ignore[misc]


def format_note_markers(markers: list[tuple[str, str]]) -> str:
    return " ".join(f"{note}>{after}" if after else note for note, after in markers)


class Record:
    """A typed view of one Y.Map entry; subclasses declare the fields they use."""

    __slots__ = ("_cache", "id", "map")

    def __init__(self, record_id: str, ymap: Map) -> None:
        self.id = record_id
        self.map = ymap
        # Field reads through pycrdt cost ~20 µs each and views read the same fields many
        # times; a record object lives for one operation or one view, so it may remember.
        self._cache: dict[str, Any] = {}

    def _get(self, key: str, default: Any = "") -> Any:
        if key not in self._cache:
            self._cache[key] = self.map.get(key)
        value = self._cache[key]
        return default if value is None else value

    def _set(self, key: str, value: Any) -> None:
        if self.map.get(key) != value:
            self.map[key] = value
        self._cache[key] = value


class ClauseRecord(Record):
    @property
    def kind(self) -> str:
        return self._get("kind")

    @property
    def parent(self) -> str:
        return self._get("parent")

    @parent.setter
    def parent(self, value: str) -> None:
        self._set("parent", value)

    @property
    def order(self) -> str:
        return self._get("order")

    @order.setter
    def order(self, value: str) -> None:
        self._set("order", value)

    @property
    def base(self) -> bool:
        """True when the clause counts in the numbering; False for a bis/ter insertion."""
        return bool(self._get("base", True))

    @property
    def source_number(self) -> str:
        return self._get("number")

    @property
    def status(self) -> str:
        return self._get("status")

    @status.setter
    def status(self, value: str) -> None:
        self._set("status", value)

    @property
    def words(self) -> Text:
        return self.map["words"]

    @property
    def bracket(self) -> str:
        """Id of the bracket around the whole clause, or ""."""
        return self._get("bracket")

    @bracket.setter
    def bracket(self, value: str) -> None:
        self._set("bracket", value)

    @property
    def chosen(self) -> str:
        """For an option block: the option kept when the block was resolved, or ""."""
        return self._get("chosen")

    @chosen.setter
    def chosen(self, value: str) -> None:
        self._set("chosen", value)


class BracketRecord(Record):
    @property
    def kind(self) -> str:
        return self._get("kind")

    @property
    def clause(self) -> str:
        return self._get("clause")

    @property
    def group(self) -> str:
        """Brackets of one group are adjacent alternatives; a lone bracket is its own group."""
        return self._get("group") or self.id

    @group.setter
    def group(self, value: str) -> None:
        self._set("group", value)

    @property
    def parent(self) -> str:
        """The enclosing bracket, which decides nesting where two spans start together."""
        return self._get("parent")

    @property
    def party(self) -> str:
        return self._get("party")

    @property
    def proposal(self) -> str:
        return self._get("proposal")

    @property
    def state(self) -> str:
        return self._get("state")

    @state.setter
    def state(self, value: str) -> None:
        self._set("state", value)


class ProposalRecord(Record):
    @property
    def kind(self) -> str:
        return self._get("kind")

    @property
    def party(self) -> str:
        return self._get("party")

    @property
    def clause(self) -> str:
        return self._get("clause")

    @property
    def status(self) -> str:
        return self._get("status")

    @status.setter
    def status(self, value: str) -> None:
        self._set("status", value)

    @property
    def words(self) -> str:
        return self._get("words")

    @property
    def brackets(self) -> list[str]:
        return list(self._get("brackets", []))

    @property
    def target(self) -> dict[str, str]:
        return dict(self._get("target", {}))

    @property
    def supporters(self) -> Map:
        return self.map["supporters"]

    @property
    def objectors(self) -> Map:
        return self.map["objectors"]


class BalloonRecord(Record):
    @property
    def clause(self) -> str:
        return self._get("clause")

    @property
    def party(self) -> str:
        return self._get("party")

    @property
    def attributed(self) -> bool:
        return bool(self._get("attributed", False))

    @property
    def scope(self) -> dict[str, Any]:
        return dict(self._get("scope", {}))

    @property
    def status(self) -> str:
        return self._get("status")

    @status.setter
    def status(self, value: str) -> None:
        self._set("status", value)

    @property
    def words(self) -> Text:
        return self.map["words"]

    @property
    def anchor(self) -> dict[str, Any]:
        return dict(self._get("anchor", {}))


class NegotiationText:
    """One negotiation text: a pycrdt Doc and typed access to its roots."""

    def __init__(self, doc: Doc | None = None) -> None:
        self.doc = doc if doc is not None else Doc()
        self.meta = self.doc.get("meta", type=Map)
        self.parties = self.doc.get("parties", type=Map)
        self._clauses = self.doc.get("clauses", type=Map)
        self._brackets = self.doc.get("brackets", type=Map)
        self._proposals = self.doc.get("proposals", type=Map)
        self.notes = self.doc.get("notes", type=Map)

    @classmethod
    def from_update(cls, update: bytes) -> NegotiationText:
        doc = Doc()
        doc.apply_update(update)
        return cls(doc)

    def transaction(self, origin: Any = None) -> Any:
        return self.doc.transaction(origin=origin)

    def to_update(self) -> bytes:
        return self.doc.get_update()

    # -- meta ------------------------------------------------------------------------
    def get_meta(self, key: str, default: Any = "") -> Any:
        value = self.meta.get(key)
        return default if value is None else value

    def set_meta(self, key: str, value: Any) -> None:
        if self.meta.get(key) != value:
            self.meta[key] = value

    @property
    def kind(self) -> str:
        return self.get_meta("kind")

    @property
    def title(self) -> str:
        return self.get_meta("title")

    # -- clauses -----------------------------------------------------------------------
    def clause(self, clause_id: str) -> ClauseRecord:
        ymap = self._clauses.get(clause_id)
        if ymap is None:
            raise KeyError(f"no clause {clause_id!r} in this text")
        return ClauseRecord(clause_id, ymap)

    def has_clause(self, clause_id: str) -> bool:
        return clause_id in self._clauses

    def clauses(self) -> Iterator[ClauseRecord]:
        for clause_id, ymap in self._clauses.items():
            yield ClauseRecord(clause_id, ymap)

    def create_clause(self, clause_id: str, fields: dict[str, Any]) -> ClauseRecord:
        self._clauses[clause_id] = Map({**fields, "words": Text()})
        return self.clause(clause_id)

    # -- brackets ------------------------------------------------------------------------
    def bracket(self, bracket_id: str) -> BracketRecord:
        ymap = self._brackets.get(bracket_id)
        if ymap is None:
            raise KeyError(f"no bracket {bracket_id!r} in this text")
        return BracketRecord(bracket_id, ymap)

    def has_bracket(self, bracket_id: str) -> bool:
        return bracket_id in self._brackets

    def brackets(self) -> Iterator[BracketRecord]:
        for bracket_id, ymap in self._brackets.items():
            yield BracketRecord(bracket_id, ymap)

    def create_bracket(self, bracket_id: str, fields: dict[str, Any]) -> BracketRecord:
        self._brackets[bracket_id] = Map(fields)
        return self.bracket(bracket_id)

    # -- proposals -----------------------------------------------------------------------
    def proposal(self, proposal_id: str) -> ProposalRecord:
        ymap = self._proposals.get(proposal_id)
        if ymap is None:
            raise KeyError(f"no proposal {proposal_id!r} in this text")
        return ProposalRecord(proposal_id, ymap)

    def proposals(self) -> Iterator[ProposalRecord]:
        for proposal_id, ymap in self._proposals.items():
            yield ProposalRecord(proposal_id, ymap)

    def create_proposal(self, proposal_id: str, fields: dict[str, Any]) -> ProposalRecord:
        self._proposals[proposal_id] = Map({**fields, "supporters": Map(), "objectors": Map()})
        return self.proposal(proposal_id)

    # -- notes ---------------------------------------------------------------------------
    def note(self, note_id: str) -> Text:
        return self.notes[note_id]

    def create_note(self, note_id: str) -> Text:
        self.notes[note_id] = Text()
        return self.notes[note_id]


class BalloonDocument:
    """A scope document holding trial balloons: a separate Doc per scope, so that the
    server can refuse to send it, byte for byte, to anyone outside the scope."""

    def __init__(self, doc: Doc | None = None) -> None:
        self.doc = doc if doc is not None else Doc()
        self._balloons = self.doc.get("balloons", type=Map)

    def balloon(self, balloon_id: str) -> BalloonRecord:
        ymap = self._balloons.get(balloon_id)
        if ymap is None:
            raise KeyError(f"no trial balloon {balloon_id!r} in this scope")
        return BalloonRecord(balloon_id, ymap)

    def balloons(self) -> Iterator[BalloonRecord]:
        for balloon_id, ymap in self._balloons.items():
            yield BalloonRecord(balloon_id, ymap)

    def create_balloon(self, balloon_id: str, fields: dict[str, Any]) -> BalloonRecord:
        self._balloons[balloon_id] = Map({**fields, "words": Text()})
        return self.balloon(balloon_id)

    def purge(self, balloon_id: str) -> None:
        del self._balloons[balloon_id]

    # The authors of unattributed balloons are kept in their own document (scope key
    # `AUTHORS_SCOPE`), which only the chair may open: the scope document itself names
    # nobody, so not a byte of the author reaches the other delegations.
    def record_author(self, balloon_id: str, party: str) -> None:
        self.doc.get("authors", type=Map)[balloon_id] = party

    def author(self, balloon_id: str) -> str | None:
        return self.doc.get("authors", type=Map).get(balloon_id)

    def forget_author(self, balloon_id: str) -> None:
        authors = self.doc.get("authors", type=Map)
        if balloon_id in authors:
            del authors[balloon_id]


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
