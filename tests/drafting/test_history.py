"""Per-clause history from the update log: attributed, grouped into entries a reviewer
reads, stable across moves, resumable."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drafting.brackets import bracket_span, lift_bracket
from drafting.clauses import (
    add_clause,
    delete_words,
    insert_words,
    move_clause,
    renumber,
    set_status,
    words_of,
)
from drafting.history import (
    HistoryEntry,
    HistoryIndexer,
    LogEntry,
    filter_entries,
    make_origin,
    mark_outcomes,
    parse_origin,
    recording,
)
from drafting.options import add_option_block, choose_option
from drafting.outline import Outline
from drafting.proposals import object_to, propose_insertion, support, withdraw
from drafting.schema import NegotiationText

START = datetime(2015, 12, 9, 21, 0, tzinfo=UTC)


class Log:
    """Records each operation on a text as a log entry, as the store would."""

    def __init__(self, text: NegotiationText) -> None:
        self.text = text
        self.entries = [LogEntry(1, text.to_update(), "import", START)]
        self.clock = START

    def do(
        self, origin: str, operation: Callable[..., Any], *args: Any, wait: float = 1, **kw: Any
    ) -> Any:
        """Run `operation` `wait` seconds after the previous one and log its update."""
        with recording(self.text) as updates:
            result = operation(self.text, *args, **kw)
        self.clock += timedelta(seconds=wait)
        for update in updates:  # one: an operation is one transaction
            self.entries.append(LogEntry(len(self.entries) + 1, update, origin, self.clock))
        return result

    def type(self, origin: str, clause: str, at: int, words: str, *, every: float = 0.2) -> None:
        for i, letter in enumerate(words):
            self.do(origin, insert_words, clause, at + i, letter, wait=every)


def history(log: Log, clause: str | None = None, **kwargs: Any) -> list[HistoryEntry]:
    entries = HistoryIndexer(**kwargs).feed(log.entries)
    mark_outcomes(entries)
    return [e for e in entries if clause is None or e.clause == clause]


def summary(entries: list[HistoryEntry]) -> list[tuple[str, str, int]]:
    return [(e.kind, e.person, e.changes) for e in entries]


@pytest.fixture
def log(text: NegotiationText, article: str, paragraph: str) -> Log:
    return Log(text)


def test_keystrokes_become_one_entry_per_burst(log, paragraph):
    log.type("connection:ana", paragraph, 25, " now")
    log.type("connection:ben", paragraph, 0, "All ")
    log.type("connection:ana", paragraph, 4, "the ")

    entries = history(log, paragraph)
    assert summary(entries) == [
        ("added", "import", 1),
        ("edited", "connection:ana", 4),
        ("edited", "connection:ben", 4),
        ("edited", "connection:ana", 4),
    ]
    assert [e.words_after for e in entries[1:]] == [
        "Parties shall take action now.",
        "All Parties shall take action now.",
        "All the Parties shall take action now.",
    ]
    # Each entry starts where the previous one ended: the clause at any entry.
    assert all(a.words_after == b.words_before for a, b in itertools.pairwise(entries))
    assert entries[1].ops() == [
        ("equal", "Parties shall take action"),
        ("insert", " now"),
        ("equal", "."),
    ]


def test_a_pause_ends_a_burst_and_edits_elsewhere_do_not(log, article, paragraph):
    log.type("connection:ana", paragraph, 0, "All ")
    log.type("connection:ana", article, 0, "General ")  # another clause, same person
    log.type("connection:ana", paragraph, 4, "the ")
    log.do("connection:ana", insert_words, paragraph, 0, "X", wait=600)  # ten minutes later

    assert summary(history(log, paragraph)) == [
        ("added", "import", 1),
        ("edited", "connection:ana", 8),
        ("edited", "connection:ana", 1),
    ]


def test_a_proposal_tabled_supported_objected_and_withdrawn(log, paragraph):
    eva = make_origin("connection:7", person="Eva Lind", party="EU")
    proposal = log.do(eva, propose_insertion, "EU", paragraph, 0, "All ")
    log.do("connection:8", support, proposal, "AOSIS")
    log.do("connection:9", object_to, proposal, "G77/China")
    log.do(eva, withdraw, proposal, "EU")

    entries = history(log, paragraph)[1:]
    assert [(e.kind, e.party, e.person) for e in entries] == [
        ("proposal tabled", "EU", "Eva Lind"),
        ("supported", "AOSIS", "connection:8"),
        ("objected", "G77/China", "connection:9"),
        ("proposal withdrawn", "EU", "Eva Lind"),
    ]
    tabled = entries[0].detail["proposals"][0]
    assert (tabled["words"], tabled["status"], tabled["outcome"]) == ("All ", "tabled", "withdrawn")
    assert entries[0].words_after == "[All ]Parties shall take action."
    assert entries[3].words_after == "Parties shall take action."
    assert "bracket lifted" in entries[3].kinds  # its words left the text with its bracket


def test_brackets_added_and_lifted_and_the_status_they_bring(log, paragraph):
    shall = log.do("connection:ana", bracket_span, paragraph, 8, 13, party="EU")
    log.do("chair", lift_bracket, shall, keep=shall)
    log.do("chair", set_status, paragraph, "agreed ad ref")

    entries = history(log, paragraph)[1:]
    assert [e.kinds for e in entries] == [
        ["bracketed", "status", "edited"],
        ["bracket lifted", "edited"],
        ["status"],
    ]
    assert entries[0].party == "EU"
    assert entries[0].detail["status"] == {"from": "pending", "to": "bracketed"}
    assert entries[1].detail["lifted"] == [{"bracket": shall, "state": "kept"}]
    assert entries[2].detail["status"] == {"from": "bracketed", "to": "agreed ad ref"}


def test_a_moved_and_renumbered_clause_keeps_its_history(log, text, article, paragraph):
    other = log.do("chair", add_clause, "article", "(general)", base=True)
    log.type("connection:ana", paragraph, 0, "All ")
    log.do("chair", move_clause, paragraph, parent=other)
    inserted = log.do("chair", add_clause, "paragraph", "New.", parent=other, after="")
    log.do("chair", renumber)

    entries = history(log, paragraph)
    # Its shown number changed twice (moved, then a clause inserted before it): its id
    # did not, and neither did its history.
    assert [e.kind for e in entries] == ["added", "edited", "moved"]
    assert entries[2].detail["parent"] == {"from": article, "to": other}
    assert Outline(text).parent_of[paragraph] == other
    # "1 bis" became "1" when the text was renumbered: that is an entry of its own.
    assert [e.kind for e in history(log, inserted)] == ["added", "renumbered"]


def test_an_option_chosen_is_an_entry_of_its_block(log, article):
    block = log.do("chair", add_option_block, "Parties shall act.", "No text", parent=article)
    first = Outline(log.text).children(block)[0].id
    log.do("chair", choose_option, block, first)
    assert [e.kind for e in history(log, block)] == ["added", "option chosen"]
    assert history(log, block)[1].detail["chosen"] == first


def test_a_restore_is_marked_as_such(log, paragraph):
    log.do(
        make_origin("cli", person="Chair", action="restore", rev="2"), delete_words, paragraph, 0, 8
    )
    [entry] = history(log, paragraph)[1:]
    assert entry.kinds == ["restored", "edited"] and entry.detail["rev"] == "2"


def test_filters_by_party_person_kind_and_time(log, paragraph):
    eva = make_origin("connection:7", person="Eva Lind", party="EU")
    log.type("connection:ana", paragraph, 0, "All ")
    log.do(eva, propose_insertion, "EU", paragraph, 0, "Each ", wait=3600)
    entries = history(log, paragraph)

    assert [e.kind for e in filter_entries(entries, party="EU")] == ["proposal tabled"]
    assert [e.kind for e in filter_entries(entries, person="connection:ana")] == ["edited"]
    assert len(filter_entries(entries, kind="edited")) == 2  # the proposal edits words too
    late = START + timedelta(minutes=30)
    assert [e.kind for e in filter_entries(entries, since=late)] == ["proposal tabled"]
    assert [e.kind for e in filter_entries(entries, until=late)] == ["added", "edited"]
    with pytest.raises(ValueError, match="unknown kind of history entry 'typo'"):
        filter_entries(entries, kind="typo")


def test_origins_carry_person_party_and_action(log):
    origin = make_origin("connection:ab12", person="Ana; Ruiz=Chair", party="G77/China")
    parsed = parse_origin(origin)
    assert (parsed.source, parsed.person, parsed.party) == (
        "connection:ab12",
        "Ana; Ruiz=Chair",
        "G77/China",
    )
    assert parse_origin("connection:9").person == "connection:9"
    assert parse_origin("").party == ""


def test_indexing_resumes_from_a_saved_state_with_the_same_entries(log, paragraph):
    log.type("connection:ana", paragraph, 0, "All ")
    log.type("connection:ben", paragraph, 0, "Now ")
    log.type("connection:ben", paragraph, 0, "yes ")
    whole = history(log, paragraph)

    first_half = HistoryIndexer()
    first = first_half.feed(log.entries[:7])  # stops in the middle of ben's first burst
    tails = {e.clause: e for e in first}  # the latest entry of each clause
    resumed = HistoryIndexer(first_half.state(), tail_of=tails.get)
    later = resumed.feed(log.entries[7:])
    merged = {id(e): e for e in [*first, *later]}
    entries = sorted(
        (e for e in merged.values() if e.clause == paragraph), key=lambda e: e.first_update
    )
    assert summary(entries) == summary(whole)
    assert [e.words_after for e in entries] == [e.words_after for e in whole]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_keystroke_runs_are_indexed_as_if_one_by_one(text, article, paragraph, seed):
    """Runs of keystrokes are replayed in one transaction for speed: same entries."""
    log = Log(text)
    rng = random.Random(seed)
    clauses = [article, paragraph]
    for _ in range(120):
        clause = rng.choice(clauses)
        origin = rng.choice(["connection:a", "connection:b"])
        words = words_of(text, clause)
        if words and rng.random() < 0.3:
            at = rng.randrange(len(words))
            log.do(origin, delete_words, clause, at, at + 1, wait=rng.choice([0.1, 400]))
        else:
            at = rng.randint(0, len(words))
            log.type(origin, clause, at, rng.choice(["é", "各", "ab", "😀 x"]), every=0.1)
    fast = history(log, batch_keystrokes=True)
    slow = history(log, batch_keystrokes=False)
    assert [(e.clause, e.kinds, e.changes, e.words_after) for e in fast] == [
        (e.clause, e.kinds, e.changes, e.words_after) for e in slow
    ]


def test_typing_right_after_another_persons_words_is_not_their_run(log, paragraph):
    log.type("connection:ana", paragraph, 0, "ab")
    log.type("connection:ben", paragraph, 2, "cd")  # next to ana's words, by someone else
    assert summary(history(log, paragraph))[1:] == [
        ("edited", "connection:ana", 2),
        ("edited", "connection:ben", 2),
    ]
