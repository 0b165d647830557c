"""A redline: the differences between two versions of a text as Word tracked changes.

    data = export_redline(before, after)       # two NegotiationText states → .docx bytes

The document is the later version, laid out exactly as `exporters.docx` lays it out, with
every difference from the earlier one as a real tracked change (`w:ins` / `w:del`, with
`w:author` and `w:date`), so that a legal adviser can accept or reject each in Word.

- Both versions are printed the same way: the final text when neither has an open bracket,
  else the negotiation text (brackets shown, Parties not: the author of a change says who).
- Paragraphs are paired by clause id when the two are states of one text (ids survive
  every edit and move), else by their order and numbers. A paragraph found in one version
  only is inserted or deleted whole, its paragraph mark included.
- Within a pair, words are compared with diff-match-patch over word tokens (each Chinese
  or Japanese character is a token of its own), then cleaned up semantically. Two paired
  paragraphs with less than 40% of their words in common are shown as one deleted and
  one inserted paragraph rather than word by word.
- Author: for inserted words, the Party of the innermost bracket around them, else the
  Party that proposed the clause; for deleted words, the Party of their bracket when its
  proposal was withdrawn or accepted; else "Secretariat". Date: when that bracket was made
  or that proposal settled, else the date of the redline.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from difflib import SequenceMatcher

from diff_match_patch import diff_match_patch
from docx.document import Document
from docx.oxml.ns import qn
from lxml import etree

from drafting.schema import NegotiationText
from drafting.vocabulary import ProposalStatus
from exporters.document import ExportDocument, Mode, build_document
from exporters.docx import StyleIds, make_run, new_word_document, save
from exporters.docx_layout import Line, Piece, layout

SECRETARIAT = "Secretariat"
SIMILAR = 0.4  # share of words two paired paragraphs need in common to be compared
# Words, runs of white space, single punctuation marks; CJK characters one by one.
TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|\w+|\s+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Change:
    author: str
    date: str


def export_redline(
    before: NegotiationText,
    after: NegotiationText,
    *,
    language: str | None = None,
    date: str | None = None,
) -> bytes:
    """The changes from `before` to `after` as tracked changes in a Word document."""
    documents = (
        build_document(before, Mode.NEGOTIATION, language=language),
        build_document(after, Mode.NEGOTIATION, language=language),
    )
    if all(document.settled for document in documents):  # two final texts
        documents = (
            build_document(before, Mode.CLEAN, language=language),
            build_document(after, Mode.CLEAN, language=language),
        )
    stamp = _word_date(date or datetime.now(UTC).isoformat())
    return Redline(after, stamp).write(*documents)


def _word_date(value: str) -> str:
    """ISO 8601 as Word writes it: seconds, UTC, "Z"."""
    value = value.strip()
    if len(value) == 10:
        return f"{value}T00:00:00Z"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Redline:
    def __init__(self, after: NegotiationText, date: str) -> None:
        self.date = date
        self.next_id = 1
        self.text = after
        self._created: dict[str, str] = {}
        with after.transaction():
            # Words that left the text because their Party withdrew its proposal, or because
            # the room accepted a proposal (its brackets lifted): the change is that Party's.
            self.settled = {
                bracket: (p.party, str(p.map.get("updated") or ""))
                for p in after.proposals()
                if p.status in (ProposalStatus.WITHDRAWN, ProposalStatus.ACCEPTED)
                for bracket in p.brackets
            }

    def created(self, bracket_id: str) -> str:
        """When a bracket of the later version was made (read once, when needed)."""
        if bracket_id not in self._created:
            found = self.text.has_bracket(bracket_id)
            created = self.text.bracket(bracket_id).map.get("created") if found else ""
            self._created[bracket_id] = str(created or "")
        return self._created[bracket_id]

    def write(self, before: ExportDocument, after: ExportDocument) -> bytes:
        word = new_word_document(after.title, after.language)
        word.core_properties.subject = "Tracked changes between two versions of the text"
        self.styles = StyleIds(word)
        old, new = layout(before, attributions=False), layout(after, attributions=False)
        same_text = bool(_clause_keys(old) & _clause_keys(new))
        for old_line, new_line in align(old, new, by_id=same_text):
            if old_line is None and new_line is not None:
                self.whole(word, new_line, inserted=True)
            elif new_line is None and old_line is not None:
                self.whole(word, old_line, inserted=False)
            elif old_line is not None and new_line is not None:
                if similar(old_line, new_line):
                    self.compared(word, old_line, new_line)
                else:  # two different paragraphs: one goes, the other comes
                    self.whole(word, old_line, inserted=False)
                    self.whole(word, new_line, inserted=True)
        _track_revisions(word)
        return save(word)

    # -- paragraphs -------------------------------------------------------------------------
    def paragraph(self, word: Document, line: Line) -> etree._Element:
        return self.styles.paragraph(line.style, line.outline)

    def whole(self, word: Document, line: Line, *, inserted: bool) -> None:
        """A paragraph that only one version has: every run and the paragraph mark."""
        p = self.paragraph(word, line)
        change = self.author(line.pieces[0] if line.pieces else Piece(""), line, inserted)
        mark = etree.SubElement(p.find(qn("w:pPr")), qn("w:rPr"))
        mark.append(self.change_element("w:ins" if inserted else "w:del", change))
        self.tracked(p, line.pieces, line, inserted=inserted)

    def compared(self, word: Document, old: Line, new: Line) -> None:
        p = self.paragraph(word, new)
        for op, tokens in word_diff(old.pieces, new.pieces):
            if op == 0:
                for piece in _runs(tokens):
                    p.append(make_run(piece, self.styles))
            else:
                self.tracked(p, _runs(tokens), new if op > 0 else old, inserted=op > 0)

    def tracked(
        self, p: etree._Element, pieces: list[Piece], line: Line, *, inserted: bool
    ) -> None:
        """Runs in `w:ins` / `w:del`, one change per author (and date)."""
        for change, group in _by_author(pieces, lambda piece: self.author(piece, line, inserted)):
            element = self.change_element("w:ins" if inserted else "w:del", change)
            for piece in group:
                element.append(
                    make_run(piece, self.styles, text_tag="w:t" if inserted else "w:delText")
                )
            p.append(element)

    def change_element(self, tag: str, change: Change) -> etree._Element:
        element = etree.Element(qn(tag))
        element.set(qn("w:id"), str(self.next_id))
        element.set(qn("w:author"), change.author)
        element.set(qn("w:date"), change.date)
        self.next_id += 1
        return element

    def author(self, piece: Piece, line: Line, inserted: bool) -> Change:
        if inserted:
            if piece.party:
                created = self.created(piece.bracket)
                return Change(piece.party, _word_date(created) if created else self.date)
            if line.party:
                return Change(line.party, self.date)
        elif piece.bracket in self.settled:
            party, when = self.settled[piece.bracket]
            return Change(party, _word_date(when) if when else self.date)
        return Change(SECRETARIAT, self.date)


def align(
    old: list[Line], new: list[Line], *, by_id: bool
) -> Iterator[tuple[Line | None, Line | None]]:
    """Pairs of lines in the order of the new version (deleted ones where they stood).

    By id, a line is paired only with the line of the same clause. Otherwise lines are
    paired by their words (a renumbered paragraph whose words stayed), then, among the
    lines left between two pairs, by style and number, then by style in order (a changed
    paragraph is a changed one, not a new one).
    """
    if by_id:
        return _align(old, new, [lambda line: (line.key,)])
    return _align(
        old,
        new,
        [
            lambda line: (line.style, _words_of(line)),
            lambda line: (line.style, line.label),
            lambda line: (line.style,),
        ],
    )


def _align(
    old: list[Line], new: list[Line], keys: list[Callable[[Line], tuple[str, ...]]]
) -> Iterator[tuple[Line | None, Line | None]]:
    key, rest = keys[0], keys[1:]
    matcher = SequenceMatcher(None, [key(x) for x in old], [key(y) for y in new], autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            yield from zip(old[i1:i2], new[j1:j2], strict=True)
        elif op == "replace" and rest:
            yield from _align(old[i1:i2], new[j1:j2], rest)
        else:
            yield from ((line, None) for line in old[i1:i2])
            yield from ((None, line) for line in new[j1:j2])


def similar(old: Line, new: Line) -> bool:
    """Whether two paired paragraphs share enough words for a word-by-word comparison to
    read as an edit (else it is confetti, and costly to compute)."""
    if old.text == new.text:
        return True
    a = Counter(t for t in TOKEN.findall(old.text) if not t.isspace())
    b = Counter(t for t in TOKEN.findall(new.text) if not t.isspace())
    shared = sum((a & b).values())
    return shared >= SIMILAR * max(sum(a.values()), sum(b.values()), 1)


def _words_of(line: Line) -> str:
    """A line's words without its number."""
    return line.text.split("\t", 1)[-1] if line.label else line.text


def _clause_keys(lines: list[Line]) -> set[str]:
    """The clause ids the lines come from (not "#title", "#notes" … which every text has)."""
    return {line.key for line in lines if not line.key.startswith("#")}


# -- words -------------------------------------------------------------------------------------
Token = tuple[str, Piece]


def tokens(pieces: list[Piece]) -> list[Token]:
    return [(match, piece) for piece in pieces for match in TOKEN.findall(piece.text)]


def word_diff(old: list[Piece], new: list[Piece]) -> list[tuple[int, list[Token]]]:
    """(-1 deleted, 0 same, 1 inserted) with their tokens; same words carry the new
    version's formatting."""
    before, after = tokens(old), tokens(new)
    alphabet: dict[str, str] = {}

    def encode(found: list[Token]) -> str:
        return "".join(alphabet.setdefault(text, _char(len(alphabet))) for text, _ in found)

    a, b = encode(before), encode(after)
    engine = diff_match_patch()
    engine.Diff_Timeout = 0.5
    diffs = engine.diff_main(a, b, False)
    engine.diff_cleanupSemantic(diffs)
    result: list[tuple[int, list[Token]]] = []
    i = j = 0
    for op, chars in diffs:
        size = len(chars)
        if op == 0:
            result.append((0, after[j : j + size]))
            i, j = i + size, j + size
        elif op < 0:
            result.append((-1, before[i : i + size]))
            i += size
        else:
            result.append((1, after[j : j + size]))
            j += size
    return result


def _char(index: int) -> str:
    """A private-use character standing for one distinct token."""
    return chr(0xE000 + index) if index < 0x1900 else chr(0xF0000 + index)


def _runs(found: list[Token]) -> list[Piece]:
    """Tokens back into pieces: consecutive tokens of one piece make one run."""
    groups: list[tuple[Piece, list[str]]] = []
    for text, piece in found:
        if groups and groups[-1][0] is piece:
            groups[-1][1].append(text)
        else:
            groups.append((piece, [text]))
    return [replace(piece, text="".join(texts)) for piece, texts in groups]


def _by_author(
    pieces: list[Piece], author: Callable[[Piece], Change]
) -> Iterator[tuple[Change, list[Piece]]]:
    group: list[Piece] = []
    current: Change | None = None
    for piece in pieces:
        change = author(piece)
        if current is not None and change != current:
            yield current, group
            group = []
        current = change
        group.append(piece)
    if current is not None:
        yield current, group


def _track_revisions(word: Document) -> None:
    """Turn on Track Changes in the file, so that the adviser's own edits are tracked."""
    settings = word.settings.element
    if settings.find(qn("w:trackRevisions")) is not None:
        return
    track = etree.Element(qn("w:trackRevisions"))
    later = settings.find(qn("w:defaultTabStop"))  # the schema puts it after trackRevisions
    if later is not None:
        later.addprevious(track)
    else:
        settings.append(track)
