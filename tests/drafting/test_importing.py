"""Importing builds the document the parser read: same clauses, words, brackets and notes.

The parser's tests show that the parsed tree holds every word of the six COP21 files;
these show that the document built from the tree holds every word of the tree, in the
same clauses, with the same brackets — so the bracketed view reproduces the source.
"""

from __future__ import annotations

import pytest

from drafting.importers.parsed import Bracket, NoteRef, ParsedClause, Placeholder, Run
from drafting.importers.unfccc_markdown import parse_markdown
from drafting.importing import build_text, import_markdown
from drafting.outline import Outline
from drafting.statistics import statistics
from drafting.views import bracketed_text, bracketed_words
from drafting.vocabulary import ClauseKind, ClauseStatus, TextKind
from tests.cop21 import COP21_FILES


def render(inline) -> str:
    """The parsed words as the bracketed view prints them."""
    out = []
    for node in inline:
        if isinstance(node, Run):
            out.append(node.text)
        elif isinstance(node, NoteRef):
            out.append(f"[^{node.note}]")
        elif not has_words(node.content):
            out.append(render(node.content))  # "[[^9]]": brackets around no words are dropped
        elif isinstance(node, Placeholder):
            out.append("{" + render(node.content) + "}")
        elif isinstance(node, Bracket):
            out.append("[" + render(node.content) + "]")
    return "".join(out)


def has_words(inline) -> bool:
    return any(
        (isinstance(n, Run) and n.text)
        or (isinstance(n, Bracket | Placeholder) and has_words(n.content))
        for n in inline
    )


def expected_words(clause: ParsedClause) -> str:
    heading = [] if clause.kind == ClauseKind.PREAMBLE else clause.heading
    joiner = [Run(" ")] if heading and clause.content else []
    return render([*heading, *joiner, *clause.content])


def flatten(clauses, depth=0):
    for clause in clauses:
        yield clause, depth
        yield from flatten(clause.children, depth + 1)


def count_brackets(inline) -> tuple[int, int]:
    brackets = placeholders = 0
    for node in inline:
        if isinstance(node, Bracket | Placeholder):
            inner_b, inner_p = count_brackets(node.content)
            worded = has_words(node.content)
            brackets += inner_b + (isinstance(node, Bracket) and worded)
            placeholders += inner_p + (isinstance(node, Placeholder) and worded)
    return brackets, placeholders


@pytest.fixture(scope="module")
def imported(cop21_dir):
    cache = {}

    def load(name):
        if name not in cache:
            parsed = parse_markdown((cop21_dir / name).read_text(encoding="utf-8"))
            cache[name] = (parsed, build_text(parsed))
        return cache[name]

    return load


@pytest.mark.parametrize("name", COP21_FILES)
def test_every_clause_is_built_in_order_with_its_words_and_brackets(imported, name):
    parsed, text = imported(name)
    outline = Outline(text)
    built = list(outline.walk())
    source = list(flatten(parsed.clauses))
    assert len(built) == len(source)
    for placed, (clause, depth) in zip(built, source, strict=True):
        record = placed.clause
        assert (record.kind, record.source_number, placed.depth) == (
            clause.kind,
            clause.number,
            depth,
        ), f"source line {clause.line}"
        assert bracketed_words(text, record.id) == expected_words(clause), (
            f"source line {clause.line}"
        )
        assert bool(record.bracket) == clause.bracketed


@pytest.mark.parametrize("name", COP21_FILES)
def test_statistics_count_what_the_source_holds(imported, name):
    parsed, text = imported(name)
    brackets = placeholders = 0
    for clause, _ in flatten(parsed.clauses):
        b, p = count_brackets([*clause.heading, *clause.content])
        brackets += b + clause.bracketed
        placeholders += p
    figures = statistics(text)
    assert figures["brackets"] == brackets
    assert figures["placeholders"] == placeholders
    assert figures["clauses"] == len(list(flatten(parsed.clauses)))
    assert figures["articles"] == sum(
        c.kind == ClauseKind.ARTICLE for c, _ in flatten(parsed.clauses)
    )


@pytest.mark.parametrize("name", COP21_FILES)
def test_footnotes_and_the_transcribers_note_are_kept(imported, name):
    parsed, text = imported(name)
    for note_id, content in parsed.notes.items():
        assert f"[^{note_id}]: {render(content)}" in bracketed_text(text)
    assert text.get_meta("source_note") == parsed.source_note


def test_the_23_october_draft_is_a_heavily_bracketed_treaty(imported):
    _, text = imported("draft-agreement-23-oct-2015.md")
    figures = statistics(text)
    assert figures["kind"] == TextKind.TREATY
    assert figures["brackets"] > 1000  # "~1,050 brackets" (issue 6)
    assert figures["alternatives"] > 100 and figures["options"] > 50
    assert figures["max_nesting"] >= 3
    assert "In [furtherance][pursuit] of the objective" in bracketed_text(text)


def test_bracket_counts_fall_from_draft_to_adopted_text(imported):
    counts = [
        statistics(imported(name)[1])["brackets"]
        for name in (
            "draft-agreement-23-oct-2015.md",
            "draft-agreement-9-dec-2015.md",
            "paris-agreement-adopted.md",
        )
    ]
    assert counts[0] > counts[1] > counts[2] == 0


def test_bracketed_clauses_start_bracketed_and_the_others_pending(imported):
    _, text = imported("draft-agreement-9-dec-2015.md")
    for record in text.clauses():
        words = bracketed_words(text, record.id).replace("[^", "")
        has_brackets = "[" in words or "{" in words
        expected = (
            ClauseStatus.BRACKETED if has_brackets or record.bracket else ClauseStatus.PENDING
        )
        assert record.status == expected


def test_import_reports_unbalanced_brackets_with_their_place(cop21_dir):
    result = import_markdown((cop21_dir / "draft-agreement-23-oct-2015.md").read_text())
    assert result.warnings
    first = result.warnings[0]
    assert first.line > 0 and first.column > 0 and "bracket" in first.message
