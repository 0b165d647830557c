"""The tables that keep negotiation texts: one row per text, its update log, its snapshots.

A text is never stored as plain words: what is kept is the CRDT state, as the updates that
built it, so that a browser that saw an edit can always be brought back to a state that
contains it (see docs/ARCHITECTURE.md). The log is append-only; a snapshot is the log up to
some update applied to a Doc and re-encoded, so that loading does not replay everything.

The schema itself is created and changed only by the Alembic migrations in
`crdt_sync/migrations/`; these classes must describe the same tables (a test checks).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
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
