"""Revisions and clause history kept beside the update log, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text as sql
from sqlalchemy.exc import DBAPIError

from crdt_sync import history_store
from crdt_sync.history_store import (
    HistoryIndexing,
    append_updates,
    clause_history,
    cut_revision,
    get_revision,
    keep_indexed,
    last_update_id,
    list_revisions,
    load_draft,
    load_until,
    open_state,
    read_log,
    record_revision,
    refresh_history,
    refresh_needed,
    restore,
    text_at,
    update_id_at,
    verify_revisions,
)
from crdt_sync.store import Store, UnknownText
from drafting.brackets import bracket_span
from drafting.clauses import add_clause, insert_words, set_status, words_of
from drafting.diffs import diff_texts, find_clause
from drafting.history import HistoryIndexer, make_origin, recording
from drafting.importing import import_markdown
from drafting.parties import register_party
from drafting.proposals import propose_insertion, withdraw
from drafting.revisions import RevisionError
from drafting.schema import NegotiationText
from drafting.views import bracketed_text
from drafting.vocabulary import ClauseKind


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    with Store(db_url) as opened:
        yield opened


class Drafting:
    """A stored text and a replica of it whose every operation is appended to the log,
    as a client's edits reach the store through the sync server."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.text = NegotiationText()
        register_party(self.text, "EU", "European Union")
        register_party(self.text, "AOSIS", "Alliance of Small Island States")
        self.article = add_clause(self.text, ClauseKind.ARTICLE, "(purpose)", base=True)
        self.paragraph = add_clause(
            self.text, "paragraph", "Parties shall act.", parent=self.article, base=True
        )
        self.id = store.create_text(
            self.text.to_update(), title="Accord", kind="treaty", origin="import"
        )

    def do(self, origin: str, operation: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with recording(self.text) as updates:
            result = operation(self.text, *args, **kwargs)
        append_updates(self.store, self.id, updates, origin)
        return result


@pytest.fixture
def drafting(store: Store) -> Drafting:
    return Drafting(store)


# -- revisions --------------------------------------------------------------------------------


def test_revisions_are_numbered_labelled_and_chained(store: Store, drafting: Drafting) -> None:
    first = cut_revision(store, drafting.id, author="Chair")
    drafting.do("connection:1", insert_words, drafting.paragraph, 0, "All ")
    second = cut_revision(store, drafting.id, label="Chair's text 4 Dec", author="Chair")

    assert [(r.number, r.label) for r in list_revisions(store, drafting.id)] == [
        (1, "Rev.1"),
        (2, "Chair's text 4 Dec"),
    ]
    assert second.previous_hash == first.hash
    assert first.statistics["articles"] == 1 and first.author == "Chair"
    assert verify_revisions(store, drafting.id) == []


def test_cutting_a_revision_writes_its_label_into_the_text_as_a_logged_change(
    store: Store, drafting: Drafting
) -> None:
    revision = cut_revision(store, drafting.id, label="Rev.1", author="Chair")
    *_, last = read_log(store, drafting.id)
    assert last.id == revision.up_to_update_id == last_update_id(store, drafting.id)
    assert last.origin == make_origin("cli", person="Chair", action="revise")
    assert text_at(store, drafting.id).get_meta("revision") == "Rev.1"
    assert revision.open().get_meta("revision") == "Rev.1"


def test_a_revision_opens_as_the_text_stood_whatever_came_later(
    store: Store, drafting: Drafting
) -> None:
    cut_revision(store, drafting.id)
    drafting.do("connection:1", insert_words, drafting.paragraph, 0, "All ")

    opened = get_revision(store, drafting.id, "Rev.1").open()
    assert words_of(opened, drafting.paragraph) == "Parties shall act."
    name, now = open_state(store, drafting.id, "now")
    assert (name, words_of(now, drafting.paragraph)) == ("now", "All Parties shall act.")


def test_a_label_is_used_once_and_a_refused_revision_writes_nothing(
    store: Store, drafting: Drafting
) -> None:
    cut_revision(store, drafting.id, label="Rev.1")
    count = store.update_count(drafting.id)
    with pytest.raises(RevisionError, match=r"already labelled 'Rev\.1'"):
        cut_revision(store, drafting.id, label="Rev.1")
    assert store.update_count(drafting.id) == count
    assert len(list_revisions(store, drafting.id)) == 1


def test_a_revision_cannot_end_before_the_previous_one(store: Store, drafting: Drafting) -> None:
    cut_revision(store, drafting.id)
    with pytest.raises(RevisionError, match="before revision 1"):
        record_revision(store, drafting.id, up_to=1)


def test_the_database_refuses_to_change_a_revision(store: Store, drafting: Drafting) -> None:
    cut_revision(store, drafting.id)
    with pytest.raises(DBAPIError, match="revisions are immutable"), store.engine.begin() as conn:
        conn.execute(sql("UPDATE revisions SET label = 'Rev.1 bis'"))
    assert list_revisions(store, drafting.id)[0].label == "Rev.1"


@pytest.mark.parametrize(
    ("column", "value", "number", "finding"),
    [
        ("statistics", '{"brackets": 0}', 2, "the record does not match its hash"),
        ("label", "'Rev.2 (final)'", 2, "the record does not match its hash"),
        ("state", "(SELECT state FROM revisions WHERE number = 1)", 2, "content hash"),
        ("previous_hash", "'" + "0" * 64 + "'", 2, "chain is broken"),
    ],
)
def test_a_revision_altered_behind_the_database_s_back_is_detected(
    store: Store, drafting: Drafting, column: str, value: str, number: int, finding: str
) -> None:
    for _ in range(3):
        drafting.do("connection:1", insert_words, drafting.paragraph, 0, "x")
        cut_revision(store, drafting.id)
    # Whoever owns the database can drop the trigger; the hash chain still tells.
    drop = (
        "DROP TRIGGER revisions_immutable ON revisions"
        if store.engine.dialect.name == "postgresql"
        else "DROP TRIGGER revisions_immutable"
    )
    with store.engine.begin() as conn:
        conn.execute(sql(drop))
        if column == "statistics":
            value = f"'{value}'"
        conn.execute(sql(f"UPDATE revisions SET {column} = {value} WHERE number = 2"))

    problems = verify_revisions(store, drafting.id)
    assert {p.number for p in problems} == {number}
    assert any(finding in p.what for p in problems)


def test_a_deleted_revision_in_the_middle_is_detected(store: Store, drafting: Drafting) -> None:
    for _ in range(3):
        cut_revision(store, drafting.id, label=None)
        drafting.do("connection:1", insert_words, drafting.paragraph, 0, "x")
    with store.engine.begin() as conn:
        conn.execute(sql("DELETE FROM revisions WHERE number = 2"))
    assert [p.number for p in verify_revisions(store, drafting.id)] == [3, 3]


def test_an_unknown_text_has_no_revisions(store: Store) -> None:
    with pytest.raises(UnknownText):
        list_revisions(store, "nosuchtext")


# -- the log at any point -------------------------------------------------------------------


def test_the_text_as_of_any_log_entry(store: Store, drafting: Drafting) -> None:
    drafting.do("connection:1", insert_words, drafting.paragraph, 0, "All ")
    middle = last_update_id(store, drafting.id)
    cut_revision(store, drafting.id)  # a revision is also a place to start from
    store.compact(drafting.id)  # and so is a snapshot
    drafting.do("connection:1", insert_words, drafting.paragraph, 0, "Now ")

    assert words_of(text_at(store, drafting.id, up_to=1), drafting.paragraph) == (
        "Parties shall act."
    )
    then = NegotiationText.from_update(load_until(store, drafting.id, middle))
    assert words_of(then, drafting.paragraph) == "All Parties shall act."
    assert words_of(text_at(store, drafting.id), drafting.paragraph) == "Now All Parties shall act."


def test_the_log_entry_at_a_time(store: Store, drafting: Drafting) -> None:
    [first] = read_log(store, drafting.id)
    time.sleep(0.01)
    drafting.do("connection:1", insert_words, drafting.paragraph, 0, "All ")
    assert update_id_at(store, drafting.id, first.created) == first.id
    assert update_id_at(store, drafting.id, first.created - timedelta(seconds=1)) == 0


# -- history ------------------------------------------------------------------------------------


def test_a_clause_history_is_attributed_grouped_and_filtered(
    store: Store, drafting: Drafting
) -> None:
    for i, letter in enumerate(" now"):  # four keystrokes: one entry
        drafting.do("connection:ana", insert_words, drafting.paragraph, 17 + i, letter)
    proposal = drafting.do(
        make_origin("connection:eu", person="Eva", party="EU"),
        propose_insertion,
        "EU",
        drafting.paragraph,
        0,
        "All ",
    )
    drafting.do(make_origin("connection:eu", person="Eva"), withdraw, proposal, "EU")
    drafting.do("chair", bracket_span, drafting.paragraph, 8, 13)

    entries = clause_history(store, drafting.id, drafting.paragraph)
    assert [(e.kind, e.person, e.changes) for e in entries] == [
        ("added", "import", 1),
        ("edited", "connection:ana", 4),
        ("proposal tabled", "Eva", 1),
        ("proposal withdrawn", "Eva", 1),
        ("bracketed", "chair", 1),
    ]
    assert entries[1].words_after == "Parties shall act now."
    assert entries[2].detail["proposals"][0]["outcome"] == "withdrawn"
    assert entries[4].words_after == "Parties [shall] act now."
    assert [e.kind for e in clause_history(store, drafting.id, drafting.paragraph, party="EU")] == [
        "proposal tabled",
        "proposal withdrawn",
    ]
    assert [
        e.kind for e in clause_history(store, drafting.id, drafting.paragraph, kind="edited")
    ] == ["edited", "proposal tabled", "proposal withdrawn", "bracketed"]
    assert clause_history(store, drafting.id, drafting.paragraph, person="Eva")[0].party == "EU"


def test_history_is_indexed_once_and_resumes_where_it_stopped(
    store: Store, drafting: Drafting
) -> None:
    drafting.do("connection:ana", insert_words, drafting.paragraph, 0, "A")
    assert refresh_history(store, drafting.id) == 3  # article, paragraph, the keystroke
    assert refresh_history(store, drafting.id) == 0
    drafting.do("connection:ana", insert_words, drafting.paragraph, 1, "ll ")
    drafting.do("chair", set_status, drafting.paragraph, "agreed ad ref")

    entries = clause_history(store, drafting.id, drafting.paragraph)
    # The burst continued across the two readings: still one entry, now of two changes.
    assert [(e.kind, e.changes) for e in entries] == [("added", 1), ("edited", 2), ("status", 1)]
    assert entries[1].words_after == "All Parties shall act."
    assert entries[2].detail["status"] == {"from": "pending", "to": "agreed ad ref"}


def test_two_people_typing_at_once_across_readings_and_after_the_cache_is_dropped(
    store: Store, drafting: Drafting
) -> None:
    paragraph = drafting.paragraph
    for i in range(4):  # their keystrokes alternate; the history is read in between
        drafting.do("connection:ana", insert_words, paragraph, i, "All "[i])
        end = len(words_of(drafting.text, paragraph)) - 1
        drafting.do("connection:ben", insert_words, paragraph, end, " now"[i])
        if i % 2:
            refresh_history(store, drafting.id)

    def seen() -> list[tuple[str, int, str, str]]:
        entries = clause_history(store, drafting.id, paragraph)
        return [(e.person, e.changes, e.words_before, e.words_after) for e in entries[1:]]

    expected = [
        ("connection:ana", 4, "Parties shall act.", "All Parties shall act."),
        ("connection:ben", 4, "All Parties shall act.", "All Parties shall act now."),
    ]
    assert seen() == expected
    # The entries are a cache: dropped, they are rebuilt from the log the same.
    with store.engine.begin() as conn:
        conn.execute(sql("DELETE FROM history_entries"))
        conn.execute(sql("DELETE FROM history_cursors"))
    assert seen() == expected
    # Entries of an episode in progress lost while its cursor stayed (a partial restore
    # of the cache): the next keystrokes start a new entry, nothing fails.
    with store.engine.begin() as conn:
        conn.execute(
            sql("DELETE FROM history_entries WHERE first_update_id = :first"),
            {
                "first": min(
                    e.first_update for e in clause_history(store, drafting.id, paragraph)[1:]
                )
            },
        )
    drafting.do("connection:ben", insert_words, paragraph, 0, "X")
    assert (
        clause_history(store, drafting.id, paragraph)[-1].words_after
        == "XAll Parties shall act now."
    )


def test_background_indexing_keeps_every_text_indexed(store: Store, drafting: Drafting) -> None:
    other = Drafting(store)
    balloons = store.scoped_document(drafting.id, "balloons:all")  # never indexed
    store.append_update(balloons, NegotiationText().to_update(), "server")
    indexing = HistoryIndexing(store)

    assert indexing.run_once() == 2  # both texts, the first time
    assert not refresh_needed(store, drafting.id) and not refresh_needed(store, other.id)
    assert indexing.run_once() == 0
    drafting.do("connection:ana", insert_words, drafting.paragraph, 0, "All ")
    assert indexing.run_once() == 1  # only the text written since
    assert refresh_history(store, drafting.id) == 0  # a reading has nothing left to do

    # A restart looks at every text; a lost cache is rebuilt from the log.
    with store.engine.begin() as conn:
        conn.execute(sql("DELETE FROM history_cursors"))
    assert HistoryIndexing(store).run_once() == 2
    entries = clause_history(store, drafting.id, drafting.paragraph)
    assert [e.kind for e in entries] == ["added", "edited"]
    with pytest.raises(UnknownText):  # a scoped document has no history to read
        refresh_history(store, balloons)
    with store.engine.begin() as conn:
        assert conn.execute(sql("SELECT count(*) FROM history_cursors")).scalar() == 2


def _count_indexers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many indexers the store starts (each decodes the cursor's document twice)."""
    started: list[int] = []
    real = history_store.HistoryIndexer

    def counted(*args: Any, **kwargs: Any) -> HistoryIndexer:
        started.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(history_store, "HistoryIndexer", counted)
    return started


def _type_together(drafting: Drafting, rounds: range) -> None:
    """Ana types at the start of the paragraph while Ben types at its end."""
    for i in rounds:
        drafting.do("connection:ana", insert_words, drafting.paragraph, i, "All "[i])
        end = len(words_of(drafting.text, drafting.paragraph)) - 1
        drafting.do("connection:ben", insert_words, drafting.paragraph, end, " now"[i])


def _rebuilt(store: Store, drafting: Drafting) -> list[tuple[str, str, int, str, str]]:
    """The paragraph's history as indexing the whole log afresh gives it."""
    with store.engine.begin() as conn:
        conn.execute(sql("DELETE FROM history_cursors"))
    entries = clause_history(store, drafting.id, drafting.paragraph)
    return [(e.kind, e.person, e.changes, e.words_before, e.words_after) for e in entries]


def test_background_indexing_goes_on_with_the_indexer_it_kept(
    store: Store, drafting: Drafting, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _count_indexers(monkeypatch)
    indexing = HistoryIndexing(store)
    for i in range(4):  # a co-editing episode across four indexings
        _type_together(drafting, range(i, i + 1))
        indexing.run_once()
    assert len(started) == 1 and drafting.id in indexing.kept
    drafting.do("chair", set_status, drafting.paragraph, "agreed ad ref")
    indexing.run_once()
    kept = clause_history(store, drafting.id, drafting.paragraph)
    assert len(started) == 1  # the reading found nothing left to index
    assert [(e.kind, e.person, e.changes, e.words_before, e.words_after) for e in kept] == (
        _rebuilt(store, drafting)
    )
    assert [e.kind for e in kept] == ["added", "edited", "edited", "status"]


def test_a_kept_indexer_is_not_used_after_someone_else_indexed(
    store: Store, drafting: Drafting, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = _count_indexers(monkeypatch)
    indexing = HistoryIndexing(store)
    _type_together(drafting, range(0, 2))
    indexing.run_once()
    _type_together(drafting, range(2, 3))
    clause_history(store, drafting.id, drafting.paragraph)  # a reader indexes meanwhile
    _type_together(drafting, range(3, 4))
    indexing.run_once()
    assert len(started) == 3  # the indexing, the reader, the indexing again from the cursor
    entries = clause_history(store, drafting.id, drafting.paragraph)
    assert [(e.kind, e.person, e.changes, e.words_before, e.words_after) for e in entries] == (
        _rebuilt(store, drafting)
    )
    assert entries[-1].words_after == "All Parties shall act now."


def test_entries_deleted_behind_a_kept_indexer_are_not_updated_blindly(
    store: Store, drafting: Drafting
) -> None:
    indexing = HistoryIndexing(store)
    _type_together(drafting, range(0, 4))
    indexing.run_once()
    first = min(e.first_update for e in clause_history(store, drafting.id, drafting.paragraph)[1:])
    with store.engine.begin() as conn:  # a partial restore of the cache
        conn.execute(sql("DELETE FROM history_entries WHERE first_update_id = :f"), {"f": first})
    drafting.do("connection:ben", insert_words, drafting.paragraph, 0, "X")
    indexing.run_once()  # its episode names an entry that is gone: nothing is written
    assert refresh_needed(store, drafting.id) and drafting.id not in indexing.kept
    indexing.run_once()  # afresh from what is stored, as a reader would
    assert not refresh_needed(store, drafting.id)
    entries = clause_history(store, drafting.id, drafting.paragraph)
    # Ana's burst is gone; Ben's goes on with his X, as a reader starting afresh sees it.
    assert [(e.person, e.changes, e.words_before, e.words_after) for e in entries[1:]] == [
        ("connection:ben", 5, "All Parties shall act.", "XAll Parties shall act now.")
    ]


def test_a_write_keeps_an_indexed_history_indexed(store: Store, drafting: Drafting) -> None:
    drafting.do("connection:ana", insert_words, drafting.paragraph, 0, "A")
    assert keep_indexed(store, drafting.id) == 0  # never indexed: left to its reader
    assert refresh_needed(store, drafting.id)
    clause_history(store, drafting.id, drafting.paragraph)
    drafting.do("connection:ana", insert_words, drafting.paragraph, 1, "ll ")
    assert keep_indexed(store, drafting.id) == 1 and not refresh_needed(store, drafting.id)


def test_a_long_log_is_indexed_a_slice_at_a_time(store: Store, drafting: Drafting) -> None:
    for i, letter in enumerate("All Parties, "):  # 13 keystrokes, then a status
        drafting.do("connection:ana", insert_words, drafting.paragraph, i, letter)
    drafting.do("chair", set_status, drafting.paragraph, "agreed ad ref")
    indexing = HistoryIndexing(store, slice_entries=4)
    runs = 0
    while True:
        runs += 1
        indexing.run_once()
        if not indexing.behind:
            break
    assert runs == 4 and not refresh_needed(store, drafting.id)  # 16 log entries, 4 a run
    entries = clause_history(store, drafting.id, drafting.paragraph)
    assert [(e.kind, e.changes) for e in entries] == [("added", 1), ("edited", 13), ("status", 1)]
    assert entries[1].words_after == "All Parties, Parties shall act."


def test_keystrokes_typed_during_an_indexing_wait_for_the_next_period(
    store: Store, drafting: Drafting, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A text people type in is indexed once a period, not over and over (a few of their
    keystrokes each time, each time writing its cursor beside the rooms' commits)."""
    write = history_store._write_history

    def typed_meanwhile(*args: Any) -> Any:
        drafting.do("connection:ana", insert_words, drafting.paragraph, 0, "A")
        return write(*args)

    monkeypatch.setattr(history_store, "_write_history", typed_meanwhile)
    indexing = HistoryIndexing(store, poll_seconds=5.0, slice_entries=4)
    indexing.run_once()
    assert refresh_needed(store, drafting.id)  # Ana's keystroke came after the reading
    assert not indexing.behind and indexing.pause == 5.0


def test_background_indexing_runs_until_stopped(store: Store, drafting: Drafting) -> None:
    async def run() -> None:
        indexing = HistoryIndexing(store, poll_seconds=0.01)
        indexing.start()
        try:
            for _ in range(500):
                if not refresh_needed(store, drafting.id):
                    break
                await asyncio.sleep(0.01)
        finally:
            await indexing.stop()

    asyncio.run(run())
    assert not refresh_needed(store, drafting.id)


def test_background_indexing_lets_a_just_started_server_serve_first(
    store: Store, drafting: Drafting
) -> None:
    """Clients come back all at once after a restart: the first pass waits a period."""

    async def run() -> tuple[bool, bool]:
        indexing = HistoryIndexing(store, poll_seconds=0.5)
        indexing.start()
        try:
            await asyncio.sleep(0.2)
            early = refresh_needed(store, drafting.id)
            for _ in range(300):
                if not refresh_needed(store, drafting.id):
                    break
                await asyncio.sleep(0.01)
            return early, refresh_needed(store, drafting.id)
        finally:
            await indexing.stop()

    assert asyncio.run(run()) == (True, False)


def test_lost_entries_are_rebuilt_from_the_log(store: Store, drafting: Drafting) -> None:
    drafting.do("connection:ana", insert_words, drafting.paragraph, 0, "All ")
    expected = [
        (e.kind, e.words_after) for e in clause_history(store, drafting.id, drafting.paragraph)
    ]
    for lost in ("history_entries", "history_cursors"):
        with store.engine.begin() as conn:
            conn.execute(sql(f"DELETE FROM {lost}"))
        again = clause_history(store, drafting.id, drafting.paragraph)
        assert [(e.kind, e.words_after) for e in again] == expected


def test_the_history_of_an_article_includes_its_paragraphs(
    store: Store, drafting: Drafting
) -> None:
    drafting.do("connection:ana", insert_words, drafting.paragraph, 0, "All ")
    entries = clause_history(store, drafting.id, drafting.article, subtree=True)
    assert {e.clause for e in entries} == {drafting.article, drafting.paragraph}
    with pytest.raises(KeyError, match="no clause 'nosuch'"):
        clause_history(store, drafting.id, "nosuch")


# -- writing: restore, a later draft ------------------------------------------------------------


def test_a_restore_is_a_new_attributed_change_and_rewrites_nothing(
    store: Store, drafting: Drafting
) -> None:
    cut_revision(store, drafting.id, label="Rev.1")
    drafting.do("connection:ana", insert_words, drafting.paragraph, 0, "All ")
    before = clause_history(store, drafting.id, drafting.paragraph)

    [log_id] = restore(
        store, drafting.id, drafting.paragraph, to="Rev.1", person="Chair", party="EU"
    )

    assert words_of(text_at(store, drafting.id), drafting.paragraph) == "Parties shall act."
    after = clause_history(store, drafting.id, drafting.paragraph)
    assert [e.key for e in after[: len(before)]] == [e.key for e in before]
    assert (after[-1].kind, after[-1].person, after[-1].party) == ("restored", "Chair", "EU")
    assert after[-1].last_update == log_id and after[-1].detail["rev"] == "Rev.1"
    with pytest.raises(RevisionError, match="not to 'now'"):
        restore(store, drafting.id, drafting.paragraph, to="now")


BEFORE = "## Article 1 *(purpose)*\n\n1. Parties [shall][should] act.\n\n2. Each Party reports.\n"
AFTER = (
    "## Article 1 *(purpose)*\n\n"
    "1. Parties shall act [urgently].\n\n"
    "2. Each Party reports yearly.\n"
)


def test_a_later_draft_becomes_the_next_revision_of_the_same_text(store: Store) -> None:
    first = import_markdown(BEFORE).text
    text_id = store.create_text(first.to_update(), title="", kind="treaty", origin="import")
    paragraph = next(r.id for r in first.clauses() if str(r.words).startswith("Parties"))

    loaded = load_draft(store, text_id, AFTER, label="4 Dec", author="Secretariat", file="after.md")

    assert loaded.base is not None and loaded.base.label == "Rev.1"
    assert [r.label for r in list_revisions(store, text_id)] == ["Rev.1", "4 Dec"]
    assert bracketed_text(text_at(store, text_id)) == bracketed_text(import_markdown(AFTER).text)
    assert loaded.revision.statistics["brackets"] == 1 < loaded.base.statistics["brackets"]
    [entry] = [e for e in clause_history(store, text_id, paragraph) if e.kind != "added"]
    assert entry.detail["rev"] == "4 Dec" and entry.person == "Secretariat"
    assert entry.words_after == "Parties shall act [urgently]."
    assert verify_revisions(store, text_id) == []


def test_a_draft_under_a_label_in_use_writes_nothing(store: Store, drafting: Drafting) -> None:
    cut_revision(store, drafting.id, label="Rev.1")
    count = store.update_count(drafting.id)
    with pytest.raises(RevisionError, match=r"already labelled 'Rev\.1'"):
        load_draft(store, drafting.id, AFTER, label="Rev.1")
    assert store.update_count(drafting.id) == count


def test_the_paris_agreement_four_drafts_through_the_store(tmp_path: Path, cop21_dir: Path) -> None:
    """What docs/HISTORY.md runs with the CLI: 23 Oct imported, the three later drafts
    loaded into the same text as its next revisions, on a real store."""
    names = {
        "23 Oct 2015": "draft-agreement-23-oct-2015.md",
        "4 Dec 2015": "draft-agreement-4-dec-2015.md",
        "9 Dec 2015": "draft-agreement-9-dec-2015.md",
        "12 Dec 2015": "draft-agreement-12-dec-2015.md",
    }
    sources = {
        label: (cop21_dir / name).read_text(encoding="utf-8") for label, name in names.items()
    }
    with Store(f"sqlite:///{tmp_path / 'paris.sqlite3'}") as store:
        first = import_markdown(sources["23 Oct 2015"]).text
        text_id = store.create_text(
            first.to_update(), title="Paris", kind="treaty", origin="import"
        )
        for n, label in enumerate(list(names)[1:]):
            base = "23 Oct 2015" if n == 0 else None
            load_draft(store, text_id, sources[label], label=label, base_label=base, author="Sec")

        revisions = list_revisions(store, text_id)
        assert [r.label for r in revisions] == list(names)
        assert verify_revisions(store, text_id) == []
        brackets = [r.statistics["brackets"] for r in revisions]
        assert brackets == sorted(brackets, reverse=True) and brackets[-1] == 0
        for revision in revisions:  # each opens as its draft prints
            opened = get_revision(store, text_id, revision.label).open()
            draft = import_markdown(sources[revision.label]).text
            assert (
                bracketed_text(opened).split("\n", 1)[1] == bracketed_text(draft).split("\n", 1)[1]
            )

        goal = find_clause(text_at(store, text_id), "Article 2.1(a)")
        entries = clause_history(store, text_id, goal)
        assert [e.detail.get("rev", "") for e in entries] == ["", *list(names)[1:]]
        assert entries[-1].words_after.startswith("Holding the increase in the global average")
        assert all(a.words_after == b.words_before for a, b in itertools.pairwise(entries))
        _, before = open_state(store, text_id, "9 Dec 2015")
        _, after = open_state(store, text_id, "12 Dec 2015")
        changed = diff_texts(before, after, clause=goal).changed()
        assert [c.changes for c in changed if c.clause == goal] == [("words",)]
