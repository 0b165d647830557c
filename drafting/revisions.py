"""Revisions: the numbered, immutable checkpoints of a text that delegations cite.

The chair cuts a revision of the whole text ("Rev.1", "Chair's text 4 Dec"); it keeps the
document as it stood, who cut it and when, the counts of `drafting.statistics`, and two
hashes:

- `content_hash`: SHA-256 of the canonical rendering of the document (`canonical_content`),
  which depends on what the text says and is made of, never on how the CRDT encoded it;
- `hash`: SHA-256 of the revision's own fields, `content_hash` and the previous revision's
  `hash` — a chain, so that a revision altered after the fact, or one taken out of the
  middle, no longer fits (`verify_chain`).

Nothing here touches storage: `crdt_sync.history_store` keeps the records.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pycrdt import Array, Map, Text

from drafting.history import recording
from drafting.schema import NegotiationText, canonical_json
from drafting.statistics import statistics

GENESIS = "0" * 64  # the "previous hash" of a text's first revision
NOW = "now"  # how a comparison names the text as it stands


class RevisionError(ValueError):
    """A revision that cannot be cut or found as asked."""


@dataclass(frozen=True)
class Revision:
    """One revision as recorded. `state` is the whole document (a pycrdt update)."""

    number: int
    label: str
    author: str
    created: datetime
    up_to_update_id: int
    statistics: dict[str, Any]
    content_hash: str
    previous_hash: str
    hash: str
    state: bytes = field(repr=False, default=b"")

    def open(self) -> NegotiationText:
        """The text as it stood, read-only in effect: a detached copy that nothing
        writes back (changing it changes neither the revision nor the text)."""
        return NegotiationText.from_update(self.state)

    def summary(self) -> dict[str, Any]:
        """The revision as JSON (without the document)."""
        return {
            "number": self.number,
            "label": self.label,
            "author": self.author,
            "created": self.created.isoformat(),
            "up_to_update": self.up_to_update_id,
            "statistics": self.statistics,
            "content_hash": self.content_hash,
            "previous_hash": self.previous_hash,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class Problem:
    """Something wrong with a stored revision, as `verify_chain` found it."""

    number: int
    what: str

    def __str__(self) -> str:
        return f"revision {self.number}: {self.what}"


def default_label(number: int) -> str:
    return f"Rev.{number}"


def label_update(text: NegotiationText, label: str) -> bytes:
    """Write the revision's label into the document (`meta.revision`, which the schema
    defines as the current revision); the update to log, empty if the label was there."""
    with recording(text) as updates, text.transaction():
        text.set_meta("revision", label)
    return updates[0] if updates else b"\x00\x00"


def canonical_content(text: NegotiationText) -> str:
    """The whole document as canonical JSON: every root, maps with sorted keys, each
    Y.Text as its runs of words with their formatting attributes (sorted). Two documents
    that say the same thing with the same structure give the same string, however their
    updates were encoded or merged."""
    with text.transaction():
        roots = {name: text.doc.get(name, type=Map) for name in _ROOTS}
        return canonical_json({name: _canonical(value) for name, value in roots.items()})


_ROOTS = ("meta", "parties", "clauses", "brackets", "proposals", "notes")


def content_hash(text: NegotiationText) -> str:
    return hashlib.sha256(canonical_content(text).encode("utf-8")).hexdigest()


def chain_hash(
    *,
    number: int,
    label: str,
    author: str,
    created: datetime,
    up_to_update_id: int,
    statistics: dict[str, Any],
    content_hash: str,
    previous_hash: str,
) -> str:
    """The hash that links a revision to the one before it."""
    fields = {
        "number": number,
        "label": label,
        "author": author,
        "created": created.isoformat(),
        "up_to_update": up_to_update_id,
        "statistics": statistics,
        "content_hash": content_hash,
        "previous_hash": previous_hash,
    }
    return hashlib.sha256(canonical_json(fields).encode("utf-8")).hexdigest()


def make_revision(
    state: bytes,
    *,
    number: int,
    label: str,
    author: str,
    created: datetime,
    up_to_update_id: int,
    previous: Revision | None,
) -> Revision:
    """A new revision of the document in `state`, chained to `previous`."""
    if previous is not None and number != previous.number + 1:
        raise RevisionError(f"revision {number} cannot follow revision {previous.number}")
    text = NegotiationText.from_update(state)
    counts = json.loads(canonical_json(statistics(text)))  # plain JSON, as stored
    digest = content_hash(text)
    previous_hash = previous.hash if previous is not None else GENESIS
    fields: dict[str, Any] = {
        "number": number,
        "label": label,
        "author": author,
        "created": created,
        "up_to_update_id": up_to_update_id,
        "statistics": counts,
        "content_hash": digest,
        "previous_hash": previous_hash,
    }
    return Revision(**fields, hash=chain_hash(**fields), state=state)


def verify_chain(revisions: Sequence[Revision]) -> list[Problem]:
    """Check stored revisions (oldest first): numbers 1, 2, 3 … without gaps, each
    document matching its content hash, each record matching its hash, each hash chained
    to the previous one. An empty list means the record is intact."""
    problems: list[Problem] = []
    previous_hash = GENESIS
    for expected, revision in enumerate(revisions, start=1):
        if revision.number != expected:
            problems.append(
                Problem(revision.number, f"numbered {revision.number}, expected {expected}")
            )
        try:
            actual = content_hash(NegotiationText.from_update(revision.state))
        except Exception:  # pycrdt raises on bytes that are no update at all
            actual = "(the stored document does not decode)"
        if actual != revision.content_hash:
            problems.append(
                Problem(revision.number, "the stored document does not match its content hash")
            )
        recomputed = chain_hash(
            number=revision.number,
            label=revision.label,
            author=revision.author,
            created=revision.created,
            up_to_update_id=revision.up_to_update_id,
            statistics=revision.statistics,
            content_hash=revision.content_hash,
            previous_hash=revision.previous_hash,
        )
        if recomputed != revision.hash:
            problems.append(Problem(revision.number, "the record does not match its hash"))
        if revision.previous_hash != previous_hash:
            problems.append(
                Problem(revision.number, "the chain is broken: previous hash does not match")
            )
        previous_hash = revision.hash
    return problems


def find_revision(revisions: Sequence[Revision], ref: str | int) -> Revision:
    """A revision by label ("Rev.2", "4 Dec"), by number (2, "2") — labels first."""
    key = str(ref).strip()
    for revision in revisions:
        if revision.label == key:
            return revision
    if key.isdigit():
        for revision in revisions:
            if revision.number == int(key):
                return revision
    known = ", ".join(f"{r.number} ({r.label})" for r in revisions) or "none yet"
    raise RevisionError(f"no revision {key!r} (revisions of this text: {known})")


def _canonical(value: Any) -> Any:
    if isinstance(value, Text):
        return _runs(value)
    if isinstance(value, Map):
        return {key: _canonical(value[key]) for key in sorted(value.keys())}
    if isinstance(value, Array):
        return [_canonical(item) for item in value]
    return value


def _runs(words: Text) -> list[list[Any]]:
    """Runs of words with equal formatting, merged, attributes sorted."""
    runs: list[list[Any]] = []
    for chunk, attrs in words.diff():
        if not isinstance(chunk, str):
            chunk = canonical_json(chunk)  # an embed: kept, in a stable spelling
        normal = {k: attrs[k] for k in sorted(attrs or {}) if attrs[k] is not None}
        if runs and runs[-1][1] == normal:
            runs[-1][0] += chunk
        else:
            runs.append([chunk, normal])
    return runs
