"""Export times per format for the 23 Oct 2015 draft (28 articles, ~1,050 brackets).

    python bench/export_corpus.py [--runs N] [--file NAME] [--all]

Prints, per format and mode, the best and median of N runs of a whole export (text in
memory → bytes), plus the AKN schema validation and the two importers for reference.
The target is under 1 s for each export. `--all` measures every file of the corpus.
`--negotiated` first plays a negotiation on the text (`tests.exporters.samples.negotiate`:
Parties, proposals, statuses, deleted clauses), so the records are exported too.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from drafting.importers.akn import parse_akn  # noqa: E402
from drafting.importers.docx import parse_docx  # noqa: E402
from drafting.importing import import_markdown  # noqa: E402
from exporters.akn import export_akn  # noqa: E402
from exporters.docx import export_docx  # noqa: E402
from exporters.redline import export_redline  # noqa: E402
from exporters.validate import akn_problems  # noqa: E402
from tests.cop21 import COP21, COP21_FILES  # noqa: E402

T = TypeVar("T")
TARGET = 1.0
NEXT = {  # the revision after each draft, for the redline
    "draft-agreement-23-oct-2015.md": "draft-agreement-4-dec-2015.md",
    "draft-agreement-4-dec-2015.md": "draft-agreement-9-dec-2015.md",
    "draft-agreement-9-dec-2015.md": "draft-agreement-12-dec-2015.md",
    "draft-agreement-12-dec-2015.md": "paris-agreement-adopted.md",
}


def timed(action: Callable[[], T], runs: int) -> tuple[float, float, T]:
    times: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times), result


def measure(
    name: str, runs: int, negotiated: bool = False
) -> list[tuple[str, float, float, int, bool]]:
    text = import_markdown((COP21 / name).read_text("utf-8")).text
    if negotiated:
        from tests.exporters.samples import negotiate

        negotiate(text)
    following = NEXT.get(name)
    later = import_markdown((COP21 / following).read_text("utf-8")).text if following else text
    cases: list[tuple[str, Callable[[], bytes], bool]] = [
        ("akn negotiation", lambda: export_akn(text, "negotiation"), True),
        (
            "akn clean (--keep-brackets)",
            lambda: export_akn(text, "clean", keep_brackets=True),
            True,
        ),
        ("docx negotiation", lambda: export_docx(text, "negotiation"), True),
        (
            "docx clean (--keep-brackets)",
            lambda: export_docx(text, "clean", keep_brackets=True),
            True,
        ),
        (f"docx redline → {following or 'itself'}", lambda: export_redline(text, later), True),
    ]
    rows: list[tuple[str, float, float, int, bool]] = []
    outputs: dict[str, bytes] = {}
    for label, action, is_export in cases:
        best, median, data = timed(action, runs)
        outputs[label] = data
        rows.append((label, best, median, len(data), is_export))
    akn = outputs["akn negotiation"]
    docx = outputs["docx negotiation"]
    for label, action in (
        ("(AKN schema + own checks)", lambda: akn_problems(akn)),
        ("(AKN import)", lambda: parse_akn(akn)),
        ("(DOCX import)", lambda: parse_docx(docx)),
    ):
        best, median, _ = timed(action, runs)
        rows.append((label, best, median, 0, False))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--file", default="draft-agreement-23-oct-2015.md")
    parser.add_argument("--all", action="store_true", help="every file of the corpus")
    parser.add_argument("--negotiated", action="store_true", help="play a negotiation first")
    args = parser.parse_args()
    names = COP21_FILES if args.all else (args.file,)
    slow = False
    for name in names:
        print(f"\n{name} — best and median of {args.runs} runs")
        print(f"{'export':<44} {'best':>8} {'median':>8} {'bytes':>10}  target")
        for label, best, median, size, is_export in measure(name, args.runs, args.negotiated):
            verdict = ("ok" if best < TARGET else "SLOW") if is_export else ""
            slow = slow or verdict == "SLOW"
            shown = f"{size:>10,}" if size else f"{'':>10}"
            print(f"{label:<44} {best:>7.3f}s {median:>7.3f}s {shown}  {verdict}")
    return 1 if slow else 0


if __name__ == "__main__":
    sys.exit(main())
