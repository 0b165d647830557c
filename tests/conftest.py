"""Fixtures shared by every package's tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The real COP21 drafts live in the project's shared/ folder, beside the repository.
COP21 = Path(os.environ.get("TRAVAUX_COP21_CORPUS", REPO.parent / "shared" / "corpus" / "cop21"))
COP21_FILES = (
    "draft-agreement-23-oct-2015.md",
    "draft-agreement-4-dec-2015.md",
    "draft-agreement-9-dec-2015.md",
    "draft-agreement-12-dec-2015.md",
    "paris-agreement-adopted.md",
    "draft-decision-4-dec-2015.md",
)


@pytest.fixture(scope="session")
def cop21_dir() -> Path:
    if not (COP21 / COP21_FILES[0]).exists():
        pytest.fail(f"the COP21 corpus is not at {COP21} (set TRAVAUX_COP21_CORPUS)")
    return COP21
