"""Tables and context for the sync benchmark: Markdown tables, the machine, the versions."""

from __future__ import annotations

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
    ReplayResult,
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
def fanout_table(results: Sequence[FanoutResult]) -> str:
    headers = [
        "server", "N", "readers", "join s", "inserts/s", "delivered", "p50 ms", "p99 ms",
        "max ms", "p99 all ms", "deliveries/s", "converged", "server CPU %", "load CPU %",
        "machine CPU %", "others CPU %", "RSS end/peak MB", "closes", "status",
    ]  # fmt: skip
    rows = []
    for r in results:
        delivered = f"{100 * r.delivered / r.expected:.1f} %" if r.expected else "-"
        closes = ", ".join(f"{c}×{n}" for c, n in sorted(r.close_codes.items())) or "-"
        rows.append(
            [
                r.server, str(r.n), r.readers, num(r.join_s, 1), num(r.insert_rate, 1),
                delivered, ms(r.p50), ms(r.p99), ms(r.max), ms(r.p99_all), num(r.throughput),
                yes_no(r.converged), num(r.cpu), num(r.load_cpu), num(r.machine_cpu),
                num(r.other_cpu),
                f"{mb(r.rss_end)} / {mb(r.rss_peak)}", closes, short(r.status),
            ]
        )  # fmt: skip
    return table(headers, rows)


def fanout_ratios(results: Sequence[FanoutResult], ours: str, reference: str) -> str:
    by_key = {(r.server, r.n, r.readers): r for r in results}
    rows = []
    pairs = sorted({(r.n, r.readers) for r in results}, key=lambda k: (k[1] != "real", k[0]))
    for n, readers in pairs:
        mine, theirs = by_key.get((ours, n, readers)), by_key.get((reference, n, readers))
        if mine is None or theirs is None:
            continue
        rows.append(
            [
                str(n), readers, ms(mine.p99_all), ms(theirs.p99_all),
                ratio(mine.p99_all, theirs.p99_all),
                num(mine.throughput), num(theirs.throughput),
                ratio(mine.throughput, theirs.throughput),
            ]
        )  # fmt: skip
    headers = [
        "N", "readers", f"p99 all {ours}", f"p99 all {reference}", "p99 ratio (≤ 1 is better)",
        f"deliveries/s {ours}", f"deliveries/s {reference}", "throughput ratio (≥ 1 is better)",
    ]  # fmt: skip
    return table(headers, rows) if rows else "(no pair of runs to compare)"


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


def client_cost_table(results: Sequence[ClientCostResult]) -> str:
    headers = [
        "frames", "room", "clients run", "frames/s per client", "CPU per client, % of a core",
        "cores the room's clients need", "same text", "status",
    ]  # fmt: skip
    rows = [
        [
            "one per keystroke" if r.tick_ms == 0 else f"merged per {r.tick_ms:g} ms",
            str(r.room), str(r.clients), num(r.frames_per_second),
            num(None if r.core_per_client is None else 100 * r.core_per_client, 2),
            num(r.cores_for_room, 2), yes_no(r.converged), short(r.status),
        ]
        for r in results
    ]  # fmt: skip
    return table(headers, rows)
