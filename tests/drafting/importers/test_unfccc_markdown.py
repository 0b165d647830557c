"""The UNFCCC Markdown importer, specified on small cases and on the six COP21 drafts.

The central property: no word is lost. Every corpus file is parsed, the tree is rendered
back to text, and the words of the rendering must be the words of the source, in order,
once the Markdown markup the parser is meant to drop has been dropped from both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drafting.importers.parsed import (
    Bracket,
    Inline,
    NoteRef,
    ParsedClause,
    ParsedText,
    Placeholder,
    Run,
    SourceError,
)
from drafting.importers.unfccc_markdown import (
    MESSAGE_OPEN_BRACE,
    MESSAGE_OPEN_BRACKET,
    MESSAGE_STRAY_BRACE,
    MESSAGE_STRAY_BRACKET,
    parse_markdown,
)
from drafting.vocabulary import ClauseKind, TextKind
from tests.cop21 import COP21 as CORPUS
from tests.cop21 import COP21_FILES

CORPUS_FILES = list(COP21_FILES)
BRACKET_MESSAGES = {MESSAGE_STRAY_BRACKET, MESSAGE_OPEN_BRACKET}
BRACE_MESSAGES = {MESSAGE_STRAY_BRACE, MESSAGE_OPEN_BRACE}


def corpus(name: str) -> str:
    path = CORPUS / name
    if not path.exists():
        pytest.fail(f"COP21 corpus not found at {CORPUS} (set TRAVAUX_COP21_CORPUS)")
    return path.read_text(encoding="utf-8")


_parsed_cache: dict[str, ParsedText] = {}


def parsed_corpus(name: str) -> ParsedText:
    if name not in _parsed_cache:
        _parsed_cache[name] = parse_markdown(corpus(name))
    return _parsed_cache[name]


# --- Walking and rendering the tree -----------------------------------------------------


def walk(clauses: list[ParsedClause]) -> Iterator[ParsedClause]:
    for clause in clauses:
        yield clause
        yield from walk(clause.children)


def inline_nodes(nodes: list[Inline]) -> Iterator[Inline]:
    for node in nodes:
        yield node
        if isinstance(node, Bracket | Placeholder):
            yield from inline_nodes(node.content)


def all_inline(parsed: ParsedText) -> Iterator[Inline]:
    for clause in walk(parsed.clauses):
        yield from inline_nodes(clause.heading)
        yield from inline_nodes(clause.content)
    for content in parsed.notes.values():
        yield from inline_nodes(content)


def plain(nodes: list[Inline]) -> str:
    return render_inline(nodes, unclosed_braces=set())


def render_inline(nodes: list[Inline], unclosed_braces: set[tuple[int, int]]) -> str:
    """Brackets as `[`/`]` (none for the halves the parser repaired), notes as `[^N]`."""
    out: list[str] = []
    for node in nodes:
        if isinstance(node, Run):
            out.append(node.text)
        elif isinstance(node, NoteRef):
            out.append(f"[^{node.note}]")
        elif isinstance(node, Bracket):
            inner = render_inline(node.content, unclosed_braces)
            out.append(f"[{inner}]" if node.closed else inner)
        else:
            inner = render_inline(node.content, unclosed_braces)
            repaired = (node.line, node.column) in unclosed_braces
            out.append(inner if repaired else "{" + inner + "}")
    return "".join(out)


def render(parsed: ParsedText) -> str:
    """The parsed text back as Markdown-like text, one clause a line, notes at the end."""
    unclosed = {(w.line, w.column) for w in parsed.warnings if w.message == MESSAGE_OPEN_BRACE}
    lines: list[str] = []

    def text(nodes: list[Inline]) -> str:
        return render_inline(nodes, unclosed)

    def clause_lines(clause: ParsedClause) -> None:
        kind, number = clause.kind, clause.number
        if kind in (ClauseKind.ARTICLE, ClauseKind.ANNEX):
            label = ("Article " if kind == ClauseKind.ARTICLE else "Annex ") + number
            label = f"[{label.strip()}]" if clause.bracketed else label
            lines.append(f"## {label} {text(clause.heading)}")
        elif kind == ClauseKind.SECTION:
            lines.append("## " + (f"{number}. " if number else "") + text(clause.heading))
        elif kind == ClauseKind.PREAMBLE:
            if clause.heading:
                lines.append("## " + text(clause.heading))
            if clause.content:
                lines.append(text(clause.content))
        elif kind == ClauseKind.OPTION:
            lines.append(f"Option {number}: {text(clause.content)}")
        elif kind == ClauseKind.OPTIONS:
            pass
        elif number:
            marker = number if number.endswith(")") else number + "."
            lines.append(f"{marker} {text(clause.content)}")
        else:
            lines.append(text(clause.content))
        for child in clause.children:
            clause_lines(child)

    for clause in parsed.clauses:
        clause_lines(clause)
    for key, content in parsed.notes.items():
        lines.append(f"[^{key}]: {text(content)}")
    return "\n".join(lines)


# --- Normalising source and rendering to words ------------------------------------------

_SUFFIX_WORDS = "bis|ter|quater|quinquies|sexies|septies|octies|novies|decies"
_SUFFIX = f"(?:{_SUFFIX_WORDS})"
# Markdown list markers at the start of a line: a bullet, an ordered marker, or both. The
# ordered marker becomes one token, ⟨1⟩ or ⟨(a)·bis⟩, so that numbers are compared too.
_LIST_MARKER = re.compile(
    r"^\s*(?:[-*+](?:\s+|$))?"  # a bullet
    r"(?:(?P<number>"
    r"\d{1,3}(?:\s?" + _SUFFIX + r")?[.)]"  # 1.  3 bis.  1)
    r"|\(\d{1,3}\s?" + _SUFFIX + r"?\)"  # (5bis)
    r"|\((?:[a-z]{1,2}|[ivx]+)\)(?:\s?" + _SUFFIX + r")?\.?"  # (a)  (ii)  (a) bis.
    r"|[a-z]\)"  # a)
    r")(?:\s+|$|(?<=[a-z]\.)(?=\S)|(?<=\))(?=[A-Z\[*])))?",
    re.MULTILINE,
)
# An option label, in any of its spellings, becomes one token: ⟨Option·1⟩.
_OPTION_LABEL = re.compile(
    r"Option\s*(?P<number>\d+(?:\s?(?:" + _SUFFIX_WORDS + r"|alt))?|[IVX]+\b"
    r"|\([a-z]\)(?:\s?\d+)?|[A-Z]\b)"
    r"(?P<notes>(?:\[\^[^\]\s]+\])*)(?:\s?[:.]){0,2}"
)


def marker_token(match: re.Match[str]) -> str:
    number = match["number"]
    return f" ⟨{'·'.join(number.split()).removesuffix('.')}⟩ " if number else ""


def option_token(match: re.Match[str]) -> str:
    return f" ⟨Option·{'·'.join(match['number'].split())}⟩ {match['notes']}"


_LINK_DEFINITION = re.compile(r"^ {0,3}\[(?!\^)([^\]]+)\]:\s*(\S+)\s*$")
_METADATA_LINE = re.compile(r"^\s*(?:\{:[^}]*\}|[*+-]\s+TOC|<!--.*-->)\s*$")
_TOKEN = re.compile(r"\[\^[^\]\s]+\]|[\[\]{}]|[^\s\[\]{}]+")


def link_names(source: str) -> set[str]:
    return {m.group(1).casefold() for m in map(_LINK_DEFINITION.match, source.split("\n")) if m}


def body_lines(source: str) -> list[tuple[int, str]]:
    """(line number, line) of the body: no front matter, link definitions or TOC markers."""
    lines = source.split("\n")
    start = 0
    if lines and lines[0] == "---":
        start = lines.index("---", 1) + 1
    return [
        (number, line)
        for number, line in enumerate(lines, 1)
        if number > start and not _LINK_DEFINITION.match(line) and not _METADATA_LINE.match(line)
    ]


def without_repaired_brackets(source: str, parsed: ParsedText) -> str:
    """The source minus the brackets and braces the parser reported as unbalanced."""
    lines = source.split("\n")
    repaired = sorted(
        {
            (w.line, w.column)
            for w in parsed.warnings
            if w.message in BRACKET_MESSAGES | BRACE_MESSAGES
        },
        reverse=True,
    )
    for line, column in repaired:
        text = lines[line - 1]
        assert text[column - 1] in "[]{}", (line, column, text)
        lines[line - 1] = text[: column - 1] + text[column:]
    return "\n".join(lines)


def words(text: str, links: set[str]) -> list[str]:
    """Words and brackets of Markdown-ish text, markup dropped the same way on both sides.

    Dropped: heading hashes, footnote-definition labels (`[^2]:`), bullets, HTML tags
    and comments, superscript carets, link syntax (the link text stays), backslashes of
    escapes and hard breaks, `*` and `~~`. List numbers and option labels become one
    canonical token each. Brackets, braces and footnote markers are tokens of their own,
    so `[shall][should]` and `[shall] [should]` compare alike but `[shall should]` does not.
    """
    text = re.sub(r"^\s*#{1,6}[ \t\u00a0]+", "", text, flags=re.MULTILINE)  # heading marks
    text = re.sub(r"^\s*\[\^[^\]\s]+\]:", "", text, flags=re.MULTILINE)  # note definitions
    text = _LIST_MARKER.sub(marker_token, text)
    text = re.sub(r"<!--.*?-->|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>", "", text)  # HTML
    text = re.sub(r"(?<![\[\\])\^([^\s^\[\]]+)\^", r"\1", text)  # superscript 5^th^

    def link(match: re.Match[str]) -> str:
        name = (match.group(2) or match.group(1)).casefold()
        return match.group(1) if name in links else match.group(0)

    text = re.sub(r"\[([^\[\]]+)\]\[([^\[\]]*)\]", link, text)
    text = re.sub(r"\[([^\[\]]+)\]\((?:[a-z]+:|/|#)[^\s()]*\)", r"\1", text)
    text = re.sub(r"\[([^\[\]^][^\[\]]*)\](?![\[(])", lambda m: link_shortcut(m, links), text)
    text = re.sub(r"\\(?=\s|$)", "", text)  # hard line breaks
    text = re.sub(r"\\([^\w\s])", r"\1", text)  # escapes
    text = text.replace("*", "").replace("~~", "")  # emphasis, strikethrough
    text = _OPTION_LABEL.sub(option_token, text)
    return _TOKEN.findall(text)


def link_shortcut(match: re.Match[str], links: set[str]) -> str:
    return match.group(1) if match.group(1).casefold() in links else match.group(0)


def first_difference(expected: list[str], actual: list[str]) -> str:
    index = next(
        (i for i, (a, b) in enumerate(zip(expected, actual, strict=False)) if a != b),
        min(len(expected), len(actual)),
    )
    return (
        f"first difference at word {index}:\n"
        f"  source:    …{' '.join(expected[max(0, index - 12) : index + 12])}…\n"
        f"  rendering: …{' '.join(actual[max(0, index - 12) : index + 12])}…"
    )


def remove_runs(tokens: list[str], paragraphs: list[list[str]]) -> list[str]:
    """Remove each paragraph's tokens, found in order as contiguous runs, from `tokens`."""
    result = list(tokens)
    start = 0
    for paragraph in paragraphs:
        for index in range(start, len(result) - len(paragraph) + 1):
            if result[index : index + len(paragraph)] == paragraph:
                del result[index : index + len(paragraph)]
                start = index
                break
        else:
            raise AssertionError(f"source note paragraph not found in the source: {paragraph}")
    return result


# --- No word is lost -------------------------------------------------------------------


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_no_word_of_a_corpus_text_is_lost(name: str) -> None:
    source = corpus(name)
    parsed = parsed_corpus(name)
    links = link_names(source)
    body = "\n".join(line for _, line in body_lines(without_repaired_brackets(source, parsed)))
    source_words = words(body, links)
    note = [words(paragraph, links) for paragraph in parsed.source_note.split("\n\n") if paragraph]
    expected = remove_runs(source_words, note)
    actual = words(render(parsed), links)
    assert expected == actual, first_difference(expected, actual)


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_every_opening_bracket_of_the_text_is_a_bracket(name: str) -> None:
    """`[` in the body = Bracket nodes + bracketed clauses + Markdown's own brackets."""
    source = corpus(name)
    parsed = parsed_corpus(name)
    links = link_names(source)
    body = re.sub(r"\\[\[\]{}]", "", "\n".join(line for _, line in body_lines(source)))
    footnotes = len(re.findall(r"\[\^[^\]\s]+\]", body))  # markers and definitions
    full = sum(
        1
        for m in re.finditer(r"\[([^\[\]]+)\]\[([^\[\]]*)\]", body)
        if (m.group(2) or m.group(1)).casefold() in links
    )
    shortcut = sum(
        1
        for m in re.finditer(r"(?<!\])\[([^\[\]^][^\[\]]*)\](?![\[(])", body)
        if m.group(1).casefold() in links
    )
    markdown_openers = footnotes + 2 * full + shortcut
    brackets = [node for node in all_inline(parsed) if isinstance(node, Bracket)]
    bracketed_clauses = sum(clause.bracketed for clause in walk(parsed.clauses))
    assert len(brackets) + bracketed_clauses == body.count("[") - markdown_openers

    strays = sum(w.message == MESSAGE_STRAY_BRACKET for w in parsed.warnings)
    closed = sum(bracket.closed for bracket in brackets)
    assert closed + bracketed_clauses + strays == body.count("]") - markdown_openers
    assert len(brackets) - closed == sum(w.message == MESSAGE_OPEN_BRACKET for w in parsed.warnings)


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_every_brace_of_the_text_is_a_placeholder(name: str) -> None:
    source = corpus(name)
    parsed = parsed_corpus(name)
    body = re.sub(r"\\[{}]", "", "\n".join(line for _, line in body_lines(source)))
    placeholders = [node for node in all_inline(parsed) if isinstance(node, Placeholder)]
    unclosed = sum(w.message == MESSAGE_OPEN_BRACE for w in parsed.warnings)
    strays = sum(w.message == MESSAGE_STRAY_BRACE for w in parsed.warnings)
    assert len(placeholders) == body.count("{")
    assert len(placeholders) - unclosed + strays == body.count("}")


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_warnings_point_at_the_bracket_they_repaired(name: str) -> None:
    lines = corpus(name).split("\n")
    expected_char = {
        MESSAGE_STRAY_BRACKET: "]",
        MESSAGE_OPEN_BRACKET: "[",
        MESSAGE_STRAY_BRACE: "}",
        MESSAGE_OPEN_BRACE: "{",
    }
    for warning in parsed_corpus(name).warnings:
        if warning.message in expected_char:
            assert lines[warning.line - 1][warning.column - 1] == expected_char[warning.message]


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_an_unclosed_bracket_is_flagged_where_it_opened(name: str) -> None:
    parsed = parsed_corpus(name)
    opened = {(w.line, w.column) for w in parsed.warnings if w.message == MESSAGE_OPEN_BRACKET}
    unclosed = {
        (node.line, node.column)
        for node in all_inline(parsed)
        if isinstance(node, Bracket) and not node.closed
    }
    assert opened == unclosed


# --- The corpus, file by file ----------------------------------------------------------


def test_the_23_october_draft_has_an_article_for_every_article_heading() -> None:
    source = corpus("draft-agreement-23-oct-2015.md")
    headings = re.findall(r"^## \[?Article (\d+\s?\w*)", source, flags=re.MULTILINE)
    articles = [
        c
        for c in walk(parsed_corpus("draft-agreement-23-oct-2015.md").clauses)
        if c.kind == ClauseKind.ARTICLE
    ]
    assert [a.number for a in articles] == [h.strip() for h in headings]
    # Articles 1 to 26, plus 2bis, 3bis, 3ter and 8 bis.
    assert {int(re.sub(r"\D.*", "", a.number)) for a in articles} == set(range(1, 27))
    assert len(articles) == 30


def test_article_2_of_the_23_october_draft_has_two_options() -> None:
    article = article_numbered(parsed_corpus("draft-agreement-23-oct-2015.md"), "2")
    assert plain(article.heading) == "(purpose)"
    [block] = article.children
    assert block.kind == ClauseKind.OPTIONS
    assert [(o.kind, o.number) for o in block.children] == [
        (ClauseKind.OPTION, "1"),
        (ClauseKind.OPTION, "2"),
    ]
    first, second = block.children
    assert [c.number for c in first.children] == ["1", "2"]
    assert [c.number for c in first.children[0].children] == ["1", "2", "3"]
    assert first.children[0].children[0].kind == ClauseKind.SUBPARAGRAPH
    assert [plain(c.content) for c in second.children] == ["No text"]


def test_options_nest_in_paragraphs_of_options() -> None:
    """23 Oct, Article 3, paragraph 8: Timing > 2. Subsequent communications > Option 1 >
    1. Every 5 years > text."""
    article = article_numbered(parsed_corpus("draft-agreement-23-oct-2015.md"), "3")
    timing = next(c for c in article.children if c.number == "8")
    subsequent = timing.children[1]
    assert plain(subsequent.content) == "Subsequent communications"
    [block] = subsequent.children
    assert [o.number for o in block.children] == ["1", "2"]
    every_five_years = block.children[0].children[0]
    assert plain(every_five_years.content) == "Every 5 years, harmonised NDC"
    assert every_five_years.children[0].kind == ClauseKind.TEXT


def test_the_23_october_preamble_holds_the_chapeau_recitals_and_an_option_block() -> None:
    source = corpus("draft-agreement-23-oct-2015.md")
    section = source[source.index("## Preamble") : source.index("## Article 1 ")]
    paragraphs = [p for p in section.split("\n\n")[1:] if p.strip()]
    # Every paragraph is a recital but the chapeau, the two options and the closing formula.
    recitals = len(paragraphs) - 4
    preamble = parsed_corpus("draft-agreement-23-oct-2015.md").clauses[1]
    assert preamble.kind == ClauseKind.PREAMBLE
    assert plain(preamble.content) == "The Parties to this Agreement,"
    kinds = [c.kind for c in preamble.children]
    assert kinds.count(ClauseKind.RECITAL) == recitals == 14
    [block] = (c for c in preamble.children if c.kind == ClauseKind.OPTIONS)
    assert [plain(o.content)[:25] for o in block.children] == [
        "Recognizing the importanc",
        "Recognizing the fundament",
    ]
    assert kinds[-1] == ClauseKind.TEXT  # "Have agreed as follows:"


def test_adjacent_alternatives_in_the_corpus_are_two_brackets() -> None:
    recital = parsed_corpus("draft-agreement-23-oct-2015.md").clauses[1].children[1]
    assert [type(n).__name__ for n in recital.content[:4]] == ["Run", "Bracket", "Bracket", "Run"]
    assert plain(recital.content[1].content) == "furtherance"
    assert plain(recital.content[2].content) == "pursuit"


def test_a_link_to_the_source_document_is_not_a_bracket() -> None:
    parsed = parsed_corpus("draft-agreement-23-oct-2015.md")
    assert parsed.source_note.startswith("This is the final draft negotiating text prepared")
    assert "[" not in parsed.source_note.split("\n\n")[0]
    assert parsed.source_note.endswith("Edited version of 6 November 2015[^1]")


def test_brackets_in_the_corpus_nest_four_deep() -> None:
    def depth(nodes: list[Inline]) -> int:
        return max(
            (1 + depth(n.content) for n in nodes if isinstance(n, Bracket)),
            default=0,
        )

    parsed = parsed_corpus("draft-agreement-23-oct-2015.md")
    deepest = max(depth(c.content) for c in walk(parsed.clauses))
    assert deepest >= 4


def test_the_draft_decision_is_a_decision_with_an_implicit_preamble() -> None:
    parsed = parsed_corpus("draft-decision-4-dec-2015.md")
    assert parsed.kind == TextKind.DECISION
    [section_b] = parsed.clauses
    assert (section_b.kind, section_b.number, plain(section_b.heading)) == (
        ClauseKind.SECTION,
        "B",
        "DRAFT DECISION[^13]",
    )
    preamble = section_b.children[0]
    assert preamble.kind == ClauseKind.PREAMBLE
    assert plain(preamble.content) == "The Conference of the Parties,"
    assert [c.kind for c in preamble.children] == [ClauseKind.RECITAL] * 5
    adoption = section_b.children[1]
    assert (adoption.kind, adoption.number) == (ClauseKind.SECTION, "I")
    assert [type(n).__name__ for n in adoption.heading] == ["Run", "Bracket", "Run", "Bracket"]
    assert adoption.children[0].kind == ClauseKind.OPERATIVE
    assert parsed.source_note == "Edited version of 6 November 2015[^1]"


def test_the_adopted_agreement_is_a_clean_treaty() -> None:
    parsed = parsed_corpus("paris-agreement-adopted.md")
    assert parsed.kind == TextKind.TREATY
    assert parsed.title == "Paris Agreement"
    assert parsed.warnings == []
    assert not any(isinstance(n, Bracket) for n in all_inline(parsed))
    assert [c.number for c in parsed.clauses if c.kind == ClauseKind.ARTICLE] == [
        str(n) for n in range(1, 30)
    ]


def test_a_footnote_defined_twice_keeps_both_definitions() -> None:
    parsed = parsed_corpus("draft-agreement-4-dec-2015.md")
    assert plain(parsed.notes["2-2"]) == "Overlaps with option b"
    assert plain(parsed.notes["2"]).startswith("Without prejudice to how the final agreement")
    assert "Option 4: INDC which can be in the form" in plain(parsed.notes["2"])
    messages = [w.message for w in parsed.warnings]
    assert "footnote [^1] is referenced but never defined" in messages


@pytest.mark.parametrize("name", CORPUS_FILES)
def test_every_clause_knows_its_source_line(name: str) -> None:
    lines = corpus(name).split("\n")
    for clause in walk(parsed_corpus(name).clauses):
        assert clause.line >= 1
        assert lines[clause.line - 1].strip()


# --- Small cases: structure --------------------------------------------------------------


def article_numbered(parsed: ParsedText, number: str) -> ParsedClause:
    return next(
        c for c in walk(parsed.clauses) if c.kind == ClauseKind.ARTICLE and c.number == number
    )


def test_front_matter_gives_the_title_and_table_of_contents_markers_vanish() -> None:
    parsed = parse_markdown(
        '---\ntitle: "Draft Agreement"\nedit: true\n---\n\n* TOC\n{:toc}\n\n## Article 1\n\nText.\n'
    )
    assert parsed.title == "Draft Agreement"
    [article] = parsed.clauses
    assert [plain(c.content) for c in article.children] == ["Text."]


def test_article_headings_give_number_title_and_clause_brackets() -> None:
    parsed = parse_markdown(
        "## Article 2bis *(general)*\n\n## [Article 3bis] *(REDD-plus)*\n\n## Article 8 bis\n"
    )
    general, redd, education = parsed.clauses
    assert (general.number, general.bracketed) == ("2bis", False)
    assert general.heading == [Run("(general)", italic=True)]
    assert (redd.number, redd.bracketed, plain(redd.heading)) == ("3bis", True, "(REDD-plus)")
    assert (education.number, education.heading) == ("8 bis", [])
    assert parsed.kind == TextKind.TREATY


def test_headings_nest_by_level_and_keep_their_brackets() -> None:
    parsed = parse_markdown(
        "## B. DRAFT DECISION\n\n### I. ADOPTION OF THE [PARIS AGREEMENT]\n\n1. *Decides*;\n\n"
        "### II. OTHER\n\n## Annex\n\n[Placeholder for annexes]\n"
    )
    decision, annex = parsed.clauses
    assert (decision.kind, decision.number) == (ClauseKind.SECTION, "B")
    adoption, other = decision.children
    assert adoption.number == "I"
    assert isinstance(adoption.heading[1], Bracket)
    assert other.number == "II"
    assert annex.kind == ClauseKind.ANNEX
    assert plain(annex.children[0].content) == "[Placeholder for annexes]"


def test_numbered_and_lettered_items_nest_by_indentation() -> None:
    parsed = parse_markdown(
        "## Article 4\n\n"
        "1. Parties shall:\n\n"
        "   1. first;\n"
        "   2. second;\n\n"
        "       (i) deeper;\n\n"
        "2. Next paragraph:\n\n"
        "(a) flush-left letter belongs to 2;\n\n"
        "(b) and so does this.\n\n"
        "3 bis. Inserted.\n"
    )
    [article] = parsed.clauses
    one, two, three_bis = article.children
    assert [(c.kind, c.number) for c in one.children] == [
        (ClauseKind.SUBPARAGRAPH, "1"),
        (ClauseKind.SUBPARAGRAPH, "2"),
    ]
    assert one.children[1].children[0].number == "(i)"
    assert [c.number for c in two.children] == ["(a)", "(b)"]
    assert (three_bis.kind, three_bis.number) == (ClauseKind.PARAGRAPH, "3 bis")


def test_letters_i_v_x_are_letters_after_h_u_w_and_roman_numerals_otherwise() -> None:
    parsed = parse_markdown(
        "1. Chapeau:\n\n(h) eighth;\n\n(i) ninth letter;\n\n(j) tenth.\n\n"
        "2. Other:\n\n(a) first;\n\n(i) a roman numeral under (a).\n"
    )
    first, second = parsed.clauses
    assert [c.number for c in first.children] == ["(h)", "(i)", "(j)"]
    assert [c.number for c in second.children] == ["(a)"]
    assert [c.number for c in second.children[0].children] == ["(i)"]


def test_continuation_lines_join_the_paragraph_with_one_space() -> None:
    parsed = parse_markdown("## Article 1\n\n1. Parties shall\ntake action\n    and report.\n")
    paragraph = parsed.clauses[0].children[0]
    assert plain(paragraph.content) == "Parties shall take action and report."


def test_a_backslash_line_break_is_a_space() -> None:
    parsed = parse_markdown("## Article 1\n\n1. capacity of\\\ndeveloping country Parties\n")
    assert plain(parsed.clauses[0].children[0].content) == "capacity of developing country Parties"


def test_option_labels_in_every_spelling_open_one_options_block() -> None:
    parsed = parse_markdown(
        "## Article 6\n\n"
        "**Option 1:** Parties shall.\n\n"
        "**Option 2**: Parties should.\n\n"
        "**Option 3** : Parties may.\n\n"
        "***Option 4:*** Parties might.\n\n"
        "Option 5: No text\n"
    )
    [block] = parsed.clauses[0].children
    assert block.kind == ClauseKind.OPTIONS
    assert [(o.number, plain(o.content)) for o in block.children] == [
        ("1", "Parties shall."),
        ("2", "Parties should."),
        ("3", "Parties may."),
        ("4", "Parties might."),
        ("5", "No text"),
    ]


def test_an_option_holds_the_blocks_that_follow_it_until_the_next_option() -> None:
    parsed = parse_markdown(
        "## Article 2\n\n**Option 1:**\n\n1. First.\n\n2. Second.\n\n**Option 2:**\n\nNo text\n"
    )
    [block] = parsed.clauses[0].children
    first, second = block.children
    assert [c.number for c in first.children] == ["1", "2"]
    assert first.children[0].kind == ClauseKind.PARAGRAPH
    assert [plain(c.content) for c in second.children] == ["No text"]


def test_options_inside_a_paragraph_and_a_restart_opens_a_new_block() -> None:
    parsed = parse_markdown(
        "## Article 3\n\n"
        "1. **Option 1:** Parties aim.\n\n"
        "    Further words of option 1.\n\n"
        "    **Option 2:** Parties share.\n\n"
        "    *Modulator:*\n\n"
        "    **Option 1:** Taking into consideration.\n\n"
        "    **Option 2:** No modulator.\n\n"
        "2. Next.\n"
    )
    one, two = parsed.clauses[0].children
    assert one.content == []
    first_block, second_block = (c for c in one.children if c.kind == ClauseKind.OPTIONS)
    assert [o.number for o in first_block.children] == ["1", "2"]
    assert plain(first_block.children[0].children[0].content) == "Further words of option 1."
    assert [o.number for o in second_block.children] == ["1", "2"]
    assert two.number == "2"


def test_an_option_numbered_as_the_next_one_rejoins_its_block_despite_indentation() -> None:
    parsed = parse_markdown(
        "42. **Option 1:** *Requests* the SBSTA;\n\n**Option 2:** no text\n\n43. *Requests*;\n"
    )
    forty_two, forty_three = parsed.clauses
    [block] = forty_two.children
    assert [o.number for o in block.children] == ["1", "2"]
    assert forty_three.number == "43"


def test_an_option_label_that_opens_a_bracket_puts_it_before_the_words() -> None:
    parsed = parse_markdown("45. **[Option1:** *[Provision.][Parties* decide]].\n")
    [option] = parsed.clauses[0].children[0].children
    assert option.number == "1"
    [outer, stop] = option.content
    assert isinstance(outer, Bracket) and outer.closed
    assert [type(n).__name__ for n in outer.content[:2]] == ["Bracket", "Bracket"]
    assert stop == Run(".")


def test_a_chapeau_and_recitals_form_a_preamble() -> None:
    parsed = parse_markdown(
        "## Preamble\n\nThe Parties to this Agreement,\n\n*Being* Parties to the Convention,\n\n"
        "*Recalling* decision 1/CP.17,\n\nHave agreed as follows:\n"
    )
    [preamble] = parsed.clauses
    assert plain(preamble.content) == "The Parties to this Agreement,"
    assert [c.kind for c in preamble.children] == [
        ClauseKind.RECITAL,
        ClauseKind.RECITAL,
        ClauseKind.TEXT,
    ]
    assert preamble.children[0].content[0] == Run("Being", italic=True)


def test_a_decision_opens_its_preamble_with_the_chapeau_and_numbers_operative_paragraphs() -> None:
    parsed = parse_markdown(
        "*The Conference of the Parties,*\n\n*Recalling* decision 1/CP.17,\n\n"
        "1. *Decides* to adopt the Agreement;\n\n2. *Requests* the Secretary-General;\n"
    )
    assert parsed.kind == TextKind.DECISION
    preamble, first, second = parsed.clauses
    assert preamble.kind == ClauseKind.PREAMBLE
    assert [c.kind for c in preamble.children] == [ClauseKind.RECITAL]
    assert (first.kind, second.kind) == (ClauseKind.OPERATIVE, ClauseKind.OPERATIVE)


def test_a_text_without_articles_or_conference_is_a_resolution() -> None:
    parsed = parse_markdown("*The General Assembly,*\n\n*Recalling*,\n\n1. *Decides*;\n")
    assert parsed.kind == TextKind.RESOLUTION
    assert parsed.clauses[1].kind == ClauseKind.OPERATIVE


def test_prose_before_the_text_is_the_source_note() -> None:
    parsed = parse_markdown(
        "*This is the [draft][source] as published.*\n\n"
        "[source]: http://example.org/draft.pdf\n\n"
        "*Edited version*[^1]\n\n"
        "## Article 1\n\nText.\n\n"
        "[^1]: A note.\n"
    )
    assert parsed.source_note == "This is the draft as published.\n\nEdited version[^1]"
    assert parsed.notes == {"1": [Run("A note.")]}


def test_a_text_with_no_structure_keeps_its_paragraphs_as_text() -> None:
    parsed = parse_markdown("First paragraph.\n\nSecond paragraph.\n")
    assert [(c.kind, plain(c.content)) for c in parsed.clauses] == [
        (ClauseKind.TEXT, "First paragraph."),
        (ClauseKind.TEXT, "Second paragraph."),
    ]
    assert parsed.source_note == ""


def test_clauses_know_their_line() -> None:
    parsed = parse_markdown("---\ntitle: T\n---\n## Article 1\n\n1. One.\n\n   (a) Sub.\n")
    [article] = parsed.clauses
    assert (article.line, article.children[0].line, article.children[0].children[0].line) == (
        4,
        6,
        8,
    )


# --- Small cases: inline content -----------------------------------------------------------


def content_of(markdown: str) -> list[Inline]:
    """The content of the single paragraph of a one-article text."""
    return parse_markdown("## Article 1\n\n" + markdown + "\n").clauses[0].children[0].content


def test_adjacent_brackets_are_two_bracket_nodes() -> None:
    assert content_of("In [furtherance][pursuit] of") == [
        Run("In "),
        Bracket([Run("furtherance")], 3, 4),
        Bracket([Run("pursuit")], 3, 17),
        Run(" of"),
    ]


def test_brackets_nest() -> None:
    [outer] = content_of("[[Being guided by][In accordance with] the principles]")
    assert isinstance(outer, Bracket)
    first, second, rest = outer.content
    assert (plain([first]), plain([second]), rest) == (
        "[Being guided by]",
        "[In accordance with]",
        Run(" the principles"),
    )


def test_brackets_nest_to_any_depth() -> None:
    [node] = content_of("[a [b [c [d [e]]]]]")
    depth = 0
    while isinstance(node, Bracket):
        depth += 1
        node = node.content[-1]
    assert depth == 5


def test_a_link_is_not_a_bracket_only_when_its_reference_is_defined() -> None:
    parsed = parse_markdown(
        "## Article 1\n\nSee the [draft text][source] and [shall][should].\n\n"
        "[source]: http://example.org/x.pdf\n"
    )
    content = parsed.clauses[0].children[0].content
    assert content[1] == Run("draft text", link="http://example.org/x.pdf")
    assert [type(n).__name__ for n in content[2:]] == ["Run", "Bracket", "Bracket", "Run"]


def test_an_inline_link_needs_an_address() -> None:
    assert content_of("[text](http://example.org)")[0] == Run("text", link="http://example.org")
    assert [type(n).__name__ for n in content_of("paragraph [x](a) above")] == [
        "Run",
        "Bracket",
        "Run",
    ]


def test_placeholders_and_footnote_markers() -> None:
    assert content_of("{Placeholder for preamble}[^3] text[[^9]]") == [
        Placeholder([Run("Placeholder for preamble")], 3, 1),
        NoteRef("3"),
        Run(" text"),
        Bracket([NoteRef("9")], 3, 36),
    ]


def test_emphasis_crossing_a_bracket_leaves_the_brackets_alone() -> None:
    assert content_of("*[Taking* account of [needs]]") == [
        Bracket(
            [
                Run("Taking", italic=True),
                Run(" account of "),
                Bracket([Run("needs")], 3, 22),
            ],
            3,
            2,
        )
    ]


def test_emphasis_inside_a_word_and_bold() -> None:
    assert content_of("and r*eaffirming* that **Features**") == [
        Run("and r"),
        Run("eaffirming", italic=True),
        Run(" that "),
        Run("Features", bold=True),
    ]


def test_underscores_emphasise_only_outside_words() -> None:
    assert content_of("_Recalling_ decision file_name") == [
        Run("Recalling", italic=True),
        Run(" decision file_name"),
    ]


def test_an_unmatched_star_stays_as_a_star() -> None:
    assert content_of("*Consultative period/ex ante") == [Run("*Consultative period/ex ante")]


def test_strikethrough_keeps_its_words() -> None:
    assert content_of("~~INTERIM ARRANGEMENTS~~ kept") == [Run("INTERIM ARRANGEMENTS kept")]


def test_backslash_escapes_give_the_character() -> None:
    assert content_of(r"\* US\$100 and\ more \[not a bracket\]") == [
        Run("* US$100 and more [not a bracket]")
    ]


def test_html_tags_are_dropped_and_their_words_kept() -> None:
    html = '*<span style="font-variant:small-caps;">Loss and damage</span>*'
    assert content_of(html) == [Run("Loss and damage", italic=True)]


def test_non_ascii_text_passes_through_unchanged() -> None:
    arabic = "تتخذ الأطراف [إجراءات] عاجلة"
    chinese = "缔约方[应][可]采取行动"
    russian = "Стороны [принимают] меры «немедленно»"
    parsed = parse_markdown(
        f"## Article 1 *(цель)*\n\n1. {arabic}\n\n2. {chinese}\n\n3. {russian}\n"
    )
    [article] = parsed.clauses
    assert plain(article.heading) == "(цель)"
    assert [plain(c.content) for c in article.children] == [arabic, chinese, russian]
    assert article.children[1].content[1] == Bracket([Run("应")], 5, 7)


# --- Unbalanced brackets ---------------------------------------------------------------------


def test_a_closing_bracket_without_an_opening_one_is_dropped_and_reported() -> None:
    parsed = parse_markdown("## Article 5\n\n**Option II:** No reference (no Article 5).]\n")
    option = parsed.clauses[0].children[0].children[0]
    assert option.content == [Run("No reference (no Article 5).")]
    [warning] = parsed.warnings
    assert (warning.line, warning.column, warning.message) == (3, 44, MESSAGE_STRAY_BRACKET)
    assert str(warning) == "line 3, column 44: closing bracket without an opening one"


def test_a_bracket_never_closed_closes_at_the_end_of_its_paragraph() -> None:
    parsed = parse_markdown("## Article 7\n\n   [inter alia:\n   more words\n\nNext.\n")
    first, second = parsed.clauses[0].children
    assert first.content == [Bracket([Run("inter alia: more words")], 3, 4, closed=False)]
    assert plain(second.content) == "Next."
    [warning] = parsed.warnings
    assert (warning.line, warning.column, warning.message) == (3, 4, MESSAGE_OPEN_BRACKET)


def test_unbalanced_braces_are_repaired_the_same_way() -> None:
    parsed = parse_markdown("## Article 1\n\n{open placeholder\n\nclosed} brace\n")
    first, second = parsed.clauses[0].children
    assert first.content == [Placeholder([Run("open placeholder")], 3, 1)]
    assert second.content == [Run("closed brace")]
    assert [(w.line, w.column, w.message) for w in parsed.warnings] == [
        (3, 1, MESSAGE_OPEN_BRACE),
        (5, 7, MESSAGE_STRAY_BRACE),
    ]


def test_warnings_count_columns_in_characters_not_bytes() -> None:
    parsed = parse_markdown("## Article 1\n\nСтороны] принимают\n")
    [warning] = parsed.warnings
    assert (warning.line, warning.column) == (3, 8)


def test_a_footnote_definition_may_continue_on_indented_lines() -> None:
    parsed = parse_markdown(
        "## Article 1\n\nText.[^2]\n\n[^2]: Without prejudice:\n\n      Option 1: [NDMC]\n"
        "      Option 2: [NDMCC]\n"
    )
    assert plain(parsed.notes["2"]) == "Without prejudice: Option 1: [NDMC] Option 2: [NDMCC]"
    assert isinstance(parsed.notes["2"][1], Bracket)
    assert parsed.notes["2"][1].line == 7


# --- Input that is not a negotiation text ------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "message", "line", "column"),
    [
        ("", "the file is empty", 1, 1),
        ("  \n\n\t\n", "the file has no text", 1, 1),
        ("## Article 1\n\nText\x00more", "binary data, not a text: NUL byte", 3, 5),
        ("%PDF-1.4\n%\x01\x02\x03", "binary data, not a text: control character", 2, 2),
        (
            "---\ntitle: Draft\n---\n\n* TOC\n{:toc}\n",
            "there is no text after the front matter",
            3,
            1,
        ),
        ("---\ntitle: Draft\n\n## Article 1\n", "the front matter opened here", 1, 1),
        ("\n  ]\n\n<span></span>\n", "there are no words here, only markup", 2, 3),
    ],
)
def test_input_that_is_not_a_text_raises_a_source_error(
    source: str, message: str, line: int, column: int
) -> None:
    with pytest.raises(SourceError) as raised:
        parse_markdown(source)
    assert message in str(raised.value)
    assert (raised.value.line, raised.value.column) == (line, column)


def test_bytes_are_refused_with_a_hint() -> None:
    with pytest.raises(SourceError, match="decode"):
        parse_markdown(b"## Article 1\n")  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "[",
                "]",
                "{",
                "}",
                "*",
                "**",
                "\\",
                "~~",
                "^",
                "\n",
                "\n\n",
                "    ",
                " ",
                "1. ",
                "(a) ",
                "(i) ",
                "- ",
                "**Option 1:** ",
                "Option 2: ",
                "**[Option 3**",
                "## ",
                "## Article 2bis ",
                "## [Article 3]",
                "## Preamble\n",
                "The Parties,",
                "[^1]",
                "\n[^1]: ",
                "[x]: http://example.org\n",
                "[t][x]",
                "<span>",
                "---",
                "{:toc}",
                "words",
                "مرحبا",
                "条约",
                "\u00a0",
                "\t",
            ]
        ),
        max_size=40,
    ).map("".join)
)
def test_any_text_is_parsed_or_refused_with_a_source_error(source: str) -> None:
    try:
        parsed = parse_markdown(source)
    except SourceError as error:
        assert str(error)
    else:
        assert parsed.clauses or parsed.notes or parsed.source_note
