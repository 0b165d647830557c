"""The words of a clause as a tree: exactly the bracketed view's brackets and markers, or
exactly the clean view's words, with the emphasis the views drop."""

from __future__ import annotations

from drafting.outline import Outline
from drafting.views import bracketed_words, clean_words, render_bracketed
from exporters.document import sorted_notes
from exporters.inline import (
    Bracketed,
    NoteMarker,
    Words,
    as_text,
    bracketed_inline,
    final_inline,
    tidy,
    walk_brackets,
)
from tests.exporters.samples import find


def test_every_clause_and_note_of_the_corpus_prints_as_the_bracketed_view(corpus):
    for name, text in corpus.items():
        for record in text.clauses():
            tree = bracketed_inline(text, record.words)
            assert as_text(tree) == bracketed_words(text, record.id), (name, record.id)
        for note_id in sorted_notes(text):
            tree = bracketed_inline(text, text.note(note_id))
            assert as_text(tree) == render_bracketed(text, text.note(note_id)), (name, note_id)


def test_parties_print_as_in_the_bracketed_view(negotiated):
    for record in negotiated.clauses():
        tree = bracketed_inline(negotiated, record.words)
        expected = bracketed_words(negotiated, record.id, show_parties=True)
        assert as_text(tree, show_parties=True) == expected


def test_final_words_are_the_clean_words_of_the_final_texts(corpus):
    for name in ("draft-agreement-12-dec-2015.md", "paris-agreement-adopted.md"):
        text = corpus[name]
        for record in text.clauses():
            assert as_text(final_inline(text, record.words)) == clean_words(text, record.id)


def test_a_later_alternative_names_the_first_of_its_group(negotiated):
    clause = find(negotiated, "Article 1", "1")
    brackets = list(walk_brackets(bracketed_inline(negotiated, negotiated.clause(clause).words)))
    objective, aim, slow, halt = brackets
    assert (as_text(objective.children), as_text(aim.children)) == ("objective", "aim")
    assert objective.alternative_to == "" and aim.alternative_to == objective.span.id
    assert slow.alternative_to == "" and halt.alternative_to == slow.span.id
    assert aim.span.party == "AOSIS" and aim.span.proposal


def test_nested_brackets_nest_in_the_tree(negotiated):
    recital = next(r for r in negotiated.clauses() if str(r.words).startswith("Noting"))
    [role] = [n for n in bracketed_inline(negotiated, recital.words) if isinstance(n, Bracketed)]
    inner = [n for n in role.children if isinstance(n, Bracketed)]
    assert [as_text(n.children) for n in inner] == ["indigenous peoples", "local communities"]
    assert inner[1].alternative_to == inner[0].span.id


def test_italics_and_links_are_kept(negotiated):
    recitals = [p.clause for p in Outline(negotiated).walk() if p.clause.kind == "recital"]
    recognizing = bracketed_inline(negotiated, recitals[0].words)
    assert recognizing[0] == Words("Recognizing", italic=True)
    noting = final_inline(negotiated, recitals[1].words)
    assert any(w.link == "https://example.org/glaciers" for w in noting if isinstance(w, Words))


def test_a_footnote_marker_stays_after_its_words(negotiated):
    recital = next(r for r in negotiated.clauses() if str(r.words).startswith("Recognizing"))
    tree = bracketed_inline(negotiated, recital.words)
    assert tree[-1] == NoteMarker("1")
    assert as_text(tree).endswith("people,[^1]")


def test_tidy_spaces_as_the_clean_view_does():
    pieces = [
        Words("  Parties  shall ", italic=True),
        Words(" act ,"),
        NoteMarker("2"),
        Words(" now .  "),
    ]
    assert tidy(pieces) == [
        Words("Parties shall ", italic=True),
        Words("act,"),
        NoteMarker("2"),
        Words(" now."),
    ]
