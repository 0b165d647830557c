"""Differences between two states of a text: word by word within clauses, and structural
changes (clauses added, deleted, moved, renumbered, their status) reported as such.

Words are compared as negotiators read them, brackets printed (`views.bracketed_words`), so
that lifting a bracket shows as its brackets going. The comparison is diff-match-patch on
words: each word, space or punctuation mark becomes one symbol, the symbols are
diffed and the result cleaned up semantically (diff-match-patch's rule, words weighed by
their length: no "the" kept equal in the middle of a rewritten sentence), then turned back
into words.

    ops = word_diff("Parties [shall][should] act", "Parties shall act")
    inline(ops)        # 'Parties [-[-]shall[-][should]-] act' (wdiff's markers)
    diff_texts(rev1, rev2).changed()      # ClauseDiff per clause that changed
    redlines(rev1, rev2)                  # what a DOCX redline needs, clause by clause

Two states of one text share clause ids (moving a clause keeps its id). Two unrelated
texts (two drafts imported separately) are compared through `drafting.matching`, whose
pairs say which old clause each new one continues.
"""

from __future__ import annotations

import bisect
import re
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from diff_match_patch import diff_match_patch

from drafting.numbering import Numbering
from drafting.outline import ROOT, Outline
from drafting.schema import NegotiationText
from drafting.views import bracketed_words

_TOKEN = re.compile(r"\w+|\s|[^\w\s]", re.UNICODE)
_FIRST_SYMBOL = 0xF0000  # supplementary private use planes: never in a treaty's words


class Op(StrEnum):
    EQUAL = "equal"
    INSERT = "insert"
    DELETE = "delete"


_DMP_OPS = {0: Op.EQUAL, 1: Op.INSERT, -1: Op.DELETE}

Ops = list[tuple[str, str]]  # (op, words): the words kept, inserted or deleted, in order


class Change(StrEnum):
    """What happened to a clause between two states, structure first."""

    ADDED = "added"
    DELETED = "deleted"
    MOVED = "moved"  # under another parent, or out of order among its siblings
    RENUMBERED = "renumbered"  # same place, another number ("2 bis" -> "3")
    STATUS = "status"  # pending -> agreed ad ref …
    WORDS = "words"  # its words changed


def word_diff(
    old: str, new: str, *, old_breaks: Iterable[int] = (), new_breaks: Iterable[int] = ()
) -> Ops:
    """Word-level differences: [(op, words)], adjacent ops of one kind merged.

    `old_breaks`/`new_breaks` are character positions where a word must be cut although
    no space is there: the edge of a bracket in plain words ("shall" and "should" of
    `[shall][should]` read "shallshould")."""
    if old == new:
        return [(Op.EQUAL.value, old)] if old else []
    symbols: dict[str, str] = {}
    tokens: list[str] = []

    def encode(words: str, breaks: Iterable[int]) -> str:
        out = []
        for token in _tokens(words, breaks):
            if token not in symbols:
                symbols[token] = chr(_FIRST_SYMBOL + len(tokens))
                tokens.append(token)
            out.append(symbols[token])
        return "".join(out)

    dmp = diff_match_patch()
    dmp.Diff_Timeout = 0  # exact, so that the same texts always give the same diff
    diffs = dmp.diff_main(encode(old, old_breaks), encode(new, new_breaks), False)

    # Characters of the words, spaces counting half: a long shared phrase survives
    # between two rewrites, a lone "the" or "," does not.
    sizes = [len(token.strip()) or 0.5 for token in tokens]
    weights: dict[str, float] = {}

    def weight(encoded: str) -> float:
        if encoded not in weights:
            weights[encoded] = sum(sizes[ord(s) - _FIRST_SYMBOL] for s in encoded)
        return weights[encoded]

    _cleanup_semantic(diffs, weight, dmp)
    ops: Ops = []
    for code, encoded in diffs:
        words = "".join(tokens[ord(symbol) - _FIRST_SYMBOL] for symbol in encoded)
        op = _DMP_OPS[code].value
        if ops and ops[-1][0] == op:
            ops[-1] = (op, ops[-1][1] + words)
        elif words:
            ops.append((op, words))
    return _words_first(ops)


def _tokens(words: str, breaks: Iterable[int]) -> list[str]:
    cuts = sorted({b for b in breaks if 0 < b < len(words)})
    if not cuts:
        return _TOKEN.findall(words)
    found = []
    for match in _TOKEN.finditer(words):
        start, end = match.span()
        inside = [c for c in cuts if start < c < end]
        for lo, hi in zip([start, *inside], [*inside, end], strict=True):
            found.append(words[lo:hi])
    return found


def _words_first(ops: Ops) -> Ops:
    """Slide a lone insertion or deletion that starts with a space to start with its
    word: "take{+ urgent+} action" becomes "take {+urgent +}action", as people mark it."""
    ops = list(ops)
    for i in range(1, len(ops) - 1):
        (before_op, before), (op, words), (after_op, after) = ops[i - 1], ops[i], ops[i + 1]
        if before_op != Op.EQUAL or after_op != Op.EQUAL or op == Op.EQUAL:
            continue
        while words[:1].isspace() and after[:1] == words[:1]:
            before, words, after = before + words[0], words[1:] + words[0], after[1:]
        ops[i - 1], ops[i], ops[i + 1] = (before_op, before), (op, words), (after_op, after)
    merged: Ops = []
    for op, words in ops:
        if merged and merged[-1][0] == op:
            merged[-1] = (op, merged[-1][1] + words)
        elif words:
            merged.append((op, words))
    return merged


def _cleanup_semantic(diffs: list[Any], weight: Any, dmp: diff_match_patch) -> None:
    """diff-match-patch's semantic cleanup (the first pass of `diff_cleanupSemantic`),
    weighing each symbol by the length of its word rather than as one character, and
    folding an equality into the edits around it only when the edits on each side are at
    least twice as long: a shared word between two small edits stays visible."""
    changed = False
    equalities: list[int] = []
    last: str | None = None
    ins_before = del_before = ins_after = del_after = 0.0
    pointer = 0
    while pointer < len(diffs):
        op, symbols = diffs[pointer]
        if op == 0:
            equalities.append(pointer)
            ins_before, del_before = ins_after, del_after
            ins_after = del_after = 0.0
            last = symbols
        else:
            if op == 1:
                ins_after += weight(symbols)
            else:
                del_after += weight(symbols)
            size = weight(last) if last is not None else 0.0
            if (
                last is not None
                and 2 * size <= max(ins_before, del_before)
                and 2 * size <= max(ins_after, del_after)
            ):
                at = equalities.pop()
                diffs.insert(at, (-1, last))
                diffs[at + 1] = (1, last)
                if equalities:
                    equalities.pop()
                pointer = equalities[-1] if equalities else -1
                ins_before = del_before = ins_after = del_after = 0.0
                last = None
                changed = True
        pointer += 1
    if changed:
        dmp.diff_cleanupMerge(diffs)


def inline(ops: Ops, *, color: bool = False) -> str:
    """One text with deletions as [-…-] and insertions as {+…+} (wdiff's markers), or in
    red and green for a terminal."""
    marks = {
        Op.DELETE: ("\x1b[31;9m", "\x1b[0m") if color else ("[-", "-]"),
        Op.INSERT: ("\x1b[32;4m", "\x1b[0m") if color else ("{+", "+}"),
    }
    out = []
    for op, words in ops:
        if op == Op.EQUAL:
            out.append(words)
        else:
            start, end = marks[Op(op)]
            out.append(f"{start}{words}{end}")
    return "".join(out)


def side_by_side(ops: Ops) -> tuple[str, str]:
    """The old text with its deletions marked, and the new with its insertions marked."""
    left = [f"[-{w}-]" if op == Op.DELETE else w for op, w in ops if op != Op.INSERT]
    right = [f"{{+{w}+}}" if op == Op.INSERT else w for op, w in ops if op != Op.DELETE]
    return "".join(left), "".join(right)


def columns(left: str, right: str, width: int = 100) -> str:
    """Two texts in two columns of a terminal, each wrapped to half the width."""
    half = max(20, (width - 3) // 2)
    lines_left = _wrap(left, half)
    lines_right = _wrap(right, half)
    rows = max(len(lines_left), len(lines_right))
    lines_left += [""] * (rows - len(lines_left))
    lines_right += [""] * (rows - len(lines_right))
    return "\n".join(
        f"{a.ljust(half)} | {b}".rstrip() for a, b in zip(lines_left, lines_right, strict=True)
    )


def _wrap(words: str, width: int) -> list[str]:
    lines: list[str] = []
    for paragraph in words.split("\n"):
        lines.extend(textwrap.wrap(paragraph, width) or [""])
    return lines


# -- clauses ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClauseDiff:
    """One clause between two states. `clause` is its id in the new state (in the old one
    for a deleted clause); `old_clause` its id in the old state ("" if added)."""

    clause: str
    old_clause: str
    kind: str
    old_label: str
    new_label: str
    old_reference: str
    new_reference: str
    old_status: str
    new_status: str
    old_words: str
    new_words: str
    changes: tuple[str, ...]
    ops: Ops = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)

    @property
    def reference(self) -> str:
        """Where the clause is cited: where it was, for a deleted one."""
        if Change.DELETED in self.changes:
            return self.old_reference
        return self.new_reference or self.old_reference

    def to_json(self) -> dict[str, Any]:
        return {
            "clause": self.clause,
            "old_clause": self.old_clause,
            "kind": self.kind,
            "reference": self.reference,
            "old": {
                "label": self.old_label,
                "reference": self.old_reference,
                "status": self.old_status,
                "words": self.old_words,
            },
            "new": {
                "label": self.new_label,
                "reference": self.new_reference,
                "status": self.new_status,
                "words": self.new_words,
            },
            "changes": list(self.changes),
            "ops": [list(op) for op in self.ops],
            "inline": inline(self.ops),
            "side_by_side": dict(zip(("old", "new"), side_by_side(self.ops), strict=True)),
        }


@dataclass(frozen=True)
class TextDiff:
    """Every clause of either state, in the new state's order (deleted ones where they
    were), with what changed."""

    clauses: list[ClauseDiff]

    def changed(self) -> list[ClauseDiff]:
        return [c for c in self.clauses if c.changed]

    def counts(self) -> dict[str, int]:
        counts = {change.value: 0 for change in Change}
        for clause in self.clauses:
            for change in clause.changes:
                counts[change] += 1
        return counts

    def to_json(self) -> dict[str, Any]:
        return {"counts": self.counts(), "clauses": [c.to_json() for c in self.changed()]}


@dataclass(frozen=True)
class ClauseRedline:
    """What a redline (DOCX tracked changes) needs of one clause: where it is, what
    happened to it and its words as (op, words) runs."""

    clause: str
    kind: str
    label: str
    reference: str
    change: str  # "added", "deleted", "changed" or "unchanged"
    ops: Ops


class _State:
    """One side of a comparison: the outline, numbers and rendered words of a text."""

    def __init__(self, text: NegotiationText) -> None:
        with text.transaction():
            self.text = text
            self.outline = Outline(text)
            self.numbering = Numbering(text, self.outline)
            self.order = [placed.clause.id for placed in self.outline.walk()]
            self.live = {cid for cid in self.order if self.outline.is_live(cid)}
            self._words: dict[str, str] = {}
            self._labels = {
                cid: self.numbering.label(self.outline.records[cid]) for cid in self.order
            }

    def words(self, clause_id: str) -> str:
        if clause_id not in self._words:
            self._words[clause_id] = bracketed_words(self.text, clause_id)
        return self._words[clause_id]

    def label(self, clause_id: str) -> str:
        return self._labels.get(clause_id, "")

    def reference(self, clause_id: str) -> str:
        """The clause's place as people cite it: "Article 2 › Option 1: › 1. › (a)"."""
        chain = [clause_id, *(a.id for a in self.outline.ancestors(clause_id))]
        parts = [self._cite(cid) for cid in reversed(chain)]
        return " › ".join(p for p in parts if p)

    def _cite(self, clause_id: str) -> str:
        record = self.outline.records[clause_id]
        label = self._labels.get(clause_id, "")
        if record.kind == "preamble":
            return "Preamble"
        if record.kind == "final-clauses":
            return "Final clauses"
        if record.kind == "options":
            return "options"
        return label

    def subtree(self, clause_id: str) -> list[str]:
        found = [clause_id] if clause_id in self.outline.records else []
        found.extend(p.clause.id for p in self.outline.walk(clause_id))
        return found


def diff_texts(
    old: NegotiationText,
    new: NegotiationText,
    *,
    clause: str | None = None,
    pairs: Mapping[str, str] | None = None,
) -> TextDiff:
    """Compare two states clause by clause; `clause` limits it to that clause and the
    clauses under it (in either state). `pairs` maps new clause ids to the old clauses
    they continue (from `drafting.matching`); by default ids are the same in both."""
    # One read transaction per text for the whole comparison: pycrdt opens one per read
    # otherwise, which costs more than the reads.
    with old.transaction(), new.transaction():
        return _diff_texts(old, new, clause, pairs)


def _diff_texts(
    old: NegotiationText,
    new: NegotiationText,
    clause: str | None,
    pairs: Mapping[str, str] | None,
) -> TextDiff:
    before, after = _State(old), _State(new)
    new_to_old = dict(pairs) if pairs is not None else {c: c for c in after.order}
    old_to_new = {o: n for n, o in new_to_old.items()}
    scope_new: set[str] | None = None
    scope_old: set[str] | None = None
    if clause is not None:
        scope_new = set(after.subtree(clause))
        scope_old = set(before.subtree(new_to_old.get(clause, clause)))
        if not scope_new and not scope_old:
            raise KeyError(f"no clause {clause!r} in either state of the text")
        scope_new |= {old_to_new[o] for o in scope_old if o in old_to_new}
        scope_old |= {new_to_old[n] for n in scope_new if n in new_to_old}
    moved = _moved(before, after, new_to_old)
    orphans = _deleted_in_place(before, after, old_to_new)
    diffs: list[ClauseDiff] = []
    for old_id in orphans.get(ROOT, []):
        if scope_old is None or old_id in scope_old:
            diffs.append(_clause_diff(before, after, old_id, "", moved))
    for new_id in after.order:
        old_id = new_to_old.get(new_id, "")
        old_id = old_id if old_id in before.outline.records else ""
        in_scope = scope_new is None or new_id in scope_new
        if in_scope and (new_id in after.live or old_id in before.live):
            diffs.append(_clause_diff(before, after, old_id, new_id, moved))
        for gone in orphans.get(old_id, []) if old_id else []:
            if scope_old is None or gone in scope_old:
                diffs.append(_clause_diff(before, after, gone, "", moved))
    return TextDiff(diffs)


def redlines(
    old: NegotiationText,
    new: NegotiationText,
    *,
    clause: str | None = None,
    pairs: Mapping[str, str] | None = None,
) -> list[ClauseRedline]:
    """Per clause, in document order: (op, words) runs between two states, for a DOCX
    redline. Every clause of either state is listed, changed or not."""
    found = []
    for d in diff_texts(old, new, clause=clause, pairs=pairs).clauses:
        if Change.ADDED in d.changes:
            change = "added"
        elif Change.DELETED in d.changes:
            change = "deleted"
        else:
            change = "changed" if d.changes else "unchanged"
        found.append(
            ClauseRedline(
                clause=d.clause,
                kind=d.kind,
                label=d.new_label or d.old_label,
                reference=d.reference,
                change=change,
                ops=d.ops,
            )
        )
    return found


def clause_rendering(text: NegotiationText, clause_id: str, *, subtree: bool = False) -> str:
    """A clause as negotiators print it (number and bracketed words); with `subtree`, the
    clauses under it too, indented. Deleted clauses and options that lost are left out."""
    with text.transaction():
        return _clause_rendering(text, clause_id, subtree)


def _clause_rendering(text: NegotiationText, clause_id: str, subtree: bool) -> str:
    state = _State(text)
    if clause_id not in state.outline.records:
        raise KeyError(f"no clause {clause_id!r} in this text")
    ids = state.subtree(clause_id) if subtree else [clause_id]
    depth0 = len(state.outline.ancestors(clause_id))
    lines = []
    for cid in ids:
        if cid not in state.live:
            continue
        depth = len(state.outline.ancestors(cid)) - depth0
        line = " ".join(p for p in (state.label(cid), state.words(cid)) if p)
        if line:
            lines.append("    " * depth + line)
    return "\n".join(lines)


def _clause_diff(
    before: _State, after: _State, old_id: str, new_id: str, moved: set[str]
) -> ClauseDiff:
    was = bool(old_id) and old_id in before.live
    now = bool(new_id) and new_id in after.live
    old_words = before.words(old_id) if was else ""
    new_words = after.words(new_id) if now else ""
    changes: list[str] = []
    if was and not now:
        changes.append(Change.DELETED)
    elif now and not was:
        changes.append(Change.ADDED)
    else:
        if new_id in moved:
            changes.append(Change.MOVED)
        elif before.label(old_id) != after.label(new_id):
            changes.append(Change.RENUMBERED)
        old_status = before.outline.records[old_id].status
        if old_status != after.outline.records[new_id].status:
            changes.append(Change.STATUS)
        if old_words != new_words:
            changes.append(Change.WORDS)
    record = (after if new_id else before).outline.records[new_id or old_id]
    return ClauseDiff(
        clause=new_id or old_id,
        old_clause=old_id,
        kind=record.kind,
        old_label=before.label(old_id) if old_id else "",
        new_label=after.label(new_id) if new_id else "",
        old_reference=before.reference(old_id) if old_id else "",
        new_reference=after.reference(new_id) if new_id else "",
        old_status=before.outline.records[old_id].status if old_id else "",
        new_status=after.outline.records[new_id].status if new_id else "",
        old_words=old_words,
        new_words=new_words,
        changes=tuple(str(c) for c in changes),
        ops=word_diff(old_words, new_words),
    )


def _moved(before: _State, after: _State, new_to_old: Mapping[str, str]) -> set[str]:
    """New ids of clauses under another parent, or out of order among their siblings
    (those outside the longest run of siblings that kept their order)."""
    moved: set[str] = set()
    old_parent = before.outline.parent_of
    for parent in {ROOT, *after.order}:
        children = [c.id for c in after.outline.children(parent)]
        kept = []
        for new_id in children:
            old_id = new_to_old.get(new_id)
            if old_id is None or old_id not in before.outline.records:
                continue
            if old_parent[old_id] != new_to_old.get(parent, parent):
                moved.add(new_id)
            else:
                kept.append(new_id)
        if len(kept) > 1:
            position = {cid: i for i, cid in enumerate(before.order)}
            in_order = _longest_increasing([position[new_to_old[c]] for c in kept])
            moved.update(c for i, c in enumerate(kept) if i not in in_order)
    return moved


def _deleted_in_place(
    before: _State, after: _State, old_to_new: Mapping[str, str]
) -> dict[str, list[str]]:
    """Old clauses with no counterpart in the new state, keyed by the nearest earlier old
    clause that has one (ROOT: before everything), so that they are listed where they were."""
    anchored: dict[str, list[str]] = {}
    anchor = ROOT
    for old_id in before.order:
        if old_id in old_to_new and old_to_new[old_id] in after.outline.records:
            anchor = old_id
        elif old_id in before.live:
            anchored.setdefault(anchor, []).append(old_id)
    return anchored


def _longest_increasing(values: list[int]) -> set[int]:
    """Indexes of one longest strictly increasing subsequence (patience, O(n log n))."""
    tails: list[int] = []
    tail_index: list[int] = []
    previous = [-1] * len(values)
    for i, value in enumerate(values):
        k = bisect.bisect_left(tails, value)
        if k == len(tails):
            tails.append(value)
            tail_index.append(i)
        else:
            tails[k] = value
            tail_index[k] = i
        previous[i] = tail_index[k - 1] if k > 0 else -1
    found: set[int] = set()
    i = tail_index[-1] if tail_index else -1
    while i >= 0:
        found.add(i)
        i = previous[i]
    return found


def ops_words(ops: Iterable[tuple[str, str]], *, side: str) -> str:
    """The old ("old") or new ("new") words an ops list was made from."""
    skip = Op.INSERT if side == "old" else Op.DELETE
    return "".join(words for op, words in ops if op != skip)


def find_clause(text: NegotiationText, reference: str) -> str:
    """A clause by its id or as people cite it: "Article 2", "Article 2 bis", "2.1(a)",
    "Art. 4.2", "Preamble", "PP3" (the numbers shown now, not the source's)."""
    reference = reference.strip()
    if text.has_clause(reference):
        return reference
    with text.transaction():
        return _find_clause(text, reference)


def _find_clause(text: NegotiationText, reference: str) -> str:
    state = _State(text)
    wanted = reference.lower().replace("article", " ").replace("art.", " ")
    if wanted.strip() == "preamble":
        for record in state.outline.children():
            if record.kind == "preamble":
                return record.id
    steps = [_plain_number(s) for s in re.split(r"[.\s()]+", wanted) if s.strip()]
    steps = _join_suffixes(steps)
    parent: str = ROOT
    found = ""
    for step in steps:
        found = next(
            (
                c
                for c in _numbered_below(state, parent)
                if _plain_number(state.numbering.number(c)) == step
            ),
            "",
        )
        if not found:
            raise KeyError(
                f"no clause {reference!r} in this text (cite it as 'Article 2.1(a)' or by id)"
            )
        parent = found
    if not found:
        raise KeyError(f"no clause {reference!r} in this text")
    return found


def _plain_number(number: str) -> str:
    return re.sub(r"[\s.()]", "", number).lower()


def _join_suffixes(steps: list[str]) -> list[str]:
    """ "2", "bis" -> "2bis"."""
    from drafting.numbering import LATIN_ORDINALS

    joined: list[str] = []
    for step in steps:
        if joined and step in LATIN_ORDINALS:
            joined[-1] += step
        else:
            joined.append(step)
    return joined


def _numbered_below(state: _State, parent: str) -> Iterable[str]:
    """Live clauses under `parent`, looking through unnumbered containers and options
    (whose "Option 1" is no paragraph number), nearest first."""
    queue = [c.id for c in state.outline.children(parent)]
    while queue:
        clause = queue.pop(0)
        if clause not in state.live:
            continue
        if state.numbering.number(clause) and state.outline.records[clause].kind != "option":
            yield clause
        else:
            queue.extend(c.id for c in state.outline.children(clause))
