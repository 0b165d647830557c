"""The store: negotiation texts kept as their CRDT update log, in SQLite or PostgreSQL.

    store = Store()                         # SQLite file in the data directory
    text_id = store.create_text(update, title=…, kind=…, origin="import")
    store.append_update(text_id, update, origin="cli")
    update = store.load(text_id)            # one update holding the whole document

Opening a store brings its schema to the newest Alembic revision, so a new version of
Travaux runs on the database the previous one left (never a wiped one).

Loading applies the latest snapshot and every later log entry to a fresh `pycrdt.Doc` and
re-encodes it: applying is linear and gives a compact result, whereas `merge_updates`
over a long log is quadratic (STACK-NOTES.md: 224 s against 0.7 s).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from pycrdt import Doc
from sqlalchemy import Engine, create_engine, delete, event, func, insert, select
from sqlalchemy import update as update_rows
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.orm import Session

from crdt_sync.checkpoint import APPENDER_AUTOCHECKPOINT_PAGES, WalCheckpointer
from crdt_sync.models import SnapshotRow, TextRow, UpdateRow, utcnow

DATA_DIR_ENV = "TRAVAUX_DATA_DIR"
# How a SQLite commit reaches the disk (see `sqlite_synchronous`).
SQLITE_SYNCHRONOUS_ENV = "TRAVAUX_SQLITE_SYNCHRONOUS"
SQLITE_SYNCHRONOUS = ("normal", "full")
DATABASE_FILE = "travaux.sqlite3"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Serialises schema upgrades between processes that open the same PostgreSQL database at
# once (a server and a CLI, parallel test workers). Any constant works; this one spells
# "travaux" in ASCII.
_PG_MIGRATION_LOCK = 0x7472617661757800

# Compaction of one document runs in one process at a time: a transaction-level advisory
# lock on (this class, hashtext(document id)) — "trvx" in ASCII.
_PG_COMPACTION_LOCK_CLASS = 0x74727678

# Text ids are short enough to read out over the phone and to type in a URL, random so
# that two servers never hand out the same one; no 0/o, 1/l/i to misread. 31**10 ≈ 8e14.
_ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
_ID_LENGTH = 10


class StoreError(Exception):
    """Base class of the store's errors; each message says what to do about it."""


class UnknownText(StoreError, LookupError):
    def __init__(self, text_id: str) -> None:
        self.text_id = text_id
        super().__init__(f"no text with id {text_id!r} in this database")

    def __str__(self) -> str:  # LookupError would otherwise repr() the message
        return self.args[0]


class InvalidUpdate(StoreError, ValueError):
    """Bytes that are not a Yjs/pycrdt update; nothing was stored."""


class StoreUnavailable(StoreError):
    """The database URL is malformed, its driver is missing, or it cannot be reached."""


@dataclass(frozen=True)
class TextInfo:
    """What the store knows about a text without loading its document."""

    id: str
    title: str
    kind: str
    created: datetime
    updated: datetime


def data_dir() -> Path:
    """Where Travaux keeps its files: `$TRAVAUX_DATA_DIR`, else ~/.local/share/travaux."""
    configured = os.environ.get(DATA_DIR_ENV)
    path = Path(configured) if configured else Path.home() / ".local" / "share" / "travaux"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sqlite_synchronous() -> str:
    """`normal` (the default) or `full`, from `$TRAVAUX_SQLITE_SYNCHRONOUS`.

    With WAL, `normal` writes every commit to the log file before the commit returns, so a
    killed server process (SIGKILL, a crash) loses nothing committed; it leaves the flush
    to the disk to checkpoints, so a power cut or an operating-system crash may take the
    last commits back — which the clients that saw them still hold and re-send when they
    reconnect (Yjs sync, the browser's IndexedDB). `full` flushes the disk on every
    commit: one flush between every keystroke and its readers (see docs/PERFORMANCE.md).
    """
    value = os.environ.get(SQLITE_SYNCHRONOUS_ENV, "normal").strip().lower()
    if value not in SQLITE_SYNCHRONOUS:
        raise StoreUnavailable(
            f"{SQLITE_SYNCHRONOUS_ENV}={value!r}: expected one of {', '.join(SQLITE_SYNCHRONOUS)}"
        )
    return value


def default_url() -> str:
    return f"sqlite:///{data_dir() / DATABASE_FILE}"


def new_text_id() -> str:
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def display_url(url: str | URL) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def check_update(update: bytes) -> None:
    """Raise InvalidUpdate unless `update` decodes as a CRDT update."""
    if not isinstance(update, bytes | bytearray | memoryview):
        raise InvalidUpdate(f"an update must be bytes, not {type(update).__name__}")
    try:
        # An update that depends on ones not seen yet is kept pending, not refused: this
        # only checks that the bytes decode.
        Doc().apply_update(bytes(update))
    except ValueError as error:
        raise InvalidUpdate(f"not a CRDT update: {error}") from None


class Store:
    def __init__(self, url: str | URL | None = None, *, echo: bool = False) -> None:
        try:
            self.url = make_url(url if url is not None else default_url())
        except ArgumentError:
            raise StoreUnavailable(
                f"{str(url)!r} is not a database URL (expected e.g. sqlite:///travaux.sqlite3 "
                "or postgresql+psycopg://user@host:5432/dbname)"
            ) from None
        self.engine = _create_engine(self.url, echo=echo)
        # The same pool; the option tells the SQLite "begin" hook to take the write lock.
        self._write_engine = self.engine.execution_options(travaux_write=True)
        self._appender: Any = None  # SQLite: see `_appending`
        # SQLite file: checkpoints the log in the background, started with the appender.
        self.checkpointer: WalCheckpointer | None = None
        self._append_lock = threading.Lock()
        try:
            self._upgrade_schema()
        except DBAPIError as error:  # unreachable, refused, not allowed to create tables
            self.engine.dispose()
            reason = " ".join(str(error.orig if error.orig is not None else error).split())
            raise StoreUnavailable(
                f"cannot open the database {display_url(self.url)}: {reason}"
            ) from None

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def local_commits(self) -> bool:
        """A commit here is a write to a local file (SQLite), done in a fraction of a
        millisecond without a network round trip: cheap enough for the event loop to make
        itself when the group committer has nothing else to do (`crdt_sync.durable`)."""
        return self.url.get_backend_name() == "sqlite"

    @property
    def in_memory(self) -> bool:
        """An in-memory SQLite database, which no other connection or process can open."""
        return self.url.get_backend_name() == "sqlite" and self.url.database in (
            None,
            "",
            ":memory:",
        )

    def close(self) -> None:
        # Before taking the append lock: the checkpointer may be waiting for it.
        checkpointer, self.checkpointer = self.checkpointer, None
        if checkpointer is not None:
            checkpointer.close()
        with self._append_lock:
            if self._appender is not None:
                self._appender.close()
                self._appender = None
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _upgrade_schema(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self._write() as conn:
            if conn.dialect.name == "postgresql":
                # Held until this transaction ends: a second process waits here, then
                # finds the schema at head and has nothing to do.
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    @contextmanager
    def _write(self) -> Iterator[Any]:
        """A connection in a write transaction, committed when the block ends."""
        with self._write_engine.begin() as conn:
            yield conn

    def _session(self, *, write: bool) -> Session:
        return Session(bind=self._write_engine if write else self.engine, expire_on_commit=False)

    # -- texts -------------------------------------------------------------------------
    def create_text(self, update: bytes, *, title: str, kind: str, origin: str) -> str:
        """Store a new text whose first log entry is `update`; return its new id."""
        check_update(update)
        now = utcnow()
        with self._session(write=True) as session, session.begin():
            text_id = new_text_id()
            while session.get(TextRow, text_id) is not None:  # ~never, but cheap to be sure
                text_id = new_text_id()
            session.add(TextRow(id=text_id, title=title, kind=kind, created=now, updated=now))
            session.flush()  # the text row first: the log refers to it
            session.add(UpdateRow(text_id=text_id, data=bytes(update), origin=origin, created=now))
        return text_id

    def list_texts(self) -> list[TextInfo]:
        """Every stored text, oldest first (not their scoped documents)."""
        with self._session(write=False) as session:
            rows = session.scalars(
                select(TextRow)
                .where(TextRow.parent_id.is_(None))
                .order_by(TextRow.created, TextRow.id)
            )
            return [_info(row) for row in rows]

    def get_text(self, text_id: str) -> TextInfo:
        with self._session(write=False) as session:
            return _info(self._text_row(session, text_id))

    def has_text(self, text_id: str) -> bool:
        with self._session(write=False) as session:
            return session.get(TextRow, text_id) is not None

    def count_texts(self) -> int:
        with self._session(write=False) as session:
            query = select(func.count()).select_from(TextRow).where(TextRow.parent_id.is_(None))
            return session.scalar(query) or 0

    # -- scoped documents (balloon scopes, workspaces: `drafting.scopes`) ---------------------
    def scoped_document(self, text_id: str, scope: str) -> str:
        """The id of the document `scope` of a text, created (empty) the first time."""
        if not scope:
            raise ValueError("the shared text is the text itself, not a scoped document")
        doc_id = scoped_document_id(text_id, scope)
        with self._session(write=True) as session, session.begin():
            parent = self._text_row(session, text_id)
            if parent.parent_id is not None:
                raise UnknownText(text_id)  # scopes are of texts, not of other scopes
            row = session.get(TextRow, doc_id)
            if row is None:
                now = utcnow()
                session.add(
                    TextRow(
                        id=doc_id,
                        title="",
                        kind="scope",
                        created=now,
                        updated=now,
                        parent_id=text_id,
                        scope=scope,
                    )
                )
            elif (row.parent_id, row.scope) != (text_id, scope):
                raise StoreError(f"document {doc_id} is not {scope!r} of {text_id}")
        return doc_id

    def scoped_documents(self, text_id: str) -> dict[str, str]:
        """The scoped documents a text has so far: scope → document id."""
        with self._session(write=False) as session:
            rows = session.execute(
                select(TextRow.scope, TextRow.id).where(TextRow.parent_id == text_id)
            )
            return {scope: doc_id for scope, doc_id in rows}

    def purge(self, doc_id: str, state: bytes) -> int:
        """Replace a scoped document's whole log and snapshots with `state` (the document
        re-encoded after a withdrawal: deleted words are gone from it). Only scoped
        documents: the shared text's record is never rewritten. Returns the new log id.

        On SQLite, `secure_delete` zeroes the freed pages and the WAL is truncated, so the
        purged words leave the database file too (PostgreSQL: see docs/ARCHITECTURE.md)."""
        check_update(state)
        with self._session(write=True) as session, session.begin():
            _lock_texts(session, [doc_id], exclusive=True)
            row = self._text_row(session, doc_id)
            if row.parent_id is None:
                raise StoreError(f"{doc_id} is a negotiation text: its log is never rewritten")
            # Another server process may have stored updates that `state` does not hold
            # yet: the stored record and `state` together, re-encoded, lose none of them
            # (and what `state` deleted is garbage-collected from the result all the same).
            merged = Doc()
            for (data,) in session.execute(
                select(UpdateRow.data).where(UpdateRow.text_id == doc_id).order_by(UpdateRow.id)
            ):
                merged.apply_update(data)
            merged.apply_update(bytes(state))
            state = merged.get_update()
            session.execute(delete(SnapshotRow).where(SnapshotRow.text_id == doc_id))
            session.execute(delete(UpdateRow).where(UpdateRow.text_id == doc_id))
            kept = UpdateRow(text_id=doc_id, data=bytes(state), origin="purge", created=utcnow())
            session.add(kept)
            session.flush()
            kept_id = kept.id
        if self.engine.dialect.name == "sqlite":
            with self.engine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return kept_id

    # -- the update log --------------------------------------------------------------------
    def append_update(self, text_id: str, update: bytes, origin: str) -> int:
        """Append one update to a text's log; return its log id (increasing per database)."""
        check_update(update)
        now = utcnow()
        with self._session(write=True) as session, session.begin():
            _lock_texts(session, [text_id])
            text = self._text_row(session, text_id)
            text.updated = now
            row = UpdateRow(text_id=text_id, data=bytes(update), origin=origin, created=now)
            session.add(row)
            session.flush()
            return row.id

    def load(self, text_id: str) -> bytes:
        """The whole document as one update: latest snapshot plus the log after it."""
        return self.load_document(text_id)[0].get_update()

    def load_document(self, text_id: str) -> tuple[Doc, int]:
        """The document, and the id of the last log entry in it (0 if none): it holds
        every entry of its log up to that id, and none after it (what several server
        processes need to know to miss nothing, `crdt_sync.fanout`)."""
        with self._session(write=False) as session, session.begin():
            self._text_row(session, text_id)
            snapshot = session.scalars(
                select(SnapshotRow)
                .where(SnapshotRow.text_id == text_id)
                .order_by(SnapshotRow.up_to_update_id.desc())
                .limit(1)
            ).first()
            doc = Doc()
            last = 0
            if snapshot is not None:
                doc.apply_update(snapshot.data)
                last = snapshot.up_to_update_id
            # Every append holds its text's row lock from before its ids are drawn until it
            # commits (`_lock_texts`): within one text, ids commit in increasing order, so
            # what a reader sees of a text's log is always a prefix of it, and "everything
            # up to id N" (a snapshot, a room's position) has no holes to fill later.
            log = session.execute(
                select(UpdateRow.id, UpdateRow.data)
                .where(UpdateRow.text_id == text_id, UpdateRow.id > last)
                .order_by(UpdateRow.id)
            )
            for update_id, data in log:
                doc.apply_update(data)
                last = update_id
            return doc, last

    def append_many(self, entries: Sequence[tuple[str, bytes, str]]) -> list[int]:
        """Append (text id, update, origin) entries in one transaction; their log ids, in
        the order given. This is the group-commit path of the sync server
        (`crdt_sync.durable`): one disk flush for many updates. The updates are not decoded
        again here: the room has already applied each of them to its document."""
        if not entries:
            return []
        return self._append(entries, heads=False)[0]

    def append_chain(self, entries: Sequence[tuple[str, bytes, str]]) -> list[tuple[int, int]]:
        """`append_many`, returning for each entry its log id and the id of the entry
        before it in the same text's log (0 for a text's first entry): the links other
        server processes follow to know that they have missed nothing (crdt_sync.fanout)."""
        if not entries:
            return []
        ids, heads = self._append(entries, heads=True)
        chained = []
        for (text_id, _, _), log_id in zip(entries, ids, strict=True):
            chained.append((log_id, heads.get(text_id, 0)))
            heads[text_id] = log_id
        return chained

    def _append(
        self, entries: Sequence[tuple[str, bytes, str]], *, heads: bool
    ) -> tuple[list[int], dict[str, int]]:
        """Insert the entries in one transaction; their ids, and (`heads`) each text's
        newest log id before them.

        Few statements, whatever the number of entries: the group commit runs in a worker
        thread, and each call into the database driver gives up the GIL, which a busy
        event loop hands back only after its switch interval (docs/PERFORMANCE.md)."""
        if self.engine.dialect.name == "sqlite":
            return self._append_sqlite(entries, heads=heads)
        with self._write() as conn:
            return self._append_postgresql(conn, entries, heads=heads)

    @staticmethod
    def _append_postgresql(
        conn: Any, entries: Sequence[tuple[str, bytes, str]], *, heads: bool
    ) -> tuple[list[int], dict[str, int]]:
        """PostgreSQL: under the texts' row locks, which make a text's ids commit in
        increasing order (`_lock_texts`)."""
        now = utcnow()
        text_ids = sorted({text_id for text_id, _, _ in entries})
        known = set(_lock_texts(conn, text_ids))
        for text_id in text_ids:
            if text_id not in known:
                raise UnknownText(text_id)
        conn.execute(update_rows(TextRow).where(TextRow.id.in_(text_ids)).values(updated=now))
        newest = _log_heads(conn, text_ids) if heads else {}
        rows = [
            {"text_id": text_id, "data": bytes(data), "origin": origin, "created": now}
            for text_id, data, origin in entries
        ]
        table = UpdateRow.__table__
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        return list(conn.execute(statement, rows).scalars()), newest

    def _append_sqlite(
        self, entries: Sequence[tuple[str, bytes, str]], *, heads: bool
    ) -> tuple[list[int], dict[str, int]]:
        """SQLite, on the driver's own connection: this is every keystroke's path to disk,
        and SQLAlchemy's execution machinery cost 0.8 ms of Python per commit against
        0.03 ms of SQLite (docs/PERFORMANCE.md) — Python that a worker thread runs only
        while the event loop lets go of the GIL.

        `BEGIN IMMEDIATE` holds the database's write lock (one writer per file), so the
        ids are drawn here, after the newest one, and the rows go in with one multi-row
        INSERT per chunk."""
        text_ids = sorted({text_id for text_id, _, _ in entries})
        now = _bind_created(self.engine.dialect)(utcnow())
        marks = ",".join("?" * len(text_ids))
        with self._appending() as driver:
            cursor = driver.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                cursor.execute(
                    f"UPDATE texts SET updated = ? WHERE id IN ({marks})", (now, *text_ids)
                )
                if cursor.rowcount != len(text_ids):
                    cursor.execute(f"SELECT id FROM texts WHERE id IN ({marks})", text_ids)
                    known = {row[0] for row in cursor.fetchall()}
                    raise UnknownText(next(t for t in text_ids if t not in known))
                newest: dict[str, int] = {}
                if heads:  # one max() per text, answered from the (text_id, id) index's end
                    for text_id in text_ids:
                        cursor.execute("SELECT max(id) FROM updates WHERE text_id = ?", (text_id,))
                        head = cursor.fetchone()[0]
                        if head is not None:
                            newest[text_id] = head
                cursor.execute("SELECT coalesce(max(id), 0) + 1 FROM updates")
                first = cursor.fetchone()[0]
                for start in range(0, len(entries), _SQLITE_ROWS_PER_INSERT):
                    chunk = entries[start : start + _SQLITE_ROWS_PER_INSERT]
                    values: list[Any] = []
                    for offset, (text_id, data, origin) in enumerate(chunk):
                        values += (first + start + offset, text_id, bytes(data), origin, now)
                    cursor.execute(
                        "INSERT INTO updates (id, text_id, data, origin, created) VALUES "
                        + ",".join(["(?, ?, ?, ?, ?)"] * len(chunk)),
                        values,
                    )
                cursor.execute("COMMIT")
                if self.checkpointer is not None:
                    self.checkpointer.appended()
            except BaseException:
                if driver.in_transaction:
                    cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()
        return list(range(first, first + len(entries))), newest

    @contextmanager
    def _appending(self) -> Iterator[Any]:
        """The SQLite driver connection that appends, kept for the store's lifetime: a
        connection taken from the pool for each append cost 0.2 ms more per keystroke,
        and one that only this path writes through keeps its page cache valid. One
        append at a time; a connection that failed is replaced."""
        with self._append_lock:
            if self._appender is None:
                self._appender = self._open_appender()
            try:
                yield self._appender.driver_connection
            except sqlite3.Error:  # not a refusal such as UnknownText: the connection
                appender, self._appender = self._appender, None
                with suppress(Exception):
                    appender.close()
                raise

    def _open_appender(self) -> Any:
        """The appending connection checkpoints the log only past a high mark: a
        `WalCheckpointer` thread does it in the background (crdt_sync.checkpoint)."""
        appender = self.engine.raw_connection()
        if self.in_memory:
            return appender
        cursor = appender.driver_connection.cursor()
        cursor.execute(f"PRAGMA wal_autocheckpoint={APPENDER_AUTOCHECKPOINT_PAGES}")
        cursor.close()
        if self.checkpointer is None:
            self.checkpointer = WalCheckpointer(self.engine.raw_connection, self._append_lock)
        return appender

    # -- several server processes on one database (crdt_sync.fanout) -----------------------
    def read_log(self, text_id: str, after: int, limit: int = 10_000) -> list[tuple[int, bytes]]:
        """A text's log entries after id `after`, oldest first, at most `limit` of them.
        Committed entries only, and (see `_lock_texts`) never with a hole that a later
        read would fill: a reader that has applied them all has everything up to the last."""
        with self._session(write=False) as session:
            rows = session.execute(
                select(UpdateRow.id, UpdateRow.data)
                .where(UpdateRow.text_id == text_id, UpdateRow.id > after)
                .order_by(UpdateRow.id)
                .limit(limit)
            )
            return [(log_id, bytes(data)) for log_id, data in rows]

    def log_heads(self, text_ids: Sequence[str]) -> dict[str, int]:
        """The newest log id of each of these texts (texts without entries are left out)."""
        if not text_ids:
            return {}
        with self._session(write=False) as session:
            return _log_heads(session, sorted(set(text_ids)))

    def write_snapshot_once(
        self, text_id: str, update: bytes, up_to: int, *, verify: bool = True
    ) -> bool:
        """`write_snapshot` for a server of several processes: skipped (False) when another
        process is compacting this text right now (a PostgreSQL advisory lock), when a
        snapshot already covers `up_to`, or when the log before `up_to` has been purged
        since the caller's document was read (its snapshot would bring back what the
        purge removed). The text's row is held in KEY SHARE mode meanwhile, which lets
        appends through and keeps a purge (FOR UPDATE) waiting until this one is written."""
        if verify:
            check_update(update)
        with self._session(write=True) as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                got = session.execute(
                    select(
                        func.pg_try_advisory_xact_lock(
                            _PG_COMPACTION_LOCK_CLASS, func.hashtext(text_id)
                        )
                    )
                ).scalar()
                if not got:
                    return False
            locked = session.scalars(
                select(TextRow.id)
                .where(TextRow.id == text_id)
                .with_for_update(read=True, key_share=True)  # FOR KEY SHARE
            ).first()
            if locked is None:
                raise UnknownText(text_id)
            first = session.scalar(
                select(func.min(UpdateRow.id)).where(UpdateRow.text_id == text_id)
            )
            if first is None or first > up_to:
                return False  # purged after the caller read its document
            covered = session.scalar(
                select(func.max(SnapshotRow.up_to_update_id)).where(SnapshotRow.text_id == text_id)
            )
            if covered is not None and covered >= up_to:
                return False
            session.add(SnapshotRow(text_id=text_id, data=bytes(update), up_to_update_id=up_to))
            return True

    def write_snapshot(
        self, text_id: str, update: bytes, up_to: int, *, verify: bool = True
    ) -> None:
        """Keep `update` (the whole document) as the state of the text up to log id `up_to`
        inclusive; later loads start from it. `verify=False`: the caller encoded `update`
        from a document itself (a room), so decoding it again would only cost time (a
        large document takes tens of milliseconds, every `snapshot_every_updates`)."""
        if verify:
            check_update(update)
        with self._session(write=True) as session, session.begin():
            self._text_row(session, text_id)
            session.add(SnapshotRow(text_id=text_id, data=bytes(update), up_to_update_id=up_to))

    def compact(self, text_id: str) -> int:
        """Write a snapshot of the text as of its newest log entry; return that entry's id.

        The log is kept: dropping what a snapshot covers is a later decision (the log is
        also the negotiating record of who sent what, and when).
        """
        doc, last = self.load_document(text_id)
        self.write_snapshot(text_id, doc.get_update(), last)
        return last

    def update_count(self, text_id: str) -> int:
        with self._session(write=False) as session:
            self._text_row(session, text_id)
            query = select(func.count()).select_from(UpdateRow).where(UpdateRow.text_id == text_id)
            return session.scalar(query) or 0

    @staticmethod
    def _text_row(session: Session, text_id: str) -> TextRow:
        row = session.get(TextRow, text_id) if isinstance(text_id, str) else None
        if row is None:
            raise UnknownText(text_id)
        return row


def _lock_texts(session: Any, text_ids: Sequence[str], *, exclusive: bool = False) -> list[str]:
    """Lock these texts' rows until the transaction ends, in id order (two processes
    appending to the same texts then never deadlock); the ids that exist. On PostgreSQL
    this is what makes a text's log ids commit in increasing order: an append draws its
    ids only once it holds the lock, and releases it only when committed (SQLite: the
    database-wide write lock of `BEGIN IMMEDIATE` does the same)."""
    return list(
        session.scalars(
            select(TextRow.id)
            .where(TextRow.id.in_(sorted(text_ids)))
            .order_by(TextRow.id)
            .with_for_update(key_share=not exclusive)  # FOR NO KEY UPDATE, or FOR UPDATE
        )
    )


# Five parameters a row; SQLite (≥ 3.32) takes up to 32,766 per statement.
_SQLITE_ROWS_PER_INSERT = 6000


def _bind_created(dialect: Any) -> Any:
    """How the `created` column's type turns a datetime into what the driver is given."""
    processor = UpdateRow.__table__.c.created.type.dialect_impl(dialect).bind_processor(dialect)
    return processor if processor is not None else (lambda value: value)


def _log_heads(session: Any, text_ids: Sequence[str]) -> dict[str, int]:
    # One max() per text, which both databases answer from the (text_id, id) index's end;
    # a GROUP BY over the texts would read every entry of their logs.
    newest = (
        select(func.max(UpdateRow.id))
        .where(UpdateRow.text_id == TextRow.id)
        .correlate(TextRow)
        .scalar_subquery()
    )
    rows = session.execute(select(TextRow.id, newest).where(TextRow.id.in_(text_ids)))
    return {text_id: head for text_id, head in rows if head is not None}


def scoped_document_id(text_id: str, scope: str) -> str:
    """A scoped document's id: its text's id and a digest of the scope (scope names can be
    long, `balloons:parties:…` with many Parties; ids fit in 32 characters)."""
    return f"{text_id}.{hashlib.sha256(scope.encode()).hexdigest()[:16]}"


def is_scoped_document_id(doc_id: str) -> bool:
    """Text ids never hold a dot; scoped documents' ids always do (`scoped_document_id`)."""
    return "." in doc_id


def _info(row: TextRow) -> TextInfo:
    return TextInfo(
        id=row.id, title=row.title, kind=row.kind, created=row.created, updated=row.updated
    )


def _create_engine(url: URL, *, echo: bool) -> Engine:
    try:
        engine = create_engine(url, echo=echo, pool_pre_ping=url.get_backend_name() != "sqlite")
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        raise StoreUnavailable(f"cannot use the database URL {display_url(url)}: {error}") from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    synchronous = sqlite_synchronous()

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Python's sqlite3 module opens transactions behind our back (and not before DDL);
        # switching that off lets the "begin" hook below say exactly how each one starts.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Wait for another process's write instead of failing at once with "locked".
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Deleted rows are overwritten with zeros: a purged trial balloon must not linger
        # in the file's free pages.
        cursor.execute("PRAGMA secure_delete=ON")
        _enable_wal(cursor)
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        # A write transaction takes the write lock up front. A deferred one that reads and
        # then writes fails with SQLITE_BUSY (no waiting) if another writer came between.
        immediate = conn.get_execution_options().get("travaux_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _enable_wal(cursor: Any) -> None:
    """WAL: readers never block the writer, and a crashed process loses nothing committed.

    Switching a new database file to WAL needs the file to itself, and SQLite answers
    "locked" at once, without the busy timeout, while another connection is switching it
    too. The mode is then kept in the file, so only the opening of a new file retries.
    """
    for attempt in range(100):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == 99:
                raise
            time.sleep(0.02)
