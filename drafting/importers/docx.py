"""Read a Word draft (.docx) into a `ParsedText`.

    parsed = parse_docx(data)                  # bytes of a .docx file

A Word draft is turned into the UNFCCC-style Markdown that `unfccc_markdown.parse_markdown`
reads, paragraph by paragraph, and parsed by it: so a Word draft and a Markdown
transcription of the same text give the same tree (headings "Article 3", "Preamble",
"Annex I"; numbered paragraphs and lettered sub-paragraphs; "Option 1:" blocks; brackets,
placeholders, their repairs and warnings). What Word adds is read from its XML:

- headings from heading styles (Heading 1 … 9, Title, and the styles Travaux exports
  with), or from the words ("Article 3", "Preamble", "Annex I") when the draft has none;
- numbers from Word numbering (`numbering.xml`: decimal, letters, roman, "%1." / "(%2)"),
  or typed before a tab; the nesting from the numbering level or the style's level;
- italics and bold (the participle of a recital), hyperlinks, footnotes (`footnotes.xml`,
  with their own marks), a table as one paragraph per row;
- tracked changes: read as if accepted (insertions kept, deletions left out) and each
  reported as a warning with its author, date and words — never dropped in silence, which
  is what python-docx's `paragraph.text` would do;
- what a Travaux export adds and the model cannot hold back (Party labels, clause
  statuses, the table of proposals) is left out, with a warning.

Warnings give the paragraph's number in the document (counting every paragraph of the
body from 1) in `line`. Input that is not a .docx (not a zip, no document part, XML with a
DOCTYPE) is refused with `SourceError`.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from drafting.importers.akn import parse_xml
from drafting.importers.docx_own import read_own, structure_of
from drafting.importers.parsed import ImportWarning, ParsedText, SourceError
from drafting.importers.unfccc_markdown import parse_markdown

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE_DOCUMENT = f"{R}/officeDocument"
MAX_UNPACKED = 200 * 1024 * 1024
MAX_PART = 32 * 1024 * 1024

# Styles of a Travaux export whose words the model does not take back.
LEFT_OUT = {"Party Attribution": "Party attributions", "Clause Status": "clause statuses"}
HEADING_STYLES = {
    "Section Heading",
    "Article Heading",
    "Annex Heading",
    "Preamble Heading",
    "Notes Heading",
    "Proposals Heading",
}
TITLE_STYLES = ("Treaty Title", "Title")
SUBTITLE_STYLES = ("Article Title", "Annex Title")
_LEVEL = re.compile(r"^(?P<base>Numbered Paragraph|Subparagraph|Unnumbered Paragraph|Option)"
                    r"(?: (?P<level>\d))?$")  # fmt: skip
# A heading typed as words, in a draft without heading styles: "Article 3 bis (title)",
# "[Article 4]", "Preamble", "Annex I".
_TYPED_HEADING = re.compile(
    r"^\[?\s*(article\s+\d+\s*(bis|ter|quater)?\s*\]?\s*(\(.{0,80}\))?"
    r"|preamble|annex(es)?(\s+[IVXLC\d]+)?)\s*\]?$",
    re.IGNORECASE,
)
_SUFFIXES = r"(?:bis|ter|quater|quinquies|sexies|septies|octies|novies|decies)"
_TYPED_LABEL = re.compile(r"^(\[?)((?:\()?[^\t\s]{0,12}(?: " + _SUFFIXES + r"\)?\.?)?)\t")
_LETTER_SUFFIX = re.compile(r"^\((\w+) (" + _SUFFIXES + r")\)$")
_MARKDOWN_SPECIAL = re.compile(r"([\\*_~^<>`])")


def w(name: str) -> str:
    return f"{{{W}}}{name}"


def parse_docx(data: bytes) -> ParsedText:
    return _Reader(_Package(data)).read()


# -- the package ------------------------------------------------------------------------------
class _Package:
    """The parts of a .docx that matter here, parsed safely."""

    def __init__(self, data: bytes) -> None:
        if not isinstance(data, bytes | bytearray):
            raise SourceError(f"expected the bytes of a .docx file, got {type(data).__name__}")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(bytes(data)))
        except zipfile.BadZipFile:
            raise SourceError(
                "not a Word document (.docx): the file is not a zip archive"
            ) from None
        if sum(info.file_size for info in self.zip.infolist()) > MAX_UNPACKED:
            raise SourceError("the .docx unpacks to more than 200 MB; it is not read")
        main = self._target("_rels/.rels", OFFICE_DOCUMENT)
        if main is None or main not in self.zip.namelist():
            raise SourceError("not a Word document (.docx): it has no main document part")
        self.main = main
        self.document = self.xml(main)
        folder = posixpath.dirname(main)
        rels_name = posixpath.join(folder, "_rels", posixpath.basename(main) + ".rels")
        self.rels: dict[str, tuple[str, str]] = {}  # id -> (type, target)
        if rels_name in self.zip.namelist():
            for rel in self.xml(rels_name).iter(f"{{{PACKAGE_RELS}}}Relationship"):
                target = rel.get("Target", "")
                if rel.get("TargetMode") != "External":
                    target = posixpath.normpath(posixpath.join(folder, target))
                self.rels[rel.get("Id", "")] = (rel.get("Type", ""), target)

    def xml(self, name: str) -> etree._Element:
        # Read no more than the limit, whatever the archive claims the part's size is.
        with self.zip.open(name) as part:
            data = part.read(MAX_PART + 1)
        if len(data) > MAX_PART:
            raise SourceError(f"{name} is larger than {MAX_PART // 2**20} MB; it is not read")
        try:
            return parse_xml(data)
        except SourceError as error:
            raise SourceError(f"{name}: {error}") from None

    def part(self, kind: str) -> etree._Element | None:
        for rel_type, target in self.rels.values():
            if rel_type == f"{R}/{kind}" and target in self.zip.namelist():
                return self.xml(target)
        return None

    def _target(self, rels_name: str, rel_type: str) -> str | None:
        if rels_name not in self.zip.namelist():
            return None
        for rel in self.xml(rels_name).iter(f"{{{PACKAGE_RELS}}}Relationship"):
            if rel.get("Type") == rel_type:
                return rel.get("Target", "").lstrip("/")
        return None


# -- styles and numbering ---------------------------------------------------------------------
class _Styles:
    def __init__(self, root: etree._Element | None) -> None:
        self.names: dict[str, str] = {}
        self.based_on: dict[str, str] = {}
        self.numbering: dict[str, tuple[str, int]] = {}  # style id -> (numId, ilvl)
        self.outline: dict[str, int] = {}
        for style in root.iter(w("style")) if root is not None else []:
            style_id = style.get(w("styleId"), "")
            name = style.find(w("name"))
            self.names[style_id] = name.get(w("val"), style_id) if name is not None else style_id
            based = style.find(w("basedOn"))
            if based is not None:
                self.based_on[style_id] = based.get(w("val"), "")
            num = style.find(f"{w('pPr')}/{w('numPr')}")
            if num is not None:
                self.numbering[style_id] = _num_pr(num)
            level = style.find(f"{w('pPr')}/{w('outlineLvl')}")
            if level is not None:
                self.outline[style_id] = int(level.get(w("val"), "9"))

    def name(self, style_id: str) -> str:
        return self.names.get(style_id, style_id)

    def chain(self, style_id: str) -> list[str]:
        found = []
        while style_id and style_id not in found:
            found.append(style_id)
            style_id = self.based_on.get(style_id, "")
        return found

    def outline_level(self, style_id: str) -> int | None:
        """The outline level a style gives its paragraphs (0 = Heading 1), if any."""
        for ancestor in self.chain(style_id):
            if self.outline.get(ancestor, 9) < 9:
                return self.outline[ancestor]
            heading = re.fullmatch(r"[Hh]eading (\d)", self.name(ancestor))
            if heading:
                return int(heading.group(1)) - 1
        return None


def _num_pr(element: etree._Element) -> tuple[str, int]:
    num_id = element.find(w("numId"))
    level = element.find(w("ilvl"))
    return (
        num_id.get(w("val"), "") if num_id is not None else "",
        int(level.get(w("val"), "0")) if level is not None else 0,
    )


@dataclass
class _Level:
    start: int = 1
    fmt: str = "decimal"
    text: str = "%1."


class _Numbering:
    """Word list numbering: the number each numbered paragraph shows."""

    def __init__(self, root: etree._Element | None) -> None:
        abstract: dict[str, dict[int, _Level]] = {}
        self.lists: dict[str, dict[int, _Level]] = {}
        self.counters: dict[str, list[int]] = {}
        if root is None:
            return
        for definition in root.iter(w("abstractNum")):
            levels = {}
            for lvl in definition.iter(w("lvl")):
                level = _Level()
                start = lvl.find(w("start"))
                fmt = lvl.find(w("numFmt"))
                text = lvl.find(w("lvlText"))
                level.start = int(start.get(w("val"), "1")) if start is not None else 1
                level.fmt = fmt.get(w("val"), "decimal") if fmt is not None else "decimal"
                level.text = text.get(w("val"), "") if text is not None else ""
                levels[int(lvl.get(w("ilvl"), "0"))] = level
            abstract[definition.get(w("abstractNumId"), "")] = levels
        for num in root.iter(w("num")):
            ref = num.find(w("abstractNumId"))
            levels = dict(abstract.get(ref.get(w("val"), "") if ref is not None else "", {}))
            for override in num.iter(w("lvlOverride")):
                start = override.find(w("startOverride"))
                ilvl = int(override.get(w("ilvl"), "0"))
                if start is not None and ilvl in levels:
                    levels[ilvl] = _Level(int(start.get(w("val"), "1")), levels[ilvl].fmt,
                                          levels[ilvl].text)  # fmt: skip
            self.lists[num.get(w("numId"), "")] = levels

    def label(self, num_id: str, ilvl: int) -> str | None:
        """The number shown, "" for a bullet, None when the list is unknown or off."""
        levels = self.lists.get(num_id)
        if not levels or num_id == "0" or ilvl not in levels:
            return None
        counters = self.counters.setdefault(num_id, [0] * 10)
        if counters[ilvl] == 0:
            counters[ilvl] = levels[ilvl].start
        else:
            counters[ilvl] += 1
        for deeper in range(ilvl + 1, 10):
            counters[deeper] = 0
        level = levels[ilvl]
        if level.fmt in ("bullet", "none"):
            return ""

        def value(match: re.Match[str]) -> str:
            index = int(match.group(1)) - 1
            shown = levels.get(index, level)
            count = counters[index] or shown.start
            return _format(count, shown.fmt)

        return re.sub(r"%(\d)", value, level.text)


def _format(count: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        letters = ""
        while count > 0:
            count, rest = divmod(count - 1, 26)
            letters = chr(ord("a") + rest) + letters
        return letters if fmt == "lowerLetter" else letters.upper()
    if fmt in ("lowerRoman", "upperRoman"):
        numerals = (
            (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
            (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
        )  # fmt: skip
        roman = ""
        for number, numeral in numerals:
            while count >= number:
                roman += numeral
                count -= number
        return roman if fmt == "lowerRoman" else roman.upper()
    return str(count)


# -- paragraphs ---------------------------------------------------------------------------------
@dataclass
class _Span:
    text: str
    italic: bool = False
    bold: bool = False
    link: str | None = None
    markup: bool = False  # Markdown already ("[^3]"): never escaped, never merged


@dataclass
class _Paragraph:
    number: int  # 1-based, in the body
    style: str
    label: str | None  # Word numbering's number, None if not numbered
    depth: int
    spans: list[_Span] = field(default_factory=list)
    outline: int | None = None  # a heading's level (0 = top)

    @property
    def text(self) -> str:
        return "".join(span.text for span in self.spans)


class _Reader:
    def __init__(self, package: _Package) -> None:
        self.package = package
        self.styles = _Styles(package.part("styles"))
        self.numbering = _Numbering(package.part("numbering"))
        self.footnote_parts = package.part("footnotes")
        self.warnings: list[ImportWarning] = []
        self.left_out: Counter[str] = Counter()
        self.notes: dict[str, str] = {}  # mark -> markdown words
        self.footnote_count = 0
        self.paragraph_number = 0

    def read(self) -> ParsedText:
        body = self.package.document.find(w("body"))
        if body is None:
            raise SourceError("the Word document has no body")
        structure = structure_of(self)
        if structure is not None:  # a document Travaux wrote: its structure part
            return read_own(self, structure, body)
        return self.read_markdown(body)

    def read_markdown(self, body: etree._Element) -> ParsedText:
        """Any Word draft: its paragraphs as UNFCCC-style Markdown, parsed."""
        paragraphs: list[_Paragraph] = []
        skip_table = False
        for element in _blocks(body):
            if element.tag == w("p"):
                paragraph = self._paragraph(element)
                paragraphs.append(paragraph)
                skip_table = paragraph.style == "Proposals Heading"
                if skip_table:
                    paragraphs.pop()
            elif element.tag == w("tbl"):
                paragraphs.extend(self._table(element, skip=skip_table))
                skip_table = False
        for what, count in self.left_out.items():
            self.warnings.append(
                ImportWarning(0, 0, f"{count} {what} left out (a text holds no such thing)")
            )
        markdown, lines = self._markdown(paragraphs)
        parsed = parse_markdown(markdown)
        parsed.warnings = sorted(
            [*self.warnings, *(_relocated(warning, lines) for warning in parsed.warnings)],
            key=lambda warning: (warning.line, warning.column),
        )
        return parsed

    def _warn(self, message: str) -> None:
        self.warnings.append(ImportWarning(self.paragraph_number, 0, message))

    def _paragraph(self, element: etree._Element) -> _Paragraph:
        self.paragraph_number += 1
        properties = element.find(w("pPr"))
        style_id = ""
        label: str | None = None
        depth = 0
        if properties is not None:
            style = properties.find(w("pStyle"))
            style_id = style.get(w("val"), "") if style is not None else ""
            num = properties.find(w("numPr"))
            numbered = _num_pr(num) if num is not None else None
            for ancestor in self.styles.chain(style_id):
                if numbered is None and ancestor in self.styles.numbering:
                    numbered = self.styles.numbering[ancestor]
            if numbered is not None:
                label = self.numbering.label(*numbered)
                depth = numbered[1]
            mark = properties.find(w("rPr"))
            if mark is not None:
                for tag, verb in (("ins", "inserted"), ("del", "deleted")):
                    change = mark.find(w(tag))
                    if change is not None:
                        self._warn(f"a paragraph mark {verb} by {_who(change)} (tracked change)")
            if properties.find(w("pPrChange")) is not None:
                self._warn("a tracked change of paragraph formatting was ignored")
        name = self.styles.name(style_id)
        level = _LEVEL.match(name)
        if level and level["level"]:
            depth = int(level["level"]) - 1
        paragraph = _Paragraph(self.paragraph_number, name, label, depth)
        self._inline(element, paragraph.spans, italic=False, bold=False, link=None)
        outline = properties.find(w("outlineLvl")) if properties is not None else None
        if outline is not None:
            paragraph.outline = int(outline.get(w("val"), "9"))
        elif name not in TITLE_STYLES and name not in SUBTITLE_STYLES:
            paragraph.outline = self.styles.outline_level(style_id)
        if paragraph.outline is not None and paragraph.outline >= 9:
            paragraph.outline = None
        if paragraph.outline is not None and name not in HEADING_STYLES:
            paragraph.style = "Section Heading"
        return paragraph

    def _inline(
        self,
        element: etree._Element,
        spans: list[_Span],
        *,
        italic: bool,
        bold: bool,
        link: str | None,
    ) -> None:
        for child in element:
            tag = child.tag
            if tag == w("r"):
                self._run(child, spans, italic=italic, bold=bold, link=link)
            elif tag == w("hyperlink"):
                target = self.package.rels.get(child.get(f"{{{R}}}id", ""), ("", None))[1]
                self._inline(child, spans, italic=italic, bold=bold, link=target or link)
            elif tag in (w("ins"), w("moveTo")):
                words = "".join(child.itertext())
                self._warn(f"tracked insertion by {_who(child)} kept: {words!r}")
                self._inline(child, spans, italic=italic, bold=bold, link=link)
            elif tag in (w("del"), w("moveFrom")):
                words = "".join(t.text or "" for t in child.iter(w("delText"), w("t")))
                self._warn(f"tracked deletion by {_who(child)} left out: {words!r}")
            elif tag in (w("smartTag"), w("sdt"), w("sdtContent"), w("fldSimple"), w("customXml")):
                self._inline(child, spans, italic=italic, bold=bold, link=link)

    def _run(
        self,
        run: etree._Element,
        spans: list[_Span],
        *,
        italic: bool,
        bold: bool,
        link: str | None,
    ) -> None:
        properties = run.find(w("rPr"))
        style = ""
        if properties is not None:
            style_element = properties.find(w("rStyle"))
            style = (
                self.styles.name(style_element.get(w("val"), ""))
                if style_element is not None
                else ""
            )
            italic = _flag(properties, "i", italic)
            bold = _flag(properties, "b", bold)
            if properties.find(w("rPrChange")) is not None:
                self._warn("a tracked change of formatting was ignored")
        if style in LEFT_OUT:
            self.left_out[LEFT_OUT[style]] += 1
            return
        custom_mark = False
        for child in run:
            tag = child.tag
            if tag == w("t"):
                if custom_mark:
                    custom_mark = False  # the footnote's own mark, already written
                    continue
                if style == "Note Reference":  # a mark whose note the text lacks
                    spans.append(_Span(f"[^{(child.text or '').strip()}]", markup=True))
                    continue
                spans.append(_Span(child.text or "", italic, bold, link))
            elif tag in (w("tab"), w("br"), w("cr")):
                spans.append(_Span(" " if tag != w("tab") else "\t", italic, bold, link))
            elif tag == w("noBreakHyphen"):
                spans.append(_Span("-", italic, bold, link))
            elif tag == w("footnoteReference"):
                mark = self._footnote(child, run)
                custom_mark = child.get(w("customMarkFollows")) in ("1", "true", "on")
                spans.append(_Span(f"[^{mark}]", markup=True))

    def _footnote(self, reference: etree._Element, run: etree._Element) -> str:
        self.footnote_count += 1
        mark = str(self.footnote_count)
        if reference.get(w("customMarkFollows")) in ("1", "true", "on"):
            following = reference.getnext()
            if following is not None and following.tag == w("t") and following.text:
                mark = following.text.strip() or mark
        mark = re.sub(r"[\s\]]", "-", mark)
        footnote_id = reference.get(w("id"), "")
        if self.footnote_parts is not None:
            for footnote in self.footnote_parts.iter(w("footnote")):
                if footnote.get(w("id")) == footnote_id:
                    self.notes.setdefault(mark, self._note_words(footnote))
        return mark

    def _note_words(self, footnote: etree._Element) -> str:
        spans: list[_Span] = []
        for paragraph in footnote.iter(w("p")):
            if spans:
                spans.append(_Span(" "))
            for run in paragraph.iter(w("r")):
                if run.find(w("footnoteRef")) is not None:
                    continue
                style = run.find(f"{w('rPr')}/{w('rStyle')}")
                if style is not None and self.styles.name(style.get(w("val"), "")) in (
                    "Note Reference",
                    "footnote reference",
                ):
                    continue  # the mark written again in the note
                self._run(run, spans, italic=False, bold=False, link=None)
        return _markdown_inline(spans).strip()

    def _table(self, table: etree._Element, *, skip: bool) -> list[_Paragraph]:
        if skip:
            self.left_out["tables of proposals"] += 1
            return []
        rows = []
        for row in table.iter(w("tr")):
            self.paragraph_number += 1
            cells = [" ".join("".join(cell.itertext()).split()) for cell in row.iter(w("tc"))]
            text = " | ".join(cell for cell in cells if cell)
            if text:
                rows.append(_Paragraph(self.paragraph_number, "", None, 0, [_Span(text)]))
        if rows:
            self._warn("a table was read as one paragraph per row")
        return rows

    # -- Markdown ---------------------------------------------------------------------------
    def _markdown(self, paragraphs: list[_Paragraph]) -> tuple[str, dict[int, int]]:
        """The Markdown of the draft, and for each of its lines the paragraph it came from."""
        out: list[str] = []
        lines: dict[int, int] = {}
        title = ""
        notes_section = False

        def emit(text: str, paragraph: _Paragraph) -> None:
            lines[len(out) + 1] = paragraph.number
            out.append(text)
            out.append("")

        for index, paragraph in enumerate(paragraphs):
            words = _markdown_inline(paragraph.spans).strip()
            if not words:
                continue
            style = paragraph.style
            if style in TITLE_STYLES and not title:
                title = paragraph.text.strip()
                continue
            if style == "Notes Heading":
                notes_section = True
                continue
            if notes_section and style == "Note Text":
                self._note_paragraph(paragraph)
                continue
            if style in SUBTITLE_STYLES:
                continue  # joined to its heading below
            heading = style in HEADING_STYLES or paragraph.outline is not None
            if heading or _TYPED_HEADING.match(paragraph.text.strip()):
                following = paragraphs[index + 1] if index + 1 < len(paragraphs) else None
                if following is not None and following.style in SUBTITLE_STYLES:
                    words += " " + _markdown_inline(following.spans).strip()
                hashes = "#" * min(2 + (paragraph.outline or 0), 6)
                emit(f"{hashes} " + words.replace("\t", " "), paragraph)
                continue
            # An option's label is indented a little more than its level: what follows at
            # the level itself is then after the option block, not in the last option.
            nudge = "  " if paragraph.style.startswith("Option") else ""
            emit("    " * paragraph.depth + nudge + _with_label(paragraph, words), paragraph)
        front = ["---", f"title: {title}", "---", ""] if title else []
        shift = len(front)
        lines = {line + shift: number for line, number in lines.items()}
        definitions = [f"[^{mark}]: {words}" for mark, words in self.notes.items()]
        return "\n".join([*front, *out, *definitions]) + "\n", lines

    def _note_paragraph(self, paragraph: _Paragraph) -> None:
        """A footnote listed under "Notes" ("3<tab>words"), as a redline prints them."""
        spans = list(paragraph.spans)
        mark = ""
        while spans and "\t" not in spans[0].text:
            mark += spans.pop(0).text
        if spans:
            before, _, after = spans[0].text.partition("\t")
            mark += before
            spans[0] = _Span(after, spans[0].italic, spans[0].bold, spans[0].link)
        mark = mark.strip().strip("[^]")
        if mark:
            self.notes.setdefault(mark, _markdown_inline(spans).strip())


def _blocks(body: etree._Element) -> Iterator[etree._Element]:
    """Paragraphs and tables of the body in order (content controls opened)."""
    for child in body:
        if child.tag in (w("p"), w("tbl")):
            yield child
        elif child.tag in (w("sdt"), w("sdtContent"), w("customXml")):
            yield from _blocks(child)


def _with_label(paragraph: _Paragraph, words: str) -> str:
    """A numbered paragraph as a Markdown list item: "1. …", "(a) …", "2 bis. …"."""
    if paragraph.label:
        return f"{paragraph.label} {words}"
    typed = _TYPED_LABEL.match(words)
    if typed:
        opening, label = typed.groups()
        rest = words[typed.end() :]
        # "(a bis)", as Travaux numbers an inserted sub-paragraph, is "(a) bis" in Markdown.
        label = _LETTER_SUFFIX.sub(r"(\1) \2", label)
        if opening and rest.endswith("]"):
            # "[2 bis.<tab>words]": a paragraph proposed in brackets keeps its number.
            return f"{label} [{rest}"
        return f"{opening}{label} {rest}"
    return words.replace("\t", " ")


def _markdown_inline(spans: list[_Span]) -> str:
    """Words as Markdown: emphasis as * and **, links as [words](address), the characters
    Markdown would read as markup escaped — but not brackets and braces, which are the
    negotiation's own."""
    merged: list[_Span] = []
    for span in spans:
        last = merged[-1] if merged else None
        if (
            last is not None
            and not (last.markup or span.markup)
            and (last.italic, last.bold, last.link) == (span.italic, span.bold, span.link)
        ):
            merged[-1] = _Span(last.text + span.text, span.italic, span.bold, span.link)
        else:
            merged.append(span)
    out = []
    for span in merged:
        if span.markup:
            out.append(span.text)
            continue
        text = _MARKDOWN_SPECIAL.sub(r"\\\1", span.text)
        core = text.strip()
        if not core or not (span.italic or span.bold or span.link):
            out.append(text)
            continue
        lead = text[: len(text) - len(text.lstrip())]
        trail = text[len(text.rstrip()) :]
        marks = ("*" if span.italic else "") + ("**" if span.bold else "")
        core = f"{marks}{core}{marks[::-1]}"
        if span.link:
            core = f"[{core}]({span.link})"
        out.append(f"{lead}{core}{trail}")
    return "".join(out)


def _flag(properties: etree._Element, name: str, inherited: bool) -> bool:
    element = properties.find(w(name))
    if element is None:
        return inherited
    return element.get(w("val"), "true") not in ("0", "false", "off")


def _who(change: etree._Element) -> str:
    author = change.get(w("author")) or "an unknown author"
    date = change.get(w("date"))
    return f"{author} on {date}" if date else author


def _relocated(warning: ImportWarning, lines: dict[int, int]) -> ImportWarning:
    """A warning of the Markdown parser, at the paragraph its line came from."""
    return ImportWarning(lines.get(warning.line, 0), 0, warning.message)
