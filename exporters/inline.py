"""A clause's words as a small tree that every export format renders: words with their
emphasis, brackets (which nest and carry their Party) and footnote markers.

`bracketed_inline` follows `drafting.views.render_bracketed` step by step, so that printing
the tree with `as_text` gives exactly the bracketed view; `final_inline` gives the words of
a text without open brackets, tidied exactly as `drafting.views.clean_words` tidies them,
but keeping the italics, bold and links the views drop.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Text

from drafting.brackets import BracketSpan, spans_of
from drafting.schema import (
    BEFORE,
    BOLD_ATTR,
    BRACKET_ATTR_PREFIX,
    ITALIC_ATTR,
    LINK_ATTR,
    NOTE_ATTR,
    NegotiationText,
    note_markers,
)
from drafting.vocabulary import BracketKind


@dataclass
class Words:
    text: str
    italic: bool = False
    bold: bool = False
    link: str | None = None

    @property
    def style(self) -> tuple[bool, bool, str | None]:
        return (self.italic, self.bold, self.link)


@dataclass
class NoteMarker:
    """The marker of footnote `note` (the note's id in the text)."""

    note: str


@dataclass
class Bracketed:
    """An open bracket (or placeholder) and what it holds.

    `alternative_to` is the id of the first bracket of its group when this one is a later
    alternative (`[shall][should]`: "should" is an alternative to "shall"), else "".
    """

    span: BracketSpan
    children: list[Inline] = field(default_factory=list)
    alternative_to: str = ""

    @property
    def placeholder(self) -> bool:
        return self.span.kind == BracketKind.PLACEHOLDER


Inline = Words | NoteMarker | Bracketed


def bracketed_inline(text: NegotiationText, words: Text) -> list[Inline]:
    """Words with every open bracket, nested as `render_bracketed` prints them."""
    current = spans_of(text, words)
    by_id = {s.id: s for s in current}
    firsts = _first_of_groups(current)
    root: list[Inline] = []
    stack: list[tuple[str, list[Inline]]] = []  # open brackets: (id, their children)
    waiting: list[tuple[str, str]] = []  # note markers due after a bracket closes

    def here() -> list[Inline]:
        return stack[-1][1] if stack else root

    def close() -> None:
        bracket_id, _ = stack.pop()
        for marker in [m for m in waiting if m[1] == bracket_id]:
            here().append(NoteMarker(marker[0]))
            waiting.remove(marker)

    for chunk, attrs in words.diff():
        attrs = attrs or {}
        markers = note_markers(attrs.get(NOTE_ATTR))
        here().extend(NoteMarker(note) for note, where in markers if where == BEFORE)
        wanted = sorted(
            (by_id[b] for b in _bracket_ids(attrs) if b in by_id), key=lambda s: (s.depth, s.id)
        )
        keep = 0
        while keep < len(stack) and keep < len(wanted) and stack[keep][0] == wanted[keep].id:
            keep += 1
        while len(stack) > keep:
            close()
        here().extend(NoteMarker(note) for note, _ in waiting)  # their bracket is gone
        waiting.clear()
        for opening in wanted[keep:]:
            group_first = firsts[opening.group]
            node = Bracketed(opening, [], "" if group_first == opening.id else group_first)
            here().append(node)
            stack.append((opening.id, node.children))
        here().append(_words(chunk, attrs))
        open_ids = {bracket_id for bracket_id, _ in stack}
        for note, after in markers:
            if after == BEFORE:
                continue
            if after in open_ids:
                waiting.append((note, after))
            else:
                here().append(NoteMarker(note))
    while stack:
        close()
    root.extend(NoteMarker(note) for note, _ in waiting)
    return root


def final_inline(text: NegotiationText, words: Text) -> list[Inline]:
    """The words of a text whose brackets are all settled, tidied as the clean view does.

    A bracket attribute left on words whose bracket is no longer open is ignored, as in
    the clean view.
    """
    pieces: list[Words | NoteMarker] = []
    for chunk, attrs in words.diff():
        attrs = attrs or {}
        markers = note_markers(attrs.get(NOTE_ATTR))
        pieces.extend(NoteMarker(note) for note, where in markers if where == BEFORE)
        pieces.append(_words(chunk, attrs))
        pieces.extend(NoteMarker(note) for note, where in markers if where != BEFORE)
    return list(tidy(pieces))


def tidy(pieces: Iterable[Words | NoteMarker]) -> list[Words | NoteMarker]:
    """`drafting.views._tidy` over formatted pieces: one space where there were several,
    none before , . ; : and none at the two ends. A footnote marker counts as a word."""
    cells: list[tuple[str, Any]] = []  # (character or "" for a marker, style or marker)
    for piece in pieces:
        if isinstance(piece, NoteMarker):
            cells.append(("", piece))
        else:
            cells.extend((char, piece.style) for char in piece.text)
    collapsed: list[tuple[str, Any]] = []
    for cell in cells:
        if cell[0] == " " and collapsed and collapsed[-1][0] == " ":
            continue
        collapsed.append(cell)
    kept = [
        cell
        for index, cell in enumerate(collapsed)
        if not (
            cell[0] == " "
            and index + 1 < len(collapsed)
            and collapsed[index + 1][0] in (",", ".", ";", ":")
        )
    ]
    start, end = 0, len(kept)
    while start < end and kept[start][0] and kept[start][0].isspace():
        start += 1
    while end > start and kept[end - 1][0] and kept[end - 1][0].isspace():
        end -= 1
    out: list[Words | NoteMarker] = []
    for char, value in kept[start:end]:
        if not char:
            out.append(value)
        elif out and isinstance(out[-1], Words) and out[-1].style == value:
            out[-1].text += char
        else:
            italic, bold, link = value
            out.append(Words(char, italic, bold, link))
    return out


def as_text(inline: Iterable[Inline], *, show_parties: bool = False) -> str:
    """The words as the views print them: `[…]`, `{…}`, `[^3]`, `[EU: …]`."""
    out: list[str] = []
    for node in inline:
        if isinstance(node, Words):
            out.append(node.text)
        elif isinstance(node, NoteMarker):
            out.append(f"[^{node.note}]")
        else:
            opener, closer = ("{", "}") if node.placeholder else ("[", "]")
            party = f"{node.span.party}: " if show_parties and node.span.party else ""
            out.append(opener + party + as_text(node.children, show_parties=show_parties) + closer)
    return "".join(out)


def plain_words(inline: Iterable[Inline]) -> str:
    """Only the words: no brackets, no markers (for headings and file names)."""
    out: list[str] = []
    for node in inline:
        if isinstance(node, Words):
            out.append(node.text)
        elif isinstance(node, Bracketed):
            out.append(plain_words(node.children))
    return "".join(out)


def walk_brackets(inline: Iterable[Inline]) -> Iterable[Bracketed]:
    for node in inline:
        if isinstance(node, Bracketed):
            yield node
            yield from walk_brackets(node.children)


def markers_in(inline: Iterable[Inline]) -> Iterable[str]:
    """The footnote ids the markers in `inline` point at."""
    for node in inline:
        if isinstance(node, NoteMarker):
            yield node.note
        elif isinstance(node, Bracketed):
            yield from markers_in(node.children)


def _words(chunk: str, attrs: dict[str, Any]) -> Words:
    link = attrs.get(LINK_ATTR)
    return Words(
        chunk,
        italic=bool(attrs.get(ITALIC_ATTR)),
        bold=bool(attrs.get(BOLD_ATTR)),
        link=str(link) if link else None,
    )


def _bracket_ids(attrs: dict[str, Any]) -> list[str]:
    return [k[len(BRACKET_ATTR_PREFIX) :] for k in attrs if k.startswith(BRACKET_ATTR_PREFIX)]


def _first_of_groups(current: list[BracketSpan]) -> dict[str, str]:
    """The first bracket (in text order) of each group: the one the others alternate with."""
    firsts: dict[str, BracketSpan] = {}
    for s in current:
        if s.group not in firsts or s.start < firsts[s.group].start:
            firsts[s.group] = s
    return {group: s.id for group, s in firsts.items()}
