"""`drafting.importing.import_bytes`: one entry for every format Travaux reads."""

from __future__ import annotations

import pytest

from drafting.importers.parsed import SourceError
from drafting.importing import import_bytes
from drafting.views import bracketed_text
from exporters.akn import export_akn
from exporters.docx import export_docx
from tests.exporters.samples import negotiated_text


@pytest.mark.parametrize("name", ["text.docx", "text", "TEXT.DOCX"])
def test_word_is_read_by_its_name_or_its_zip_signature(name):
    text = negotiated_text()
    again = import_bytes(name, export_docx(text)).text
    assert bracketed_text(again, show_parties=True) == bracketed_text(text, show_parties=True)


@pytest.mark.parametrize("name", ["text.xml", "text.akn", "download"])
def test_akoma_ntoso_is_read_by_its_name_or_its_root(name):
    text = negotiated_text()
    again = import_bytes(name, export_akn(text)).text
    assert bracketed_text(again, show_parties=True) == bracketed_text(text, show_parties=True)


def test_anything_else_is_markdown_and_bad_bytes_are_refused():
    assert "Parties [shall] act." in bracketed_text(
        import_bytes("draft.md", b"1. Parties [shall] act.\n").text
    )
    with pytest.raises(SourceError, match="not UTF-8"):
        import_bytes("draft.md", b"\xff\xfe\x00junk")
    with pytest.raises(SourceError, match="not well-formed XML"):
        import_bytes("draft.xml", b"<akomaNtoso")
