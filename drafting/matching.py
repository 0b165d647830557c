"""Which clause of a later draft continues which clause of the text before it.

A chair's new draft is a new file: its clauses have no ids, articles are merged, split,
reordered and renumbered ("Article 2 bis" becomes "Article 3"), option blocks appear and
go. To load it as the next revision of the same text (`drafting.redraft`), each of its
clauses is paired with the clause it continues, if any, so that the clause keeps its id and
with it its history. Pairs are found by structure first, then by wording:

1. **Structure, top down.** The top-level clauses (preamble, articles …) of both drafts
   are compared; then, under every matched pair, their children; and so on down.
2. **Wording, anywhere.** Clauses still unpaired are compared with every unpaired clause
   of the same kind, wherever it stands: a paragraph that moved to another article, or
   out of an option block that was dropped, is still found. Under the pairs this finds,
   step 1 runs again, and then step 2 once more.

Clauses are compared by their words as bags of normalised words (lower case, crude
English stemming: "holding" ~ "hold"), weighted by rarity (tf-idf), by cosine: on their own
words, and on the words of everything under them (an article's title says little; its
paragraphs say what it is). Kinds must be equal (a clause's kind does not change). A pair
whose parents are paired gets a bonus, so that "No text" under Option 2 of Article 2 pairs
with "No text" under Option 2 of Article 2, never with another one. Each clause is paired at
most once; the best-scoring pairs are taken first. What is left unpaired is new (added) or
gone (deleted).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from drafting.outline import ROOT, Outline
from drafting.schema import NegotiationText

THRESHOLD = 0.45  # below this a pair is not believed
PARENT_BONUS = 0.15  # the two clauses' parents are themselves paired
NUMBER_BONUS = 0.05  # same number in the source ("2", "(a)")
SHORT = 3  # words; shorter clauses ("No text") pair only under paired parents, verbatim

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class Match:
    new: str
    old: str
    score: float
    how: str  # "structure" (under paired parents) or "wording" (found anywhere)


@dataclass
class Matching:
    """The pairs (new clause id -> old clause id) and what is left on either side."""

    matches: list[Match] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # new clauses continuing nothing
    removed: list[str] = field(default_factory=list)  # old live clauses not continued

    @property
    def pairs(self) -> dict[str, str]:
        return {m.new: m.old for m in self.matches}

    def old_of(self, new_id: str) -> str | None:
        return self.pairs.get(new_id)

    def new_of(self, old_id: str) -> str | None:
        return next((m.new for m in self.matches if m.old == old_id), None)


def normalise(words: str) -> list[str]:
    """Lower-cased words with the commonest English endings taken off."""
    found = []
    for word in _WORD.findall(words.lower()):
        for ending in ("ing", "ed", "es", "s"):
            if len(word) > len(ending) + 3 and word.endswith(ending):
                word = word[: -len(ending)]
                break
        found.append(word)
    return found


class _Side:
    """One draft as the matcher reads it: live clauses, their words as weighted vectors."""

    def __init__(self, text: NegotiationText) -> None:
        with text.transaction():
            outline = Outline(text)
            self.order = [p.clause.id for p in outline.walk() if outline.is_live(p.clause.id)]
            live = set(self.order)
            self.parent = {c: outline.parent_of[c] for c in self.order}
            self.kind = {c: outline.records[c].kind for c in self.order}
            self.number = {c: _number(outline.records[c].source_number) for c in self.order}
            self.own = {c: Counter(normalise(str(outline.records[c].words))) for c in self.order}
        self.children: dict[str, list[str]] = {}
        for clause in self.order:
            self.children.setdefault(self.parent[clause], []).append(clause)
        self.sub: dict[str, Counter[str]] = {}
        for clause in reversed(self.order):  # children before their parents
            total = Counter(self.own[clause])
            for child in self.children.get(clause, []):
                total.update(self.sub[child])
            self.sub[clause] = total
        self.position = {c: i for i, c in enumerate(self.order)}
        self.live = live
        self.size = {c: sum(words.values()) for c, words in self.sub.items()}


class _Scorer:
    def __init__(self, old: _Side, new: _Side) -> None:
        self.old, self.new = old, new
        documents = [*old.own.values(), *new.own.values()]
        frequency: Counter[str] = Counter()
        for words in documents:
            frequency.update(set(words))
        count = len(documents)
        self.idf = {w: math.log((count + 1) / (n + 1)) + 1 for w, n in frequency.items()}
        # Words in more than a tenth of the clauses ("the", "Parties") point nowhere (in a
        # short text, every word may point somewhere).
        self.common = math.log((count + 1) / (max(count / 10, 20) + 1)) + 1
        self.vectors = {
            (side, part, c): self._vector(words)
            for side, s in (("old", old), ("new", new))
            for part, table in (("own", s.own), ("sub", s.sub))
            for c, words in table.items()
        }

    def telling(self, words: Counter[str]) -> list[str]:
        """The words of a clause rare enough to point at where it came from."""
        return [w for w in words if self.idf.get(w, 0.0) >= self.common]

    def _vector(self, words: Counter[str]) -> dict[str, float]:
        weights = {w: (1 + math.log(n)) * self.idf.get(w, 1.0) for w, n in words.items()}
        norm = math.sqrt(sum(v * v for v in weights.values())) or 1.0
        return {w: v / norm for w, v in weights.items()}

    def cosine(self, part: str, old: str, new: str) -> float:
        a, b = self.vectors[("old", part, old)], self.vectors[("new", part, new)]
        if len(a) > len(b):
            a, b = b, a
        return sum(v * b.get(w, 0.0) for w, v in a.items())

    def score(self, old: str, new: str, pairs: dict[str, str]) -> float:
        if self.old.kind[old] != self.new.kind[new]:
            return 0.0
        parents_paired = pairs.get(self.new.parent[new], ROOT) == self.old.parent[old] and (
            self.new.parent[new] in pairs or self.new.parent[new] == ROOT
        )
        if self.old.size[old] < SHORT or self.new.size[new] < SHORT:
            # Too few words to tell: verbatim, and in the same place, or nothing.
            same = self.old.sub[old] == self.new.sub[new]
            return 1.0 if same and parents_paired else 0.0
        similarity = max(self.cosine("own", old, new), self.cosine("sub", old, new))
        bonus = PARENT_BONUS if parents_paired else 0.0
        if self.old.number[old] and self.old.number[old] == self.new.number[new]:
            bonus += NUMBER_BONUS
        return similarity + bonus


def match_texts(
    old: NegotiationText, new: NegotiationText, *, threshold: float = THRESHOLD
) -> Matching:
    """Pair the live clauses of `new` (a later draft) with those of `old` they continue."""
    before, after = _Side(old), _Side(new)
    scorer = _Scorer(before, after)
    pairs: dict[str, str] = {}
    how: dict[str, tuple[float, str]] = {}

    def take(candidates: Iterable[tuple[float, str, str]], kind: str) -> list[str]:
        taken = []
        used = set(pairs.values())
        for score, old_id, new_id in sorted(
            candidates, key=lambda c: (-c[0], after.position[c[2]], before.position[c[1]])
        ):
            if score < threshold or new_id in pairs or old_id in used:
                continue
            pairs[new_id] = old_id
            used.add(old_id)
            how[new_id] = (score, kind)
            taken.append(new_id)
        return taken

    def structure(parents: list[tuple[str, str]]) -> None:
        while parents:
            found = []
            for old_parent, new_parent in parents:
                old_children = [
                    c for c in before.children.get(old_parent, []) if c not in pairs.values()
                ]
                new_children = [c for c in after.children.get(new_parent, []) if c not in pairs]
                candidates = [
                    (scorer.score(o, n, pairs), o, n) for n in new_children for o in old_children
                ]
                found.extend(take(candidates, "structure"))
            parents = [(pairs[n], n) for n in found]

    def wording() -> list[str]:
        used = set(pairs.values())
        # Only clauses sharing a word that is not everywhere can be alike: an index of
        # the unpaired old clauses by such words spares comparing every pair.
        index: dict[tuple[str, str], set[str]] = {}
        for old_id in before.order:
            if old_id not in used:
                for word in scorer.telling(before.sub[old_id]):
                    index.setdefault((before.kind[old_id], word), set()).add(old_id)
        candidates = []
        for n in after.order:
            if n in pairs:
                continue
            olds: set[str] = set()
            for word in scorer.telling(after.sub[n]):
                olds |= index.get((after.kind[n], word), set())
            if after.size[n] < SHORT:  # compared verbatim, whatever its words
                olds |= {o for o in before.order if o not in used and before.size[o] < SHORT}
            candidates.extend((scorer.score(o, n, pairs), o, n) for o in olds)
        return take(candidates, "wording")

    structure([(ROOT, ROOT)])
    for _ in range(2):
        found = wording()
        structure([(pairs[n], n) for n in found])
    matches = [
        Match(n, pairs[n], round(how[n][0], 3), how[n][1]) for n in after.order if n in pairs
    ]
    used = set(pairs.values())
    return Matching(
        matches=matches,
        added=[n for n in after.order if n not in pairs],
        removed=[o for o in before.order if o not in used],
    )


def _number(number: str) -> str:
    return re.sub(r"[\s().]", "", number or "").lower()
