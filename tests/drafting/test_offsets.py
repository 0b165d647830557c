"""Character positions convert exactly to pycrdt's UTF-8 and Yjs's UTF-16 offsets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drafting.offsets import PositionError, from_utf8, from_utf16, to_utf8, to_utf16


@given(st.text(), st.data())
def test_round_trips_through_utf8_and_utf16(words, data):
    position = data.draw(st.integers(0, len(words)))
    assert from_utf8(words, to_utf8(words, position)) == position
    assert from_utf16(words, to_utf16(words, position)) == position


def test_multibyte_characters_count_once():
    words = "héllo😀x"
    assert to_utf8(words, 6) == 10  # é is 2 bytes, 😀 4
    assert to_utf16(words, 6) == 7  # 😀 is a surrogate pair


def test_a_position_outside_the_words_is_refused_with_the_bounds():
    with pytest.raises(PositionError, match=r"0\.\.5"):
        to_utf8("hello", 6)
