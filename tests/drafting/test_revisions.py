"""Revisions: a canonical content hash, a hash chain, and detection of any alteration."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from drafting.brackets import add_alternative, bracket_span
from drafting.clauses import add_clause, insert_words, words_of
from drafting.revisions import (
    GENESIS,
    Revision,
    RevisionError,
    canonical_content,
    content_hash,
    find_revision,
    label_update,
    make_revision,
    verify_chain,
)
from drafting.schema import NegotiationText

WHEN = datetime(2015, 12, 4, 18, 30, tzinfo=UTC)


def chain(text: NegotiationText, count: int, clause: str) -> list[Revision]:
    """`count` revisions, the words of `clause` changed before each."""
    revisions: list[Revision] = []
    for n in range(1, count + 1):
        insert_words(text, clause, 0, f"v{n} ")
        revisions.append(
            make_revision(
                text.to_update(),
                number=n,
                label=f"Rev.{n}",
                author="Chair",
                created=WHEN,
                up_to_update_id=10 * n,
                previous=revisions[-1] if revisions else None,
            )
        )
    return revisions


def test_the_content_hash_depends_on_what_the_text_says_not_on_its_encoding(
    text, article, paragraph
):
    # The same content reached by another path (another replica, other client ids,
    # another order of the same operations) hashes the same.
    copy = NegotiationText.from_update(text.to_update())
    assert content_hash(copy) == content_hash(text)
    insert_words(text, paragraph, 0, "All ")
    assert content_hash(text) != content_hash(copy)


def test_the_canonical_rendering_keeps_brackets_and_formatting_in_a_stable_form(
    text, article, paragraph
):
    shall = bracket_span(text, paragraph, 8, 13, party="EU")
    add_alternative(text, shall, "should")
    rendering = canonical_content(text)
    assert rendering == canonical_content(NegotiationText.from_update(text.to_update()))
    assert '["shall",{"br:' + shall + '":true}]' in rendering
    assert '"party":"EU"' in rendering


def test_non_ascii_words_hash_and_render_as_written():
    text = NegotiationText()
    clause = add_clause(text, "paragraph", "Стороны [соглашаются] — 各缔约方 — الأطراف")
    assert "各缔约方" in canonical_content(text)
    assert words_of(text, clause).startswith("Стороны")
    assert len(content_hash(text)) == 64


def test_a_revision_records_statistics_hashes_and_its_place_in_the_chain(text, article, paragraph):
    bracket_span(text, paragraph, 8, 13)
    [first, second] = chain(text, 2, paragraph)
    assert first.previous_hash == GENESIS
    assert second.previous_hash == first.hash
    assert first.statistics["brackets"] == 1 and first.statistics["articles"] == 1
    assert first.content_hash != second.content_hash
    assert verify_chain([first, second]) == []


def test_a_revision_opens_as_the_text_it_was(text, article, paragraph):
    [revision] = chain(text, 1, paragraph)
    insert_words(text, paragraph, 0, "Later ")
    opened = revision.open()
    assert words_of(opened, paragraph) == "v1 Parties shall take action."
    insert_words(opened, paragraph, 0, "scribble ")  # a detached copy: nothing changes
    assert words_of(revision.open(), paragraph) == "v1 Parties shall take action."


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("label", "Rev.1 (corrected)", "the record does not match its hash"),
        ("statistics", {"brackets": 0}, "the record does not match its hash"),
        ("created", datetime(2015, 12, 5, tzinfo=UTC), "the record does not match its hash"),
        ("content_hash", "f" * 64, "does not match its content hash"),
    ],
)
def test_any_altered_field_of_a_revision_is_detected(text, article, field, value, message):
    revisions = chain(text, 3, article)
    revisions[1] = dataclasses.replace(revisions[1], **{field: value})
    problems = verify_chain(revisions)
    assert problems and problems[0].number == 2
    assert message in str(problems[0])


def test_an_altered_document_is_detected_even_with_its_hashes_recomputed(text, article):
    revisions = chain(text, 3, article)
    forged = NegotiationText.from_update(revisions[1].state)
    insert_words(forged, article, 0, "forged ")
    # The forger recomputes the content hash and the revision's own hash …
    redone = make_revision(
        forged.to_update(),
        number=2,
        label="Rev.2",
        author="Chair",
        created=WHEN,
        up_to_update_id=20,
        previous=revisions[0],
    )
    revisions[1] = redone
    # … and the next revision no longer chains to it.
    problems = verify_chain(revisions)
    assert [(p.number, "chain is broken" in p.what) for p in problems] == [(3, True)]


def test_a_revision_taken_out_of_the_middle_is_detected(text, article):
    revisions = chain(text, 3, article)
    problems = verify_chain([revisions[0], revisions[2]])
    assert {p.number for p in problems} == {3}
    assert any("expected 2" in p.what for p in problems)


def test_revisions_are_found_by_label_or_number(text, article):
    revisions = chain(text, 2, article)
    assert find_revision(revisions, "Rev.2").number == 2
    assert find_revision(revisions, 1).label == "Rev.1"
    with pytest.raises(RevisionError, match=r"no revision 'Rev\.9' \(revisions of this text: 1"):
        find_revision(revisions, "Rev.9")


def test_a_revision_must_follow_the_previous_one(text, article):
    [first] = chain(text, 1, article)
    with pytest.raises(RevisionError, match="revision 3 cannot follow revision 1"):
        make_revision(
            text.to_update(),
            number=3,
            label="x",
            author="",
            created=WHEN,
            up_to_update_id=1,
            previous=first,
        )


def test_the_label_goes_into_the_document_once(text):
    assert label_update(text, "Rev.1") != b"\x00\x00"
    assert text.get_meta("revision") == "Rev.1"
    assert label_update(text, "Rev.1") == b"\x00\x00"
