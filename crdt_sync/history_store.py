"""Revisions and per-clause history, kept beside the update log of `crdt_sync.store`.

    revision = cut_revision(store, text_id, label="Rev.1", author="Chair")
    list_revisions(store, text_id); get_revision(store, text_id, "Rev.1").open()
    verify_revisions(store, text_id)          # [] when the hash chain is intact
    clause_history(store, text_id, clause_id, party="EU")
    text_at(store, text_id, up_to=log_id)     # the text as of any log entry

Revisions are rows of their own, written once (the database refuses UPDATEs) and chained
by hash (`drafting.revisions`). History entries are derived from the log by
`drafting.history.HistoryIndexer` and cached in `history_entries`, with a cursor saying how
far the log has been indexed: reading a clause's history first indexes whatever the log
gained since the last reading, then reads a few rows. The cache can be dropped at any time
(or is, when the indexing rules change version): the log stays the record.

Like the store, these functions assume one writer per text (its room, or one command).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pycrdt import Doc
from sqlalchemy import delete, func, insert, select
from sqlalchemy import update as update_rows
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crdt_sync.models import (
    HistoryCursorRow,
    HistoryEntryRow,
    RevisionRow,
    SnapshotRow,
    TextRow,
    UpdateRow,
    utcnow,
)
from crdt_sync.store import Store, UnknownText, check_update
from drafting.history import (
    INDEX_VERSION,
    HistoryEntry,
    HistoryIndexer,
    LogEntry,
    filter_entries,
    make_origin,
    mark_outcomes,
)
from drafting.importing import import_markdown
from drafting.redraft import RedraftReport, redraft, restore_clause
from drafting.revisions import (
    NOW,
    Problem,
    Revision,
    RevisionError,
    default_label,
    find_revision,
    label_update,
    make_revision,
    verify_chain,
)
from drafting.schema import NegotiationText

EMPTY_UPDATE = b"\x00\x00"
LOG_CHUNK = 5000  # log entries read and indexed at a time
CLOCK_MARGIN = timedelta(minutes=2)  # how far other machines' clocks may be off
SLICE_ENTRIES = 2000  # log entries indexed at a time in the background
SLICE_PAUSE = 0.05  # seconds between two slices

log = logging.getLogger(__name__)


# -- the log ------------------------------------------------------------------------------


def read_log(
    store: Store, text_id: str, *, after: int = 0, up_to: int | None = None
) -> Iterator[LogEntry]:
    """The text's log entries after id `after` (up to `up_to` inclusive), in order."""
    with store._session(write=False) as session:
        _require_text(store, session, text_id)
    last = after
    while True:
        query = (
            select(UpdateRow.id, UpdateRow.data, UpdateRow.origin, UpdateRow.created)
            .where(UpdateRow.text_id == text_id, UpdateRow.id > last)
            .order_by(UpdateRow.id)
            .limit(LOG_CHUNK)
        )
        if up_to is not None:
            query = query.where(UpdateRow.id <= up_to)
        with store.engine.connect() as conn:  # Core rows: a fifth of the ORM's cost here
            rows = conn.execute(query).all()
        yield from (LogEntry(*row) for row in rows)
        if len(rows) < LOG_CHUNK:
            return
        last = rows[-1][0]


def last_update_id(store: Store, text_id: str) -> int:
    with store._session(write=False) as session:
        _require_text(store, session, text_id)
        query = select(func.max(UpdateRow.id)).where(UpdateRow.text_id == text_id)
        return session.scalar(query) or 0


def update_id_at(store: Store, text_id: str, when: datetime) -> int:
    """The last log entry written at or before `when` (0: none yet)."""
    with store._session(write=False) as session:
        _require_text(store, session, text_id)
        query = select(func.max(UpdateRow.id)).where(
            UpdateRow.text_id == text_id, UpdateRow.created <= when
        )
        return session.scalar(query) or 0


def load_until(store: Store, text_id: str, up_to: int) -> bytes:
    """The whole document as of log entry `up_to`: the nearest snapshot or revision at or
    before it, plus the log entries after that one up to `up_to`."""
    with store._session(write=False) as session, session.begin():
        _require_text(store, session, text_id)
        bases = [
            session.execute(
                select(table.up_to_update_id, table.state if table is RevisionRow else table.data)
                .where(table.text_id == text_id, table.up_to_update_id <= up_to)
                .order_by(table.up_to_update_id.desc())
                .limit(1)
            ).first()
            for table in (SnapshotRow, RevisionRow)
        ]
        found = [b for b in bases if b is not None]
        doc = Doc()
        start = 0
        if found:
            start, state = max(found, key=lambda b: b[0])
            doc.apply_update(state)
        log = session.execute(
            select(UpdateRow.data)
            .where(UpdateRow.text_id == text_id, UpdateRow.id > start, UpdateRow.id <= up_to)
            .order_by(UpdateRow.id)
        )
        for (data,) in log:
            doc.apply_update(data)
        return doc.get_update()


def text_at(store: Store, text_id: str, *, up_to: int | None = None) -> NegotiationText:
    """The text as of a log entry (by default: as it stands)."""
    if up_to is None:
        return NegotiationText.from_update(store.load(text_id))
    return NegotiationText.from_update(load_until(store, text_id, up_to))


def append_updates(store: Store, text_id: str, updates: Sequence[bytes], origin: str) -> list[int]:
    """Append updates made by the drafting operations (a restore, a redraft) in one
    transaction; empty updates are skipped. Their log ids, in order."""
    kept = [u for u in updates if u != EMPTY_UPDATE]
    for update in kept:
        check_update(update)
    if not kept:
        return []
    return store.append_many([(text_id, update, origin) for update in kept])


# -- revisions --------------------------------------------------------------------------------


def cut_revision(
    store: Store, text_id: str, *, label: str | None = None, author: str = "", via: str = "cli"
) -> Revision:
    """Cut the next revision of a text as it stands in the store: its label goes into the
    document (`meta.revision`, a logged update), then the revision is recorded. Not for a
    text open in a running server: there, cut it through the server (`web.history`)."""
    number = _next_number(store, text_id)
    label = (label or default_label(number)).strip()
    _require_free_label(store, text_id, label)
    text = NegotiationText.from_update(store.load(text_id))
    update = label_update(text, label)
    origin = make_origin(via, person=author, action="revise")
    if update != EMPTY_UPDATE:
        up_to = store.append_update(text_id, update, origin)
    else:
        up_to = last_update_id(store, text_id)
    return record_revision(store, text_id, up_to=up_to, label=label, author=author)


def record_revision(
    store: Store, text_id: str, *, up_to: int, label: str | None = None, author: str = ""
) -> Revision:
    """Record the text as of log entry `up_to` as its next revision."""
    previous = _latest_revision(store, text_id)
    number = previous.number + 1 if previous else 1
    label = (label or default_label(number)).strip()
    _require_free_label(store, text_id, label)
    if previous is not None and up_to < previous.up_to_update_id:
        raise RevisionError(
            f"revision {number} would end at log entry {up_to}, before revision "
            f"{previous.number} ({previous.up_to_update_id})"
        )
    stamp = utcnow()
    created = stamp.replace(microsecond=stamp.microsecond // 1000 * 1000)  # as times are shown
    revision = make_revision(
        load_until(store, text_id, up_to),
        number=number,
        label=label,
        author=author,
        created=created,
        up_to_update_id=up_to,
        previous=previous,
    )
    try:
        with store._session(write=True) as session, session.begin():
            session.add(
                RevisionRow(
                    text_id=text_id,
                    number=revision.number,
                    label=revision.label,
                    author=revision.author,
                    created=revision.created,
                    up_to_update_id=revision.up_to_update_id,
                    state=revision.state,
                    statistics=json.dumps(revision.statistics, sort_keys=True),
                    content_hash=revision.content_hash,
                    previous_hash=revision.previous_hash,
                    hash=revision.hash,
                )
            )
    except IntegrityError:
        raise RevisionError(
            f"another revision {number} or another revision labelled {label!r} was recorded "
            "at the same moment; list the revisions and try again"
        ) from None
    return revision


def list_revisions(store: Store, text_id: str, *, with_state: bool = False) -> list[Revision]:
    """Every revision of a text, oldest first (`with_state`: with the documents)."""
    with store._session(write=False) as session:
        _require_text(store, session, text_id)
        columns = [c for c in RevisionRow.__table__.columns if with_state or c.name != "state"]
        rows = session.execute(
            select(*columns).where(RevisionRow.text_id == text_id).order_by(RevisionRow.number)
        ).all()
        return [_revision(row._mapping) for row in rows]


def get_revision(store: Store, text_id: str, ref: str | int) -> Revision:
    """One revision, with its document, by label or number."""
    found = find_revision(list_revisions(store, text_id), ref)
    with store._session(write=False) as session:
        state = session.scalar(
            select(RevisionRow.state).where(
                RevisionRow.text_id == text_id, RevisionRow.number == found.number
            )
        )
    return _with_state(found, state or b"")


def open_state(store: Store, text_id: str, ref: str) -> tuple[str, NegotiationText]:
    """A revision (by label or number), "now", or a point in time (ISO 8601, UTC unless
    it says otherwise: the text as of the last change made by then): its name and a
    detached copy of the text then."""
    if ref.strip().lower() == NOW:
        return NOW, text_at(store, text_id)
    try:
        revision = get_revision(store, text_id, ref)
    except RevisionError:
        when = as_time(ref)
        if when is None:
            raise
        up_to = update_id_at(store, text_id, when)
        if not up_to:
            raise RevisionError(f"the text did not exist yet at {when.isoformat()}") from None
        return when.isoformat(), text_at(store, text_id, up_to=up_to)
    return revision.label, revision.open()


def as_time(ref: str) -> datetime | None:
    """`ref` as an ISO 8601 time, if it is one (a date alone is its midnight, UTC)."""
    text = ref.strip()
    if len(text) < 10 or not text[:4].isdigit() or text[4] != "-":
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def verify_revisions(store: Store, text_id: str) -> list[Problem]:
    """Problems with the stored revisions of a text: [] when the chain is intact."""
    return verify_chain(list_revisions(store, text_id, with_state=True))


def _latest_revision(store: Store, text_id: str) -> Revision | None:
    revisions = list_revisions(store, text_id)
    return revisions[-1] if revisions else None


def _next_number(store: Store, text_id: str) -> int:
    latest = _latest_revision(store, text_id)
    return latest.number + 1 if latest else 1


def _require_free_label(store: Store, text_id: str, label: str) -> None:
    if not label:
        raise RevisionError("a revision needs a label, such as 'Rev.2' or \"Chair's text\"")
    for revision in list_revisions(store, text_id):
        if revision.label == label:
            raise RevisionError(
                f"revision {revision.number} is already labelled {label!r}; choose another label"
            )


def _revision(row: Any) -> Revision:
    return Revision(
        number=row["number"],
        label=row["label"],
        author=row["author"],
        created=row["created"],
        up_to_update_id=row["up_to_update_id"],
        statistics=json.loads(row["statistics"]),
        content_hash=row["content_hash"],
        previous_hash=row["previous_hash"],
        hash=row["hash"],
        state=row.get("state") or b"",
    )


def _with_state(revision: Revision, state: bytes) -> Revision:
    fields = {name: getattr(revision, name) for name in Revision.__dataclass_fields__}
    return Revision(**{**fields, "state": state})


# -- history ------------------------------------------------------------------------------------


@dataclass
class _Kept:
    indexer: HistoryIndexer
    up_to: int  # the cursor it wrote: while the stored cursor is this one, it can go on
    updated: datetime


class KeptIndexers:
    """The indexers of the texts indexed lately, kept in memory between two indexings.

    Starting an indexer decodes the cursor's document twice (a large text: a tenth of a
    second), and its stored entries are read again as the new keystrokes reach them. A
    kept indexer goes on from where it stopped, as long as the stored cursor is still the
    one it wrote: any other indexing (a reader, another process, a rebuild) moves the
    cursor, and the next one starts afresh from the database."""

    def __init__(self, size: int = 16) -> None:
        self.size = size  # texts: each holds two copies of its document
        self._kept: OrderedDict[str, _Kept] = OrderedDict()

    def __contains__(self, text_id: str) -> bool:
        return text_id in self._kept

    def take(self, text_id: str, cursor: HistoryCursorRow | None) -> HistoryIndexer | None:
        kept = self._kept.pop(text_id, None)
        if kept is None or cursor is None:
            return None
        if (kept.up_to, kept.updated) != (cursor.up_to_update_id, cursor.updated):
            return None
        return kept.indexer

    def keep(self, text_id: str, indexer: HistoryIndexer, up_to: int, updated: datetime) -> None:
        self._kept[text_id] = _Kept(indexer, up_to, updated)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)

    def forget(self, text_id: str) -> None:
        self._kept.pop(text_id, None)


def refresh_history(
    store: Store, text_id: str, *, limit: int | None = None, kept: KeptIndexers | None = None
) -> int:
    """Index the log entries the history has not seen yet (at most about `limit` of them:
    the rest another time); how many entries changed. With `kept`, the text's indexer is
    taken from there if it can go on, and left there afterwards.

    Computed outside any write transaction, then written only if nobody else indexed the
    same entries meanwhile (if someone did, their result is the same and is kept). The
    entries are rebuilt from the whole log when the rules changed (`INDEX_VERSION`), when
    the cursor is gone (whatever entries are left are replaced), and when the entries are
    gone but the cursor is not."""
    return _index_log(store, text_id, limit, kept)[0]


def _index_log(
    store: Store, text_id: str, limit: int | None, kept: KeptIndexers | None
) -> tuple[int, int]:
    """`refresh_history`: how many entries changed, and how many log entries were read."""
    cursor = _cursor(store, text_id)
    if cursor is not None and (cursor.version != INDEX_VERSION or not _has_entries(store, text_id)):
        _drop_history(store, text_id)
        cursor = None
    start = cursor.up_to_update_id if cursor else 0
    indexer = kept.take(text_id, cursor) if kept is not None else None
    changed: dict[int, HistoryEntry] = {}
    last = start
    read = 0
    for chunk in _chunks(read_log(store, text_id, after=start), LOG_CHUNK, limit):
        if indexer is None:  # only now: nothing to index costs no decoding
            indexer = _new_indexer(store, text_id, cursor)
        changed.update((id(e), e) for e in indexer.feed(chunk))
        last = chunk[-1].id
        read += len(chunk)
    if indexer is None or last == start:  # nothing new
        if indexer is not None and kept is not None and cursor is not None:
            kept.keep(text_id, indexer, start, cursor.updated)
        return 0, 0
    written = _write_history(store, text_id, start, last, indexer.state(), list(changed.values()))
    if written is None:
        return 0, read  # the stored history moved under this indexer: it is not kept
    if kept is not None:
        kept.keep(text_id, indexer, last, written)
    return len(changed), read


def _chunks(log: Iterator[LogEntry], size: int, limit: int | None) -> Iterator[list[LogEntry]]:
    """The log in chunks of `size` entries, of `limit` (and the rest of a chunk) at most."""
    size = min(size, limit or size)
    read = 0
    chunk: list[LogEntry] = []
    for entry in log:
        chunk.append(entry)
        if len(chunk) == size:
            yield chunk
            chunk = []
            read += size
            if limit is not None and read >= limit:
                return
    if chunk:
        yield chunk


def _new_indexer(store: Store, text_id: str, cursor: HistoryCursorRow | None) -> HistoryIndexer:
    """An indexer going on from the stored cursor (from nothing, without one)."""
    tails: dict[str, HistoryEntry] | None = {} if cursor is None else None

    def tail_of(clause: str) -> HistoryEntry | None:
        nonlocal tails
        if tails is None:  # the latest entry of every clause, in one query, when needed
            tails = _latest_entries(store, text_id)
        return tails.get(clause)

    def entry_of(clause: str, first_update: int) -> HistoryEntry | None:
        return _entry_starting(store, text_id, clause, first_update)

    return HistoryIndexer(cursor.state if cursor else b"", tail_of=tail_of, entry_of=entry_of)


def keep_indexed(store: Store, text_id: str) -> int:
    """After a write: index what the log gained, if the text's history is indexed at all
    (a text nobody indexed yet is left to the background indexing or its first reader)."""
    cursor = _cursor(store, text_id)
    if cursor is None or cursor.version != INDEX_VERSION:
        return 0
    return refresh_history(store, text_id)


def refresh_needed(store: Store, text_id: str) -> bool:
    """Whether the text's log has entries its history has not indexed yet."""
    cursor = _cursor(store, text_id)
    if cursor is None or cursor.version != INDEX_VERSION:
        return True
    return last_update_id(store, text_id) > cursor.up_to_update_id


def clause_history(
    store: Store,
    text_id: str,
    clause_id: str,
    *,
    subtree: bool = False,
    party: str | None = None,
    person: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[HistoryEntry]:
    """The history of a clause (with `subtree`: of the clauses under it as well), oldest
    first, filtered by Party, person (origin), kind of entry and time span."""
    refresh_history(store, text_id)
    clauses = {clause_id}
    if subtree:
        clauses = _subtree(store, text_id, clause_id)
    with store._session(write=False) as session:
        rows = session.scalars(
            select(HistoryEntryRow)
            .where(HistoryEntryRow.text_id == text_id, HistoryEntryRow.clause_id.in_(clauses))
            .order_by(HistoryEntryRow.first_update_id, HistoryEntryRow.id)
        ).all()
        entries = [_entry(row) for row in rows]
    if not entries and not _clause_exists(store, text_id, clause_id):
        raise KeyError(f"no clause {clause_id!r} in text {text_id!r}")
    mark_outcomes(entries)
    return filter_entries(entries, party=party, person=person, kind=kind, since=since, until=until)


def _subtree(store: Store, text_id: str, clause_id: str) -> set[str]:
    from drafting.outline import Outline

    text = NegotiationText.from_update(_cursor_state(store, text_id))
    if not text.has_clause(clause_id):
        raise KeyError(f"no clause {clause_id!r} in text {text_id!r}")
    return {clause_id, *(p.clause.id for p in Outline(text).walk(clause_id))}


def _clause_exists(store: Store, text_id: str, clause_id: str) -> bool:
    return NegotiationText.from_update(_cursor_state(store, text_id)).has_clause(clause_id)


def _cursor_state(store: Store, text_id: str) -> bytes:
    cursor = _cursor(store, text_id)
    return cursor.state if cursor is not None else b"\x00\x00"


def _cursor(store: Store, text_id: str) -> HistoryCursorRow | None:
    with store._session(write=False) as session:
        _require_text(store, session, text_id)
        return session.get(HistoryCursorRow, text_id)


def _has_entries(store: Store, text_id: str) -> bool:
    with store._session(write=False) as session:
        query = select(HistoryEntryRow.id).where(HistoryEntryRow.text_id == text_id).limit(1)
        return session.scalar(query) is not None


def _latest_entries(store: Store, text_id: str) -> dict[str, HistoryEntry]:
    latest = (
        select(func.max(HistoryEntryRow.id))
        .where(HistoryEntryRow.text_id == text_id)
        .group_by(HistoryEntryRow.clause_id)
    )
    with store._session(write=False) as session:
        rows = session.scalars(select(HistoryEntryRow).where(HistoryEntryRow.id.in_(latest)))
        return {row.clause_id: _entry(row) for row in rows}


def _entry_starting(
    store: Store, text_id: str, clause: str, first_update: int
) -> HistoryEntry | None:
    """The stored entry of a clause that starts at a log entry (one of the bursts of a
    co-editing episode still going on)."""
    with store._session(write=False) as session:
        row = session.scalars(
            select(HistoryEntryRow)
            .where(
                HistoryEntryRow.text_id == text_id,
                HistoryEntryRow.clause_id == clause,
                HistoryEntryRow.first_update_id == first_update,
            )
            .order_by(HistoryEntryRow.id.desc())
            .limit(1)
        ).first()
        return _entry(row) if row is not None else None


def _write_history(
    store: Store, text_id: str, start: int, last: int, state: bytes, entries: list[HistoryEntry]
) -> datetime | None:
    """Write the entries and move the cursor from `start` to `last`; the time written in
    the cursor, or None if nothing was written: the cursor is no longer at `start` (indexed
    meanwhile by someone else), or entries to update are gone (deleted behind the indexer's
    back: the next indexing starts afresh from what is stored)."""
    now = utcnow()
    with store._session(write=True) as session, session.begin():
        cursor = session.get(HistoryCursorRow, text_id)
        if (cursor.up_to_update_id if cursor else 0) != start:
            return None
        if cursor is None:  # from the start: entries left without a cursor are replaced
            session.execute(delete(HistoryEntryRow).where(HistoryEntryRow.text_id == text_id))
        new = [e for e in entries if e.key is None]
        old = [e for e in entries if e.key is not None]
        if old and not _all_stored(session, [e.key for e in old if e.key is not None]):
            return None
        if old:
            session.execute(
                update_rows(HistoryEntryRow),
                [{"id": e.key, **_row_fields(text_id, e)} for e in old],
            )
        if new:
            statement = insert(HistoryEntryRow).returning(
                HistoryEntryRow.id, sort_by_parameter_order=True
            )
            keys = session.scalars(statement, [_row_fields(text_id, e) for e in new]).all()
            for entry, key in zip(new, keys, strict=True):
                entry.key = key
        if cursor is None:
            session.add(
                HistoryCursorRow(
                    text_id=text_id,
                    up_to_update_id=last,
                    state=state,
                    version=INDEX_VERSION,
                    updated=now,
                )
            )
        else:
            cursor.up_to_update_id = last
            cursor.state = state
            cursor.version = INDEX_VERSION
            cursor.updated = now
    return now


def _all_stored(session: Session, keys: list[int]) -> bool:
    query = select(func.count()).where(HistoryEntryRow.id.in_(keys))
    return session.scalar(query) == len(set(keys))


def _drop_history(store: Store, text_id: str) -> None:
    with store._session(write=True) as session, session.begin():
        session.execute(delete(HistoryEntryRow).where(HistoryEntryRow.text_id == text_id))
        session.execute(delete(HistoryCursorRow).where(HistoryCursorRow.text_id == text_id))


def _row_fields(text_id: str, entry: HistoryEntry) -> dict[str, Any]:
    return {
        "text_id": text_id,
        "clause_id": entry.clause,
        "kind": entry.kind,
        "kinds": ",".join(entry.kinds),
        "origin": entry.origin[:200],
        "person": entry.person[:200],
        "party": entry.party[:100],
        "started": entry.started,
        "ended": entry.ended,
        "first_update_id": entry.first_update,
        "last_update_id": entry.last_update,
        "changes": entry.changes,
        "words_before": entry.words_before,
        "words_after": entry.words_after,
        "detail": json.dumps(entry.detail, ensure_ascii=False, sort_keys=True),
    }


def _entry(row: HistoryEntryRow) -> HistoryEntry:
    return HistoryEntry(
        clause=row.clause_id,
        kind=row.kind,
        kinds=row.kinds.split(",") if row.kinds else [],
        origin=row.origin,
        person=row.person,
        party=row.party,
        started=row.started,
        ended=row.ended,
        first_update=row.first_update_id,
        last_update=row.last_update_id,
        changes=row.changes,
        words_before=row.words_before,
        words_after=row.words_after,
        detail=json.loads(row.detail),
        key=row.id,
    )


def _require_text(store: Store, session: Session, text_id: str) -> None:
    """A negotiation text: scoped documents (trial balloons, delegations' workspaces) have
    no history here — their words must not outlive a purge in a cache."""
    row = store._text_row(session, text_id)
    if row.parent_id is not None:
        raise UnknownText(text_id)


# -- indexing in the background ------------------------------------------------------------------


class Background:
    """Work that runs (`run`) for as long as an app does: `start`, then `await stop()`."""

    _task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class HistoryIndexing(Background):
    """Keeps every text's history cache up to date as its log grows, so that reading a
    clause's history finds it indexed (`refresh_history` then has nothing or little left
    to do). `run_once` indexes what the logs gained; `run` does so every `poll_seconds`
    in a worker thread until cancelled (`start` / `stop` for an app's lifespan).

    Safe with any number of processes and readers: each text's indexing is computed
    outside any write transaction and written only if nobody indexed the same log entries
    meanwhile. What it writes is a cache: losing it (a crash, entries deleted) costs only
    the next reading's time, which rebuilds from the log."""

    def __init__(
        self, store: Store, *, poll_seconds: float = 1.0, slice_entries: int = SLICE_ENTRIES
    ) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        # A server's process shares its interpreter with the rooms: a long log (a text
        # never indexed, or after new rules) is indexed a slice at a time, not in one go.
        self.slice_entries = slice_entries
        self._since: datetime | None = None  # texts changed since then are looked at
        self.kept = KeptIndexers()
        self._behind: set[str] = set()  # texts left with entries to index after a slice

    def lagging(self) -> list[str]:
        """The texts whose log has entries their history has not indexed yet: every text
        the first time, then those written since the previous look (with a margin for
        other machines' clocks)."""
        now = utcnow()
        with self.store._session(write=False) as session:
            query = (
                select(TextRow.id, HistoryCursorRow.up_to_update_id)
                .outerjoin(HistoryCursorRow, HistoryCursorRow.text_id == TextRow.id)
                .where(TextRow.parent_id.is_(None))
                .order_by(TextRow.updated)
            )
            if self._since is not None:
                query = query.where(TextRow.updated >= self._since - CLOCK_MARGIN)
            candidates = session.execute(query).all()
            if self._behind:
                known = {text_id for text_id, _ in candidates}
                candidates += session.execute(
                    select(TextRow.id, HistoryCursorRow.up_to_update_id)
                    .outerjoin(HistoryCursorRow, HistoryCursorRow.text_id == TextRow.id)
                    .where(TextRow.id.in_(self._behind - known))
                ).all()
            found = []
            for text_id, indexed in candidates:
                head = session.scalar(
                    select(func.max(UpdateRow.id)).where(UpdateRow.text_id == text_id)
                )
                if (head or 0) > (indexed or 0):
                    found.append(text_id)
        self._since = now
        return found

    def run_once(self) -> int:
        """Index (a slice of) what every text's log gained; how many texts were behind.
        `behind` tells whether some are still behind after a whole slice: a long log goes
        on soon, while what people typed during this run waits for the next period (going
        on at once would index a busy text all the time, a few keystrokes at a time)."""
        lagging = self.lagging()
        self._behind.clear()
        for text_id in lagging:
            try:
                _, read = _index_log(self.store, text_id, self.slice_entries, self.kept)
                if read >= self.slice_entries and refresh_needed(self.store, text_id):
                    self._behind.add(text_id)
            except UnknownText:
                self.kept.forget(text_id)
                continue  # deleted meanwhile
            except Exception:
                log.exception("could not index the history of %s", text_id)
                self._since = None  # look at everything again next time
        return len(lagging)

    @property
    def behind(self) -> bool:
        return bool(self._behind)

    @property
    def pause(self) -> float:
        """Until the next run: between two slices of a long log, a short breath for the
        rooms; otherwise a period."""
        return SLICE_PAUSE if self.behind else self.poll_seconds

    def run_safely(self) -> None:
        try:
            self.run_once()
        except Exception:
            log.exception("history indexing failed")
            self._since = None

    async def run(self) -> None:
        # Not at once: a server that has just started serves the clients reconnecting to
        # it first (they all come back together after a restart), then indexes.
        await asyncio.sleep(self.poll_seconds)
        while True:
            await asyncio.to_thread(self.run_safely)
            await asyncio.sleep(self.pause)

    def run_until(self, stopped: threading.Event) -> None:
        """`run` without an event loop, in a process of its own (crdt_sync.indexer)."""
        stopped.wait(self.poll_seconds)
        while not stopped.is_set():
            self.run_safely()
            stopped.wait(self.pause)


# -- writing through the drafting operations --------------------------------------------------


def restore(
    store: Store,
    text_id: str,
    clause_id: str,
    *,
    to: str,
    person: str = "",
    party: str = "",
    via: str = "cli",
) -> list[int]:
    """Give a clause back its wording of revision `to`, as a new change attributed to
    `person` (and `party`); the log ids of the change. History is not rewritten."""
    if to.strip().lower() == NOW:
        raise RevisionError("restore to a revision (a label or a number), not to 'now'")
    revision = get_revision(store, text_id, to)
    text = text_at(store, text_id)
    updates = restore_clause(text, clause_id, revision.open())
    origin = make_origin(via, person=person, party=party, action="restore", rev=revision.label)
    return append_updates(store, text_id, updates, origin)


@dataclass
class DraftLoaded:
    """What `load_draft` did: the redraft, the revision it became, and the revision cut
    first of the text as it stood when it had none yet."""

    report: RedraftReport
    revision: Revision
    base: Revision | None


def load_draft(
    store: Store,
    text_id: str,
    source: str,
    *,
    label: str | None = None,
    base_label: str | None = None,
    author: str = "",
    via: str = "cli",
    file: str = "",
) -> DraftLoaded:
    """Load a later draft (UNFCCC Markdown) into a stored text as its next revision:
    matched clause by clause, applied as attributed edits, then cut as a revision. A text
    with no revision yet gets one first, of itself as it stood, so the two can be compared.
    Raises `SourceError` for a source that is not a text (nothing is written then)."""
    draft = import_markdown(source).text
    existing = list_revisions(store, text_id)
    taken = {r.label for r in existing}
    next_number = (existing[-1].number if existing else 0) + 1
    base = None
    if not existing:
        base_label = (base_label or default_label(next_number)).strip()
        _check_free(base_label, taken)
        taken.add(base_label)
        next_number += 1
    label = (label or default_label(next_number)).strip()
    _check_free(label, taken)
    if not existing:
        base = cut_revision(store, text_id, label=base_label, author=author, via=via)
    text = text_at(store, text_id)
    report = redraft(text, draft)
    origin = make_origin(via, person=author, action="redraft", rev=label, file=file)
    append_updates(store, text_id, report.updates, origin)
    revision = cut_revision(store, text_id, label=label, author=author, via=via)
    return DraftLoaded(report, revision, base)


def _check_free(label: str, taken: set[str]) -> None:
    if not label:
        raise RevisionError("a revision needs a label, such as 'Rev.2' or \"Chair's text\"")
    if label in taken:
        raise RevisionError(f"a revision is already labelled {label!r}; choose another label")
