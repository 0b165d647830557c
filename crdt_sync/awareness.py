"""Awareness (who is here, on which clause, where their cursor is), applied on the server.

The y-websocket client re-sends every awareness update it receives, and renews its own
state every 15 s. A server that forwards raw messages multiplies them by the number of
clients at every hop (N² per change, N³ per renewal round). This registry applies each
entry and keeps only those with a newer clock, so a change travels once to each client
and the echoes stop here.

Much of what a room hears is renewals: each client sends its unchanged state again, with
a newer clock, every 15 s, so 500 clients make 33 a second, and every renewal forwarded
comes back as an echo from each client that applies it. `apply` tells them apart from
changes (a new or different state, a removal), so that the room can send changes with
its next presence frame and renewals a second later (`Limits.renewal_seconds`, see
`crdt_sync.room.Room._forward_awareness`).

A client id belongs to the connection that introduced it (or, for a state relayed from
another server process, to that process): another connection cannot change or remove that
client's state — no one shows up as the chair's cursor, or makes a delegate vanish from
the room — until the owner has left or its state is stale. A live Yjs client renews its
state every 15 s and others drop it after 30 s (y-protocols), so a state not renewed for
`STALE_SECONDS` belongs to a client that is gone (its process killed, say) and the same
client id, reconnected elsewhere, may take it over.

Wire format of an awareness update (y-protocols): varuint(count), then per client
varuint(client id), varuint(clock), varstring(JSON state, "null" when it left).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from crdt_sync.protocol import ProtocolError, Reader, encode_varbytes, encode_varuint

STALE_SECONDS = 30.0


@dataclass
class _Entry:
    clock: int
    state: bytes  # the JSON as received; b"null" once the client left
    updated: float
    owner: str  # the connection that introduced this client id


class Forward(NamedTuple):
    """What an update brought that others have not heard yet, in two parts."""

    changed: bytes | None  # states that are new or different, removals: send at once
    renewed: bytes | None  # the same states with newer clocks: only "still here"


class AwarenessRegistry:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[int, _Entry] = {}
        self.clock = clock

    def apply(self, update: bytes, connection: str) -> Forward:
        """Apply an update from `connection`; return the parts worth forwarding."""
        changed: list[tuple[int, int, bytes]] = []
        renewed: list[tuple[int, int, bytes]] = []
        for client, clock, state in _decode(update):
            current = self._entries.get(client)
            if current is not None and clock <= current.clock:
                continue  # an echo, a renewal already forwarded, or an old state
            if current is None and state == b"null":
                continue  # removal of a client we never knew
            if current is not None and not self._may_change(current, connection):
                continue  # someone else's client
            renewal = (
                current is not None
                and current.owner == connection
                and current.state == state
                and state != b"null"
            )
            if not renewal:
                _require_json(client, state)  # only what is kept is parsed, once
            self._entries[client] = _Entry(clock, state, self.clock(), connection)
            (renewed if renewal else changed).append((client, clock, state))
        return Forward(_encode(changed) if changed else None, _encode(renewed) if renewed else None)

    def _may_change(self, current: _Entry, connection: str) -> bool:
        """The owner may; others once the owner has left or gone quiet."""
        return (
            current.owner == connection
            or current.state == b"null"
            or self.clock() - current.updated > STALE_SECONDS
        )

    def snapshot(self) -> bytes | None:
        """Every live state, for a client that has just joined."""
        live = [(c, e.clock, e.state) for c, e in self._entries.items() if e.state != b"null"]
        return _encode(live) if live else None

    def remove_connection(self, connection: str) -> bytes | None:
        """The clients a closed connection introduced are gone: tell the others."""
        gone = []
        for client, entry in self._entries.items():
            if entry.owner == connection and entry.state != b"null":
                entry.clock += 1
                entry.state = b"null"
                gone.append((client, entry.clock, entry.state))
        return _encode(gone) if gone else None

    def live_count(self) -> int:
        return sum(1 for e in self._entries.values() if e.state != b"null")


def _decode(update: bytes) -> list[tuple[int, int, bytes]]:
    reader = Reader(update)
    count = reader.varuint()
    if count > 100_000:
        raise ProtocolError(f"awareness update lists {count} clients")
    entries = []
    for _ in range(count):
        client = reader.varuint()
        clock = reader.varuint()
        entries.append((client, clock, reader.varbytes()))
    reader.done()
    return entries


def _require_json(client: int, state: bytes) -> None:
    try:
        json.loads(state)
    except ValueError:
        raise ProtocolError(f"awareness state of client {client} is not JSON") from None


def _encode(entries: list[tuple[int, int, bytes]]) -> bytes:
    out = [encode_varuint(len(entries))]
    for client, clock, state in entries:
        out.append(encode_varuint(client) + encode_varuint(clock) + encode_varbytes(state))
    return b"".join(out)
