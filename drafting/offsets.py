"""Positions in a clause's words, as people count them.

pycrdt indexes text by UTF-8 byte, Yjs by UTF-16 code unit, and people (and this API) by
character. An index inside a multi-byte character makes pycrdt silently append at the end,
so every position crosses this module on its way in or out. Treaties are drafted in
Arabic, Chinese and Russian as much as in English.
"""

from __future__ import annotations


class PositionError(IndexError):
    """A character position outside the words it points into."""


def check_span(words: str, start: int, end: int) -> None:
    if not 0 <= start <= end <= len(words):
        raise PositionError(
            f"span {start}..{end} is outside the clause's words (0..{len(words)} characters)"
        )


def to_utf8(words: str, position: int) -> int:
    """Character position -> UTF-8 byte offset (pycrdt)."""
    check_span(words, position, position)
    return len(words[:position].encode("utf-8"))


def from_utf8(words: str, offset: int) -> int:
    """UTF-8 byte offset (pycrdt) -> character position."""
    encoded = words.encode("utf-8")
    if not 0 <= offset <= len(encoded):
        raise PositionError(f"byte offset {offset} is outside the words ({len(encoded)} bytes)")
    return len(encoded[:offset].decode("utf-8", errors="strict"))


def to_utf16(words: str, position: int) -> int:
    """Character position -> UTF-16 code unit offset (Yjs in the browser)."""
    check_span(words, position, position)
    return len(words[:position].encode("utf-16-le")) // 2


def from_utf16(words: str, offset: int) -> int:
    """UTF-16 code unit offset (Yjs) -> character position."""
    encoded = words.encode("utf-16-le")
    if not 0 <= offset * 2 <= len(encoded):
        raise PositionError(f"UTF-16 offset {offset} is outside the words")
    return len(encoded[: offset * 2].decode("utf-16-le", errors="strict"))
