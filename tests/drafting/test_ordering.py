"""Fractional keys: there is always room between two siblings, and before the first."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from drafting.ordering import first_keys, key_between


@given(st.lists(st.integers(min_value=0), min_size=1, max_size=200))
def test_inserting_anywhere_keeps_keys_strictly_ordered(choices):
    keys = first_keys(3)
    for choice in choices:
        i = choice % (len(keys) + 1)
        before = keys[i - 1] if i else None
        after = keys[i] if i < len(keys) else None
        keys.insert(i, key_between(before, after))
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


@given(st.integers(1, 5000))
def test_first_keys_are_increasing_and_leave_room_before(count):
    keys = first_keys(count)
    assert keys == sorted(keys) and len(set(keys)) == count
    assert key_between(None, keys[0]) < keys[0]
