"""Benchmark: clause history from the update log, and whole-text diffs of COP21 drafts.

    /tmp/venv/bin/python bench/history_bench.py [CORPUS_DIR] [--repeat N] [--db URL]

Targets (issue 5): the history of a clause with 10,000 changes in under 200 ms; a
whole-text diff of two COP21 drafts in under 1 s. Prints a table (milliseconds; best of N
unless the row says "once": indexing happens once per log entry, so its cold cost is
measured on a fresh store each time).
"""

from __future__ import annotations

import argparse
import random
import statistics as stats
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from crdt_sync import history_store as hs
from crdt_sync.models import UpdateRow
from crdt_sync.store import Store
from drafting.clauses import delete_words, insert_words, words_of
from drafting.diffs import diff_texts
from drafting.history import HistoryIndexer, LogEntry, recording
from drafting.importing import import_markdown
from drafting.matching import match_texts
from drafting.redraft import redraft
from drafting.schema import NegotiationText

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "cop21"
CHANGES = 10_000


def best_of(repeat: int, work: Callable[[], Any]) -> tuple[float, float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - start) * 1000)
    return min(times), stats.median(times), result


def keystrokes(
    text: NegotiationText, clause: str, origins: list[str], burst: int, *, own_places: bool = False
) -> list[tuple[bytes, str]]:
    """CHANGES edits of one clause, as editors send them: one update per keystroke, typing
    with a few backspaces, the person at the keyboard changing every `burst` keystrokes.
    They carry on where the previous one stopped, or (`own_places`) each types at a place of
    their own in the clause, as two people editing it at once do."""
    rng = random.Random(5)
    updates: list[tuple[bytes, str]] = []
    length = len(words_of(text, clause))
    at = {o: length * (i + 1) // (len(origins) + 1) for i, o in enumerate(origins)}
    if not own_places:
        at = dict.fromkeys(origins, length // 2)
    for n in range(CHANGES):
        origin = origins[(n // burst) % len(origins)]
        here = at[origin]
        with recording(text) as made:
            if n % 9 == 8 and here > 0:
                delete_words(text, clause, here - 1, here)
                step = -1
            else:
                insert_words(text, clause, here, rng.choice("abcdefghij "))
                step = 1
        updates.extend((u, origin) for u in made)
        for other, place in at.items():  # the others' places move with the words
            moves = place > here or (place == here and (step < 0 or other > origin))
            if other == origin or not own_places or moves:
                at[other] = place + step
    return updates


KEYSTROKE = timedelta(seconds=0.25)  # four keystrokes a second, as people type
COMMIT = 20  # updates per group commit of the server
INDEX_EVERY = 250  # updates between two runs of the background indexing (~1 min of typing)


def typed_at(store: Store, ids: list[int], only_last: int | None = None) -> None:
    """Give the log entries the times of typing (appended at once, they share one); with
    `only_last`, only to the last ones of `ids`, the others have theirs."""
    start = datetime(2015, 12, 9, 9, 0, tzinfo=UTC)
    first = len(ids) - only_last if only_last else 0
    with Session(store.engine) as session, session.begin():
        session.execute(
            update(UpdateRow),
            [{"id": i, "created": start + n * KEYSTROKE} for n, i in enumerate(ids) if n >= first],
        )


def stored_log(store: Store, base: bytes, updates: list[tuple[bytes, str]]) -> str:
    """A text whose log is the import and then `updates`, typed at four a second."""
    text_id = store.create_text(base, title="bench", kind="treaty", origin="import")
    ids: list[int] = []
    for i in range(0, len(updates), 2000):
        ids += store.append_many([(text_id, u, o) for u, o in updates[i : i + 2000]])
    typed_at(store, ids)
    return text_id


def history_rows(corpus: Path, repeat: int, db: str | None) -> list[tuple[str, float, float, str]]:
    rows = []
    source = (corpus / "draft-agreement-9-dec-2015.md").read_text(encoding="utf-8")
    for label, origins, burst, own_places in [
        ("5 people, bursts of 500 keystrokes", [f"connection:{i}" for i in range(5)], 500, False),
        ("2 people typing at once, each at their place", ["connection:a", "connection:b"], 1, True),
    ]:
        text = import_markdown(source).text
        clause = next(r.id for r in text.clauses() if len(str(r.words)) > 300)
        base = text.to_update()
        updates = keystrokes(text, clause, origins, burst, own_places=own_places)
        colds, firsts, warms, jsons, polls, entries = [], [], [], [], [], 0
        for _ in range(max(1, repeat // 2)):
            with tempfile.TemporaryDirectory() as tmp:
                store = Store(db or f"sqlite:///{tmp}/bench.sqlite3")

                def read(s: Store = store, t: str = "", c: str = clause) -> Any:
                    return hs.clause_history(s, t, c)

                # Cold: nothing indexed yet (a new cache, or rules changed): 10,000 to index.
                text_id = stored_log(store, base, updates)
                colds.append(best_of(1, lambda t=text_id: read(t=t))[0])
                # As a server runs: the log indexed in the background while it was written.
                text_id = store.create_text(base, title="bench", kind="treaty", origin="import")
                indexing = hs.HistoryIndexing(store)
                ids: list[int] = []
                for i in range(0, len(updates), INDEX_EVERY):
                    for j in range(i, min(i + INDEX_EVERY, len(updates)), COMMIT):
                        group = updates[j : min(j + COMMIT, i + INDEX_EVERY)]
                        ids += store.append_many([(text_id, u, o) for u, o in group])
                    typed_at(store, ids, only_last=INDEX_EVERY)
                    polls.append(best_of(1, indexing.run_once)[0])
                firsts.append(best_of(1, lambda t=text_id: read(t=t))[0])
                warm, _, found = best_of(repeat, lambda t=text_id: read(t=t))
                warms.append(warm)
                as_json = best_of(repeat, lambda t=text_id: [e.to_json() for e in read(t=t)])[0]
                jsons.append(as_json)
                store.close()
            entries = len(found)
        note = f"{entries} entries"
        rows += [
            (f"history, {label}: first read, indexed in the background", *span(firsts), note),
            (f"history, {label}: later reads", *span(warms), note),
            (f"history, {label}: later reads, with diffs as JSON", *span(jsons), note),
            (
                f"history, {label}: cold first read (indexes 10,000 updates)",
                *span(colds),
                note,
            ),
            (
                f"  background indexing, each run (every {INDEX_EVERY} updates)",
                *span(polls),
                f"max {max(polls):.0f} ms",
            ),
        ]
        start = datetime(2015, 12, 9, tzinfo=UTC)
        log = [LogEntry(1, base, "import", start)] + [
            LogEntry(i + 2, u, o, start + i * KEYSTROKE) for i, (u, o) in enumerate(updates)
        ]
        pure, median, _ = best_of(repeat, lambda lg=log: HistoryIndexer().feed(lg))
        rows.append((f"indexing alone (no database), {label}", pure, median, f"{len(log)} updates"))
    return rows


def span(times: list[float]) -> tuple[float, float]:
    return min(times), stats.median(times)


def diff_rows(corpus: Path, repeat: int) -> list[tuple[str, float, float, str]]:
    names = {
        "23 Oct": "draft-agreement-23-oct-2015.md",
        "4 Dec": "draft-agreement-4-dec-2015.md",
        "9 Dec": "draft-agreement-9-dec-2015.md",
        "12 Dec": "draft-agreement-12-dec-2015.md",
    }
    drafts = {
        k: import_markdown((corpus / v).read_text(encoding="utf-8")).text for k, v in names.items()
    }
    # One text, the later drafts loaded into it as revisions (what `travaux diff` compares).
    text = NegotiationText.from_update(drafts["23 Oct"].to_update())
    states = {"23 Oct": text.to_update()}
    for label in ("4 Dec", "9 Dec", "12 Dec"):
        redraft(text, drafts[label])
        states[label] = text.to_update()
    rows = []
    for old, new in [
        ("23 Oct", "4 Dec"),
        ("4 Dec", "9 Dec"),
        ("9 Dec", "12 Dec"),
        ("23 Oct", "12 Dec"),
    ]:
        a, b = NegotiationText.from_update(states[old]), NegotiationText.from_update(states[new])
        best, median, diff = best_of(repeat, lambda a=a, b=b: diff_texts(a, b))
        changed = len(diff.changed())
        rows.append(
            (
                f"diff of revisions {old} -> {new} (one text)",
                best,
                median,
                f"{changed} clauses changed",
            )
        )
        opened, median_opened, _ = best_of(
            repeat,
            lambda o=states[old], n=states[new]: diff_texts(
                NegotiationText.from_update(o), NegotiationText.from_update(n)
            ),
        )
        rows.append(("  the same, opening both revisions first", opened, median_opened, ""))
    for old, new in [("23 Oct", "4 Dec"), ("9 Dec", "12 Dec")]:
        a, b = drafts[old], drafts[new]
        best, median, _ = best_of(
            repeat, lambda a=a, b=b: diff_texts(a, b, pairs=match_texts(a, b).pairs)
        )
        rows.append((f"diff of two files {old} -> {new}, matching included", best, median, ""))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", help="database URL for the history rows (default: SQLite file)")
    args = parser.parse_args()
    rows = history_rows(args.corpus, args.repeat, args.db) + diff_rows(args.corpus, args.repeat)
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'best':>8}  {'median':>8}  note")
    print("-" * (width + 30))
    for what, best, median, note in rows:
        print(f"{what:<{width}}  {best:>8.1f}  {median:>8.1f}  {note}")


if __name__ == "__main__":
    main()
