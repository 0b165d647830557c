"""The tables that keep negotiation texts: one row per text, its update log, its snapshots.

A text is never stored as plain words: what is kept is the CRDT state, as the updates that
built it, so that a browser that saw an edit can always be brought back to a state that
contains it (see docs/ARCHITECTURE.md). The log is append-only; a snapshot is the log up to
some update applied to a Doc and re-encoded, so that loading does not replay everything.
Revisions are immutable, hash-chained copies of the whole text; history entries are a cache
of per-clause history derived from the log (docs/HISTORY.md).

The schema itself is created and changed only by the Alembic migrations in
`crdt_sync/migrations/`; these classes must describe the same tables (a test checks).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# Explicit constraint names, so that a later migration can drop or alter a constraint by
# name on every backend (SQLite batch mode needs them).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TEXT_ID_LENGTH = 32  # ids are 10 characters today; the column leaves room
ORIGIN_LENGTH = 200


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL keeps the zone (timestamptz); SQLite keeps none and hands back naive
    values. Normalising here means callers never compare naive with aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# SQLite only makes a column an alias of its rowid (and so autoincrementing) when it is
# declared exactly INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity, since an update
# log of a busy text can pass two billion rows over the years.
LogId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TextRow(Base):
    """One negotiation text. Title and kind are copies taken when it was stored, for
    listing without loading documents; the document's own `meta` is authoritative."""

    __tablename__ = "texts"

    id: Mapped[str] = mapped_column(String(TEXT_ID_LENGTH), primary_key=True)
    title: Mapped[str] = mapped_column(String, nullable=False, default="")
    kind: Mapped[str] = mapped_column(String(40), nullable=False, default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)
    # The negotiation the text belongs to (migration 0003); None: a text outside any
    # negotiation, which only a server without identities serves.
    # (No foreign keys on these two: see migration 0003.)
    negotiation_id: Mapped[str | None] = mapped_column(String(TEXT_ID_LENGTH), nullable=True)
    # A scoped document (a trial balloon scope, a delegation's workspace) is stored like a
    # text, with its own log, under the text it belongs to: `parent_id` is that text and
    # `scope` names the scope ("balloons:parties:AOSIS+EU", "workspace:EU").
    parent_id: Mapped[str | None] = mapped_column(String(TEXT_ID_LENGTH), nullable=True, index=True)
    scope: Mapped[str] = mapped_column(
        String(ORIGIN_LENGTH), nullable=False, default="", server_default=""
    )


class UpdateRow(Base):
    """One CRDT update (Yjs v1 encoding) as it was received; rows are never changed."""

    __tablename__ = "updates"
    __table_args__ = (Index("ix_updates_text_id_id", "text_id", "id"),)

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    text_id: Mapped[str] = mapped_column(
        String(TEXT_ID_LENGTH), ForeignKey("texts.id", ondelete="CASCADE"), nullable=False
    )
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    # Who sent it: "import", "cli", "demo", later a connection id (and the user and Party
    # once identities exist). Kept for the negotiating record, not used for merging.
    origin: Mapped[str] = mapped_column(String(ORIGIN_LENGTH), nullable=False, default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class SnapshotRow(Base):
    """The whole document as of the log entry `up_to_update_id` (inclusive)."""

    __tablename__ = "snapshots"
    __table_args__ = (Index("ix_snapshots_text_id_up_to_update_id", "text_id", "up_to_update_id"),)

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    text_id: Mapped[str] = mapped_column(
        String(TEXT_ID_LENGTH), ForeignKey("texts.id", ondelete="CASCADE"), nullable=False
    )
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    up_to_update_id: Mapped[int] = mapped_column(LogId, nullable=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


# -- revisions and history (migration 0002) -------------------------------------------------
HASH_LENGTH = 64  # SHA-256, hexadecimal
LABEL_LENGTH = 200
CLAUSE_ID_LENGTH = 64


class RevisionRow(Base):
    """A numbered revision of a text (Rev.1, "Chair's text 4 Dec" …): never changed once
    written (an UPDATE trigger refuses it), and chained to the previous one by `hash`, so
    that a row altered behind the database's back is still detectable
    (`crdt_sync.history_store.verify_revisions`)."""

    __tablename__ = "revisions"
    __table_args__ = (
        UniqueConstraint("text_id", "number", name="uq_revisions_text_id_number"),
        UniqueConstraint("text_id", "label", name="uq_revisions_text_id_label"),
    )

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    text_id: Mapped[str] = mapped_column(
        String(TEXT_ID_LENGTH), ForeignKey("texts.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(Integer, nullable=False)
    label: Mapped[str] = mapped_column(String(LABEL_LENGTH), nullable=False)
    author: Mapped[str] = mapped_column(String(ORIGIN_LENGTH), nullable=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    # The last log entry the revision contains; `state` is the text as of that entry.
    up_to_update_id: Mapped[int] = mapped_column(LogId, nullable=False)
    state: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    statistics: Mapped[str] = mapped_column(Text, nullable=False)  # JSON
    content_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False)
    previous_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False)
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False)


class HistoryEntryRow(Base):
    """One entry of a clause's history, derived from the update log (a cache: it can be
    dropped and rebuilt from the log at any time, see `drafting.history`)."""

    __tablename__ = "history_entries"
    __table_args__ = (Index("ix_history_entries_text_id_clause_id", "text_id", "clause_id", "id"),)

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    text_id: Mapped[str] = mapped_column(
        String(TEXT_ID_LENGTH), ForeignKey("texts.id", ondelete="CASCADE"), nullable=False
    )
    clause_id: Mapped[str] = mapped_column(String(CLAUSE_ID_LENGTH), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    kinds: Mapped[str] = mapped_column(String(400), nullable=False)  # comma-separated
    origin: Mapped[str] = mapped_column(String(ORIGIN_LENGTH), nullable=False)
    person: Mapped[str] = mapped_column(String(ORIGIN_LENGTH), nullable=False)
    party: Mapped[str] = mapped_column(String(100), nullable=False)
    started: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    ended: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    first_update_id: Mapped[int] = mapped_column(LogId, nullable=False)
    last_update_id: Mapped[int] = mapped_column(LogId, nullable=False)
    changes: Mapped[int] = mapped_column(Integer, nullable=False)
    words_before: Mapped[str] = mapped_column(Text, nullable=False)
    words_after: Mapped[str] = mapped_column(Text, nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False)  # JSON


class HistoryCursorRow(Base):
    """How far a text's history entries go: the log entry last indexed and the document
    as of that entry, so that indexing resumes where it stopped."""

    __tablename__ = "history_cursors"

    text_id: Mapped[str] = mapped_column(
        String(TEXT_ID_LENGTH), ForeignKey("texts.id", ondelete="CASCADE"), primary_key=True
    )
    up_to_update_id: Mapped[int] = mapped_column(LogId, nullable=False)
    state: Mapped[bytes] = mapped_column(LargeBinary, nullable=False)
    # The version of the indexing rules that wrote the entries; another version rebuilds.
    version: Mapped[int] = mapped_column(Integer, nullable=False)
    updated: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


# -- negotiations, people and their rights (migration 0003) -----------------------------------
NAME_LENGTH = 200
PARTY_LENGTH = 100
ROLE_LENGTH = 40


class NegotiationRow(Base):
    """A negotiation (a conference, a committee): its texts, Parties and people.

    `grants` adjusts what each role may do here (JSON `{role: [capability, …]}`, empty for
    the defaults of `drafting.permissions`). `rights_version` grows whenever a membership
    or a grant changes, so that every server process notices and re-judges its live
    connections (a revoked delegate's next update is refused).
    """

    __tablename__ = "negotiations"

    id: Mapped[str] = mapped_column(String(TEXT_ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    grants: Mapped[str] = mapped_column(Text, nullable=False, default="")
    rights_version: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    created: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class NegotiationPartyRow(Base):
    """A Party of a negotiation: a delegation (`US`, `EU` …) or a negotiating group."""

    __tablename__ = "negotiation_parties"
    __table_args__ = (
        UniqueConstraint("negotiation_id", "code", name="uq_negotiation_parties_negotiation_id"),
    )

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    negotiation_id: Mapped[str] = mapped_column(
        String(TEXT_ID_LENGTH), ForeignKey("negotiations.id", ondelete="CASCADE"), nullable=False
    )
    code: Mapped[str] = mapped_column(String(PARTY_LENGTH), nullable=False)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    kind: Mapped[str] = mapped_column(String(20), nullable=False, default="delegation")


class PersonRow(Base):
    """Someone who signs in. `login` is what they type (an e-mail address, usually);
    `password_hash` is an Argon2id hash, never the password."""

    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(TEXT_ID_LENGTH), primary_key=True)
    login: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False, unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False, default="")
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class MembershipRow(Base):
    """A person acts for one Party (or none: chair, secretariat, observer) in a
    negotiation, with one role (`drafting.vocabulary.Role`)."""

    __tablename__ = "memberships"
    __table_args__ = (
        UniqueConstraint("person_id", "negotiation_id", name="uq_memberships_person_id"),
    )

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(
        String(TEXT_ID_LENGTH), ForeignKey("people.id", ondelete="CASCADE"), nullable=False
    )
    negotiation_id: Mapped[str] = mapped_column(
        String(TEXT_ID_LENGTH), ForeignKey("negotiations.id", ondelete="CASCADE"), nullable=False
    )
    party: Mapped[str] = mapped_column(String(PARTY_LENGTH), nullable=False, default="")
    role: Mapped[str] = mapped_column(String(ROLE_LENGTH), nullable=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, default=utcnow)


class SessionRow(Base):
    """A browser sign-in. The cookie carries a random token; only its SHA-256 is kept, so
    a copy of the database does not let anyone sign in."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False, unique=True)
    person_id: Mapped[str] = mapped_column(
        String(TEXT_ID_LENGTH), ForeignKey("people.id", ondelete="CASCADE"), nullable=False
    )
    csrf_token: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False)
    created: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ApiTokenRow(Base):
    """A token for scripts (`Authorization: Bearer …`, or `?token=` on a WebSocket);
    only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False, unique=True)
    person_id: Mapped[str] = mapped_column(
        String(TEXT_ID_LENGTH), ForeignKey("people.id", ondelete="CASCADE"), nullable=False
    )
    name: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False, default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_used: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class AuditEntryRow(Base):
    """One entry of the audit log: who (person and Party) did what, when.

    Append-only (UPDATE and DELETE triggers refuse changes) and chained: `hash` is the
    SHA-256 of the previous entry's hash and this entry's fields, so an entry edited or
    deleted behind the database's back breaks the chain (`travaux audit verify`)."""

    __tablename__ = "audit_entries"
    __table_args__ = (Index("ix_audit_entries_negotiation_id_id", "negotiation_id", "id"),)

    id: Mapped[int] = mapped_column(LogId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    negotiation_id: Mapped[str] = mapped_column(String(TEXT_ID_LENGTH), nullable=False, default="")
    text_id: Mapped[str] = mapped_column(String(TEXT_ID_LENGTH), nullable=False, default="")
    person: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False, default="")
    party: Mapped[str] = mapped_column(String(PARTY_LENGTH), nullable=False, default="")
    action: Mapped[str] = mapped_column(String(60), nullable=False)
    target: Mapped[str] = mapped_column(String(NAME_LENGTH), nullable=False, default="")
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="")  # JSON
    previous_hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False)
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH), nullable=False)
