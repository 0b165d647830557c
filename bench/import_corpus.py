"""Benchmark: import, views and statistics of the COP21 corpus (a printed table, not a test).

    .venv/bin/python bench/import_corpus.py [CORPUS_DIR] [--repeat N]

For each file: parse (Markdown → tree), build (tree → CRDT document), encode (the update
a store would keep), the bracketed and clean views, statistics. Best of N runs, in ms.
"""

from __future__ import annotations

import argparse
import statistics as stats
import time
from pathlib import Path

from drafting.importers.unfccc_markdown import parse_markdown
from drafting.importing import build_text
from drafting.statistics import statistics
from drafting.views import bracketed_text, clean_text

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cop21"


def best_of(repeat: int, work):
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), stats.median(times), result


def import_and_encode(source: str) -> bytes:
    """What `travaux import` does before the store: parse, build, encode."""
    return build_text(parse_markdown(source)).to_update()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    files = sorted(p for p in args.corpus.glob("*.md") if p.name != "README.md")
    header = (
        f"{'file':34} {'KB':>5} {'parse':>7} {'build':>7} {'encode':>7} {'total':>7}"
        f" {'bracketed':>9} {'clean':>7} {'stats':>7} {'clauses':>7} {'brackets':>8}"
    )
    print(f"best of {args.repeat} runs, milliseconds")
    print(header)
    print("-" * len(header))
    for path in files:
        source = path.read_text(encoding="utf-8")
        parse_ms, _, parsed = best_of(args.repeat, lambda s=source: parse_markdown(s))
        build_ms, _, text = best_of(args.repeat, lambda p=parsed: build_text(p))
        encode_ms, _, _ = best_of(args.repeat, text.to_update)
        total_ms, _, _ = best_of(args.repeat, lambda s=source: import_and_encode(s))
        view_ms, _, _ = best_of(args.repeat, lambda t=text: bracketed_text(t))
        clean_ms, _, _ = best_of(args.repeat, lambda t=text: clean_text(t))
        stats_ms, _, figures = best_of(args.repeat, lambda t=text: statistics(t))
        print(
            f"{path.name:34} {len(source.encode()) / 1024:5.0f} {parse_ms:7.1f} {build_ms:7.1f}"
            f" {encode_ms:7.1f} {total_ms:7.1f} {view_ms:9.1f} {clean_ms:7.1f} {stats_ms:7.1f}"
            f" {figures['clauses']:7} {figures['brackets']:8}"
        )


if __name__ == "__main__":
    main()
