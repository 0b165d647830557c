"""Slowing down password guessing: failed sign-ins are counted per login and per address.

After `max_failures` failed attempts within `window` for one login (or five times as many
from one client address, which may be a conference's shared NAT), further attempts are
refused with 429 until the window has passed — even with the right password, so that a
guesser learns nothing from them. A successful sign-in clears its login's count. Counts
live in the server process: several processes each count their own (a guesser spread
across N of them gets N times the attempts, still few).
"""

from __future__ import annotations

import time
from collections import defaultdict, deque
from collections.abc import Callable


class SignInThrottle:
    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_seconds: float = 15 * 60,
        per_address_factor: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.per_address = max_failures * per_address_factor
        self.clock = clock
        self._failures: dict[str, deque[float]] = defaultdict(deque)

    def retry_after(self, login: str, address: str) -> int | None:
        """Seconds to wait before trying again, or None if an attempt may be made now."""
        now = self.clock()
        waits = [
            self._wait(f"login:{login.strip().lower()}", self.max_failures, now),
            self._wait(f"address:{address}", self.per_address, now),
        ]
        blocked = [w for w in waits if w is not None]
        return max(blocked) if blocked else None

    def failed(self, login: str, address: str) -> None:
        now = self.clock()
        for key in (f"login:{login.strip().lower()}", f"address:{address}"):
            self._failures[key].append(now)

    def succeeded(self, login: str) -> None:
        self._failures.pop(f"login:{login.strip().lower()}", None)

    def _wait(self, key: str, limit: int, now: float) -> int | None:
        failures = self._failures.get(key)
        if not failures:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return None
        if len(failures) < limit:
            return None
        return max(1, int(failures[0] + self.window - now) + 1)
