"""Matching clauses across drafts, and the Paris Agreement's four drafts loaded as four
revisions of one text: its real history, reproduced."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from drafting.diffs import Change, clause_rendering, diff_texts
from drafting.history import HistoryEntry, HistoryIndexer, LogEntry, make_origin, recording
from drafting.importing import import_markdown
from drafting.matching import match_texts, normalise
from drafting.outline import Outline
from drafting.redraft import redraft
from drafting.revisions import Revision, label_update, make_revision, verify_chain
from drafting.schema import NegotiationText
from drafting.statistics import statistics
from drafting.views import bracketed_text

DRAFTS = {
    "23 Oct 2015": "draft-agreement-23-oct-2015.md",
    "4 Dec 2015": "draft-agreement-4-dec-2015.md",
    "9 Dec 2015": "draft-agreement-9-dec-2015.md",
    "12 Dec 2015": "draft-agreement-12-dec-2015.md",
}


@pytest.fixture(scope="module")
def drafts(cop21_dir: Path) -> dict[str, NegotiationText]:
    return {
        label: import_markdown((cop21_dir / name).read_text(encoding="utf-8")).text
        for label, name in DRAFTS.items()
    }


def find(text: NegotiationText, start: str, *, under: str | None = None) -> str:
    """The live clause whose words start with `start` (under clause `under`)."""
    outline = Outline(text)
    scope = [p.clause for p in outline.walk(under or "")]
    found = [r.id for r in scope if str(r.words).startswith(start) and outline.is_live(r.id)]
    assert len(found) == 1, f"{len(found)} clauses start with {start!r}"
    return found[0]


def article(text: NegotiationText, number: str) -> str:
    outline = Outline(text)
    [found] = [
        r.id for r in outline.children() if r.kind == "article" and r.source_number == number
    ]
    return found


# -- matching two drafts ----------------------------------------------------------------------


def test_words_are_normalised_before_comparing():
    assert normalise("Holding the increase, Parties") == ["hold", "the", "increase", "parti"]


def test_renumbered_articles_of_the_adopted_text_are_found(drafts):
    old, new = drafts["9 Dec 2015"], drafts["12 Dec 2015"]
    pairs = match_texts(old, new).pairs
    for was, now in [("2", "2"), ("2bis", "3"), ("3", "4"), ("3bis", "5"), ("4", "7"), ("9", "13")]:
        assert pairs[article(new, now)] == article(old, was), f"Article {was} -> {now}"


def test_paragraphs_leaving_a_dropped_option_block_are_found_by_their_words(drafts):
    old, new = drafts["4 Dec 2015"], drafts["9 Dec 2015"]
    matching = match_texts(old, new)
    purpose = find(new, "The purpose of this Agreement is to", under=article(new, "2"))
    match = next(m for m in matching.matches if m.new == purpose)
    assert match.how == "wording"
    assert match.old == find(old, "The purpose of this Agreement", under=article(old, "2"))
    # The block itself ("Option 1 / Option 2: No text") is gone.
    block = Outline(old).children(article(old, "2"))[0]
    assert block.kind == "options" and block.id in matching.removed


def test_merged_subparagraphs_continue_as_one(drafts):
    old, new = drafts["9 Dec 2015"], drafts["12 Dec 2015"]
    matching = match_texts(old, new)
    merged = find(new, "Increasing the ability to adapt")
    adapt = find(old, "To increase their ability to adapt")
    develop = find(old, "To pursue sustainable development")
    assert matching.pairs[merged] in (adapt, develop)
    assert {adapt, develop} & set(matching.removed)


def test_every_clause_is_paired_at_most_once(drafts):
    matching = match_texts(drafts["23 Oct 2015"], drafts["4 Dec 2015"])
    olds = [m.old for m in matching.matches]
    assert len(olds) == len(set(olds))
    assert len(matching.matches) > 400  # of 491 clauses


# -- four drafts, one text ------------------------------------------------------------------


@dataclass
class History:
    text: NegotiationText
    log: list[LogEntry]
    revisions: list[Revision]
    entries: list[HistoryEntry]
    counts: list[dict]


@pytest.fixture(scope="module")
def paris(drafts) -> History:
    """23 Oct imported, then each later draft loaded into the same text as its next
    revision, every change logged as the store would log it."""
    start = datetime(2015, 10, 23, 12, tzinfo=UTC)
    first = next(iter(drafts.values()))
    text = NegotiationText.from_update(first.to_update())
    log = [LogEntry(1, text.to_update(), "import", start)]
    revisions: list[Revision] = []
    counts = []
    for n, (label, draft) in enumerate(drafts.items()):
        when = start + timedelta(days=14 * n)
        if n:
            report = redraft(text, draft)
            origin = make_origin("cli", person="Secretariat", action="redraft", rev=label)
            log.extend(
                LogEntry(len(log) + 1 + i, u, origin, when) for i, u in enumerate(report.updates)
            )
            assert bracketed_text(text) == bracketed_text(draft), label
        with recording(text) as updates:
            label_update(text, label)
        log.append(LogEntry(len(log) + 1, updates[0], "cli;action=revise", when))
        revisions.append(
            make_revision(
                text.to_update(),
                number=n + 1,
                label=label,
                author="Secretariat",
                created=when,
                up_to_update_id=len(log),
                previous=revisions[-1] if revisions else None,
            )
        )
        counts.append(statistics(text))
    entries = HistoryIndexer().feed(log)
    return History(text, log, revisions, entries, counts)


def test_four_drafts_are_four_chained_revisions_of_one_text(paris):
    assert [r.label for r in paris.revisions] == list(DRAFTS)
    assert verify_chain(paris.revisions) == []
    assert paris.text.title == "Paris Agreement"


def test_brackets_and_options_fall_from_revision_to_revision(paris):
    brackets = [c["brackets"] for c in paris.counts]
    options = [c["options"] for c in paris.counts]
    assert brackets == sorted(brackets, reverse=True) and brackets[-1] == 0
    assert options == sorted(options, reverse=True) and options[-1] == 0
    assert brackets[0] > 1000 and brackets[2] < 250


def test_the_temperature_goal_keeps_one_id_through_the_four_drafts(paris):
    goal = find(paris.text, "Holding the increase in the global average temperature")
    states = [clause_rendering(r.open(), goal) for r in paris.revisions]
    assert states[0].startswith("(a) hold the increase in the global average temperature [below 2")
    assert states[1].startswith(
        "(a) Hold the increase in the global average temperature [below 1.5"
    )
    assert states[2] == "(a) To hold the increase in the global average temperature to"
    assert "well below 2 °C above pre-industrial levels and to pursue efforts" in states[3]
    assert len(set(states)) == 4


def test_the_purpose_article_shows_its_four_states_and_their_diffs(paris):
    purpose = next(
        r.id
        for r in Outline(paris.text).children()
        if r.kind == "article" and r.source_number == "2"
    )
    opened = [r.open() for r in paris.revisions]
    states = [clause_rendering(t, purpose, subtree=True) for t in opened]
    assert len(set(states)) == 4
    assert "Option 1:" in states[0] and "[below 1.5 °C]" in states[0]
    assert "Option 1: below 2 °C above pre-industrial levels," in states[2]
    assert "[" not in states[3] and states[3].startswith("Article 2")
    # Rev.3 -> Rev.4: the options on the temperature goal go, the words change in place.
    changed = diff_texts(opened[2], opened[3], clause=purpose).changed()
    changes = {c.old_reference: c.changes for c in changed}
    assert changes["Article 2 › 1. › (a) › options › Option 1:"] == (Change.DELETED,)
    goal = next(c for c in changed if c.new_reference == "Article 2 › 1. › (a)")
    assert goal.changes == ("words",)
    assert ("delete", "To hold") in goal.ops and ("insert", "Holding") in goal.ops


def test_the_history_of_the_temperature_goal_is_its_four_drafts(paris):
    goal = find(paris.text, "Holding the increase in the global average temperature")
    entries = [e for e in paris.entries if e.clause == goal]
    assert [e.detail.get("rev", "") for e in entries] == [
        "",
        "4 Dec 2015",
        "9 Dec 2015",
        "12 Dec 2015",
    ]
    assert entries[0].kind == "added" and entries[0].origin == "import"
    states = [clause_rendering(r.open(), goal) for r in paris.revisions]
    # Each entry's words are the clause as each revision has it (without its number).
    assert [e.words_after for e in entries] == [s.split(" ", 1)[1] for s in states]
    assert all(a.words_after == b.words_before for a, b in itertools.pairwise(entries))
    # Its paragraph moved out of Option 1 when the option block went, in Rev.3.
    paragraph = Outline(paris.text).parent_of[goal]
    moves = [
        e.detail.get("rev") for e in paris.entries if e.clause == paragraph and "moved" in e.kinds
    ]
    assert moves == ["9 Dec 2015"]


def test_a_clause_the_drafts_dropped_is_deleted_not_erased(paris):
    outline = Outline(paris.text)
    dropped = [r for r in outline.records.values() if r.status == "deleted"]
    assert len(dropped) > 100
    some = dropped[0]
    assert [e.kind for e in paris.entries if e.clause == some.id][-1] == "status"
