"""Per-clause history, read from the update log.

The log is the record: every CRDT update a text ever received, with its origin (who sent
it) and time. `HistoryIndexer` replays it in order on a document and attributes each
update to the clauses it touched — their fields and words (`clauses`), the brackets on
them (`brackets[…].clause`), the proposals about them (`proposals[…].clause`) — as the
document's own change events report them. Keystrokes are grouped into entries a reviewer
reads:

- an *edit* entry is one origin's burst on one clause: consecutive edits by that origin,
  with no other entry on that clause in between and no pause longer than `gap`;
- every other event is an entry of its own: a proposal tabled, supported, objected to,
  withdrawn, accepted, rejected or merged; a bracket added or lifted; an option chosen; a
  status change; a move; a renumbering; a restore.

Each entry keeps the clause's words (brackets printed) before and after it, so that the
clause can be shown as it stood after any entry and each entry shows as a diff. Clause ids
never change, so a moved or renumbered clause keeps its history. A withdrawn proposal
keeps its "tabled" entry, marked with its outcome (`mark_outcomes`). Trial balloons live
in other documents (`drafting.balloons`) and never reach a text's log.

Nothing here reads a database: the store hands over (id, update, origin, time) entries and
keeps what comes back (`crdt_sync.history_store`). Indexing resumes from the document and
the last entry per clause, so each update is indexed once.

**Origins.** The log's origin names the sender: "import", "cli", "connection:<id>" … and
may carry tags after semicolons, `source;person=Ana Ruiz;party=EU;action=restore;rev=2`
(`make_origin`, `parse_origin`). The person is the `person` tag, else the origin itself;
the Party is the one the change names (the proposal's, the bracket's, the supporter's,
the new clause's), else the `party` tag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from pycrdt import Map

from drafting.schema import NegotiationText
from drafting.views import bracketed_words, render_bracketed

INDEX_VERSION = 2  # bump when the rules below change: stored entries are then rebuilt
DEFAULT_GAP = timedelta(minutes=5)
# Two people typing in one clause at once: a burst goes on across the other's keystrokes
# when its author pauses no longer than this.
DEFAULT_COEDIT_GAP = timedelta(seconds=60)
CHAIN_KEY = "_chain"  # the state of a co-editing episode, kept in its newest entry's detail


class EntryKind(StrEnum):
    """Kinds of history entries, most telling first: an entry has every kind that applies
    (a proposal tabled also edits words), the first one is its headline."""

    RESTORED = "restored"
    WITHDRAWN = "proposal withdrawn"
    ACCEPTED = "proposal accepted"
    REJECTED = "proposal rejected"
    MERGED = "proposal merged"
    TABLED = "proposal tabled"
    SUPPORTED = "supported"
    OBJECTED = "objected"
    ADDED = "added"
    BRACKET_LIFTED = "bracket lifted"
    BRACKETED = "bracketed"
    OPTION_CHOSEN = "option chosen"
    STATUS = "status"
    MOVED = "moved"
    RENUMBERED = "renumbered"
    EDITED = "edited"


_OUTCOMES = {
    "withdrawn": EntryKind.WITHDRAWN,
    "accepted": EntryKind.ACCEPTED,
    "rejected": EntryKind.REJECTED,
    "merged": EntryKind.MERGED,
}
_RANK = {kind: i for i, kind in enumerate(EntryKind)}


# -- origins ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    source: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def person(self) -> str:
        return self.tags.get("person", "") or self.source

    @property
    def party(self) -> str:
        return self.tags.get("party", "")

    @property
    def action(self) -> str:
        return self.tags.get("action", "")


def make_origin(source: str, **tags: str | int | None) -> str:
    """`source;key=value;…` with the empty tags left out and `;` `=` `%` escaped."""
    parts = [quote(source, safe=":/@ ")]
    parts.extend(f"{key}={quote(str(value), safe=':/@ ')}" for key, value in tags.items() if value)
    return ";".join(parts)


def parse_origin(origin: str) -> Origin:
    source, *rest = (origin or "").split(";")
    tags = {}
    for part in rest:
        key, _, value = part.partition("=")
        if key:
            tags[key.strip()] = unquote(value)
    return Origin(unquote(source), tags)


@contextmanager
def recording(text: NegotiationText) -> Iterator[list[bytes]]:
    """Collect the update of each transaction made on `text` within the block: what a
    sync client sends, and what the log should get (an update made with
    `get_update(state_vector)` would repeat every deletion the text ever saw)."""
    updates: list[bytes] = []
    subscription = text.doc.observe(lambda event: updates.append(event.update))
    try:
        yield updates
    finally:
        text.doc.unobserve(subscription)
        updates[:] = [u for u in updates if u != b"\x00\x00"]


# -- entries ------------------------------------------------------------------------------


class LogEntry(NamedTuple):
    """One update of the log, as the store hands it over."""

    id: int
    update: bytes
    origin: str
    created: datetime


@dataclass
class HistoryEntry:
    """A meaningful change to one clause. `key` is the store's id for it (None until
    stored); `words_before`/`words_after` are the clause's words with brackets printed."""

    clause: str
    kind: str
    kinds: list[str]
    origin: str
    person: str
    party: str
    started: datetime
    ended: datetime
    first_update: int
    last_update: int
    changes: int
    words_before: str
    words_after: str
    detail: dict[str, Any] = field(default_factory=dict)
    key: int | None = None

    def ops(self) -> list[tuple[str, str]]:
        from drafting.diffs import word_diff  # diffs renders through views, as we do

        return word_diff(self.words_before, self.words_after)

    def to_json(self) -> dict[str, Any]:
        from drafting.diffs import inline, side_by_side

        ops = self.ops()
        return {
            "id": self.key,
            "clause": self.clause,
            "kind": self.kind,
            "kinds": list(self.kinds),
            "person": self.person,
            "party": self.party,
            "origin": self.origin,
            "started": self.started.isoformat(),
            "ended": self.ended.isoformat(),
            "first_update": self.first_update,
            "last_update": self.last_update,
            "changes": self.changes,
            "words_before": self.words_before,
            "words_after": self.words_after,
            "ops": [list(op) for op in ops],
            "inline": inline(ops),
            "side_by_side": dict(zip(("old", "new"), side_by_side(ops), strict=True)),
            "detail": {k: v for k, v in self.detail.items() if not k.startswith("_")},
        }


@dataclass
class _Facts:
    """What one update did to one clause, as its change events say."""

    added: bool = False
    words: bool = False
    formatting: bool = False
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    brackets_added: list[str] = field(default_factory=list)
    brackets_lifted: list[tuple[str, str]] = field(default_factory=list)
    proposals_added: list[str] = field(default_factory=list)
    proposals_closed: list[tuple[str, str]] = field(default_factory=list)
    sides: list[tuple[str, str, str]] = field(default_factory=list)  # (proposal, side, Party)
    deltas: list[list[tuple[str, Any]]] = field(default_factory=list)  # of the words


class HistoryIndexer:
    """Replays log entries and turns them into history entries.

    `state` is the document as of the last entry already indexed (empty to start from
    nothing); `tail_of(clause)` gives the latest stored entry of a clause (or None), which
    a burst may extend, and `entry_of(clause, first_update)` any stored entry of a clause
    by its first log entry (the other bursts of a co-editing episode in progress). `feed`
    returns the entries it created or changed, each once. `batch_keystrokes=False` indexes
    every update on its own (slower, same entries).
    """

    def __init__(
        self,
        state: bytes = b"",
        *,
        tail_of: Callable[[str], HistoryEntry | None] | None = None,
        entry_of: Callable[[str, int], HistoryEntry | None] | None = None,
        gap: timedelta = DEFAULT_GAP,
        coedit_gap: timedelta = DEFAULT_COEDIT_GAP,
        batch_keystrokes: bool = True,
    ) -> None:
        # `text` follows the log with observers; `before` lags one update behind it, so
        # that the words of a clause just before an update can be read when it starts an
        # entry, without rendering every clause after every keystroke.
        self.text = NegotiationText.from_update(state) if state else NegotiationText()
        self.before = NegotiationText.from_update(state) if state else NegotiationText()
        self.gap = gap
        self.coedit_gap = coedit_gap
        self.batch_keystrokes = batch_keystrokes
        self._tail_of = tail_of or (lambda clause: None)
        self._entry_of = entry_of or (lambda clause, first_update: None)
        self._tails: dict[str, HistoryEntry | None] = {}
        self._stale: set[str] = set()  # clauses whose tail's words_after is not rendered
        self._chains: dict[str, _Chain | None] = {}  # co-editing episodes, by clause
        self._chains_changed: set[str] = set()
        self._touched: dict[int, HistoryEntry] = {}
        self._events: list[tuple[str, list[Any], Any]] = []
        self._subscriptions = [
            # The Rust-level observer: pycrdt's Python wrapper converts every field of
            # every event eagerly, ~15 times slower; these events are read in the callback.
            (root, root.integrated.observe_deep(self._collect(name)))
            for name in ("clauses", "brackets", "proposals")
            for root in [self.text.doc.get(name, type=Map)]
        ]

    def state(self) -> bytes:
        return self.text.to_update()

    def feed(self, log: Iterable[LogEntry]) -> list[HistoryEntry]:
        self._touched = touched = {}
        runs = _runs(log, self.gap) if self.batch_keystrokes else ([e] for e in log)
        for run in runs:
            for changed in self._index(run):
                touched[id(changed)] = changed
        for clause in sorted(self._chains_changed):
            chain = self._chains.get(clause)
            if chain is not None:
                self._settle(clause, chain, self.text, keep=True)
        self._chains_changed.clear()
        for clause in self._stale:
            tail = self._tails.get(clause)
            if tail is not None:
                tail.words_after = self._words(self.text, clause)
        self._stale.clear()
        return sorted(touched.values(), key=lambda e: (e.first_update, e.clause))

    # -- one update, or one run of keystrokes --------------------------------------------
    def _index(self, run: list[LogEntry]) -> Iterator[HistoryEntry]:
        """Index one update, or a run of keystrokes that provably edit one clause's words
        (see `_runs`), applied in one transaction: one round of events for the run."""
        first, last = run[0], run[-1]
        self._events.clear()
        _apply(self.text, run)
        facts = self._facts(batched=len(run) > 1)
        origin = parse_origin(first.origin)
        for clause, found in facts.items():
            kinds, detail, party = self._describe(clause, found, origin)
            if not kinds:
                continue
            edit_only = kinds == [EntryKind.EDITED]
            chain = self._chain(clause, first.created)
            if chain is not None:
                if edit_only:
                    yield self._coedit(clause, chain, run, found, origin, detail)
                    continue
                self._settle(clause, chain, self.before, keep=False)  # the episode ends
            tail = self._tail(clause)
            if self._continues(tail, kinds, first):
                assert tail is not None
                tail.ended = last.created
                tail.last_update = last.id
                tail.changes += len(run)
                self._stale.add(clause)
                yield tail
                continue
            before = self._words(self.before, clause)
            if tail is not None and clause in self._stale:
                tail.words_after = before
                yield tail
            new = HistoryEntry(
                clause=clause,
                kind=kinds[0],
                kinds=kinds,
                origin=first.origin,
                person=origin.person,
                party=party,
                started=first.created,
                ended=last.created,
                first_update=first.id,
                last_update=last.id,
                changes=len(run),
                words_before=before,
                words_after="",
                detail=detail,
            )
            if edit_only and tail is not None and self._coedits(tail, first):
                # Someone else is typing in this clause right now: a co-editing episode.
                chain = _Chain([tail, new], str(self.before.clause(clause).words))
                for ops in found.deltas:
                    chain.apply(ops, 1)
                self._chains[clause] = chain
                self._chains_changed.add(clause)
                self._stale.discard(clause)
            else:
                self._stale.add(clause)
            self._tails[clause] = new
            yield new
        _apply(self.before, run)

    def _continues(self, tail: HistoryEntry | None, kinds: list[str], entry: LogEntry) -> bool:
        return (
            tail is not None
            and kinds == [EntryKind.EDITED]
            and tail.kinds == [EntryKind.EDITED]
            and tail.origin == entry.origin
            and timedelta(0) <= entry.created - tail.ended <= self.gap
        )

    def _coedits(self, tail: HistoryEntry, entry: LogEntry) -> bool:
        return (
            tail.kinds == [EntryKind.EDITED]
            and tail.origin != entry.origin
            and timedelta(0) <= entry.created - tail.ended <= self.coedit_gap
        )

    # -- co-editing: several people's bursts on one clause at once ---------------------------
    # While two people type in the same clause, their keystrokes alternate. Each person's
    # burst goes on across the other's keystrokes (`_Chain`): one entry per person, in the
    # order they started, each showing that person's own changes. The episode ends with
    # any other kind of entry on the clause; a burst whose author paused longer than
    # `coedit_gap` (while others typed) leaves it.

    def _chain(self, clause: str, when: datetime) -> _Chain | None:
        """The co-editing episode in progress on a clause (None: there is none), rid of
        the bursts that can no longer go on at `when`."""
        if clause not in self._chains:
            self._chains[clause] = self._load_chain(clause)
        chain = self._chains[clause]
        if chain is None:
            return None
        while len(chain.members) > 1 and not chain.alive(0, when, self.gap, self.coedit_gap):
            first, second = chain.members[0], chain.members[1]
            if not chain.lazy:  # (lazy: their words are the clause's at the switch, kept)
                words = chain.render(self.before, clause, upto=0)
                if words is None:
                    break
                first.words_after = second.words_before = words[0]
            first.detail.pop(CHAIN_KEY, None)
            self._touch(first, second)
            chain.drop_first()
            self._chains_changed.add(clause)
        if len(chain.members) > 1:
            return chain
        # One burst left: a plain entry again.
        self._chains[clause] = None
        self._chains_changed.discard(clause)
        for member in chain.members:
            member.detail.pop(CHAIN_KEY, None)
            self._touch(member)
        self._stale.add(clause)
        return None

    def _load_chain(self, clause: str) -> _Chain | None:
        tail = self._tail(clause)
        saved = tail.detail.get(CHAIN_KEY) if tail is not None else None
        if tail is None or not isinstance(saved, dict):
            return None
        members = []
        for first_update in saved["members"][:-1]:
            member = self._entry_of(clause, first_update)
            if member is None:  # not stored (or no longer): the episode cannot go on
                tail.detail.pop(CHAIN_KEY, None)
                self._touch(tail)
                return None
            members.append(member)
        return _Chain.from_json([*members, tail], saved)

    def _coedit(
        self,
        clause: str,
        chain: _Chain,
        run: list[LogEntry],
        found: _Facts,
        origin: Origin,
        detail: dict[str, Any],
    ) -> HistoryEntry:
        first, last = run[0], run[-1]
        index = chain.member_of(first.origin, first.created, self.gap, self.coedit_gap)
        if index is None:
            member = HistoryEntry(
                clause=clause,
                kind=EntryKind.EDITED,
                kinds=[EntryKind.EDITED],
                origin=first.origin,
                person=origin.person,
                party=origin.party,
                started=first.created,
                ended=last.created,
                first_update=first.id,
                last_update=last.id,
                changes=len(run),
                words_before="",
                words_after="",
                detail=detail,
            )
            if chain.lazy:  # the newest burst so far ends where this one starts
                newest = chain.members[-1]
                newest.words_after = member.words_before = self._words(self.before, clause)
                self._touch(newest)
            index = len(chain.members)
            chain.members.append(member)
            self._tails[clause] = member
        else:
            member = chain.members[index]
            member.ended = last.created
            member.last_update = last.id
            member.changes += len(run)
        for ops in found.deltas:
            chain.apply(ops, index)
        chain.last = index
        self._chains_changed.add(clause)
        return member

    def _settle(self, clause: str, chain: _Chain, text: NegotiationText, *, keep: bool) -> None:
        """Write each burst's words (as of `text`); `keep`: the episode goes on, its state
        is kept with its newest entry, else it ends here."""
        words = None if chain.lazy else chain.render(text, clause)
        real = self._words(text, clause)
        if chain.lazy:  # each burst's words are the clause's when the next one started
            pass
        elif words is None:  # the record no longer matches the clause: show what is known
            keep = False
        else:
            for i, member in enumerate(chain.members):
                if i:
                    member.words_before = words[i - 1]
                member.words_after = words[i]
        chain.members[-1].words_after = real
        for member in chain.members:
            member.detail.pop(CHAIN_KEY, None)
            self._touch(member)
        if keep:
            chain.members[-1].detail[CHAIN_KEY] = chain.to_json()
        else:
            self._chains[clause] = None
            self._chains_changed.discard(clause)

    def _touch(self, *entries: HistoryEntry) -> None:
        for entry in entries:
            self._touched[id(entry)] = entry

    def _tail(self, clause: str) -> HistoryEntry | None:
        if clause not in self._tails:
            self._tails[clause] = self._tail_of(clause)
        return self._tails[clause]

    @staticmethod
    def _words(text: NegotiationText, clause: str) -> str:
        with text.transaction():  # one for all the reads of the rendering
            return bracketed_words(text, clause) if text.has_clause(clause) else ""

    # -- events -> facts ---------------------------------------------------------------------
    def _collect(self, root: str) -> Callable[[list[Any]], None]:
        def callback(events: list[Any]) -> None:
            # Read what is needed while the transaction is alive; raw values only.
            for event in events:
                path = list(event.path)
                if hasattr(event, "keys"):
                    keys = {
                        key: (change.get("action"), _plain(change.get("oldValue")),
                              _plain(change.get("newValue")))
                        for key, change in event.keys.items()
                    }  # fmt: skip
                    self._events.append((root, path, keys))
                else:
                    self._events.append((root, path, _text_change(event.delta)))

        return callback

    def _facts(self, *, batched: bool = False) -> dict[str, _Facts]:
        """What the update (or run) did, clause by clause. A run of keystrokes that typed
        words and deleted them again changed nothing in the end, but it was typing all
        the same (as its updates one by one say): `batched` counts it as edits."""
        facts: dict[str, _Facts] = {}

        def of(clause: str) -> _Facts:
            return facts.setdefault(clause, _Facts())

        for root, path, change in self._events:
            if root == "clauses":
                if not path:
                    for clause, (action, _, _) in change.items():
                        if action in ("add", "update"):
                            of(clause).added = True
                elif len(path) == 1:
                    for key, (_, old, new) in change.items():
                        of(path[0]).fields[key] = (old, new)
                elif path[1] == "words":
                    words, formatting, ops = change
                    of(path[0]).words |= words or batched
                    of(path[0]).formatting |= formatting
                    if len(path) == 2:
                        of(path[0]).deltas.append(ops)
            elif root == "brackets":
                self._bracket_facts(path, change, of)
            else:
                self._proposal_facts(path, change, of)
        return facts

    def _bracket_facts(self, path: list[Any], change: Any, of: Callable[[str], _Facts]) -> None:
        if not path:
            for bracket, (action, _, _) in change.items():
                clause = self._record_clause("brackets", bracket)
                if action == "add" and clause:
                    of(clause).brackets_added.append(bracket)
        elif len(path) == 1 and "state" in change:
            _, old, new = change["state"]
            clause = self._record_clause("brackets", path[0])
            if clause and old == "open" and new in ("kept", "dropped"):
                of(clause).brackets_lifted.append((path[0], new))

    def _proposal_facts(self, path: list[Any], change: Any, of: Callable[[str], _Facts]) -> None:
        if not path:
            for proposal, (action, _, _) in change.items():
                clause = self._record_clause("proposals", proposal)
                if action == "add" and clause:
                    of(clause).proposals_added.append(proposal)
            return
        clause = self._record_clause("proposals", path[0])
        if not clause:
            return
        if len(path) == 1 and "status" in change:
            _, old, new = change["status"]
            if old != new and new in _OUTCOMES:
                of(clause).proposals_closed.append((path[0], new))
        elif len(path) == 2 and path[1] in ("supporters", "objectors"):
            for party, (action, _, _) in change.items():
                if action == "add":
                    of(clause).sides.append((path[0], path[1], party))

    def _record_clause(self, root: str, record_id: str) -> str:
        records = self.text.doc.get(root, type=Map)
        record = records.get(record_id)
        return str(record.get("clause") or "") if isinstance(record, Map) else ""

    # -- facts -> an entry ---------------------------------------------------------------------
    def _describe(
        self, clause: str, facts: _Facts, origin: Origin
    ) -> tuple[list[str], dict[str, Any], str]:
        kinds: set[EntryKind] = set()
        detail: dict[str, Any] = {}
        parties: list[str] = []
        text = self.text
        if facts.proposals_closed or facts.proposals_added:
            detail["proposals"] = []
        for proposal_id, status in facts.proposals_closed:
            kinds.add(_OUTCOMES[status])
            record = text.proposal(proposal_id)
            parties.append(record.party)
            detail["proposals"].append(_proposal_detail(record, status))
        for proposal_id in facts.proposals_added:
            kinds.add(EntryKind.TABLED)
            record = text.proposal(proposal_id)
            parties.append(record.party)
            detail["proposals"].append(_proposal_detail(record, "tabled"))
        for proposal_id, side, party in facts.sides:
            kinds.add(EntryKind.SUPPORTED if side == "supporters" else EntryKind.OBJECTED)
            parties.append(party)
            detail.setdefault(side, []).append({"proposal": proposal_id, "party": party})
        if facts.added:
            kinds.add(EntryKind.ADDED)
            parties.append(text.clause(clause)._get("party"))
        if facts.brackets_lifted:
            kinds.add(EntryKind.BRACKET_LIFTED)
            detail["lifted"] = [{"bracket": b, "state": s} for b, s in facts.brackets_lifted]
        if facts.brackets_added:
            kinds.add(EntryKind.BRACKETED)
            added = [text.bracket(b) for b in facts.brackets_added]
            parties.extend(b.party for b in added)
            detail["bracketed"] = [{"bracket": b.id, "kind": b.kind, "party": b.party}
                                   for b in added]  # fmt: skip
        fields = facts.fields
        if not facts.added:
            self._field_kinds(fields, kinds, detail)
        if facts.words or facts.formatting:
            kinds.add(EntryKind.EDITED)
        if origin.action == "restore" and kinds:
            kinds.add(EntryKind.RESTORED)
        for tag in ("rev", "file"):
            if tag in origin.tags:
                detail[tag] = origin.tags[tag]
        party = next((p for p in parties if p), origin.party)
        return [k.value for k in sorted(kinds, key=_RANK.__getitem__)], detail, party

    @staticmethod
    def _field_kinds(
        fields: dict[str, tuple[Any, Any]], kinds: set[EntryKind], detail: dict[str, Any]
    ) -> None:
        if "chosen" in fields and fields["chosen"][1]:
            kinds.add(EntryKind.OPTION_CHOSEN)
            detail["chosen"] = fields["chosen"][1]
        if "status" in fields:
            old, new = fields["status"]
            if old != new:
                kinds.add(EntryKind.STATUS)
                detail["status"] = {"from": old, "to": new}
        if "parent" in fields or "order" in fields:
            kinds.add(EntryKind.MOVED)
            if "parent" in fields:
                detail["parent"] = {"from": fields["parent"][0], "to": fields["parent"][1]}
        if "base" in fields:
            kinds.add(EntryKind.RENUMBERED)
        if "bracket" in fields and fields["bracket"][1]:
            kinds.add(EntryKind.BRACKETED)


# -- runs of keystrokes ---------------------------------------------------------------------
# Replaying costs little; what costs is a round of change events per update (~20 µs of
# Python). A run of keystrokes by one origin is applied in one transaction when the bytes
# prove that every update after the first edits words next to words the run itself typed,
# and so the same clause: the first update inserts plain words, each later one inserts
# plain words beside words of the run or deletes words of the run.


def _apply(text: NegotiationText, run: list[LogEntry]) -> None:
    with text.transaction():
        for entry in run:
            text.doc.apply_update(entry.update)


def _runs(log: Iterable[LogEntry], gap: timedelta) -> Iterator[list[LogEntry]]:
    run: list[LogEntry] = []
    typed: dict[int, list[list[int]]] = {}  # client -> [start, end) clock ranges typed
    for entry in log:
        edit = _plain_edit(entry.update)
        if run and edit is not None and _joins(run[-1], entry, edit, typed, gap):
            run.append(entry)
            _remember(typed, edit[0])
            continue
        if run:
            yield run
        run = [entry]
        typed = {}
        if edit is not None and len(edit[0]) == 1 and not edit[1]:
            _remember(typed, edit[0])
        else:
            yield run  # not the start of a run: indexed alone
            run = []
    if run:
        yield run


def _joins(
    previous: LogEntry,
    entry: LogEntry,
    edit: tuple[list[tuple[int, int, int, Any, Any]], list[tuple[int, int, int]]],
    typed: dict[int, list[list[int]]],
    gap: timedelta,
) -> bool:
    if not typed or entry.origin != previous.origin:
        return False
    if not timedelta(0) <= entry.created - previous.created <= gap:
        return False
    inserted, deleted = edit

    def within(client: int, clock: int, length: int = 1) -> bool:
        return any(s <= clock and clock + length <= e for s, e in typed.get(client, ()))

    for _, _, _, left, right in inserted:
        if not ((left and within(*left)) or (right and within(*right))):
            return False
    return all(within(client, clock, length) for client, clock, length in deleted)


def _remember(typed: dict[int, list[list[int]]], inserted: list[Any]) -> None:
    for client, clock, length, _, _ in inserted:
        ranges = typed.setdefault(client, [])
        if ranges and ranges[-1][1] == clock:
            ranges[-1][1] = clock + length
        else:
            ranges.append([clock, clock + length])


def _plain_edit(
    update: bytes,
) -> tuple[list[tuple[int, int, int, Any, Any]], list[tuple[int, int, int]]] | None:
    """The words an update inserts — (client, clock, length, left neighbour, right
    neighbour) — and the ranges it deletes, if it does nothing else: one plain string per
    client, next to known neighbours. None for any other update (maps, formatting,
    several structs …), which is then indexed on its own. Reads the Yjs v1 encoding."""
    try:
        count, pos = _varuint(update, 0)
        inserted = []
        for _ in range(count):
            structs, pos = _varuint(update, pos)
            if structs != 1:
                return None
            client, pos = _varuint(update, pos)
            clock, pos = _varuint(update, pos)
            info = update[pos]
            pos += 1
            if info & 0x1F != 4 or not info & 0xC0:  # a string, placed by its neighbours
                return None
            left = right = None
            if info & 0x80:
                left_client, pos = _varuint(update, pos)
                left_clock, pos = _varuint(update, pos)
                left = (left_client, left_clock)
            if info & 0x40:
                right_client, pos = _varuint(update, pos)
                right_clock, pos = _varuint(update, pos)
                right = (right_client, right_clock)
            size, pos = _varuint(update, pos)
            raw = update[pos : pos + size]
            pos += size
            # Yjs clocks count UTF-16 units
            utf16 = size if raw.isascii() else len(raw.decode("utf-8").encode("utf-16-le")) // 2
            inserted.append((client, clock, utf16, left, right))
        deleted = []
        count, pos = _varuint(update, pos)
        for _ in range(count):
            client, pos = _varuint(update, pos)
            ranges, pos = _varuint(update, pos)
            for _ in range(ranges):
                clock, pos = _varuint(update, pos)
                length, pos = _varuint(update, pos)
                deleted.append((client, clock, length))
        return (inserted, deleted) if pos == len(update) else None
    except (IndexError, UnicodeDecodeError):
        return None


def _varuint(data: bytes, pos: int) -> tuple[int, int]:
    """A variable-length unsigned integer at `pos`, and the position after it."""
    byte = data[pos]
    if byte < 0x80:
        return byte, pos + 1
    value, shift = byte & 0x7F, 7
    while True:
        pos += 1
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos + 1
        shift += 7


def _proposal_detail(record: Any, status: str) -> dict[str, Any]:
    return {
        "proposal": record.id,
        "kind": record.kind,
        "party": record.party,
        "status": status,
        "words": record.words,
        "replaced": record._get("replaced"),
    }


def _plain(value: Any) -> Any:
    """A JSON-able copy of an event value (shared types become a marker)."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return "<shared>"


def _text_change(delta: Any) -> tuple[bool, bool, list[tuple[str, Any]]]:
    """(words inserted or deleted, formatting changed, the operations) from a text event's
    delta; operations are ("retain", bytes), ("insert", str), ("delete", bytes)."""
    words = formatting = False
    ops: list[tuple[str, Any]] = []
    for op in delta:
        if "insert" in op:
            words = True
            inserted = op["insert"]
            ops.append(("insert", inserted if isinstance(inserted, str) else "\ufffc"))
        elif "delete" in op:
            words = True
            ops.append(("delete", op["delete"]))
        else:
            if op.get("attributes"):
                formatting = True
            ops.append(("retain", op.get("retain", 0)))
    return words, formatting, ops


class _Words:
    """Chunks of words with their attributes, read as `pycrdt.Text.diff()` gives them:
    what `drafting.views.render_bracketed` renders."""

    def __init__(self, chunks: list[tuple[str, Any]]) -> None:
        self.chunks = chunks

    def diff(self) -> list[tuple[str, Any]]:
        return self.chunks


class _Chain:
    """A co-editing episode on one clause: the bursts (`members`) of the people typing in
    it at once, in the order they started, and who inserted and who deleted every byte
    of the clause's words since the episode began.

    `cells` are the words' bytes as they stand, each `[character or "" for the next bytes
    of one, member who inserted it (-1: it was there before), deleted bytes just before
    it]`; deleted bytes are `(character, inserted by, deleted by)`, and `after` holds those
    after the last byte. Member i's words after its burst are the words before the episode
    with the changes of members 0 … i (`render(…)[i]`); member i's words before are member
    i-1's after; the last member's after are the words as they stand. A byte inserted and
    deleted by the same member is in none of them and is dropped.

    Most episodes are people taking turns quickly, nobody going back to a burst once
    another has started: each burst's words are then the clause as it stood when the next
    one started. Until someone does go back, the episode is *lazy*: it keeps the words it
    started from (`base`) and the changes since (`pending`), and builds no cells."""

    def __init__(self, members: list[HistoryEntry], words: str, last: int = -1) -> None:
        self.members = members
        self.cells: list[list[Any]] | None = None
        self.after: list[tuple[str, int, int]] = []
        self.base: str | None = words
        self.pending: list[tuple[list[tuple[str, Any]], int]] = []
        self.last = len(members) - 1 if last < 0 else last

    @property
    def lazy(self) -> bool:
        return self.cells is None

    def materialize(self) -> list[list[Any]]:
        if self.cells is None:
            self.cells = _cells(self.base or "", -1)
            pending, self.pending, self.base = self.pending, [], None
            for ops, member in pending:
                self._apply(ops, member)
        return self.cells

    # -- the bursts ----------------------------------------------------------------------
    def member_of(
        self, origin: str, when: datetime, gap: timedelta, coedit_gap: timedelta
    ) -> int | None:
        """The burst by `origin` that a change at `when` continues, if any: its latest, if
        its last change is at most `gap` earlier (`coedit_gap` if others typed since)."""
        for i in range(len(self.members) - 1, -1, -1):
            if self.members[i].origin == origin:
                return i if self.alive(i, when, gap, coedit_gap) else None
        return None

    def alive(self, i: int, when: datetime, gap: timedelta, coedit_gap: timedelta) -> bool:
        pause = when - self.members[i].ended
        return pause <= (gap if i == self.last else coedit_gap)

    def drop_first(self) -> None:
        """The first burst is over: its changes become the episode's starting point."""
        if self.cells is None:  # it changed nothing since the episode began
            self.pending = [(ops, member - 1) for ops, member in self.pending]
            self.members.pop(0)
            self.last = max(self.last - 1, 0)
            return

        def shift(index: int) -> int:
            return -1 if index <= 0 else index - 1

        def kept(tombs: list[tuple[str, int, int]] | None) -> list[tuple[str, int, int]]:
            return [(c, shift(i), d - 1) for c, i, d in tombs or () if d > 0]

        for cell in self.cells:
            cell[1] = shift(cell[1])
            if cell[2]:
                cell[2] = kept(cell[2]) or None
        self.after = kept(self.after)
        self.members.pop(0)
        self.last = max(self.last - 1, 0)

    # -- changes -------------------------------------------------------------------------
    def apply(self, ops: list[tuple[str, Any]], member: int) -> None:
        """A text event's operations (UTF-8 byte counts, as pycrdt reports them)."""
        if self.cells is None and member == len(self.members) - 1:
            self.pending.append((ops, member))
            return
        self.materialize()
        self._apply(ops, member)

    def _apply(self, ops: list[tuple[str, Any]], member: int) -> None:
        cells = self.cells
        assert cells is not None
        at = 0
        for op, value in ops:
            if op == "retain":
                at += value
            elif op == "insert":
                new = _cells(value, member)
                cells[at:at] = new
                at += len(new)
            else:
                gone = cells[at : at + value]
                del cells[at : at + value]
                tombs: list[tuple[str, int, int]] = []
                for char, inserted, before in gone:
                    if before:
                        tombs.extend(before)
                    if inserted != member:
                        tombs.append((char, inserted, member))
                if not tombs:
                    continue
                if at < len(cells):
                    cells[at][2] = tombs + (cells[at][2] or [])
                else:
                    self.after = tombs + self.after

    # -- reading ---------------------------------------------------------------------------
    def render(
        self, text: NegotiationText, clause: str, *, upto: int | None = None
    ) -> list[str] | None:
        """The words after each burst (up to member `upto`, all by default), brackets
        printed; None if the cells no longer spell the clause's words in `text`."""
        if not text.has_clause(clause):
            return None
        self.materialize()
        assert self.cells is not None
        with text.transaction():
            chunks = list(text.clause(clause).words.diff())
            attrs: list[Any] = []
            for chunk, chunk_attrs in chunks:
                attrs.extend([chunk_attrs] * len(chunk.encode("utf-8")))
            if len(attrs) != len(self.cells) or "".join(c for c, _ in chunks) != "".join(
                cell[0] for cell in self.cells
            ):
                return None
            count = len(self.members) if upto is None else upto + 1
            return [
                render_bracketed(text, _Words(self._chunks(k, attrs)))  # type: ignore[arg-type]
                for k in range(count)
            ]

    def _chunks(self, k: int, attrs: list[Any]) -> list[tuple[str, Any]]:
        """Member k's words as chunks: the bytes inserted by members up to k and not
        deleted by them; deleted bytes take the attributes of the byte after them."""
        out: list[tuple[str, Any]] = []
        text: list[str] = []
        current: Any = None

        def emit(char: str, char_attrs: Any) -> None:
            nonlocal current
            if text and char_attrs != current:
                out.append(("".join(text), current))
                text.clear()
            current = char_attrs
            text.append(char)

        for cell, cell_attrs in zip(self.cells, attrs, strict=True):
            char, inserted, before = cell
            if before:
                for gone, by, deleted_by in before:
                    if by <= k < deleted_by:
                        emit(gone, cell_attrs)
            if inserted <= k:
                emit(char, cell_attrs)
        tail_attrs = attrs[-1] if attrs else None
        for gone, by, deleted_by in self.after:
            if by <= k < deleted_by:
                emit(gone, tail_attrs)
        if text:
            out.append(("".join(text), current))
        return out

    # -- kept between readings ---------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        kept: dict[str, Any] = {
            "members": [m.first_update for m in self.members],
            "last": self.last,
        }
        if self.cells is None:
            pending = [[[list(op) for op in ops], member] for ops, member in self.pending]
            return {**kept, "base": self.base, "pending": pending}
        segments: list[list[Any]] = []

        def add(char: str, inserted: int, deleted: int | None) -> None:
            if segments and segments[-1][1] == inserted and segments[-1][2] == deleted:
                segments[-1][0] += char
            else:
                segments.append([char, inserted, deleted])

        for char, inserted, before in self.cells:
            for gone, by, deleted_by in before or ():
                add(gone, by, deleted_by)
            add(char, inserted, None)
        for gone, by, deleted_by in self.after:
            add(gone, by, deleted_by)
        return {**kept, "segments": segments}

    @classmethod
    def from_json(cls, members: list[HistoryEntry], saved: dict[str, Any]) -> _Chain:
        chain = cls(members, saved.get("base") or "", int(saved.get("last", len(members) - 1)))
        if "segments" not in saved:
            chain.pending = [
                ([(op, value) for op, value in ops], member) for ops, member in saved["pending"]
            ]
            return chain
        chain.base, chain.cells = None, []
        tombs: list[tuple[str, int, int]] = []
        for words, inserted, deleted in saved["segments"]:
            if deleted is not None:
                tombs.extend((char, inserted, deleted) for char in words)
                continue
            for cell in _cells(words, inserted):
                if cell[0] and tombs:
                    cell[2], tombs = tombs, []
                chain.cells.append(cell)
        chain.after = tombs
        return chain


def _cells(words: str, member: int) -> list[list[Any]]:
    """One cell per UTF-8 byte of `words`: the character on its first byte."""
    if words.isascii():
        return [[char, member, None] for char in words]
    cells: list[list[Any]] = []
    for char in words:
        cells.append([char, member, None])
        for _ in range(len(char.encode("utf-8")) - 1):
            cells.append(["", member, None])
    return cells


# -- reading entries ------------------------------------------------------------------------


def mark_outcomes(entries: list[HistoryEntry]) -> None:
    """Write on each "proposal tabled" entry what became of the proposal (`outcome`:
    "tabled" while it stands, else withdrawn, accepted, rejected or merged), from the
    later entries of the same list."""
    outcome: dict[str, str] = {}
    for entry in entries:
        for proposal in entry.detail.get("proposals", []):
            if proposal["status"] != "tabled":
                outcome[proposal["proposal"]] = proposal["status"]
    for entry in entries:
        for proposal in entry.detail.get("proposals", []):
            if proposal["status"] == "tabled":
                proposal["outcome"] = outcome.get(proposal["proposal"], "tabled")


def filter_entries(
    entries: Iterable[HistoryEntry],
    *,
    party: str | None = None,
    person: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[HistoryEntry]:
    """Entries by a Party, by a person, of a kind (headline or not), overlapping a span."""
    if kind is not None and kind not in {k.value for k in EntryKind}:
        known = ", ".join(k.value for k in EntryKind)
        raise ValueError(f"unknown kind of history entry {kind!r} (kinds: {known})")
    found = []
    for entry in entries:
        if party is not None and entry.party != party:
            continue
        if person is not None and entry.person != person:
            continue
        if kind is not None and kind not in entry.kinds:
            continue
        if since is not None and entry.ended < since:
            continue
        if until is not None and entry.started > until:
            continue
        found.append(entry)
    return found
