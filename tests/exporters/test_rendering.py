"""The DOCX files render in LibreOffice, and its tracked changes stay tracked changes.

LibreOffice (`libreoffice-writer-nogui`) and poppler (`pdftotext`) are installed by
`make install`. The conversions are slow (seconds each), so they run once per module:
one clean, one negotiation and one redline document, to PDF, and the redline re-saved as
ODT and DOCX by LibreOffice. Set TRAVAUX_SKIP_LIBREOFFICE=1 to skip them on a machine
without LibreOffice.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree

from drafting.importing import import_markdown
from drafting.proposals import accept, propose_insertion
from drafting.schema import NegotiationText
from exporters.docx import export_docx
from exporters.redline import export_redline
from tests.exporters.samples import find, negotiated_text

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def tools() -> tuple[str, str]:
    soffice, pdftotext = shutil.which("soffice"), shutil.which("pdftotext")
    if soffice and pdftotext:
        return soffice, pdftotext
    if os.environ.get("TRAVAUX_SKIP_LIBREOFFICE"):
        pytest.skip("LibreOffice tests skipped (TRAVAUX_SKIP_LIBREOFFICE)")
    pytest.fail(
        "soffice and pdftotext are needed: `make install` installs libreoffice-writer-nogui "
        "and poppler-utils (or set TRAVAUX_SKIP_LIBREOFFICE=1)"
    )


def convert(soffice: str, target: str, files: list[Path], out: Path, profile: Path) -> None:
    """One LibreOffice run converting `files`; its own profile, so that it never hands the
    work to another LibreOffice running on the machine."""
    out.mkdir(exist_ok=True)
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless",
            "--convert-to",
            target,
            "--outdir",
            str(out),
            *map(str, files),
        ],
        check=True,
        capture_output=True,
        timeout=240,
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory, cop21_dir: Path) -> dict[str, Path]:
    soffice, _ = tools()
    work = tmp_path_factory.mktemp("libreoffice")
    final = import_markdown((cop21_dir / "draft-agreement-12-dec-2015.md").read_text("utf-8")).text
    negotiated = negotiated_text()
    before = NegotiationText.from_update(negotiated.to_update())
    accept(negotiated, next(p.id for p in negotiated.proposals() if p.kind == "replace"))
    propose_insertion(
        negotiated, "EU", find(negotiated, "Article 1", "2"), len("Parties shall"), " regularly"
    )
    files = {
        "clean": export_docx(final, "clean"),
        "negotiation": export_docx(before, "negotiation"),
        "redline": export_redline(before, negotiated, date="2027-06-01"),
    }
    paths = []
    for name, data in files.items():
        path = work / f"{name}.docx"
        path.write_bytes(data)
        paths.append(path)
    profile = work / "profile"
    convert(soffice, "pdf", paths, work / "pdf", profile)
    convert(soffice, "odt", [work / "redline.docx"], work / "odt", profile)
    convert(soffice, "docx:MS Word 2007 XML", [work / "redline.docx"], work / "docx", profile)
    return {
        "clean": work / "pdf" / "clean.pdf",
        "negotiation": work / "pdf" / "negotiation.pdf",
        "redline": work / "pdf" / "redline.pdf",
        "redline.odt": work / "odt" / "redline.odt",
        "redline.docx": work / "docx" / "redline.docx",
    }


def pdf_text(path: Path) -> str:
    _, pdftotext = tools()
    result = subprocess.run(
        [pdftotext, "-layout", str(path), "-"], check=True, capture_output=True, timeout=60
    )
    return " ".join(result.stdout.decode("utf-8").split())


def test_the_final_text_renders_to_pdf(rendered):
    text = pdf_text(rendered["clean"])
    assert text.startswith("Paris Agreement The Parties to this Agreement,")
    assert "Article 29" in text and "DONE at Paris this twelfth day of December" in text


def test_the_negotiation_text_renders_with_brackets_footnotes_and_proposals(rendered):
    text = pdf_text(rendered["negotiation"])
    assert "[AOSIS: objective][AOSIS: aim]" in text
    assert "As estimated by the [IPCC]." in text  # the footnote
    assert "Proposals" in text and "objective → aim" in text


def test_the_redline_renders_deleted_and_inserted_words(rendered):
    text = pdf_text(rendered["redline"])
    assert "[objective][aim]aim" in text  # struck through, then underlined
    assert "[ regularly]" in text


def test_libreoffice_keeps_the_changes_tracked_in_odt(rendered):
    content = etree.fromstring(zipfile.ZipFile(rendered["redline.odt"]).read("content.xml"))
    ns = {
        "text": "urn:oasis:names:tc:opendocument:xmlns:text:1.0",
        "dc": "http://purl.org/dc/elements/1.1/",
        "office": "urn:oasis:names:tc:opendocument:xmlns:office:1.0",
    }
    regions = content.xpath("//text:tracked-changes/text:changed-region", namespaces=ns)
    kinds = sorted(
        (etree.QName(change).localname, change.findtext(".//dc:creator", namespaces=ns))
        for region in regions
        for change in region
    )
    assert ("deletion", "AOSIS") in kinds and ("insertion", "EU") in kinds


def test_libreoffice_keeps_the_changes_tracked_in_docx(rendered):
    document = etree.fromstring(zipfile.ZipFile(rendered["redline.docx"]).read("word/document.xml"))
    authors = {
        (etree.QName(change).localname, change.get(f"{{{W}}}author"))
        for change in document.iter(f"{{{W}}}ins", f"{{{W}}}del")
    }
    assert ("del", "AOSIS") in authors and ("ins", "EU") in authors
    inserted = [
        "".join(change.itertext())
        for change in document.iter(f"{{{W}}}ins")
        if change.get(f"{{{W}}}author") == "EU"
    ]
    assert "[ regularly]" in inserted
