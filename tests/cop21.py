"""Where the real COP21 drafts are, for every test that reads them."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The corpus lives in the project's shared/ folder, beside the repository (as in CI).
COP21 = Path(os.environ.get("TRAVAUX_COP21_CORPUS", REPO.parent / "shared" / "corpus" / "cop21"))
COP21_FILES = (
    "draft-agreement-23-oct-2015.md",
    "draft-agreement-4-dec-2015.md",
    "draft-agreement-9-dec-2015.md",
    "draft-agreement-12-dec-2015.md",
    "paris-agreement-adopted.md",
    "draft-decision-4-dec-2015.md",
)
