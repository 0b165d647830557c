"""The audit log: who (person and Party) did what, when — append-only and hash-chained.

    audit = AuditLog(store)
    audit.record(AuditAction.SIGN_IN, person="p7k2…", negotiation_id="cop21")
    audit.record_many([AuditEvent(AuditAction.UPDATE_REFUSED, person=…, detail={…}), …])
    audit.entries(negotiation_id="cop21", actions={"sign-in"}, since=…, limit=100)
    audit.verify(expect_head=AuditHead(1234, "9f…"))   # Verification(ok, checked, head, problems)

Every entry's `hash` is the SHA-256 of the previous entry's hash followed by the canonical
JSON of the entry's own fields (`entry_hash`); the first entry follows 64 zeros, as the
first revision of a text does (`drafting.revisions`). The database refuses to UPDATE or
DELETE an entry (triggers of migration 0003); whoever gets round that (the database's
owner can drop a trigger) breaks the chain, and `verify` says where:

- an entry edited in place no longer matches its hash ("edited");
- ids are consecutive within the chain (they are handed out here, under the lock below,
  not by a sequence that a rolled-back transaction would leave holes in), so a missing id
  is a deleted entry ("deleted before it");
- an entry edited and re-hashed no longer fits the next entry's `previous_hash`
  ("chain broken").

What the chain alone cannot show: entries deleted from the END (the shortened log is a
valid chain), or a log rewritten and re-hashed from some entry onwards. For both, note the
head (`verify().head`, printed by `travaux audit verify`) somewhere else — a daily e-mail,
the minutes — and check it later with `verify(expect_head=…)`: an entry that has gone or
whose hash changed since is reported ("truncated", "rewritten").

Writers are serial, whatever the number of server processes: a write transaction takes a
lock before it reads the previous hash — `pg_advisory_xact_lock` on PostgreSQL, the write
lock on SQLite (`BEGIN IMMEDIATE`, as every write of the store) — and holds it until commit.

What goes into `detail` is checked (`check_detail`): no secrets (a key naming a password,
token, cookie …) and, for trial balloons, only that the balloon existed, its scope and
Party — never its words, which must not survive a withdrawal anywhere.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, insert, select

from crdt_sync.models import (
    NAME_LENGTH,
    PARTY_LENGTH,
    TEXT_ID_LENGTH,
    AuditEntryRow,
    utcnow,
)
from crdt_sync.store import Store

GENESIS = "0" * 64  # the "previous hash" of the first entry, as for revisions
MAX_LIMIT = 5000  # entries returned by one `entries` call at most
ACTION_LENGTH = 60
VERIFY_CHUNK = 5000

# Serialises writers of the chain across PostgreSQL connections and processes (held until
# the transaction ends). Any constant other than the store's migration lock; this one
# spells "audit" in ASCII after the store's "travaux".
_PG_AUDIT_LOCK = 0x7472617661756175


class AuditAction(StrEnum):
    """What an entry records. Values are what the log stores; other strings are accepted
    (a newer version's actions stay readable), these are the ones Travaux writes."""

    SIGN_IN = "sign-in"
    SIGN_IN_REFUSED = "sign-in-refused"
    SIGN_OUT = "sign-out"
    SESSION_EXPIRED = "session-expired"
    TOKEN_CREATED = "token-created"
    TOKEN_REVOKED = "token-revoked"
    PERSON_CREATED = "person-created"
    PERSON_DISABLED = "person-disabled"
    NEGOTIATION_CREATED = "negotiation-created"
    PARTY_ADDED = "party-added"
    TEXT_ATTACHED = "text-attached"
    MEMBERSHIP_GRANTED = "membership-granted"
    MEMBERSHIP_REVOKED = "membership-revoked"
    GRANTS_CHANGED = "grants-changed"
    ADMISSION_REFUSED = "admission-refused"
    UPDATE_REFUSED = "update-refused"
    PROPOSAL_TABLED = "proposal-tabled"
    PROPOSAL_WITHDRAWN = "proposal-withdrawn"
    PROPOSAL_DECIDED = "proposal-decided"
    STATUS_CHANGED = "status-changed"
    BRACKET_LIFTED = "bracket-lifted"
    REVISION_CUT = "revision-cut"
    CLAUSE_RESTORED = "clause-restored"
    DRAFT_LOADED = "draft-loaded"
    EXPORT = "export"
    BALLOON_FLOATED = "balloon-floated"
    BALLOON_WITHDRAWN = "balloon-withdrawn"
    BALLOON_PROMOTED = "balloon-promoted"


BALLOON_ACTIONS = frozenset(
    {AuditAction.BALLOON_FLOATED, AuditAction.BALLOON_WITHDRAWN, AuditAction.BALLOON_PROMOTED}
)
# All a balloon's entry may say: that it existed, where, whose — never what it said. Put
# `"attributed": true` in the detail of an attributed balloon's entries: without it, only
# the chair sees the person and Party of the entry (`web.audit`), as in the text itself.
BALLOON_DETAIL_KEYS = frozenset(
    {"balloon", "scope", "party", "parties", "attributed", "clause", "proposal"}
)
# A detail key matching this names secret material: refused whatever its value.
_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)|secret|token|cookie|csrf|authori[sz]ation|credential|"
    r"api[_-]?key|private[_-]?key",
    re.IGNORECASE,
)
# Keys that name a secret's harmless handle rather than the secret.
_HANDLE_SUFFIXES = ("_id", "_name", "_count", "_expires")


class AuditError(ValueError):
    """An entry that may not be recorded as asked; nothing was written."""


@dataclass(frozen=True)
class AuditEvent:
    """An entry to record (the log gives it its id, time and hashes)."""

    action: str
    person: str = ""
    party: str = ""
    negotiation_id: str = ""
    text_id: str = ""
    target: str = ""
    detail: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class AuditEntry:
    """An entry as recorded."""

    id: int
    at: datetime
    negotiation_id: str
    text_id: str
    person: str
    party: str
    action: str
    target: str
    detail: dict[str, Any]
    previous_hash: str
    hash: str

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": iso(self.at),
            "negotiation": self.negotiation_id,
            "text": self.text_id,
            "person": self.person,
            "party": self.party,
            "action": self.action,
            "target": self.target,
            "detail": self.detail,
            "previous_hash": self.previous_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class AuditHead:
    """The last entry of the chain, as noted to catch a truncation later: "ID:HASH"."""

    id: int
    hash: str

    def __str__(self) -> str:
        return f"{self.id}:{self.hash}"

    @classmethod
    def parse(cls, value: str) -> AuditHead:
        """`ID:HASH` (as printed by `travaux audit verify`); ValueError otherwise."""
        number, _, digest = value.strip().partition(":")
        digest = digest.strip().lower()
        if not number.strip().isdigit() or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise ValueError(
                f"{value!r} is not a head: expected ID:HASH, an entry id and its 64-digit "
                "SHA-256 (as `travaux audit verify` prints it)"
            )
        return cls(int(number), digest)


@dataclass(frozen=True)
class AuditProblem:
    """Something wrong at one entry, as `verify` found it."""

    entry_id: int
    what: str

    def __str__(self) -> str:
        return f"entry {self.entry_id}: {self.what}"


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int  # entries read
    head: AuditHead | None  # the last entry (None: the log is empty)
    problems: list[AuditProblem] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "head": str(self.head) if self.head else None,
            "problems": [{"entry": p.entry_id, "problem": p.what} for p in self.problems],
        }


# -- hashing -------------------------------------------------------------------------------


def iso(at: datetime) -> str:
    """How a time is written into the hash (and shown): UTC, milliseconds."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def canonical(value: Any) -> str:
    """Canonical JSON (sorted keys, no spaces, UTF-8 as is), as `drafting.schema` writes
    it; NaN and infinities are refused, since they are not JSON."""
    return json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), allow_nan=False
    )


def entry_hash(
    previous_hash: str,
    *,
    id: int,
    at: datetime,
    negotiation_id: str,
    text_id: str,
    person: str,
    party: str,
    action: str,
    target: str,
    detail: Mapping[str, Any],
) -> str:
    """sha256(previous_hash + canonical JSON of the entry's fields), hexadecimal."""
    fields = {
        "id": id,
        "at": iso(at),
        "negotiation_id": negotiation_id,
        "text_id": text_id,
        "person": person,
        "party": party,
        "action": action,
        "target": target,
        "detail": detail,
    }
    return hashlib.sha256((previous_hash + canonical(fields)).encode("utf-8")).hexdigest()


# -- what may be recorded -------------------------------------------------------------------


def check_detail(action: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """`detail` as plain JSON, or AuditError: secrets and a balloon's words are refused."""
    try:
        plain = json.loads(canonical(dict(detail)))
    except (TypeError, ValueError) as error:
        raise AuditError(f"the detail of a {action!r} entry is not JSON: {error}") from None
    for path, key in _keys(plain):
        if _SECRET_KEY.search(key) and not key.lower().endswith(_HANDLE_SUFFIXES):
            raise AuditError(
                f"the detail of a {action!r} entry may not hold {path!r}: the audit log never "
                "keeps secret material (passwords, tokens, cookies); record an id instead"
            )
    if action in BALLOON_ACTIONS:
        extra = sorted(set(plain) - BALLOON_DETAIL_KEYS)
        nested = [path for path, _ in _keys(plain) if "." in path]
        if extra or nested:
            raise AuditError(
                f"the detail of a {action!r} entry may only say that the balloon existed, "
                f"its scope and Party ({', '.join(sorted(BALLOON_DETAIL_KEYS))}), never its "
                f"words: {', '.join(extra or nested)} refused"
            )
    return plain


def _keys(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted path, key) of every key in nested objects and arrays."""
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else key
            found.append((path, key))
            found.extend(_keys(inner, path))
    elif isinstance(value, list):
        for item in value:
            found.extend(_keys(item, prefix))
    return found


def _fit(value: str, length: int) -> str:
    """A field cut to its column (what a client typed, e.g. a login, can be anything)."""
    value = str(value)
    return value if len(value) <= length else value[: length - 1] + "…"


# -- the log --------------------------------------------------------------------------------


class AuditLog:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- writing ---------------------------------------------------------------------------
    def record(
        self,
        action: str,
        *,
        person: str = "",
        party: str = "",
        negotiation_id: str = "",
        text_id: str = "",
        target: str = "",
        detail: Mapping[str, Any] | None = None,
    ) -> int:
        """Append one entry (its own transaction); its id."""
        event = AuditEvent(action, person, party, negotiation_id, text_id, target, detail)
        return self.record_many([event])[0]

    def record_many(self, entries: Sequence[AuditEvent]) -> list[int]:
        """Append entries in one transaction, in the order given; their ids. Every entry is
        checked before anything is written: one refused entry writes none."""
        rows = [self._row_fields(event) for event in entries]
        if not rows:
            return []
        with self.store._write() as conn:
            previous_id, previous_hash = self._lock_head(conn)
            now = _millis(utcnow())
            for offset, fields in enumerate(rows, start=1):
                fields["id"] = previous_id + offset
                fields["at"] = now
                fields["previous_hash"] = previous_hash
                fields["hash"] = previous_hash = entry_hash(previous_hash, **_hashed(fields))
                fields["detail"] = canonical(fields["detail"])
            conn.execute(insert(AuditEntryRow), rows)
        return [fields["id"] for fields in rows]

    def _row_fields(self, event: AuditEvent) -> dict[str, Any]:
        action = str(event.action).strip()
        if not action or len(action) > ACTION_LENGTH:
            raise AuditError(f"an audit entry needs an action of 1 to {ACTION_LENGTH} characters")
        return {
            "action": action,
            "person": _fit(event.person, NAME_LENGTH),
            "party": _fit(event.party, PARTY_LENGTH),
            "negotiation_id": _fit(event.negotiation_id, TEXT_ID_LENGTH),
            "text_id": _fit(event.text_id, TEXT_ID_LENGTH),
            "target": _fit(event.target, NAME_LENGTH),
            "detail": check_detail(action, event.detail or {}),
        }

    @staticmethod
    def _lock_head(conn: Connection) -> tuple[int, str]:
        """Take the chain's lock (held until commit) and read the last entry's id and hash."""
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_AUDIT_LOCK})")
        # On SQLite the transaction began IMMEDIATE (the store's write engine): no other
        # writer can come between this read and the commit.
        last = conn.execute(
            select(AuditEntryRow.id, AuditEntryRow.hash).order_by(AuditEntryRow.id.desc()).limit(1)
        ).first()
        return (last.id, last.hash) if last is not None else (0, GENESIS)

    # -- reading ---------------------------------------------------------------------------
    def entries(
        self,
        *,
        negotiation_id: str | None = None,
        text_id: str | None = None,
        person: str | None = None,
        party: str | None = None,
        actions: Collection[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after_id: int = 0,
        limit: int = 500,
    ) -> list[AuditEntry]:
        """Entries oldest first, with id > `after_id` (to page on: pass the last id seen),
        `since` <= at < `until`, at most `limit` (1 to MAX_LIMIT). An empty `actions`
        matches nothing; None matches every action."""
        if not 1 <= limit <= MAX_LIMIT:
            raise AuditError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
        query = select(AuditEntryRow).where(AuditEntryRow.id > after_id)
        for column, value in (
            (AuditEntryRow.negotiation_id, negotiation_id),
            (AuditEntryRow.text_id, text_id),
            (AuditEntryRow.person, person),
            (AuditEntryRow.party, party),
        ):
            if value is not None:
                query = query.where(column == value)
        if actions is not None:
            query = query.where(AuditEntryRow.action.in_([str(a) for a in actions]))
        if since is not None:
            query = query.where(AuditEntryRow.at >= _aware(since))
        if until is not None:
            query = query.where(AuditEntryRow.at < _aware(until))
        with self.store._session(write=False) as session:
            rows = session.scalars(query.order_by(AuditEntryRow.id).limit(limit)).all()
            return [_entry(row) for row in rows]

    def head(self) -> AuditHead | None:
        """The last entry's id and hash (None: the log is empty)."""
        with self.store.engine.connect() as conn:
            last = conn.execute(
                select(AuditEntryRow.id, AuditEntryRow.hash)
                .order_by(AuditEntryRow.id.desc())
                .limit(1)
            ).first()
        return AuditHead(last.id, last.hash) if last is not None else None

    # -- checking --------------------------------------------------------------------------
    def verify(self, *, expect_head: AuditHead | None = None) -> Verification:
        """Check every entry against its hash and the one before it; with `expect_head`
        (a head noted earlier), also that this entry is still there, unchanged."""
        problems: list[AuditProblem] = []
        previous_id, previous_hash = 0, GENESIS
        checked = 0
        noted: str | None = None  # the hash now stored under the expected head's id
        while True:
            with self.store._session(write=False) as session:
                rows = session.scalars(
                    select(AuditEntryRow)
                    .where(AuditEntryRow.id > previous_id)
                    .order_by(AuditEntryRow.id)
                    .limit(VERIFY_CHUNK)
                ).all()
            for row in rows:
                problems.extend(_check(row, previous_id, previous_hash))
                if expect_head is not None and row.id == expect_head.id:
                    noted = row.hash
                previous_id, previous_hash = row.id, row.hash
                checked += 1
            if len(rows) < VERIFY_CHUNK:
                break
        head = AuditHead(previous_id, previous_hash) if checked else None
        if expect_head is not None:
            problems.extend(_check_expected(expect_head, noted, head))
        problems.sort(key=lambda p: p.entry_id)
        return Verification(ok=not problems, checked=checked, head=head, problems=problems)


def _check(row: AuditEntryRow, previous_id: int, previous_hash: str) -> list[AuditProblem]:
    problems: list[AuditProblem] = []
    gap = row.id != previous_id + 1
    if gap:
        missing = (
            f"entry {previous_id + 1} is"
            if row.id == previous_id + 2
            else f"entries {previous_id + 1} to {row.id - 1} are"
        )
        problems.append(AuditProblem(row.id, f"deleted before it: {missing} missing"))
    try:
        detail = json.loads(row.detail)
        readable = isinstance(detail, dict) and canonical(detail) == row.detail
    except ValueError:
        detail, readable = {}, False
    recomputed = entry_hash(
        row.previous_hash,
        id=row.id,
        at=row.at,
        negotiation_id=row.negotiation_id,
        text_id=row.text_id,
        person=row.person,
        party=row.party,
        action=row.action,
        target=row.target,
        detail=detail if readable else {"unreadable": row.detail},
    )
    if recomputed != row.hash:
        problems.append(AuditProblem(row.id, "edited: the entry does not match its hash"))
    if row.previous_hash != previous_hash and not gap:
        before = f"entry {previous_id}'s hash" if previous_id else "the chain's start (64 zeros)"
        problems.append(
            AuditProblem(
                row.id,
                f"chain broken: its previous hash is not {before} "
                "(an entry before it was changed and given a new hash)",
            )
        )
    return problems


def _check_expected(
    expected: AuditHead, found: str | None, head: AuditHead | None
) -> list[AuditProblem]:
    last = head.id if head else 0
    if found is None and expected.id > last:
        return [
            AuditProblem(
                expected.id,
                f"truncated: entry {expected.id} was noted as the head, the log now ends "
                + (f"at entry {last}" if last else "empty"),
            )
        ]
    if found is None:
        return [AuditProblem(expected.id, "deleted: the entry noted as the head is missing")]
    if found != expected.hash:
        return [
            AuditProblem(
                expected.id,
                "rewritten: the entry noted as the head has another hash now "
                f"({found[:16]}…, noted {expected.hash[:16]}…)",
            )
        ]
    return []


def _entry(row: AuditEntryRow) -> AuditEntry:
    try:
        detail = json.loads(row.detail) if row.detail else {}
    except ValueError:
        detail = {"unreadable": row.detail}
    return AuditEntry(
        id=row.id,
        at=row.at,
        negotiation_id=row.negotiation_id,
        text_id=row.text_id,
        person=row.person,
        party=row.party,
        action=row.action,
        target=row.target,
        detail=detail if isinstance(detail, dict) else {"unreadable": row.detail},
        previous_hash=row.previous_hash,
        hash=row.hash,
    )


def _hashed(fields: Mapping[str, Any]) -> dict[str, Any]:
    names = ("id", "at", "negotiation_id", "text_id", "person", "party", "action", "target")
    return {**{name: fields[name] for name in names}, "detail": fields["detail"]}


def _millis(at: datetime) -> datetime:
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
