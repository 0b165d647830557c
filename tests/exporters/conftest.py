"""Texts to export: a small negotiated treaty with every construct, and the COP21 corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

from drafting.importing import import_markdown
from drafting.schema import NegotiationText
from tests.cop21 import COP21_FILES
from tests.exporters.samples import negotiate, negotiated_text


@pytest.fixture
def negotiated() -> NegotiationText:
    """A treaty under negotiation: Parties, proposals tabled, supported, objected to and
    withdrawn, a new paragraph in brackets, a clause agreed ad ref, a deleted clause."""
    return negotiated_text()


@pytest.fixture(scope="session")
def corpus(cop21_dir: Path) -> dict[str, NegotiationText]:
    """The six COP21 files, imported once (tests only read them)."""
    return {
        name: import_markdown((cop21_dir / name).read_text(encoding="utf-8")).text
        for name in COP21_FILES
    }


@pytest.fixture(scope="session")
def negotiated_corpus(cop21_dir: Path) -> dict[str, NegotiationText]:
    """The six files with a negotiation played on each (`samples.negotiate`): Parties,
    proposals of every kind and outcome, statuses, a chosen option, deleted clauses."""
    return {
        name: negotiate(import_markdown((cop21_dir / name).read_text(encoding="utf-8")).text)
        for name in COP21_FILES
    }
