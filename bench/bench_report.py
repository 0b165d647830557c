"""Tables and context for the sync benchmark: Markdown tables, the machine, the versions."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import os
import platform
import statistics
import subprocess
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import psutil
from bench_scenarios import (
    MB,
    ClientCostResult,
    ColdResult,
    FanoutResult,
    IdleResult,
    IngestResult,
    QuietResult,
    ReplayResult,
    pooled_p99,
)

REPO = Path(__file__).resolve().parents[1]
PYTHON_PACKAGES = (
    "pycrdt", "pycrdt-websocket", "pycrdt-store", "uvicorn", "websockets", "starlette",
    "SQLAlchemy",
)  # fmt: skip
NODE_PACKAGES = ("yjs", "y-websocket", "y-protocols", "ws", "@y/websocket-server")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub Markdown table, columns padded for reading in a terminal."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join([line, rule, *body])


def ms(value: float | None) -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "∞"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def num(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def mb(value: float | None) -> str:
    return "-" if value is None else f"{value / MB:,.0f}"


def yes_no(value: bool | None) -> str:
    return "-" if value is None else ("yes" if value else "NO")


def ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or theirs == 0:
        return "-"
    if math.isinf(ours) or math.isinf(theirs):
        return "∞ vs ∞" if ours == theirs else ("∞" if math.isinf(ours) else "0")
    return f"{ours / theirs:.2f}"


def short(status: str, width: int = 120) -> str:
    return status if len(status) <= width else status[: width - 1] + "…"


# -- context ---------------------------------------------------------------------------------
def _node_version() -> str:
    try:
        return subprocess.run(
            ["node", "--version"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "missing"


def _npm_version(package: str) -> str:
    import json

    path = REPO / "node_modules" / package / "package.json"
    try:
        return str(json.loads(path.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return "missing"


def _python_version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "missing"


def _git_revision() -> str:
    try:
        run = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return run.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    python = ", ".join(f"{p} {_python_version(p)}" for p in PYTHON_PACKAGES)
    node = ", ".join(f"{p} {_npm_version(p)}" for p in NODE_PACKAGES)
    return "\n".join(
        [
            f"- date: {now}; travaux revision {_git_revision()}",
            f"- machine: {cores} cores ({_cpu_model()}), "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM, "
            f"Linux {platform.release()}",
            f"- Python {platform.python_version()}: {python}",
            f"- Node {_node_version()}: {node}",
            f"- command: {' '.join([Path(sys.argv[0]).name, *sys.argv[1:]])}",
        ]
    )


# -- tables ----------------------------------------------------------------------------------
def typical(runs: Sequence[FanoutResult]) -> FanoutResult:
    """Repeated runs of one server, size and kind of reader as one: the p99 of all their
    deliveries together (`pooled_p99`; the median of the runs' own, for runs saved without
    their slowest latencies), the median of the other figures the comparisons use (p50,
    throughput, the share delivered), the largest RSS, converged and finished only if
    every run was."""
    if len(runs) == 1:
        return runs[0]
    pooled = pooled_p99(runs)
    return dataclasses.replace(
        runs[0],
        p50=_median([r.p50 for r in runs]),
        p99=_median([r.p99 for r in runs]),
        p99_all=pooled if pooled is not None else _median([r.p99_all for r in runs]),
        throughput=_median([r.throughput for r in runs]),
        # The median share delivered, as parts per million (what `delivered / expected` reads).
        delivered=round(statistics.median(r.delivered / (r.expected or 1) for r in runs) * 10**6),
        expected=10**6,
        converged=all(r.converged for r in runs),
        rss_peak=max((r.rss_peak for r in runs if r.rss_peak is not None), default=None),
        status=next((r.status for r in runs if not r.finished), "ok"),
    )


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def grouped(results: Sequence[FanoutResult]) -> dict[tuple[str, int, str], list[FanoutResult]]:
    """The runs of each (server, N, readers)."""
    groups: dict[tuple[str, int, str], list[FanoutResult]] = {}
    for r in results:
        groups.setdefault((r.server, r.n, r.readers), []).append(r)
    return groups


def fanout_table(results: Sequence[FanoutResult]) -> str:
    headers = [
        "server", "N", "readers", "run", "join s", "inserts/s", "delivered", "p50 ms", "p99 ms",
        "max ms", "p99 all ms", "deliveries/s", "converged", "server CPU %", "load CPU %",
        "machine CPU %", "others CPU %", "RSS end/peak MB", "closes", "status",
    ]  # fmt: skip
    rows = []
    for r in results:
        delivered = f"{100 * r.delivered / r.expected:.1f} %" if r.expected else "-"
        closes = ", ".join(f"{c}×{n}" for c, n in sorted(r.close_codes.items())) or "-"
        rows.append(
            [
                r.server, str(r.n), r.readers, str(r.run), num(r.join_s, 1), num(r.insert_rate, 1),
                delivered, ms(r.p50), ms(r.p99), ms(r.max), ms(r.p99_all), num(r.throughput),
                yes_no(r.converged), num(r.cpu), num(r.load_cpu), num(r.machine_cpu),
                num(r.other_cpu),
                f"{mb(r.rss_end)} / {mb(r.rss_peak)}", closes, short(r.status),
            ]
        )  # fmt: skip
    return table(headers, rows)


def fanout_ratios(results: Sequence[FanoutResult], ours: str, reference: str) -> str:
    """Ours against the reference at each size: of repeated runs, the p99 of all their
    deliveries and the range of the runs' own, the median deliveries/s, and in how many
    pairs of runs (the i-th of each) ours was no worse."""
    groups = grouped(results)
    rows = []
    pairs = sorted({(r.n, r.readers) for r in results}, key=lambda k: (k[1] != "real", k[0]))
    for n, readers in pairs:
        mine, theirs = groups.get((ours, n, readers)), groups.get((reference, n, readers))
        if not mine or not theirs:
            continue
        a, b = typical(mine), typical(theirs)
        rows.append(
            [
                str(n), readers, str(min(len(mine), len(theirs))),
                _spread(a.p99_all, mine), _spread(b.p99_all, theirs),
                ratio(a.p99_all, b.p99_all), _pairs_won(mine, theirs),
                num(a.throughput), num(b.throughput), ratio(a.throughput, b.throughput),
            ]
        )  # fmt: skip
    headers = [
        "N", "readers", "runs", f"p99 all {ours}, runs together (each run)",
        f"p99 all {reference}, runs together (each run)",
        "p99 ratio (≤ 1 is better)", "pairs no worse", f"deliveries/s {ours}",
        f"deliveries/s {reference}", "throughput ratio (≥ 1 is better)",
    ]  # fmt: skip
    return table(headers, rows) if rows else "(no pair of runs to compare)"


def _spread(together: float | None, runs: Sequence[FanoutResult]) -> str:
    """The runs' p99 taken together, and the range of their own when there are several."""
    values = [r.p99_all for r in runs if r.p99_all is not None]
    if len(values) < 2:
        return ms(together)
    return f"{ms(together)} ({ms(min(values))}–{ms(max(values))})"


def _pairs_won(mine: Sequence[FanoutResult], theirs: Sequence[FanoutResult]) -> str:
    pairs = [
        (a.p99_all, b.p99_all)
        for a, b in zip(mine, theirs, strict=False)
        if a.p99_all is not None and b.p99_all is not None
    ]
    return f"{sum(a <= b for a, b in pairs)} of {len(pairs)}" if pairs else "-"


def ingest_table(results: Sequence[IngestResult]) -> str:
    headers = [
        "server", "updates", "client sent all s", "durable", "all stored s",
        "durable updates/s", "2nd client complete s", "visible updates/s", "server CPU %",
        "others CPU %", "RSS peak MB", "closed", "status",
    ]  # fmt: skip
    rows = [
        [
            r.server, f"{r.count:,}", num(r.flushed_s, 1), r.durable_kind or "-",
            num(r.durable_s, 1), num(r.durable_rate), num(r.visible_s, 1),
            num(r.visible_rate), num(r.cpu), num(r.other_cpu), mb(r.rss_peak), r.close or "-",
            short(r.status),
        ]
        for r in results
    ]  # fmt: skip
    return table(headers, rows)


def replay_table(results: Sequence[ReplayResult]) -> str:
    headers = [
        "server", "txns", "both clients = endContent", "server doc = endContent", "seconds",
        "dependency waits", "server CPU %", "others CPU %", "closes", "status",
    ]  # fmt: skip
    rows = []
    for r in results:
        closes = ", ".join(f"{c}×{n}" for c, n in sorted(r.close_codes.items())) or "-"
        rows.append(
            [
                r.server, f"{r.txns:,}", yes_no(r.converged), yes_no(r.server_text_ok),
                num(r.seconds, 2), str(r.waits), num(r.cpu), num(r.other_cpu), closes,
                short(r.status),
            ]
        )  # fmt: skip
    return table(headers, rows)


def cold_table(results: Sequence[ColdResult]) -> str:
    headers = [
        "server", "document", "stored KB", "first client synced, ms (each run)", "median ms",
        "RSS loaded MB", "status",
    ]  # fmt: skip
    rows = [
        [
            r.server, r.document, num(r.size / 1024), ", ".join(ms(s * 1000) for s in r.seconds),
            ms(statistics.median(r.seconds) * 1000) if r.seconds else "-", mb(r.rss_loaded),
            short(r.status),
        ]
        for r in results
    ]  # fmt: skip
    return table(headers, rows)


def idle_table(results: Sequence[IdleResult]) -> str:
    headers = [
        "server", "rooms (1 client each)", "KB per idle room", "clients in one room",
        "KB per idle connection", "join s", "RSS MB (rooms / clients)", "status",
    ]  # fmt: skip
    rows = [
        [
            r.server, str(r.rooms), num(None if r.per_room is None else r.per_room / 1024),
            str(r.clients),
            num(None if r.per_connection is None else r.per_connection / 1024),
            num(r.join_s, 1), f"{mb(r.rss_rooms)} / {mb(r.rss_clients)}", short(r.status),
        ]
        for r in results
    ]  # fmt: skip
    return table(headers, rows)


def quiet_table(results: Sequence[QuietResult]) -> str:
    headers = [
        "server", "clients", "seconds measured", "join s", "server CPU %", "load CPU %",
        "machine CPU %", "others CPU %", "status",
    ]  # fmt: skip
    rows = [
        [
            r.server, str(r.clients), num(r.seconds, 0), num(r.join_s, 1), num(r.server_cpu, 1),
            num(r.load_cpu, 1), num(r.machine_cpu, 1), num(r.other_cpu, 1), short(r.status),
        ]
        for r in results
    ]  # fmt: skip
    return table(headers, rows)


def renewals_gathered(result: ClientCostResult) -> str:
    if result.renewal_ms:
        return f"awareness renewals per {result.renewal_ms / 1000:g} s"
    return "awareness renewals per tick"


def client_cost_table(results: Sequence[ClientCostResult]) -> str:
    headers = [
        "frames", "awareness renewals", "room", "clients run", "frames/s per client",
        "CPU per client, % of a core",
        "cores the room's clients need", "same text", "status",
    ]  # fmt: skip
    rows = [
        [
            "one per keystroke" if r.tick_ms == 0 else f"merged per {r.tick_ms:g} ms",
            renewals_gathered(r).removeprefix("awareness renewals "),
            str(r.room), str(r.clients), num(r.frames_per_second),
            num(None if r.core_per_client is None else 100 * r.core_per_client, 2),
            num(r.cores_for_room, 2), yes_no(r.converged), short(r.status),
        ]
        for r in results
    ]  # fmt: skip
    return table(headers, rows)
