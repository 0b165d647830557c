"""Sibling order of clauses as fractional keys.

Each clause stores a string key; siblings are read in (key, id) order. Moving a clause
rewrites one key, so a concurrent move and edit never duplicate or lose the clause (an
array of ids would: a move is a delete plus an insert). Two replicas inserting at the same
spot may pick the same key; the id breaks the tie identically everywhere.
"""

from __future__ import annotations

DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
BASE = len(DIGITS)


def key_between(before: str | None, after: str | None) -> str:
    """A key strictly between `before` and `after` (either may be None: an open end)."""
    low = before or ""
    high = after
    if high is not None and low >= high:
        raise ValueError(f"keys out of order: {low!r} is not before {high!r}")
    result = []
    i = 0
    while True:
        lo_digit = DIGITS.index(low[i]) if i < len(low) else 0
        hi_digit = DIGITS.index(high[i]) if high is not None and i < len(high) else BASE
        if hi_digit - lo_digit > 1:
            result.append(DIGITS[(lo_digit + hi_digit) // 2])
            return "".join(result)
        # No room at this digit: keep the lower digit and look one place further.
        result.append(DIGITS[lo_digit])
        if hi_digit > lo_digit:
            high = None  # the prefix is now strictly below `after`
        i += 1


def first_keys(count: int) -> list[str]:
    """`count` increasing keys for the children of a new parent (bulk import).

    Like every key here they never end in the lowest digit, so that a key can always be
    made before any of them.
    """
    width = 1
    while (BASE - 1) * BASE ** (width - 1) < count:
        width += 1
    keys: list[str] = []
    n = 0
    while len(keys) < count:
        n += 1
        if n % BASE == 0:
            continue
        digits, rest = [], n
        for _ in range(width):
            rest, r = divmod(rest, BASE)
            digits.append(DIGITS[r])
        keys.append("".join(reversed(digits)))
    return keys
