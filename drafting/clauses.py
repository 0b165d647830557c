"""Clauses: add, move, delete, edit their words, set their status.

Every operation runs in one transaction (one CRDT update, one entry in the history) and
takes positions in characters. Errors say which clause and what was wrong, and leave the
text untouched.
"""

from __future__ import annotations

from typing import Any

from drafting.offsets import check_span, to_utf8
from drafting.ordering import key_between
from drafting.outline import ROOT, Outline
from drafting.schema import NOTE_ATTR, ClauseRecord, NegotiationText, new_id, now
from drafting.statuses import check_transition
from drafting.vocabulary import ClauseKind, ClauseStatus

CONTAINERS = (
    ClauseKind.PREAMBLE,
    ClauseKind.SECTION,
    ClauseKind.ARTICLE,
    ClauseKind.PARAGRAPH,
    ClauseKind.SUBPARAGRAPH,
    ClauseKind.OPERATIVE,
    ClauseKind.OPTIONS,
    ClauseKind.OPTION,
    ClauseKind.FINAL_CLAUSES,
    ClauseKind.ANNEX,
)


class ClauseError(ValueError):
    """An operation on a clause that the text's structure does not allow."""


def add_clause(
    text: NegotiationText,
    kind: ClauseKind | str,
    words: str = "",
    *,
    parent: str = ROOT,
    after: str | None = None,
    base: bool = False,
    party: str = "",
    number: str = "",
    status: ClauseStatus | str = ClauseStatus.PENDING,
    clause_id: str | None = None,
) -> str:
    """Add a clause under `parent`, after sibling `after` (None: at the end; "": first).

    Added clauses default to `base=False`: they are numbered "bis", "ter" … after the
    clause before them until the text is renumbered.
    """
    kind = ClauseKind(kind)
    status = ClauseStatus(status)
    with text.transaction():
        outline = Outline(text)
        order = _order_for(outline, parent, after)
        clause_id = clause_id or new_id("c")
        if text.has_clause(clause_id):
            raise ClauseError(f"a clause with id {clause_id!r} already exists")
        record = text.create_clause(
            clause_id,
            {
                "kind": str(kind),
                "parent": parent,
                "order": order,
                "base": base,
                "number": number,
                "status": str(status),
                "bracket": "",
                "chosen": "",
                "party": party,
                "created": now(),
            },
        )
        if words:
            record.words.insert(0, words)
    return clause_id


def move_clause(
    text: NegotiationText, clause_id: str, *, parent: str = ROOT, after: str | None = None
) -> None:
    """Move a clause (and everything under it); its id, and so its history, stay."""
    with text.transaction():
        order = check_move(text, clause_id, parent=parent, after=after)
        record = text.clause(clause_id)
        record.order = order
        record.parent = parent


def check_move(
    text: NegotiationText, clause_id: str, *, parent: str = ROOT, after: str | None = None
) -> str:
    """Refuse a move that cannot be made; return the clause's order key at its new place."""
    outline = Outline(text)
    text.clause(clause_id)
    if parent == clause_id or any(a.id == clause_id for a in _chain(outline, parent)):
        raise ClauseError(f"cannot move clause {clause_id!r} under itself")
    siblings_after = after if after != clause_id else None
    return _order_for(outline, parent, siblings_after, moving=clause_id)


def delete_clause(text: NegotiationText, clause_id: str) -> None:
    """Delete a clause from the text; it stays in the record with status `deleted`."""
    set_status(text, clause_id, ClauseStatus.DELETED)


def set_status(text: NegotiationText, clause_id: str, status: ClauseStatus | str) -> None:
    status = ClauseStatus(status)
    with text.transaction():
        record = text.clause(clause_id)
        check_transition(clause_id, ClauseStatus(record.status), status)
        if status in (ClauseStatus.AGREED, ClauseStatus.AGREED_AD_REF):
            _require_no_open_brackets(text, record, status)
        record.status = str(status)


def renumber(text: NegotiationText) -> None:
    """Make every clause count in the numbering: "5 bis" becomes "6" and so on."""
    with text.transaction():
        for record in text.clauses():
            if not record.base:
                record.map["base"] = True


def words_of(text: NegotiationText, clause_id: str) -> str:
    return str(text.clause(clause_id).words)


def insert_words(
    text: NegotiationText,
    clause_id: str,
    at: int,
    words: str,
    *,
    attrs: dict[str, Any] | None = None,
) -> None:
    """Insert `words` at character position `at`.

    Unless `attrs` are given, the new words take the formatting the two characters around
    them share: typed inside a bracket they are in it, typed at its edge they are outside
    it (so nobody extends another Party's bracket by typing next to it).
    """
    if not words:
        return
    with text.transaction():
        ytext = text.clause(clause_id).words
        current = str(ytext)
        check_span(current, at, at)
        if attrs is None:
            attrs = shared_attrs(ytext, current, at)
        ytext.insert(to_utf8(current, at), words, attrs)


def delete_words(text: NegotiationText, clause_id: str, start: int, end: int) -> None:
    with text.transaction():
        ytext = text.clause(clause_id).words
        current = str(ytext)
        check_span(current, start, end)
        begin = to_utf8(current, start)
        del ytext[begin : to_utf8(current, end)]


def replace_words(text: NegotiationText, clause_id: str, start: int, end: int, words: str) -> None:
    with text.transaction():
        attrs = shared_attrs(text.clause(clause_id).words, words_of(text, clause_id), start)
        delete_words(text, clause_id, start, end)
        insert_words(text, clause_id, start, words, attrs=attrs)


def attrs_at(ytext: Any, position_utf8: int) -> dict[str, Any]:
    """Formatting attributes of the character starting at a UTF-8 offset ({} past the end)."""
    offset = 0
    for chunk, attrs in ytext.diff():
        size = len(chunk.encode("utf-8"))
        if offset <= position_utf8 < offset + size:
            return dict(attrs or {})
        offset += size
    return {}


def shared_attrs(ytext: Any, current: str, at: int) -> dict[str, Any]:
    left = attrs_at(ytext, to_utf8(current, at - 1)) if at > 0 else {}
    right = attrs_at(ytext, to_utf8(current, at)) if at < len(current) else {}
    # A footnote marker belongs to one character: never copy it onto new words.
    return {k: v for k, v in left.items() if right.get(k) == v and k != NOTE_ATTR}


def _require_no_open_brackets(
    text: NegotiationText, record: ClauseRecord, status: ClauseStatus
) -> None:
    from drafting.brackets import open_brackets_in  # brackets builds on clauses

    still_open = open_brackets_in(text, record.id)
    if still_open:
        raise ClauseError(
            f"clause {record.id!r} cannot be {status.value!r}: "
            f"{len(still_open)} bracket(s) still open ({', '.join(still_open)})"
        )


def _chain(outline: Outline, clause_id: str) -> list[ClauseRecord]:
    if clause_id == ROOT:
        return []
    return [outline.records[clause_id], *outline.ancestors(clause_id)]


def _order_for(
    outline: Outline, parent: str, after: str | None, *, moving: str | None = None
) -> str:
    if parent != ROOT and parent not in outline.records:
        raise ClauseError(f"no clause {parent!r} to add under")
    if parent != ROOT and outline.records[parent].kind not in CONTAINERS:
        raise ClauseError(f"a {outline.records[parent].kind} clause cannot hold other clauses")
    siblings = [c for c in outline.children(parent) if c.id != moving]
    if after is None:
        before_key = siblings[-1].order if siblings else None
        return key_between(before_key, None)
    if after == "":
        return key_between(None, siblings[0].order if siblings else None)
    ids = [c.id for c in siblings]
    if after not in ids:
        raise ClauseError(f"clause {after!r} is not a child of {parent or 'the text'!r}")
    i = ids.index(after)
    # Skip siblings that tie with `after` (concurrent inserts picked the same key).
    later = [c.order for c in siblings[i + 1 :] if c.order > siblings[i].order]
    return key_between(siblings[i].order, later[0] if later else None)
