"""The clause tree as read at one moment: parents, sibling order, document order.

The tree is derived from each clause's `parent` and `order` fields every time it is read,
never stored, so concurrent moves cannot leave two copies of a clause. Concurrent moves
can still make a cycle (A under B on one replica, B under A on another); every replica
breaks it the same way, by lifting the cycle's smallest id to the top level.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from drafting.schema import ClauseRecord, NegotiationText
from drafting.vocabulary import ClauseKind, ClauseStatus

ROOT = ""


@dataclass(frozen=True)
class Placed:
    clause: ClauseRecord
    depth: int


class Outline:
    def __init__(self, text: NegotiationText) -> None:
        self.records = {record.id: record for record in text.clauses()}
        parents = {cid: record.parent for cid, record in self.records.items()}
        for cid in parents:
            if parents[cid] not in self.records:
                parents[cid] = ROOT
        _break_cycles(parents)
        self.parent_of = parents
        self._children: dict[str, list[str]] = {}
        for cid in sorted(parents, key=lambda c: (self.records[c].order, c)):
            self._children.setdefault(parents[cid], []).append(cid)

    def children(self, clause_id: str = ROOT) -> list[ClauseRecord]:
        return [self.records[c] for c in self._children.get(clause_id, [])]

    def walk(self, clause_id: str = ROOT, depth: int = 0) -> Iterator[Placed]:
        """Every clause below `clause_id` in document order, with its depth."""
        for child in self.children(clause_id):
            yield Placed(child, depth)
            yield from self.walk(child.id, depth + 1)

    def ancestors(self, clause_id: str) -> list[ClauseRecord]:
        chain = []
        parent = self.parent_of.get(clause_id, ROOT)
        while parent != ROOT:
            chain.append(self.records[parent])
            parent = self.parent_of[parent]
        return chain

    def is_live(self, clause_id: str) -> bool:
        """Not deleted, and not inside a deleted clause or an option that lost."""
        for record in [self.records[clause_id], *self.ancestors(clause_id)]:
            if record.status == ClauseStatus.DELETED:
                return False
            if record.kind == ClauseKind.OPTION:
                block = self.records.get(self.parent_of[record.id])
                if block is not None and block.chosen and block.chosen != record.id:
                    return False
        return True


def _break_cycles(parents: dict[str, str]) -> None:
    for start in sorted(parents):
        seen: list[str] = []
        node = start
        while node != ROOT and node not in seen:
            seen.append(node)
            node = parents[node]
        if node != ROOT:
            cycle = seen[seen.index(node) :]
            parents[min(cycle)] = ROOT
