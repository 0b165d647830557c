"""The named Word styles of Travaux documents, so that a secretariat restyles a text by
changing a style, never paragraph by paragraph.

Paragraph styles: `Treaty Title`, `Preamble Heading`, `Preamble Chapeau`, `Recital`,
`Enacting Formula`, `Section Heading` (on Heading 1), `Article Heading` (on Heading 2),
`Article Title`, `Annex Heading` (on Heading 1), `Annex Title`, `Numbered Paragraph`,
`Subparagraph`, `Unnumbered Paragraph`, `Option` — each of the last four also as
`<name> 2` … `<name> 6` for deeper levels, based on the level above with 1 cm more
indentation —, `Signature Block`, `Notes Heading`, `Note Text`, `Proposals Heading`, `Table Text`.

Character styles: `Party Attribution` (the "EU: " after a bracket), `Clause Status`,
`Option Label`, `Note Reference`.

Numbers are written as text, followed by a tab, on a hanging indent: "5 bis" and
"(a) ter" have no Word numbering format, and a faithful number is what delegations cite.
"""

from __future__ import annotations

from typing import cast

from docx.document import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt, RGBColor
from docx.styles.style import CharacterStyle, ParagraphStyle

LEVELS = 6
LEVELLED = ("Numbered Paragraph", "Subparagraph", "Unnumbered Paragraph", "Option")
HANGING = ("Numbered Paragraph", "Subparagraph")
STEP = Cm(1.0)


def level_style(base: str, depth: int) -> str:
    """`Subparagraph` at depth 0, `Subparagraph 2` one level in … (capped)."""
    depth = max(0, min(depth, LEVELS - 1))
    return base if depth == 0 else f"{base} {depth + 1}"


def install_styles(document: Document) -> None:
    styles = document.styles
    normal = styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(12)
    normal.paragraph_format.space_after = Pt(6)

    def paragraph(name: str, base: str = "Normal") -> ParagraphStyle:
        style = cast(ParagraphStyle, styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH))
        style.base_style = styles[base]
        style.quick_style = True
        return style

    title = paragraph("Treaty Title", "Title")
    title.font.name = "Times New Roman"
    title.font.color.rgb = RGBColor(0, 0, 0)
    title.font.size = Pt(16)
    title.font.bold = True
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for name, base in (
        ("Preamble Heading", "Heading 2"),
        ("Section Heading", "Heading 1"),
        ("Article Heading", "Heading 2"),
        ("Annex Heading", "Heading 1"),
        ("Notes Heading", "Heading 2"),
        ("Proposals Heading", "Heading 2"),
    ):
        heading = paragraph(name, base)
        heading.font.name = "Times New Roman"
        heading.font.color.rgb = RGBColor(0, 0, 0)
        heading.font.size = Pt(12)
        heading.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        heading.paragraph_format.keep_with_next = True
    for name in ("Article Title", "Annex Title"):
        subtitle = paragraph(name)
        subtitle.font.italic = True
        subtitle.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        subtitle.paragraph_format.keep_with_next = True
    chapeau = paragraph("Preamble Chapeau")
    chapeau.paragraph_format.space_before = Pt(6)
    recital = paragraph("Recital")
    recital.paragraph_format.first_line_indent = STEP
    recital.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    formula = paragraph("Enacting Formula")
    formula.paragraph_format.first_line_indent = STEP
    for base in LEVELLED:
        for depth in range(LEVELS):
            style = paragraph(level_style(base, depth))
            fmt = style.paragraph_format
            fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
            indent = STEP * (depth + (1 if base in HANGING else 0))
            fmt.left_indent = indent
            if base in HANGING:
                fmt.first_line_indent = -STEP
                fmt.tab_stops.add_tab_stop(indent)
    signature = paragraph("Signature Block")
    signature.paragraph_format.space_before = Pt(12)
    signature.paragraph_format.first_line_indent = STEP
    table_text = paragraph("Table Text")
    table_text.font.size = Pt(9)
    table_text.paragraph_format.space_after = Pt(0)
    note = paragraph("Note Text")
    note.font.size = Pt(10)
    note.paragraph_format.left_indent = Cm(0.6)
    note.paragraph_format.first_line_indent = Cm(-0.6)
    note.paragraph_format.tab_stops.add_tab_stop(Cm(0.6))

    def character(name: str) -> CharacterStyle:
        return cast(CharacterStyle, styles.add_style(name, WD_STYLE_TYPE.CHARACTER))

    party = character("Party Attribution")
    party.font.bold = True
    party.font.small_caps = True
    party.font.color.rgb = RGBColor(0x1F, 0x4E, 0x79)
    status = character("Clause Status")
    status.font.italic = True
    status.font.color.rgb = RGBColor(0x59, 0x59, 0x59)
    option = character("Option Label")
    option.font.bold = True
    reference = character("Note Reference")
    reference.font.superscript = True
