"""Another wording applied as edits: a later draft as the next revision, a clause restored.

After a redraft the text prints exactly as the draft does, and every clause the draft
continues has kept its id (and so its history)."""

from __future__ import annotations

import pytest

from drafting.brackets import add_alternative, bracket_span, lift_bracket, spans
from drafting.clauses import add_clause, delete_clause, insert_words, words_of
from drafting.history import HistoryIndexer, LogEntry, make_origin
from drafting.importing import import_markdown
from drafting.outline import Outline
from drafting.redraft import RedraftError, redraft, restore_clause
from drafting.schema import NegotiationText
from drafting.views import bracketed_text

BEFORE = """\
## Article 1 *(purpose)*

1. Parties [shall][should] take action [in good faith].

2. Each Party shall report.

## Article 2 *(general)*

1. Parties [may] cooperate.

2. This paragraph goes.
"""

AFTER = """\
## Article 1 *(purpose)*

1. Parties shall take [urgent] action [in good faith].

2. Parties [may][shall] cooperate.

## Article 2 *(general)*

1. Each Party shall report every year.

2. Parties shall meet annually.
"""


def imported(source: str) -> NegotiationText:
    return import_markdown(source).text


def ids_by_words(text: NegotiationText) -> dict[str, str]:
    return {words_of(text, r.id): r.id for r in text.clauses()}


def test_after_a_redraft_the_text_reads_as_the_draft():
    text, draft = imported(BEFORE), imported(AFTER)
    redraft(text, draft)
    assert bracketed_text(text) == bracketed_text(draft)


def test_clauses_keep_their_ids_through_rewording_and_moves():
    text, draft = imported(BEFORE), imported(AFTER)
    old = ids_by_words(text)
    report = redraft(text, draft)
    new = ids_by_words(text)
    assert (
        new["Parties shall take urgent action in good faith."]
        == (old["Parties shallshould take action in good faith."])
    )
    # "Each Party shall report." moved from Article 1 to Article 2 and was reworded.
    moved = old["Each Party shall report."]
    assert new["Each Party shall report every year."] == moved
    assert moved in report.moved and moved in report.reworded
    article_2 = old["(general)"]
    assert Outline(text).parent_of[moved] == article_2
    # "Parties may cooperate" moved the other way, with a new alternative.
    assert new["Parties mayshall cooperate."] == old["Parties may cooperate."]


def test_dropped_clauses_are_deleted_and_kept_in_the_record():
    text, draft = imported(BEFORE), imported(AFTER)
    gone = ids_by_words(text)["This paragraph goes."]
    report = redraft(text, draft)
    assert report.deleted == [gone]
    assert text.clause(gone).status == "deleted"
    assert not Outline(text).is_live(gone)
    [added] = report.added
    assert words_of(text, added) == "Parties shall meet annually."


def test_brackets_that_stay_are_the_same_brackets_and_the_others_are_lifted():
    text, draft = imported(BEFORE), imported(AFTER)
    paragraph = ids_by_words(text)["Parties shallshould take action in good faith."]
    before = {words_of(text, paragraph)[s.start : s.end]: s.id for s in spans(text, paragraph)}
    redraft(text, draft)
    after = {words_of(text, paragraph)[s.start : s.end]: s.id for s in spans(text, paragraph)}
    assert after["in good faith"] == before["in good faith"]  # untouched: the same bracket
    assert text.bracket(before["shall"]).state == "kept"  # its words stayed
    assert text.bracket(before["should"]).state == "dropped"  # its words went
    assert set(after) == {"urgent", "in good faith"}


def test_alternatives_of_the_draft_are_alternatives_in_the_text():
    text, draft = imported(BEFORE), imported(AFTER)
    redraft(text, draft)
    clause = ids_by_words(text)["Parties mayshall cooperate."]
    [may, shall] = spans(text, clause)
    assert may.group == shall.group


def test_the_updates_replayed_on_the_old_text_give_the_new_one():
    text, draft = imported(BEFORE), imported(AFTER)
    replica = NegotiationText.from_update(text.to_update())
    report = redraft(text, draft)
    for update in report.updates:
        replica.doc.apply_update(update)
    assert bracketed_text(replica) == bracketed_text(draft)
    # One update per clause changed: one history entry each.
    changed = {*report.reworded, *report.added, *report.moved}
    assert len(report.updates) == len(changed) + len(report.deleted)


def test_a_draft_without_bis_numbers_renumbers_the_text():
    text = imported("## Article 1\n\n1. One.\n\n1bis. Inserted.\n\n2. Two.\n")
    draft = imported("## Article 1\n\n1. One.\n\n2. Inserted.\n\n3. Two.\n")
    redraft(text, draft)
    assert "2. Inserted." in bracketed_text(text) and "3. Two." in bracketed_text(text)


def test_an_option_block_that_goes_leaves_its_chosen_words_in_place():
    text = imported(
        "## Article 1\n\n**Option 1:**\n\n1. Parties shall act.\n\n**Option 2:**\n\nNo text\n"
    )
    draft = imported("## Article 1\n\n1. Parties shall act now.\n")
    paragraph = ids_by_words(text)["Parties shall act."]
    redraft(text, draft)
    assert bracketed_text(text) == bracketed_text(draft)
    assert ids_by_words(text)["Parties shall act now."] == paragraph


def test_footnotes_follow_the_draft():
    text = imported("## Article 1\n\n1. Parties act.[^1]\n\n[^1]: Old note.\n")
    draft = imported("## Article 1\n\n1. Parties act now.[^2]\n\n[^2]: New [bracketed] note.\n")
    redraft(text, draft)
    assert bracketed_text(text) == bracketed_text(draft)


# -- restore --------------------------------------------------------------------------------


def test_a_clause_restored_to_an_earlier_wording_is_a_new_attributed_change(
    text, article, paragraph
):
    shall = bracket_span(text, paragraph, 8, 13, party="EU")
    add_alternative(text, shall, "should", party="AOSIS")
    earlier = NegotiationText.from_update(text.to_update())
    lift_bracket(text, shall, keep=shall)
    insert_words(text, paragraph, 0, "All ")
    log = [LogEntry(1, text.to_update(), "cli", _time(0))]

    updates = restore_clause(text, paragraph, earlier)

    assert len(updates) == 1
    assert bracketed_text(text) == bracketed_text(earlier)
    restored = spans(text, paragraph)
    assert [s.party for s in restored] == ["EU", "AOSIS"]  # attribution comes back
    assert shall not in {s.id for s in restored}  # as new brackets: lifted ones stay lifted
    origin = make_origin("cli", person="Chair", action="restore", rev="Rev.1")
    log.append(LogEntry(2, updates[0], origin, _time(60)))
    [entry] = [e for e in HistoryIndexer().feed(log) if e.first_update == 2]
    assert entry.kind == "restored" and entry.person == "Chair"
    assert entry.words_before == "All Parties shall take action."
    assert entry.words_after == "Parties [shall][should] take action."


def test_a_deleted_clause_comes_back_when_restored(text, article, paragraph):
    earlier = NegotiationText.from_update(text.to_update())
    delete_clause(text, paragraph)
    restore_clause(text, paragraph, earlier)
    assert text.clause(paragraph).status == "pending"
    assert Outline(text).is_live(paragraph)


def test_nothing_to_restore_for_a_clause_that_did_not_exist(text, article):
    earlier = NegotiationText.from_update(text.to_update())
    later = add_clause(text, "paragraph", "Later words.", parent=article)
    with pytest.raises(RedraftError, match="did not exist then"):
        restore_clause(text, later, earlier)


def _time(seconds: int):
    from datetime import UTC, datetime, timedelta

    return datetime(2015, 12, 12, 11, 0, tzinfo=UTC) + timedelta(seconds=seconds)
