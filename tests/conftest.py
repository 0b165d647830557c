"""Fixtures shared by every package's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cop21 import COP21, COP21_FILES


@pytest.fixture(scope="session")
def cop21_dir() -> Path:
    if not (COP21 / COP21_FILES[0]).exists():
        pytest.fail(f"the COP21 corpus is not at {COP21} (set TRAVAUX_COP21_CORPUS)")
    return COP21
