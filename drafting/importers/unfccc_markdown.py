"""Read UNFCCC-style negotiation texts written in Markdown (or plain text) into a `ParsedText`.

The COP21 transcriptions in `corpus/cop21/` are the model: Jekyll front matter, a
transcriber's note, `## Preamble`, `## Article N *(title)*`, numbered paragraphs and
lettered sub-paragraphs, `**Option 1:**` blocks, footnotes, and square brackets everywhere.
They are hand-made, so the parser is tolerant by design: indentation is compared with the
enclosing item rather than counted in fixed steps, unbalanced brackets are repaired (with
an `ImportWarning`) instead of refused, and anything it does not recognise stays in the
text as words. Only input that is not a text at all raises `SourceError`.

Two stages, no Markdown library: a line-based block reader (headings, list items, option
labels, paragraphs and their continuation lines) feeding a tree builder that keeps a stack
of open containers, then an inline reader for each paragraph. Brackets are parsed on their
own, apart from emphasis, because in these texts emphasis crosses bracket boundaries
(`*[Taking* account`): emphasis only ever colours the words, never the bracket tree.

What is not kept as words, on purpose: the front matter (but its `title:`), kramdown
attribute lines (`{:toc}`, `{:.no_toc}`) and `* TOC`, HTML comments and tags (their words
stay), thematic breaks, link reference definitions (their address goes to the linked
run), heading hashes, list markers (the number goes to `ParsedClause.number`), option
labels (the number goes to the OPTION), emphasis and strikethrough markers, superscript
carets, escaping backslashes, and the halves of unbalanced brackets, each with a warning.
The transcriber's prose before the text goes to `ParsedText.source_note`, as plain text.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from drafting.importers.parsed import (
    Bracket,
    ImportWarning,
    Inline,
    NoteRef,
    ParsedClause,
    ParsedText,
    Placeholder,
    Run,
    SourceError,
)
from drafting.vocabulary import ClauseKind, TextKind

__all__ = ["parse_markdown"]

# Words appended to a number for a paragraph inserted during negotiation ("5 bis").
_SUFFIX = r"(?:bis|ter|quater|quinquies|sexies|septies|octies|novies|decies)"
_SUFFIX_VALUES = {
    "bis": 2,
    "ter": 3,
    "quater": 4,
    "quinquies": 5,
    "sexies": 6,
    "septies": 7,
    "octies": 8,
    "novies": 9,
    "decies": 10,
}

MESSAGE_STRAY_BRACKET = "closing bracket without an opening one"
MESSAGE_OPEN_BRACKET = "bracket opened here is never closed"
MESSAGE_STRAY_BRACE = "closing brace without an opening one"
MESSAGE_OPEN_BRACE = "placeholder brace opened here is never closed"


def parse_markdown(source: str) -> ParsedText:
    """Parse a UNFCCC-style Markdown or plain-text negotiation text.

    Pure: no file access. Raises `SourceError` for input that is not a negotiation text
    (empty, binary, unterminated front matter, nothing after the front matter).
    """
    lines = _split_lines(_checked(source))
    title, body_start = _front_matter(lines)
    document = _Document()
    body = _strip_metadata(lines, body_start, document)
    if not any(line.text.strip() for line in body):
        if body_start:
            raise SourceError("there is no text after the front matter", body_start, 1)
        raise SourceError("the file has no text", 1, 1)
    blocks = _read_blocks(body)
    builder = _TreeBuilder(document)
    builder.build(blocks)
    notes = document.parse_notes()
    document.check_note_references(notes)
    clauses = builder.root.children
    if not (clauses or notes or builder.source_note):
        first = next(line for line in body if line.text.strip())
        raise SourceError("there are no words here, only markup", first.number, first.start + 1)
    kind = _text_kind(clauses)
    if kind != TextKind.TREATY:
        _operative_paragraphs(clauses)
    return ParsedText(
        kind=kind,
        title=title,
        clauses=clauses,
        notes=notes,
        source_note="\n\n".join(builder.source_note),
        warnings=sorted(document.warnings, key=lambda warning: (warning.line, warning.column)),
    )


# --- The source as lines --------------------------------------------------------------

# C0 control characters other than tab, newline, form feed and carriage return: a text
# file has none, a binary file (PDF, DOCX zip, image) has many.
_BINARY = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _checked(source: object) -> str:
    if isinstance(source, bytes | bytearray):
        raise SourceError("expected text, got bytes: decode the file (UTF-8) before parsing it")
    if not isinstance(source, str):
        raise SourceError(f"expected text, got {type(source).__name__}")
    text = source.removeprefix("\ufeff")  # a byte order mark is not part of the text
    if not text:
        raise SourceError("the file is empty", 1, 1)
    binary = _BINARY.search(text)
    if binary:
        line = text.count("\n", 0, binary.start()) + 1
        column = binary.start() - (text.rfind("\n", 0, binary.start()) + 1) + 1
        name = "NUL byte" if binary.group() == "\x00" else f"control character {binary.group()!r}"
        raise SourceError(f"binary data, not a text: {name}", line, column)
    return text


@dataclass(frozen=True)
class _Line:
    number: int  # 1-based line of the source
    text: str

    @property
    def start(self) -> int:
        """Index of the first non-blank character (its column is start + 1)."""
        return len(self.text) - len(self.text.lstrip())

    @property
    def indent(self) -> int:
        """Width of the indentation, a tab counting as four spaces."""
        return len(self.text[: self.start].expandtabs(4))

    @property
    def content(self) -> str:
        return self.text.strip()


def _split_lines(text: str) -> list[_Line]:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [_Line(number, line.rstrip()) for number, line in enumerate(text.split("\n"), 1)]


def _blank(line: _Line) -> _Line:
    return _Line(line.number, "")


_TITLE = re.compile(r"title:\s*(?P<value>.*)$")


def _front_matter(lines: list[_Line]) -> tuple[str, int]:
    """Return (title, index of the first body line). Jekyll front matter is optional."""
    if not lines or lines[0].text != "---":
        return "", 0
    for index in range(1, len(lines)):
        if lines[index].text in ("---", "..."):
            title = ""
            for line in lines[1:index]:
                match = _TITLE.match(line.text)  # top-level key only: no indentation
                if match:
                    title = match["value"].strip()
                    if len(title) >= 2 and title[0] == title[-1] and title[0] in "'\"":
                        title = title[1:-1]
            return title, index + 1
    raise SourceError("the front matter opened here ('---') is never closed", 1, 1)


# --- Metadata: link references, footnotes, table-of-contents markers -------------------

_IAL = re.compile(r"\{:[^}]*\}$")  # kramdown attribute lists: {:toc}, {:.no_toc}
_TOC = re.compile(r"(?:[*+-]|1\.)\s+TOC$")
_COMMENT_LINE = re.compile(r"<!--.*?-->$")
_THEMATIC_BREAK = re.compile(r"(?:(?:-\s*){3,}|(?:\*\s*){3,}|(?:_\s*){3,})$")
_URL = r"(?:[A-Za-z][A-Za-z0-9+.-]*:|/|#|\.{1,2}/|www\.)\S*"
_LINK_DEFINITION = re.compile(
    r" {0,3}\[(?!\^)(?P<name>[^\]]+)\]:\s*<?(?P<url>" + _URL + r")>?"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?$"
)
_NOTE_DEFINITION = re.compile(r" {0,3}\[\^(?P<label>[^\]\s]+)\]:[ \t]*")
# A no-break space after the hashes is still a heading (the 4 Dec decision has four).
_HEADING = re.compile(r" {0,3}(?P<hashes>#{1,6})(?:[ \t\u00a0]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*$")


def _link_name(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass
class _NoteSource:
    label: str
    key: str
    span: _Span


class _Document:
    """What the whole source shares: link references, footnotes and the warnings."""

    def __init__(self) -> None:
        self.links: dict[str, str] = {}
        self.note_sources: list[_NoteSource] = []
        self.warnings: list[ImportWarning] = []
        self.note_refs: list[tuple[str, int, int]] = []

    def warn(self, line: int, column: int, message: str) -> None:
        self.warnings.append(ImportWarning(line, column, message))

    def add_note(self, label: str, span: _Span, line: int) -> None:
        keys = {source.key for source in self.note_sources}
        key, copy = label, 1
        while key in keys:
            copy += 1
            key = f"{label}-{copy}"
        if key != label:
            # Keep the words of a repeated definition rather than drop them.
            self.warn(line, 1, f"footnote [^{label}] is defined again; kept as note '{key}'")
        self.note_sources.append(_NoteSource(label, key, span))

    def parse_notes(self) -> dict[str, list[Inline]]:
        return {source.key: _InlineReader(self, source.span).read() for source in self.note_sources}

    def check_note_references(self, notes: dict[str, list[Inline]]) -> None:
        for label, line, column in self.note_refs:
            if label not in notes:
                self.warn(line, column, f"footnote [^{label}] is referenced but never defined")


def _strip_metadata(lines: list[_Line], start: int, document: _Document) -> list[_Line]:
    """Take link references and footnotes out of the body; blank what is only markup.

    Removed lines become blank lines so that they still separate paragraphs. Link
    references are all collected before any paragraph is read, because they may be
    defined after their use (the 4 Dec draft defines them at the very end).
    """
    body: list[_Line] = []
    index = start
    in_comment = False
    while index < len(lines):
        line = lines[index]
        content = line.content
        index += 1
        if in_comment:
            in_comment = "-->" not in content
            body.append(_blank(line))
            continue
        if content.startswith("<!--") and "-->" not in content:
            in_comment = True
            body.append(_blank(line))
            continue
        link = _LINK_DEFINITION.match(line.text)
        note = _NOTE_DEFINITION.match(line.text)
        if link:
            document.links.setdefault(_link_name(link["name"]), link["url"])
        elif note:
            index = _read_note(lines, index, line, note, document, body)
            continue
        elif not (
            _IAL.match(content)
            or _TOC.match(content)
            or _COMMENT_LINE.match(content)
            or _THEMATIC_BREAK.match(content)
        ):
            body.append(line)
            continue
        body.append(_blank(line))
    return body


def _read_note(
    lines: list[_Line],
    index: int,
    first: _Line,
    match: re.Match[str],
    document: _Document,
    body: list[_Line],
) -> int:
    """Read a footnote definition and its continuation lines; return the next line index.

    Continuation lines are indented (the corpus uses 4 or 6 spaces), or follow directly
    without indentation (a "lazy" line, as in the 4 Dec draft's note 2). A footnote holds
    inline content only, so its lines and paragraphs are joined with single spaces.
    """
    span = _Span()
    span.add(first.text[match.end() :].strip(), first.number, match.end() + 1)
    body.append(_blank(first))
    previous_blank = False
    while index < len(lines):
        line = lines[index]
        if not line.content:
            previous_blank = True
            index += 1
            continue
        starts_block = (
            _NOTE_DEFINITION.match(line.text)
            or _LINK_DEFINITION.match(line.text)
            or _HEADING.match(line.text)
        )
        if starts_block or (previous_blank and line.indent < 4):
            break
        if not previous_blank and line.indent == 0 and _list_marker(line.content):
            break
        span.join(line.content, line.number, line.start + 1)
        previous_blank = False
        index += 1
    document.add_note(match["label"], span, first.number)
    return index


# --- Spans: a paragraph's text and where each piece of it came from --------------------


class _Span:
    """The text of one paragraph, gathered from several lines, with a map back to the source.

    Continuation lines are joined with a single space; every piece remembers its line and
    column, so that a warning about a character of the joined text can name its place.
    """

    def __init__(self) -> None:
        self.text = ""
        self._offsets: list[int] = []
        self._places: list[tuple[int, int]] = []

    def add(self, piece: str, line: int, column: int) -> None:
        """Append `piece`, which starts at `line`, `column` (1-based) of the source."""
        if not piece:
            return
        self._offsets.append(len(self.text))
        self._places.append((line, column))
        self.text += piece

    def join(self, piece: str, line: int, column: int) -> None:
        """Append a continuation line, separated from what precedes by one space."""
        if self.text and piece:
            self.text += " "
        self.add(piece, line, column)

    def where(self, offset: int) -> tuple[int, int]:
        """The source line and column of the character at `offset`."""
        index = max(bisect.bisect_right(self._offsets, offset) - 1, 0)
        if not self._places:
            return 0, 0
        line, column = self._places[index]
        return line, column + offset - self._offsets[index]


# --- Blocks -------------------------------------------------------------------------------

_ORDERED_MARKER = re.compile(
    r"(?:"
    r"(?P<arabic>\d{1,3}(?:\s?" + _SUFFIX + r")?)[.)]"  # 1.  1bis.  3 bis.  1)
    r"|\((?P<paren>\d{1,3}\s?" + _SUFFIX + r"?)\)"  # (5bis)  (17ter)
    r"|\((?P<letter>[a-z]{1,2}|[ivxlc]{1,6})\)(?:\s?" + _SUFFIX + r")?\.?"  # (a) (ii) (a) bis.
    r"|(?P<bare>[a-z])\)"  # a)
    r")"
    # The marker ends at white space or the end of the line; hand-typed numbers glue the
    # text on after an inserted-paragraph suffix ("59quater.Decides", "(c)bis.Take") or
    # after a closing parenthesis ("(b)Transparency", "(g)[Enhance").
    r"(?P<gap>[ \t]+|$|(?<=[a-z]\.)(?=\S)|(?<=\))(?=[A-Z\[*]))"
)
_BULLET = re.compile(r"[-*+](?:[ \t]+|$)")
_ROMAN = re.compile(r"[ivx]+")

_OPTION_NUMBER = (
    r"\d+(?:\s?" + _SUFFIX + r"|\s?alt)?"  # 1  1bis
    r"|[IVX]+\b"  # I  II
    r"|\([a-z]\)(?:\s?\d+)?"  # (a)  (b) 1
    r"|[A-Z]\b"
)
# `**Option 1:**`, `**Option 2**:`, `***Option I:***`, `**[Option1:**`, `**Option 1[^6]:**`,
# `Option (a):` … the label's own punctuation is not kept; its words are the number.
_OPTION_LABEL = re.compile(
    r"(?P<stars>\*{2,3})?(?P<bracket>\[)?Option\s*(?P<number>" + _OPTION_NUMBER + r")"
    r"(?P<notes>(?:\[\^[^\]\s]+\])*)\s*(?P<sep>[:.])?"
    r"(?(stars)(?P=stars)|)"
    r"(?P<after>\s?[:.])?"
)


def _list_marker(text: str) -> re.Match[str] | None:
    return _ORDERED_MARKER.match(text)


@dataclass
class _Heading:
    line: int
    level: int
    text: str
    column: int


@dataclass
class _Item:
    line: int
    indent: int
    number: str  # "" for a bullet
    rank: int  # 0 numbered, 1 lettered, 2 roman
    span: _Span
    letter: str = ""


@dataclass
class _Option:
    line: int
    indent: int
    number: str
    span: _Span
    bracketed: bool = False  # the label opens a bracket: "**[Option 2**"


@dataclass
class _Paragraph:
    line: int
    indent: int
    span: _Span

    @property
    def plain(self) -> str:
        return re.sub(r"[*_]", "", self.span.text).strip()


_Block = _Heading | _Item | _Option | _Paragraph


def _read_blocks(body: list[_Line]) -> list[_Block]:
    """Cut the body into blocks; a line that starts no block continues the previous one."""
    blocks: list[_Block] = []
    current: _Item | _Option | _Paragraph | None = None
    for line in body:
        if not line.content:
            current = None
            continue
        heading = _HEADING.match(line.text)
        if heading:
            text = _IAL.sub("", heading["text"] or "").strip()
            column = heading.start("text") + 1 if heading["text"] else line.start + 1
            blocks.append(_Heading(line.number, len(heading["hashes"]), text, column))
            current = None
            continue
        started = _start_block(line)
        if started:
            blocks.extend(started)
            current = started[-1]  # type: ignore[assignment]
        elif current is not None:
            current.span.join(line.content, line.number, line.start + 1)
        else:
            span = _Span()
            span.add(line.content, line.number, line.start + 1)
            current = _Paragraph(line.number, line.indent, span)
            blocks.append(current)
    return blocks


def _start_block(line: _Line) -> list[_Item | _Option] | None:
    """A list item (possibly opening with an option label) or an option label, if any."""
    text, start = line.content, line.start
    bullet = _BULLET.match(text)
    offset = bullet.end() if bullet else 0
    marker = _ORDERED_MARKER.match(text, offset)
    if marker or bullet:
        end = marker.end() if marker else offset
        number = marker.group(0)[: marker.start("gap") - marker.start()] if marker else ""
        number = number.removesuffix(".").strip()
        rank = _marker_rank(marker)
        letter = (marker["letter"] or marker["bare"] or "") if marker else ""
        column = start + end + 1
        rest = text[end:]
        option = _option_label(rest, line.number, column, indent=column - 1)
        span = _Span()
        if option is None:
            span.add(rest.strip(), line.number, column)
        item = _Item(line.number, line.indent, number, rank, span, letter)
        return [item] if option is None else [item, option]
    option = _option_label(text, line.number, start + 1, indent=line.indent)
    return [option] if option else None


def _marker_rank(marker: re.Match[str] | None) -> int:
    if marker is None or marker["arabic"] or marker["paren"]:
        return 0
    letter = marker["letter"] or marker["bare"]
    return 2 if _ROMAN.fullmatch(letter) and len(letter) > 1 else 1


def _option_label(text: str, line: int, column: int, indent: int) -> _Option | None:
    """Read `text` (which starts at `column`) as an option label followed by its words."""
    match = _OPTION_LABEL.match(text)
    if not match:
        return None
    end = match.end()
    glued_emphasis = False
    if not match["stars"] and not match["sep"]:
        # A plain label needs its colon; "Option 1bis*.Also requests*" has it inside the
        # emphasis that follows, which then starts after the full stop.
        if text[end : end + 2] in ("*.", "*:"):
            glued_emphasis = True
        else:
            return None
    span = _Span()
    if match["bracket"]:
        # "**[Option1:** …]": the bracket encloses the option's words, so it opens them.
        span.add("[", line, column + match.start("bracket"))
    if match["notes"]:
        span.add(match["notes"], line, column + match.start("notes"))
    if glued_emphasis:
        span.add("*", line, column + end)
        end += 2
    rest = text[end:]
    stripped = rest.lstrip()
    if match["notes"] and not glued_emphasis and stripped:
        span.add(" ", line, column + end)
    span.add(stripped, line, column + end + len(rest) - len(stripped))
    number = " ".join(match["number"].split())
    return _Option(line, indent, number, span, bracketed=bool(match["bracket"]))


# --- Inline content -------------------------------------------------------------------------

_PLAIN_TEXT = re.compile(r"[^\\<\[\]{}*_~^]+")
_ESCAPABLE = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_NOTE_REF = re.compile(r"\[\^([^\]\s]+)\]")
_FULL_REFERENCE = re.compile(r"\[([^\[\]]+)\]\[([^\[\]]*)\]")
_SHORTCUT_REFERENCE = re.compile(r"\[([^\[\]^][^\[\]]*)\](?![\[(])")
# Only a real address makes `[x](y)` a link: "paragraph [x](a) above" is a bracket.
_INLINE_LINK = re.compile(
    r"\[([^\[\]]+)\]\(((?:[A-Za-z][A-Za-z0-9+.-]*:|/|#|www\.)[^\s()]*)(?:\s+\"[^\"]*\")?\)"
)
_HTML = re.compile(r"<!--.*?-->|</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>", re.DOTALL)
_SUPERSCRIPT = re.compile(r"\^([^\s^\[\]]+)\^")


@dataclass(slots=True)
class _Token:
    kind: str  # text, delim, open, close, note, link
    offset: int
    text: str = ""
    link: str | None = None
    count: int = 0  # delim: characters not yet used as emphasis
    can_open: bool = False
    can_close: bool = False
    italic: bool = False
    bold: bool = False


class _InlineReader:
    """Read one paragraph's text into runs, brackets, placeholders and footnote markers.

    Three passes: cut the text into tokens; pair the emphasis delimiters over the flat
    token list (so that `*[Taking* account` makes "Taking" italic without touching the
    bracket); then build the bracket tree, repairing what is unbalanced.
    """

    def __init__(self, document: _Document, span: _Span, *, prose: bool = False) -> None:
        self.document = document
        self.span = span
        # Shortcut references (`[report]`) are links only in the transcriber's prose: in
        # the negotiated text a lone bracketed word is a bracket, whatever links exist.
        self.prose = prose
        self.unmatched_closing = 0  # "]" with no "[" open at all in the paragraph

    def read(self) -> list[Inline]:
        tokens = self._tokens(self.span.text)
        _resolve_emphasis(tokens)
        return _trimmed(self._tree(tokens))

    def _tokens(self, text: str) -> list[_Token]:
        tokens: list[_Token] = []
        index, length = 0, len(text)
        strikes: list[int] = []
        while index < length:
            plain = _PLAIN_TEXT.match(text, index)
            if plain:
                tokens.append(_Token("text", index, plain.group()))
                index = plain.end()
                continue
            char = text[index]
            if char == "\\":
                index = self._escape(text, index, tokens)
            elif char == "<":
                html = _HTML.match(text, index)
                if not html:
                    tokens.append(_Token("text", index, "<"))
                index = html.end() if html else index + 1
            elif char == "[":
                index = self._open_bracket(text, index, tokens)
            elif char in "]}":
                tokens.append(_Token("close", index, char))
                index += 1
            elif char == "{":
                tokens.append(_Token("open", index, char))
                index += 1
            elif char in "*_":
                index = _delimiter(text, index, tokens)
            elif char == "~" and text.startswith("~~", index):
                strikes.append(len(tokens))
                tokens.append(_Token("text", index, "~~"))  # dropped below when paired
                index += 2
            elif char == "^":
                sup = _SUPERSCRIPT.match(text, index)
                # `5^th^` is a superscript: keep the letters, drop the carets.
                tokens.append(_Token("text", index, sup.group(1) if sup else "^"))
                index = sup.end() if sup else index + 1
            else:
                tokens.append(_Token("text", index, char))
                index += 1
        # Strikethrough (`~~deleted~~`) keeps its words; paired markers are dropped.
        for position in strikes[: len(strikes) - len(strikes) % 2]:
            tokens[position].text = ""
        return tokens

    def _escape(self, text: str, index: int, tokens: list[_Token]) -> int:
        following = text[index + 1 : index + 2]
        if following in _ESCAPABLE:
            tokens.append(_Token("text", index, following))
            return index + 2
        if following in (" ", ""):
            # A backslash before a line break (joined as a space) is a hard break, and
            # `\ ` a non-breaking space: both are a space in the words.
            if following:
                tokens.append(_Token("text", index, " "))
            return index + 2
        tokens.append(_Token("text", index, "\\"))
        return index + 1

    def _open_bracket(self, text: str, index: int, tokens: list[_Token]) -> int:
        note = _NOTE_REF.match(text, index)
        if note:
            tokens.append(_Token("note", index, note.group(1)))
            return note.end()
        reference = _FULL_REFERENCE.match(text, index)
        if reference:
            url = self.document.links.get(_link_name(reference.group(2) or reference.group(1)))
            if url:
                tokens.append(_Token("link", index, reference.group(1), link=url))
                return reference.end()
        inline = _INLINE_LINK.match(text, index)
        if inline:
            tokens.append(_Token("link", index, inline.group(1), link=inline.group(2)))
            return inline.end()
        if self.prose:
            shortcut = _SHORTCUT_REFERENCE.match(text, index)
            url = shortcut and self.document.links.get(_link_name(shortcut.group(1)))
            if shortcut and url:
                tokens.append(_Token("link", index, shortcut.group(1), link=url))
                return shortcut.end()
        tokens.append(_Token("open", index, "["))
        return index + 1

    def _tree(self, tokens: list[_Token]) -> list[Inline]:
        root: list[Inline] = []
        frames: list[tuple[str, list[Inline], int]] = []  # (opening char, content, offset)
        for token in tokens:
            content = frames[-1][1] if frames else root
            if token.kind == "text" and token.text:
                _append_run(content, token.text, token)
            elif token.kind == "delim" and token.count and not self.prose:
                # Unpaired: literal in the text; in plain prose, a stray emphasis marker.
                _append_run(content, token.text * token.count, token)
            elif token.kind == "link":
                _append_run(content, token.text, token, link=token.link)
            elif token.kind == "note":
                content.append(NoteRef(token.text))
                self.document.note_refs.append((token.text, *self.span.where(token.offset)))
            elif token.kind == "open":
                frames.append((token.text, [], token.offset))
            elif token.kind == "close":
                opening = "[" if token.text == "]" else "{"
                if frames and frames[-1][0] == opening:
                    self._close(frames, root, closed=True)
                else:
                    message = MESSAGE_STRAY_BRACKET if opening == "[" else MESSAGE_STRAY_BRACE
                    self.document.warn(*self.span.where(token.offset), message)
                    if opening == "[" and all(frame[0] != "[" for frame in frames):
                        self.unmatched_closing += 1
        while frames:
            # Never closed in its paragraph: close it at the end, and say where it opened.
            char, _content, offset = frames[-1]
            message = MESSAGE_OPEN_BRACKET if char == "[" else MESSAGE_OPEN_BRACE
            self.document.warn(*self.span.where(offset), message)
            self._close(frames, root, closed=False)
        return root

    def _close(
        self, frames: list[tuple[str, list[Inline], int]], root: list[Inline], *, closed: bool
    ) -> None:
        char, content, offset = frames.pop()
        line, column = self.span.where(offset)
        node: Inline
        if char == "[":
            node = Bracket(content, line, column, closed=closed)
        else:
            node = Placeholder(content, line, column)
        (frames[-1][1] if frames else root).append(node)


def _delimiter(text: str, index: int, tokens: list[_Token]) -> int:
    """A run of `*` or `_`, with whether it can open or close emphasis."""
    char = text[index]
    end = index
    while end < len(text) and text[end] == char:
        end += 1
    before = text[index - 1] if index else ""
    after = text[end] if end < len(text) else ""
    can_open = bool(after) and not after.isspace()
    can_close = bool(before) and not before.isspace()
    if char == "_":
        # `_` never emphasises inside a word (snake_case, URLs).
        can_open = can_open and not before.isalnum()
        can_close = can_close and not after.isalnum()
    elif not after and before.isspace():
        # "*(RESERVATIONS) *": a closing star typed after a space, at the very end.
        can_close = True
    tokens.append(
        _Token("delim", index, char, count=end - index, can_open=can_open, can_close=can_close)
    )
    return end


def _resolve_emphasis(tokens: list[_Token]) -> None:
    """Pair emphasis delimiters (a simplified CommonMark algorithm) and mark the text."""
    openers: list[int] = []
    spans: list[tuple[int, int, int]] = []  # (opener index, closer index, 1 or 2 stars)
    for index, token in enumerate(tokens):
        if token.kind != "delim":
            continue
        if token.can_close:
            while token.count:
                found = next(
                    (
                        k
                        for k in range(len(openers) - 1, -1, -1)
                        if tokens[openers[k]].text == token.text
                    ),
                    None,
                )
                if found is None:
                    break
                opener = tokens[openers[found]]
                used = 2 if opener.count >= 2 and token.count >= 2 else 1
                spans.append((openers[found], index, used))
                opener.count -= used
                token.count -= used
                del openers[found + 1 :]  # delimiters in between can no longer pair
                if not opener.count:
                    openers.pop()
        if token.count and token.can_open:
            openers.append(index)
    italic = [0] * (len(tokens) + 1)
    bold = [0] * (len(tokens) + 1)
    for opener_index, closer_index, used in spans:
        depth = bold if used == 2 else italic
        depth[opener_index + 1] += 1
        depth[closer_index] -= 1
    italic_depth = bold_depth = 0
    for index, token in enumerate(tokens):
        italic_depth += italic[index]
        bold_depth += bold[index]
        token.italic = italic_depth > 0
        token.bold = bold_depth > 0


def _append_run(content: list[Inline], text: str, token: _Token, link: str | None = None) -> None:
    last = content[-1] if content else None
    if isinstance(last, Run) and (last.italic, last.bold, last.link) == (
        token.italic,
        token.bold,
        link,
    ):
        last.text += text
    else:
        content.append(Run(text, italic=token.italic, bold=token.bold, link=link))


def _trimmed(content: list[Inline]) -> list[Inline]:
    """Drop white space at the two ends of a paragraph (left there by removed markup)."""
    if content and isinstance(content[0], Run):
        content[0].text = content[0].text.lstrip()
    if content and isinstance(content[-1], Run):
        content[-1].text = content[-1].text.rstrip()
    return [node for node in content if not (isinstance(node, Run) and not node.text)]


def _plain(content: list[Inline]) -> str:
    """The words of inline content as plain text (emphasis and link targets dropped)."""
    parts: list[str] = []
    for node in content:
        if isinstance(node, Run):
            parts.append(node.text)
        elif isinstance(node, NoteRef):
            parts.append(f"[^{node.note}]")
        elif isinstance(node, Bracket):
            parts.append("[" + _plain(node.content) + ("]" if node.closed else ""))
        else:
            parts.append("{" + _plain(node.content) + "}")
    return "".join(parts)


# --- The clause tree -----------------------------------------------------------------------

_ARTICLE = re.compile(
    r"(?P<open>\[)?\s*Article\s+(?P<number>\d+(?:\s?" + _SUFFIX + r")?)\b\s*(?P<close>\])?",
    re.IGNORECASE,
)
_ANNEX = re.compile(
    r"(?P<open>\[)?\s*Annex(?:es)?\b(?:\s+(?P<number>[IVXLC]+|\d+|[A-Z])\b)?\s*(?P<close>\])?",
    re.IGNORECASE,
)
_PREAMBLE = re.compile(r"[\s*_\[\]]*preamble[\s*_\[\]]*", re.IGNORECASE)
_SECTION_NUMBER = re.compile(r"(?P<number>[IVXLC]+|[A-Z]|\d+(?:\.\d+)*)\.\s+")
# The line that opens a preamble: "The Parties to this Agreement,", "The Conference of the
# Parties,". Recitals open with a participle instead ("Recalling …,").
_CHAPEAU = re.compile(r"The\s[^,\[\]]{3,120},")
# The formula that closes a treaty's preamble is not a recital.
_FORMULA = re.compile(r"(?:have|hereby)?\s*agreed?\s+as\s+follows\W*", re.IGNORECASE)

_HEADING_ROLES = ("root", "section", "article", "annex", "preamble")


@dataclass
class _Open:
    """A clause that later blocks may still go into."""

    clause: ParsedClause
    role: str  # root, section, article, annex, preamble, item, option
    indent: int = -1
    level: int = 0  # heading level of a heading-made container
    rank: int = 0  # item: 0 numbered, 1 lettered, 2 roman
    letter: str = ""
    group: ParsedClause | None = None  # option: the OPTIONS clause holding it
    implicit: bool = False  # a preamble without a heading (decisions)
    awaits_bracket: bool = False  # option: "**[Option 2**", closed by a later paragraph


@dataclass
class _TreeBuilder:
    """Place blocks in the clause tree, keeping a stack of the clauses still open."""

    document: _Document
    root: ParsedClause = field(default_factory=lambda: ParsedClause(kind="root"))
    stack: list[_Open] = field(default_factory=list)
    source_note: list[str] = field(default_factory=list)
    seen_item: bool = False
    unmatched_closing: int = 0  # of the paragraph read last
    ended: _Open | None = None  # an option whose bracket the last paragraph closed

    def __post_init__(self) -> None:
        self.stack.append(_Open(self.root, "root"))

    def build(self, blocks: list[_Block]) -> None:
        first = _first_structural(blocks)
        for index, block in enumerate(blocks):
            self.unmatched_closing = 0
            if self.ended is not None:
                del self.stack[self.stack.index(self.ended) :]
                self.ended = None
            if isinstance(block, _Heading):
                self.heading(block)
            elif isinstance(block, _Item):
                self.item(block)
            elif isinstance(block, _Option):
                self.option(block)
            elif first is not None and index < first:
                self.transcriber_prose(block)
            else:
                self.paragraph(block)
            if self.unmatched_closing and not isinstance(block, _Option):
                self._close_bracketed_option()

    def _close_bracketed_option(self) -> None:
        """End an option whose label opened a bracket ("**[Option 2**") at the paragraph
        with the "]" that closes it: the bracket encloses the option, so what follows is
        no longer part of it (the 4 Dec decision, on loss and damage).
        """
        for entry in reversed(self.stack):
            if entry.awaits_bracket:
                self.ended = entry
                return

    # Headings --------------------------------------------------------------------------

    def heading(self, block: _Heading) -> None:
        while len(self.stack) > 1 and (
            self.top.role not in _HEADING_ROLES
            or self.top.implicit
            or self.top.level >= block.level
        ):
            self.stack.pop()
        clause, role = self._heading_clause(block)
        self.top.clause.children.append(clause)
        self.stack.append(_Open(clause, role, level=block.level))

    def _heading_clause(self, block: _Heading) -> tuple[ParsedClause, str]:
        text = block.text
        article = _ARTICLE.match(text)
        annex = None if article else _ANNEX.match(text)
        if article or annex:
            match = article or annex
            assert match is not None
            kind = ClauseKind.ARTICLE if article else ClauseKind.ANNEX
            number = " ".join((match["number"] or "").split())
            heading, bracketed = self._bracketed_title(block, match)
            clause = ParsedClause(
                kind, number, heading=heading, bracketed=bracketed, line=block.line
            )
            return clause, "article" if article else "annex"
        if _PREAMBLE.fullmatch(text):
            heading = self._inline(_piece(text, block.line, block.column))
            return ParsedClause(ClauseKind.PREAMBLE, heading=heading, line=block.line), "preamble"
        number = _SECTION_NUMBER.match(text)
        start = number.end() if number else 0
        heading = self._inline(_piece(text[start:], block.line, block.column + start))
        clause = ParsedClause(
            ClauseKind.SECTION, number["number"] if number else "", heading, line=block.line
        )
        return clause, "section"

    def _bracketed_title(self, block: _Heading, match: re.Match[str]) -> tuple[list[Inline], bool]:
        """The title after "Article 3bis", and whether the heading is in brackets.

        `[Article 3bis] *(REDD-plus)*` and `[Article 3 *(title)*]` are bracketed clauses; a
        bracket opened before "Article" and never closed stays in the title as a bracket
        (and is reported there).
        """
        rest = block.text[match.end() :]
        column = block.column + match.end()
        if match["open"] and not match["close"]:
            if rest.endswith("]") and _balanced(rest[:-1]):
                return self._inline(_piece(rest[:-1].strip(), block.line, column)), True
            span = _Span()
            span.add("[", block.line, block.column + match.start("open"))
            span.add(rest.strip(), block.line, column + len(rest) - len(rest.lstrip()))
            return self._inline(span), False
        if match["close"] and not match["open"]:
            self.document.warn(
                block.line, block.column + match.start("close"), MESSAGE_STRAY_BRACKET
            )
        stripped = rest.lstrip()
        heading = self._inline(_piece(stripped, block.line, column + len(rest) - len(stripped)))
        return heading, bool(match["open"] and match["close"])

    # List items ------------------------------------------------------------------------

    def item(self, block: _Item) -> None:
        rank = self._rank(block)
        self._pop_for_item(block.indent, rank, block.number)
        if self.top.implicit:
            self.stack.pop()  # the first numbered paragraph ends a decision's preamble
        if not block.number:
            kind = ClauseKind.TEXT  # a bullet: an unnumbered paragraph
        elif rank or any(entry.role == "item" for entry in self.stack):
            kind = ClauseKind.SUBPARAGRAPH
        else:
            kind = ClauseKind.PARAGRAPH  # OPERATIVE in a decision: see _operative_paragraphs
        clause = ParsedClause(kind, block.number, content=self._inline(block.span), line=block.line)
        self.top.clause.children.append(clause)
        self.stack.append(_Open(clause, "item", block.indent, rank=rank, letter=block.letter))
        self.seen_item = True

    def _rank(self, block: _Item) -> int:
        """(i), (v), (x) are roman numerals, unless they follow (h), (u), (w)."""
        if block.rank != 1 or block.letter not in ("i", "v", "x"):
            return block.rank
        for entry in reversed(self.stack):
            if entry.role != "item" or entry.indent < block.indent:
                break
            if entry.indent == block.indent and entry.rank == 1:
                return 1 if ord(entry.letter) + 1 == ord(block.letter) else 2
        return 2

    def _pop_for_item(self, indent: int, rank: int, number: str) -> None:
        """Close what a list item at `indent` ends.

        Indentation in the corpus is hand-made (3 or 4 spaces, sometimes 1 or 7), so it is
        only compared, never counted in steps. At the same indentation an item is the
        sibling of an item of its own level (numbered, lettered, roman) or a deeper one,
        and the child of a shallower one: "(a)" flush under "47." belongs to 47, and to
        the option that 47 opens with, if any ("50. **Option 1:** … :" then "(a)").
        An option at the same indentation keeps the items that follow it, unless a
        sibling item lies below it.
        """
        cut = parent = None
        for index in range(len(self.stack) - 1, 0, -1):
            entry = self.stack[index]
            if entry.role not in ("item", "option") or entry.indent < indent:
                break
            if entry.indent > indent or entry.role == "option":
                continue
            if entry.rank < rank:
                parent = index
                break
            cut = index
        if cut is not None:
            del self.stack[cut:]
            return
        while self.top.role in ("item", "option") and self.top.indent > indent:
            if self.top.role == "option" and len(self.stack) - 2 == parent:
                break
            self.stack.pop()
        if rank == 0 and number and self._ends_options(indent, number):
            self.stack.pop()
            self._pop_for_item(indent, rank, number)

    def _ends_options(self, indent: int, number: str) -> bool:
        """Whether a numbered item after an option is the next paragraph, not the option's.

        The rule is that an option keeps what follows at its indentation; but in the 4 Dec
        decision "**Option 2:** No text;" closes a block whose Option 1 held paragraphs
        19 to 19quinquies, and the "20." that follows continues that numbering. So an option
        that has its own words and no numbered paragraph, followed by a number beyond every
        number of the options before it, is over.
        """
        top = self.top
        if top.role != "option" or top.indent != indent or top.group is None:
            return False
        if not top.clause.content or any(child.number for child in top.clause.children):
            return False
        earlier = [
            _leading_number(child.number)
            for option in top.group.children[:-1]
            for child in option.children
            if child.kind in (ClauseKind.PARAGRAPH, ClauseKind.SUBPARAGRAPH)
        ]
        numbers = [value for value in earlier if value is not None]
        value = _leading_number(number)
        return bool(numbers) and value is not None and value > max(numbers)

    # Options ---------------------------------------------------------------------------

    def option(self, block: _Option) -> None:
        key = _option_key(block.number)
        first = key is not None and all(value == 1 for value in key[1])
        sibling = None if first or key is None else self._previous_option(key)
        if sibling is not None:
            group = self.stack[sibling].group
            del self.stack[sibling:]
        else:
            del self.stack[self._option_parent(block.indent) + 1 :]
            parent = self.top.clause
            last = parent.children[-1] if parent.children else None
            if last is not None and last.kind == ClauseKind.OPTIONS and not first:
                group = last
            else:
                group = ParsedClause(ClauseKind.OPTIONS, line=block.line)
                parent.children.append(group)
        assert group is not None
        clause = ParsedClause(
            ClauseKind.OPTION, block.number, content=self._inline(block.span), line=block.line
        )
        group.children.append(clause)
        awaits = (
            block.bracketed
            and bool(clause.content)
            and isinstance(clause.content[0], Bracket)
            and not clause.content[0].closed
        )
        self.stack.append(_Open(clause, "option", block.indent, group=group, awaits_bracket=awaits))

    def _previous_option(self, key: tuple[str, tuple[int, ...]]) -> int | None:
        """The open option that this label continues ("Option 2" after "Option 1").

        Numbering wins over indentation: the 4 Dec decision types "42. **Option 1:** …"
        and then "**Option 2:**" flush left, and both belong to paragraph 42.
        """
        for index in range(len(self.stack) - 1, 0, -1):
            entry = self.stack[index]
            if entry.role not in ("item", "option"):
                return None
            previous = _option_key(entry.clause.number) if entry.role == "option" else None
            if previous is not None and _follows(previous, key):
                return index
        return None

    def _option_parent(self, indent: int) -> int:
        """The stack index of the clause a new option block at `indent` goes into."""
        top = self.top
        if (
            top.role in ("item", "option")
            and top.indent <= indent
            and not top.clause.content
            and not top.clause.children
        ):
            # "60." alone on its line: the options are its words. Likewise an empty
            # "**Option 2:**" followed by "Option (a):", "Option (b):" (4 Dec, Article 3.3).
            return len(self.stack) - 1
        for index in range(len(self.stack) - 1, -1, -1):
            entry = self.stack[index]
            if entry.role == "option" or (entry.role == "item" and entry.indent >= indent):
                continue
            return index
        return 0

    # Paragraphs ------------------------------------------------------------------------

    def paragraph(self, block: _Paragraph) -> None:
        content = self._inline(block.span)
        if not content:
            return
        self._pop_for_text(block.indent)
        plain = _plain(content).strip()
        container = next(entry for entry in reversed(self.stack) if entry.role != "option")
        kind = ClauseKind.TEXT
        if container.role == "preamble":
            preamble = container.clause
            if (
                container is self.top
                and not preamble.content
                and not preamble.children
                and _CHAPEAU.fullmatch(plain)
            ):
                preamble.content = content
                return
            if not _FORMULA.fullmatch(plain):
                kind = ClauseKind.RECITAL
        elif (
            self.top.role in ("root", "section")
            and not self.seen_item
            and _CHAPEAU.fullmatch(plain)
        ):
            # A decision has no "## Preamble": its chapeau ("The Conference of the
            # Parties,") opens one, and the first numbered paragraph closes it.
            clause = ParsedClause(ClauseKind.PREAMBLE, content=content, line=block.line)
            self.top.clause.children.append(clause)
            self.stack.append(_Open(clause, "preamble", level=7, implicit=True))
            return
        self.top.clause.children.append(ParsedClause(kind, content=content, line=block.line))

    def _pop_for_text(self, indent: int) -> None:
        """Close the items and options that a paragraph at `indent` is not part of.

        A paragraph belongs to the item above it only if it is more indented; to an option
        if it is at least as indented. In a preamble each option is one alternative
        recital, so the next recital closes an option that has its own words.
        """
        while len(self.stack) > 1:
            top = self.top
            ends_item = top.role == "item" and top.indent >= indent
            ends_option = top.role == "option" and (
                top.indent > indent
                or (
                    top.indent == indent
                    and bool(top.clause.content)
                    and self.stack[-2].role == "preamble"
                )
            )
            if not (ends_item or ends_option):
                break
            self.stack.pop()

    def transcriber_prose(self, block: _Paragraph) -> None:
        """Words before the text itself ("This is the final draft …"): not treaty text."""
        text = _plain(_InlineReader(self.document, block.span, prose=True).read()).strip()
        if text:
            self.source_note.append(text)

    # Helpers ---------------------------------------------------------------------------

    @property
    def top(self) -> _Open:
        return self.stack[-1]

    def _inline(self, span: _Span) -> list[Inline]:
        reader = _InlineReader(self.document, span)
        content = reader.read()
        self.unmatched_closing = reader.unmatched_closing
        return content


def _piece(text: str, line: int, column: int) -> _Span:
    span = _Span()
    span.add(text, line, column)
    return span


def _balanced(text: str) -> bool:
    depth = 0
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _leading_number(number: str) -> int | None:
    digits = re.match(r"\(?(\d+)", number)
    return int(digits.group(1)) if digits else None


def _first_structural(blocks: list[_Block]) -> int | None:
    """Index of the first block of the text itself; what precedes it is the source note.

    An unnumbered heading does not count (the 23 Oct draft's title heading precedes the
    transcriber's "Edited version of 6 November 2015"); a numbered section ("B. DRAFT
    DECISION") does. With no structure at all, there is nothing to tell prose from text,
    and every paragraph is text.
    """
    for index, block in enumerate(blocks):
        if isinstance(block, _Item | _Option):
            return index
        if isinstance(block, _Heading) and (
            _ARTICLE.match(block.text)
            or _ANNEX.match(block.text)
            or _PREAMBLE.fullmatch(block.text)
            or _SECTION_NUMBER.match(block.text)
        ):
            return index
        if isinstance(block, _Paragraph) and _CHAPEAU.fullmatch(block.plain):
            return index
    return None


def _option_key(number: str) -> tuple[str, tuple[int, ...]] | None:
    """Option numbers as comparable keys.

    "2" → ("arabic", (2,)); "1bis" → ("arabic", (1, 2)); "(b) 1" → ("letter", (2, 1)).
    """
    style = ""
    values: list[int] = []
    for token in re.findall(r"\d+|\([a-z]\)|[A-Za-z]+", number):
        if token.isdigit():
            kind, value = "arabic", int(token)
        elif token.startswith("("):
            kind, value = "letter", ord(token[1]) - ord("a") + 1
        elif token.lower() in _SUFFIX_VALUES or token.lower() == "alt":
            kind, value = "", _SUFFIX_VALUES.get(token.lower(), 2)
        elif re.fullmatch(r"[IVX]+", token):
            kind, value = "roman", _roman(token)
        elif len(token) == 1 and token.isupper():
            kind, value = "upper", ord(token) - ord("A") + 1
        else:
            return None
        style = style or kind
        values.append(value)
    return (style, tuple(values)) if style else None


def _follows(previous: tuple[str, tuple[int, ...]], key: tuple[str, tuple[int, ...]]) -> bool:
    """Whether option `key` comes right after option `previous` (2 after 1, 1bis after 1)."""
    if previous[0] != key[0]:
        return False
    before, after = previous[1], key[1]
    if after == (*before, 2):
        return True
    return any(
        len(after) > index
        and after[:index] == before[:index]
        and after[index] == before[index] + 1
        and all(value == 1 for value in after[index + 1 :])
        for index in range(len(before))
    )


def _roman(numeral: str) -> int:
    values = {"I": 1, "V": 5, "X": 10}
    total = 0
    for char, following in zip(numeral, [*numeral[1:], ""], strict=True):
        value = values[char]
        total += -value if following and values[following] > value else value
    return total


# --- The whole text ------------------------------------------------------------------------


def _walk(clauses: list[ParsedClause]) -> list[ParsedClause]:
    found: list[ParsedClause] = []
    for clause in clauses:
        found.append(clause)
        found.extend(_walk(clause.children))
    return found


def _text_kind(clauses: list[ParsedClause]) -> TextKind:
    every = _walk(clauses)
    if any(clause.kind == ClauseKind.ARTICLE for clause in every):
        return TextKind.TREATY
    for clause in every:
        if clause.kind == ClauseKind.PREAMBLE and _plain(clause.content).strip().startswith(
            "The Conference of the Parties"
        ):
            return TextKind.DECISION
    return TextKind.RESOLUTION


def _operative_paragraphs(clauses: list[ParsedClause]) -> None:
    """Outside articles, a numbered paragraph of a decision or resolution is operative."""
    for clause in clauses:
        if clause.kind == ClauseKind.PARAGRAPH:
            clause.kind = ClauseKind.OPERATIVE
        if clause.kind != ClauseKind.ARTICLE:
            _operative_paragraphs(clause.children)
