"""Per-clause history from the update log: attributed, grouped into entries a reviewer
reads, stable across moves, resumable."""

from __future__ import annotations

import itertools
import json
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
from drafting.views import bracketed_words

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

    def type(
        self, origin: str, clause: str, at: int, words: str, *, every: float = 0.2, after: float = 0
    ) -> None:
        """Type `words` at `at`, a letter every `every` seconds, starting `after` seconds
        after the previous change (`every` by default)."""
        for i, letter in enumerate(words):
            wait = after if i == 0 and after else every
            self.do(origin, insert_words, clause, at + i, letter, wait=wait)


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
    log.type("connection:ben", paragraph, 0, "All ", after=90)  # turns, not typing at once
    log.type("connection:ana", paragraph, 4, "the ", after=90)

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


class Stored:
    """History entries kept as the store keeps them: copies, read back by clause."""

    def __init__(self) -> None:
        self.entries: dict[tuple[str, int], HistoryEntry] = {}

    def keep(self, entries: list[HistoryEntry]) -> None:
        for e in entries:
            detail = json.loads(json.dumps(e.detail))
            self.entries[(e.clause, e.first_update)] = HistoryEntry(**{**vars(e), "detail": detail})

    def tail_of(self, clause: str) -> HistoryEntry | None:
        mine = [e for (c, _), e in self.entries.items() if c == clause]
        return max(mine, key=lambda e: e.first_update) if mine else None

    def entry_of(self, clause: str, first_update: int) -> HistoryEntry | None:
        return self.entries.get((clause, first_update))

    def all(self) -> list[HistoryEntry]:
        entries = sorted(self.entries.values(), key=lambda e: (e.first_update, e.clause))
        mark_outcomes(entries)
        return entries


def resumed_history(log: Log, *splits: int) -> list[HistoryEntry]:
    """The history indexed in pieces (the log cut at `splits`), each piece by a new
    indexer resuming from the state and the stored entries, as the store does."""
    stored = Stored()
    state = b""
    bounds = [0, *splits, len(log.entries)]
    for start, end in itertools.pairwise(bounds):
        indexer = HistoryIndexer(state, tail_of=stored.tail_of, entry_of=stored.entry_of)
        stored.keep(indexer.feed(log.entries[start:end]))
        state = indexer.state()
    return stored.all()


def interleave(log: Log, clause: str, ana: str, ben: str) -> None:
    """Ana types `ana` at the start of the clause while Ben types `ben` before its final
    full stop, at the same moment: their keystrokes alternate in the log."""
    for i in range(max(len(ana), len(ben))):
        if i < len(ana):
            log.do("connection:ana", insert_words, clause, i, ana[i], wait=0.1)
        if i < len(ben):
            end = len(words_of(log.text, clause)) - 1
            log.do("connection:ben", insert_words, clause, end, ben[i], wait=0.1)


def test_two_people_typing_in_one_clause_at_once_get_one_entry_each(log, paragraph):
    interleave(log, paragraph, "All ", " now")

    entries = history(log, paragraph)
    assert summary(entries) == [
        ("added", "import", 1),
        ("edited", "connection:ana", 4),
        ("edited", "connection:ben", 4),
    ]
    # Each entry shows its author's own changes, and starts where the previous ended.
    ana, ben = entries[1:]
    assert (ana.words_before, ana.words_after) == (
        "Parties shall take action.",
        "All Parties shall take action.",
    )
    assert ben.words_before == ana.words_after
    assert ben.words_after == "All Parties shall take action now."
    assert ben.ops() == [
        ("equal", "All Parties shall take action"),
        ("insert", " now"),
        ("equal", "."),
    ]
    assert (ana.started < ben.started < ana.ended < ben.ended) is True
    assert all("_chain" not in e.to_json()["detail"] for e in entries)


def test_co_editing_with_deletions_and_a_third_person(log, paragraph):
    interleave(log, paragraph, "All ", " now")
    # Ben deletes "take " while Ana types on, and Carl joins.
    log.do("connection:ben", delete_words, paragraph, 18, 23, wait=0.1)
    log.do("connection:ana", insert_words, paragraph, 4, "the ", wait=0.1)
    log.do("connection:carl", insert_words, paragraph, 0, "Now ", wait=0.1)
    log.do("connection:ana", insert_words, paragraph, 12, "X", wait=0.1)

    entries = history(log, paragraph)[1:]
    assert [(e.person, e.changes) for e in entries] == [
        ("connection:ana", 6),
        ("connection:ben", 5),
        ("connection:carl", 1),
    ]
    assert [e.words_after for e in entries] == [
        "All the XParties shall take action.",
        "All the XParties shall action now.",
        "Now All the XParties shall action now.",
    ]
    assert all(a.words_after == b.words_before for a, b in itertools.pairwise(entries))
    assert entries[-1].words_after == words_of(log.text, paragraph)


def test_a_co_editing_episode_ends_with_another_kind_of_entry_or_a_long_pause(log, paragraph):
    interleave(log, paragraph, "ab", "cd")
    log.do("chair", set_status, paragraph, "agreed ad ref", wait=1)
    interleave(log, paragraph, "ef", "")  # after the status change: a new burst
    log.type("connection:ben", paragraph, 0, "g", after=0.5)  # at once again
    log.type("connection:ana", paragraph, 0, "h", after=120)  # ana paused for 2 minutes

    assert summary(history(log, paragraph))[1:] == [
        ("edited", "connection:ana", 2),
        ("edited", "connection:ben", 2),
        ("status", "chair", 1),
        ("edited", "connection:ana", 2),
        ("edited", "connection:ben", 1),
        ("edited", "connection:ana", 1),
    ]
    entries = history(log, paragraph)
    assert all(a.words_after == b.words_before for a, b in itertools.pairwise(entries))


@pytest.mark.parametrize("split", [3, 6, 9, 12])
def test_a_co_editing_episode_resumes_from_the_stored_entries(log, paragraph, split):
    interleave(log, paragraph, "All ", " now")
    log.do("connection:ben", delete_words, paragraph, 0, 4, wait=0.1)  # ben deletes "All "
    interleave(log, paragraph, "Both ", "")
    whole = history(log, paragraph)

    entries = [e for e in resumed_history(log, split) if e.clause == paragraph]
    assert summary(entries) == summary(whole)
    assert [(e.words_before, e.words_after) for e in entries] == [
        (e.words_before, e.words_after) for e in whole
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


@pytest.mark.parametrize("seed", range(1, 9))
def test_keystroke_runs_are_indexed_as_if_one_by_one(text, article, paragraph, seed):
    """Runs of keystrokes are replayed in one transaction for speed: same entries."""
    log = Log(text)
    rng = random.Random(seed)
    clauses = [article, paragraph]
    log.do("import", bracket_span, paragraph, 8, 13, party="EU")  # "[shall]"
    for _ in range(120):
        clause = rng.choice(clauses)
        origin = rng.choice(["connection:a", "connection:b", "connection:c"])
        words = words_of(text, clause)
        if words and rng.random() < 0.3:
            at = rng.randrange(len(words))
            log.do(origin, delete_words, clause, at, at + 1, wait=rng.choice([0.1, 400]))
        else:
            at = rng.randint(0, len(words))
            log.type(origin, clause, at, rng.choice(["é", "各", "ab", "😀 x"]), every=0.1)
    fast = history(log, batch_keystrokes=True)
    slow = history(log, batch_keystrokes=False)

    def seen(entries: list[HistoryEntry]) -> list[tuple[Any, ...]]:
        return [(e.clause, e.kinds, e.changes, e.words_before, e.words_after) for e in entries]

    assert seen(fast) == seen(slow)
    # The entries of each clause are the clause at every point, co-editing or not.
    for clause in clauses:
        mine = [e for e in fast if e.clause == clause]
        assert all(a.words_after == b.words_before for a, b in itertools.pairwise(mine))
        assert mine[-1].words_after == bracketed_words(text, clause)
    # Indexed in pieces, as the store does after each commit: the same entries.
    splits = sorted(rng.sample(range(2, len(log.entries) - 1), 4))
    assert seen(resumed_history(log, *splits)) == seen(fast)


def test_typing_right_after_another_persons_words_is_not_their_run(log, paragraph):
    log.type("connection:ana", paragraph, 0, "ab")
    log.type("connection:ben", paragraph, 2, "cd")  # next to ana's words, by someone else
    assert summary(history(log, paragraph))[1:] == [
        ("edited", "connection:ana", 2),
        ("edited", "connection:ben", 2),
    ]
