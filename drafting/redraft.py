"""Another wording applied to a text as edits: a later draft loaded as the next revision of
the same text (`redraft`), or a clause's earlier wording restored (`restore_clause`).

Nothing is replaced wholesale. Each clause of the later draft continues the clause that
`drafting.matching` paired it with (same id, so the same history), and is brought to the
new wording by the smallest edits: the words that differ are deleted and inserted
(`clauses.delete_words` / `insert_words`, word by word as `diffs.word_diff` finds them),
brackets that survive stay the same brackets, brackets that went are lifted (`kept` if
their words stayed, `dropped` if not), new ones are added (`brackets.bracket_span`). A
clause that moved is moved; one with no counterpart is added; an old clause that nothing
continues is deleted (it stays in the record). Each clause's change is one transaction, so
one update and one history entry per clause ("words changed, 3 brackets lifted").

Structure is written through the clause records (as `clauses.add_clause` and `move_clause`
do) with one outline kept up to date here: those operations rebuild the outline of the
whole text on every call, which for the ~650 clauses of a COP21 draft would cost seconds.

Not carried over: footnotes (the `notes` root) and formatting changes of words that did
not change (italics of a kept participle).
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pycrdt import Text

from drafting.brackets import BracketSpan, bracket_clause, bracket_span, lift_bracket, spans
from drafting.brackets import spans_of as spans_in
from drafting.clauses import delete_clause, delete_words, insert_words, set_status
from drafting.diffs import Op, word_diff
from drafting.history import recording
from drafting.matching import Matching, match_texts
from drafting.offsets import to_utf8
from drafting.ordering import key_between
from drafting.outline import ROOT, Outline
from drafting.proposals import remove_one_bracket
from drafting.schema import (
    BOLD_ATTR,
    BRACKET_ATTR_PREFIX,
    ITALIC_ATTR,
    LINK_ATTR,
    NOTE_ATTR,
    NegotiationText,
    bracket_attr,
    format_note_markers,
    new_id,
    note_markers,
    now,
)
from drafting.statuses import ALLOWED
from drafting.vocabulary import BracketState, ClauseStatus

FORMATTING = (ITALIC_ATTR, BOLD_ATTR, LINK_ATTR)


class RedraftError(ValueError):
    """A wording that cannot be applied as asked."""


@dataclass
class RedraftReport:
    """What loading a later draft did, clause ids of the text; `updates` are the CRDT
    updates to log, one per transaction, in order."""

    matching: Matching
    reworded: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    updates: list[bytes] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "matched": len(self.matching.matches),
            "reworded": len(self.reworded),
            "moved": len(self.moved),
            "added": len(self.added),
            "deleted": len(self.deleted),
            "updates": len(self.updates),
        }


def redraft(
    text: NegotiationText, draft: NegotiationText, matching: Matching | None = None
) -> RedraftReport:
    """Bring `text` to the wording and structure of `draft`, a later draft of it."""
    matching = matching or match_texts(text, draft)
    report = RedraftReport(matching)
    pairs = matching.pairs
    with recording(text) as updates:
        tree = _Tree(text)
        later = Outline(draft)
        staying = _staying(tree, later, pairs)
        placed: dict[str, str] = {}  # draft id -> text id
        last: dict[str, str] = {}  # text parent -> the text id placed last under it
        for item in later.walk():
            source = item.clause
            parent = placed.get(later.parent_of[source.id], ROOT)
            after = last.get(parent)
            target = pairs.get(source.id)
            with text.transaction():
                if target is None:
                    target = tree.add(source, parent, after)
                    report.added.append(target)
                elif target not in staying:
                    tree.move(target, parent, after)
                    report.moved.append(target)
                if text.clause(target).base != source.base:
                    _set_base(text, target, source.base)
                if rewrite_words(text, target, draft, source.id) and target not in report.added:
                    report.reworded.append(target)
            placed[source.id] = target
            last[parent] = target
        gone = set(matching.removed)
        for clause in matching.removed:
            if not any(a in gone for a in tree.ancestors(clause)):
                with text.transaction():
                    delete_clause(text, clause)
                    # The draft's numbers are the numbers: a clause it dropped no longer
                    # counts (it would otherwise keep its number and shift the others).
                    _set_base(text, clause, False)
                report.deleted.append(clause)
        _renumber_if_clean(text, draft)
        with text.transaction():
            for key in ("title", "source_note"):
                text.set_meta(key, draft.get_meta(key))
            _copy_notes(text, draft)
    report.updates = list(updates)
    return report


def restore_clause(text: NegotiationText, clause_id: str, earlier: NegotiationText) -> list[bytes]:
    """Give a clause back the wording (and brackets) it has in `earlier`, a past state of
    the same text, as one new change; a deleted clause comes back. The updates to log."""
    if not earlier.has_clause(clause_id):
        raise RedraftError(f"clause {clause_id!r} did not exist then: there is nothing to restore")
    text.clause(clause_id)  # KeyError for a clause the text does not have
    with recording(text) as updates, text.transaction():
        rewrite_words(text, clause_id, earlier, clause_id)
        then = ClauseStatus(earlier.clause(clause_id).status)
        status = ClauseStatus(text.clause(clause_id).status)
        if status == ClauseStatus.DELETED and then != ClauseStatus.DELETED:
            back = then if then in ALLOWED[status] else ClauseStatus.PENDING
            set_status(text, clause_id, back)
    return list(updates)


def rewrite_words(
    text: NegotiationText, clause_id: str, source: NegotiationText, source_clause: str
) -> bool:
    """Make a clause's words, brackets and formatting those of `source_clause` in
    `source`, by the smallest edits; whether anything changed. Runs in the caller's
    transaction."""
    record = text.clause(clause_id)
    wanted = source.clause(source_clause)
    if _same_shape(text, record.words, source, wanted.words):
        return _clause_bracket(text, clause_id, source, source_clause)
    before = {s.id: s for s in spans(text, clause_id)}
    wanted_spans = spans_in(source, wanted.words)
    current, target = str(record.words), str(wanted.words)
    changed = current != target
    if changed:
        at = 0
        ops = word_diff(
            current, target, old_breaks=_edges(before.values()), new_breaks=_edges(wanted_spans)
        )
        for op, words in ops:
            if op == Op.EQUAL:
                at += len(words)
            elif op == Op.DELETE:
                delete_words(text, clause_id, at, at + len(words))
            else:  # plain for now: `_format_like` gives them their brackets and formatting
                insert_words(text, clause_id, at, words, attrs={})
                at += len(words)
    kept, rebracketed = _rebracket(text, clause_id, before, wanted_spans)
    formatted = _format_like(record.words, wanted.words, kept)
    reclaused = _clause_bracket(text, clause_id, source, source_clause)
    return changed or rebracketed or formatted or reclaused


def _same_shape(text: NegotiationText, words: Text, source: NegotiationText, model: Text) -> bool:
    """Whether two words read the same, brackets and formatting included, whatever the
    brackets' ids: most clauses of a new draft did not change, and this is cheap."""
    ours, theirs = _shape(text, words), _shape(source, model)
    return ours is not None and ours == theirs


def _shape(text: NegotiationText, words: Text) -> list[Any] | None:
    number: dict[str, int] = {}
    runs: list[Any] = []
    for chunk, attrs in words.diff():
        shaped = []
        for key, value in sorted((attrs or {}).items()):
            if key.startswith(BRACKET_ATTR_PREFIX):
                shaped.append(
                    ("br", number.setdefault(key[len(BRACKET_ATTR_PREFIX) :], len(number)))
                )
            elif key == NOTE_ATTR:
                shaped.append((key, [(n, number.get(a, a)) for n, a in note_markers(value)]))
            elif key in FORMATTING:
                shaped.append((key, value))
        runs.append((chunk, shaped))
    for bracket_id, index in number.items():
        if not text.has_bracket(bracket_id):
            return None
        record = text.bracket(bracket_id)
        if record.state != BracketState.OPEN:
            return None
        runs.append((index, record.kind, number.get(record.group, record.group)))
    return runs


def _edges(brackets: Iterable[BracketSpan]) -> list[int]:
    return [edge for span in brackets for edge in (span.start, span.end)]


def _rebracket(
    text: NegotiationText,
    clause_id: str,
    before: dict[str, BracketSpan],
    wanted: list[BracketSpan],
) -> tuple[dict[str, str], bool]:
    """Brackets on the same words stay; the others are lifted; the missing ones added.
    Returns which bracket of the text stands for each wanted one, and whether any changed."""
    now_spans = spans(text, clause_id)
    free: dict[tuple[int, int, str], list[str]] = {}
    for span in now_spans:
        free.setdefault((span.start, span.end, span.kind), []).append(span.id)
    kept: dict[str, str] = {}  # wanted bracket -> bracket of the text
    for span in wanted:
        ids = free.get((span.start, span.end, span.kind))
        if ids:
            kept[span.id] = ids.pop(0)
    still = set(kept.values())
    lifted = [b for b in before if b not in still]
    for bracket in lifted:
        has_words = any(s.id == bracket for s in now_spans)
        remove_one_bracket(text, bracket, keep_words=has_words)
    added = [s for s in wanted if s.id not in kept]
    for span in sorted(added, key=lambda s: (s.start, -s.end, s.depth)):
        party = span.party if span.party in text.parties else ""
        kept[span.id] = bracket_span(
            text, clause_id, span.start, span.end, party=party, kind=span.kind
        )
    regrouped = _regroup(text, wanted, kept)
    return kept, bool(lifted or added or regrouped)


def _format_like(words: Text, model: Text, brackets: dict[str, str]) -> bool:
    """Give `words` (equal to `model` as a string) the attributes of `model` character
    by character: its brackets (`brackets` maps the model's ids to ours), emphasis, links
    and footnote markers. Whatever else `words` carries is cleared."""
    have = _per_character(words.diff())
    want = [_translated(attrs, brackets) for attrs in _per_character(model.diff())]
    plain = str(words)
    changed = False
    start = 0
    while start < len(want):
        if have[start] == want[start]:
            start += 1
            continue
        end = start + 1
        while end < len(want) and have[end] == have[start] and want[end] == want[start]:
            end += 1
        update = {key: want[start].get(key) for key in {*have[start], *want[start]}}
        words.format(to_utf8(plain, start), to_utf8(plain, end), update)
        changed = True
        start = end
    return changed


def _per_character(runs: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for chunk, attrs in runs:
        kept = {k: v for k, v in (attrs or {}).items() if _carried(k) and v is not None}
        found.extend([kept] * len(chunk))
    return found


def _carried(key: str) -> bool:
    return key.startswith(BRACKET_ATTR_PREFIX) or key in FORMATTING or key == NOTE_ATTR


def _translated(attrs: dict[str, Any], brackets: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if key.startswith(BRACKET_ATTR_PREFIX):
            ours = brackets.get(key[len(BRACKET_ATTR_PREFIX) :])
            if ours:
                out[bracket_attr(ours)] = value
        elif key == NOTE_ATTR:
            markers = [(n, brackets.get(after, after)) for n, after in note_markers(value)]
            out[key] = format_note_markers(markers)
        else:
            out[key] = value
    return out


def _regroup(text: NegotiationText, wanted: list[BracketSpan], kept: dict[str, str]) -> bool:
    """Alternatives as in the wording: brackets of one group there share a group here."""
    groups: dict[str, list[BracketSpan]] = {}
    for span in wanted:
        groups.setdefault(span.group, []).append(span)
    changed = False
    for members in groups.values():
        ours = [text.bracket(kept[s.id]) for s in sorted(members, key=lambda s: s.start)]
        group = ours[0].id
        for bracket in ours:
            if bracket.group != (group if len(ours) > 1 else bracket.id):
                bracket.group = group if len(ours) > 1 else bracket.id
                changed = True
    return changed


def _clause_bracket(
    text: NegotiationText, clause_id: str, source: NegotiationText, source_clause: str
) -> bool:
    def open_bracket(where: NegotiationText, clause: str) -> str:
        bracket = where.clause(clause).bracket
        open_ = bracket and where.bracket(bracket).state == BracketState.OPEN
        return bracket if open_ else ""

    ours, theirs = open_bracket(text, clause_id), open_bracket(source, source_clause)
    if theirs and not ours:
        party = source.bracket(theirs).party
        bracket_clause(text, clause_id, party=party if party in text.parties else "")
        return True
    if ours and not theirs:
        lift_bracket(text, ours, keep=ours)
        return True
    return False


def _renumber_if_clean(text: NegotiationText, draft: NegotiationText) -> None:
    """A draft without "bis" numbers has been renumbered: so are the live clauses of the
    text (like `clauses.renumber`, which would also count the clauses the draft dropped)."""
    if not all(record.base for record in draft.clauses()):
        return
    outline = Outline(text)
    for record in outline.records.values():
        if not record.base and outline.is_live(record.id):
            with text.transaction():
                _set_base(text, record.id, True)


def _copy_notes(text: NegotiationText, draft: NegotiationText) -> None:
    """Footnotes as in the draft: changed ones rewritten, new ones added, gone ones
    removed (their markers went with the words, see `_format_like`)."""
    for note_id in [n for n in text.notes if n not in draft.notes]:
        del text.notes[note_id]
    for note_id in draft.notes:
        model = draft.note(note_id)
        if note_id in text.notes and _same_runs(text.note(note_id), model):
            continue
        words = text.note(note_id) if note_id in text.notes else text.create_note(note_id)
        del words[0 : len(str(words).encode("utf-8"))]
        ids = {s.id: new_id("b") for s in spans_in(draft, model)}
        for span in spans_in(draft, model):
            record = draft.bracket(span.id)
            text.create_bracket(
                ids[span.id],
                {
                    "kind": record.kind,
                    "clause": "",
                    "group": ids.get(record.group, "") if record.group != record.id else "",
                    "parent": ids.get(record.parent, ""),
                    "party": record.party if record.party in text.parties else "",
                    "proposal": "",
                    "state": str(BracketState.OPEN),
                    "created": now(),
                    "lifted": "",
                },
            )
        offset = 0
        for chunk, attrs in model.diff():
            words.insert(offset, chunk, _translated(dict(attrs or {}), ids))
            offset += len(chunk.encode("utf-8"))


def _same_runs(a: Text, b: Text) -> bool:
    return str(a) == str(b) and _per_character(a.diff()) == _per_character(b.diff())


def _set_base(text: NegotiationText, clause_id: str, base: bool) -> None:
    text.clause(clause_id)._set("base", base)  # ClauseRecord has no setter for it (yet)


class _Tree:
    """Parents and sibling order of the text, kept current while clauses are placed."""

    def __init__(self, text: NegotiationText) -> None:
        self.text = text
        outline = Outline(text)
        self.parent = dict(outline.parent_of)
        self.children: dict[str, list[tuple[str, str]]] = {}
        for clause, record in outline.records.items():
            bisect.insort(self.children.setdefault(self.parent[clause], []), (record.order, clause))
        self.order = {c: r.order for c, r in outline.records.items()}

    def ancestors(self, clause: str) -> list[str]:
        chain = []
        node = self.parent.get(clause, ROOT)
        while node != ROOT:
            chain.append(node)
            node = self.parent.get(node, ROOT)
        return chain

    def add(self, source: Any, parent: str, after: str | None) -> str:
        clause = new_id("c")
        order = self._key(parent, after)
        self.text.create_clause(
            clause,
            {
                "kind": source.kind,
                "parent": parent,
                "order": order,
                "base": source.base,
                "number": source.source_number,
                "status": str(ClauseStatus.PENDING),
                "bracket": "",
                "chosen": "",
                "party": "",
                "created": now(),
            },
        )
        self._place(clause, parent, order)
        return clause

    def move(self, clause: str, parent: str, after: str | None) -> None:
        siblings = self.children[self.parent[clause]]
        siblings.remove((self.order[clause], clause))
        order = self._key(parent, after)
        record = self.text.clause(clause)
        record.order = order
        record.parent = parent
        self._place(clause, parent, order)

    def _place(self, clause: str, parent: str, order: str) -> None:
        self.parent[clause] = parent
        self.order[clause] = order
        bisect.insort(self.children.setdefault(parent, []), (order, clause))

    def _key(self, parent: str, after: str | None) -> str:
        """A key right after `after` (None: before every child of `parent`)."""
        siblings = self.children.get(parent, [])
        low = self.order[after] if after is not None else None
        higher = [key for key, _ in siblings if low is None or key > low]
        return key_between(low, higher[0] if higher else None)


def _staying(tree: _Tree, later: Outline, pairs: dict[str, str]) -> set[str]:
    """Clauses that can stay where they are: under the parent they will have, in the
    longest run of siblings already in the later draft's order. The others move."""
    staying: set[str] = set()
    mapped = {ROOT: ROOT, **pairs}
    for parent in [ROOT, *later.records]:
        if parent not in mapped:
            continue
        target_parent = mapped[parent]
        candidates = [
            pairs[c.id]
            for c in later.children(parent)
            if c.id in pairs and tree.parent.get(pairs[c.id]) == target_parent
        ]
        keys = [tree.order[c] for c in candidates]
        staying.update(candidates[i] for i in _increasing(keys))
    return staying


def _increasing(keys: list[str]) -> set[int]:
    """Indexes of a longest strictly increasing subsequence of `keys`."""
    tails: list[str] = []
    at: list[int] = []
    previous = [-1] * len(keys)
    for i, key in enumerate(keys):
        k = bisect.bisect_left(tails, key)
        if k == len(tails):
            tails.append(key)
            at.append(i)
        else:
            tails[k], at[k] = key, i
        previous[i] = at[k - 1] if k else -1
    found: set[int] = set()
    i = at[-1] if at else -1
    while i >= 0:
        found.add(i)
        i = previous[i]
    return found
