"""Benchmark of the sync server against its peers: printed tables, not tests.

    .venv/bin/python bench/sync_bench.py            # everything, 12-13 minutes on 2 cores
    .venv/bin/python bench/sync_bench.py --quick    # a smaller version, ~3 minutes
    ... --sizes 10,50,200,500 --servers travaux,pycrdt-websocket,node
    ... --scenarios fanout,ingest,replay,cold,idle,quiet,clients --json results.json --keep
    ... --report results.json                        # print a saved run's tables again

Side by side in the same run, under the same load, on loopback: this server (`travaux
serve` on SQLite), the stock pycrdt-websocket server with its SQLite store, and the Node
reference server `@y/websocket-server`. Load comes from separate Node processes of real
y-websocket clients (bench/js/). Scenarios (issue 3): fan-out latency at N clients, ingest
of the automerge-paper trace, concurrent replay of friendsforever, cold load and idle
memory; and, without any server, the CPU that the fan-out's real clients need. Every
server and load process is stopped at the end of its run; runs that pass their time limit
are reported as "did not finish".

Editing traces: josephg/editing-traces, CC BY 4.0 (see /work/shared/bench-data/README.md).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from bench_procs import QUIET, install_cleanup, kill_all
from bench_report import (
    client_cost_table,
    cold_table,
    fanout_ratios,
    fanout_table,
    grouped,
    idle_table,
    ingest_table,
    machine,
    ms,
    quiet_table,
    renewals_gathered,
    replay_table,
    typical,
)
from bench_scenarios import (
    INGEST_JS,
    NODE,
    REPLAY_JS,
    ClientCostResult,
    ColdResult,
    FanoutResult,
    IdleResult,
    IngestData,
    IngestResult,
    Options,
    QuietResult,
    ReplayResult,
    client_cost_run,
    cold_log_runs,
    cold_run,
    fanout_run,
    idle_run,
    ingest_run,
    quiet_run,
    replay_run,
)
from bench_servers import SERVER_NAMES, ServerKind, Travaux, make_server

DATA = Path("/work/shared/bench-data")
COP21_DRAFT = Path("/work/shared/corpus/cop21/draft-agreement-23-oct-2015.md")
CACHE = Path.home() / ".cache" / "travaux-bench"
SCENARIOS = ("fanout", "ingest", "replay", "cold", "idle", "quiet", "clients")
OURS, REFERENCE = "travaux", "node"


@dataclasses.dataclass
class Results:
    fanout: list[FanoutResult] = dataclasses.field(default_factory=list)
    ingest: list[IngestResult] = dataclasses.field(default_factory=list)
    replay: list[ReplayResult] = dataclasses.field(default_factory=list)
    cold: list[ColdResult] = dataclasses.field(default_factory=list)
    idle: list[IdleResult] = dataclasses.field(default_factory=list)
    quiet: list[QuietResult] = dataclasses.field(default_factory=list)
    clients: list[ClientCostResult] = dataclasses.field(default_factory=list)


# -- arguments -------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Sync server benchmark: this server, pycrdt-websocket and the Node "
        "reference server side by side (printed tables).",
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, ~3 minutes")
    parser.add_argument("--sizes", help="clients per fan-out run (default 10,50,200,500)")
    parser.add_argument("--servers", default=",".join(SERVER_NAMES), help="default: %(default)s")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="default: %(default)s")
    parser.add_argument("--duration", type=float, help="seconds of typing per fan-out run")
    parser.add_argument(
        "--light-sizes",
        help="fan-out sizes to run again with light clients (raw sockets reading update "
        "metadata; the writers type without integrating the others' updates) besides real "
        "clients; default 500 (none with --quick)",
    )
    parser.add_argument(
        "--cursors",
        action="store_true",
        help="real writers also move their awareness cursor with each keystroke, as the "
        "browser's editor does (off by default, as in runs before 8 December 2026)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        metavar="K",
        help="make each fan-out run of at most 50 clients K times, interleaved between the "
        "servers, and compare the p99 of all their deliveries together and the median "
        "deliveries/s (default 3; 1 with --quick)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each server start, wait up to SECONDS for other processes on the "
        "machine to use < 25%% of a core (default: do not wait)",
    )
    parser.add_argument("--workdir", type=Path, help="where servers keep their files")
    parser.add_argument("--keep", action="store_true", help="keep the working directory")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument(
        "--report", type=Path, metavar="JSON", help="only print the tables of a saved run"
    )
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    for name in args.servers.split(","):
        if name not in SERVER_NAMES:
            parser.error(f"unknown server {name!r}; choose among {', '.join(SERVER_NAMES)}")
    for name in args.scenarios.split(","):
        if name not in SCENARIOS:
            parser.error(f"unknown scenario {name!r}; choose among {', '.join(SCENARIOS)}")
    return args


def make_options(args: argparse.Namespace, workdir: Path) -> Options:
    default_sizes = "10,50" if args.quick else "10,50,200,500"
    chosen = args.sizes if args.sizes is not None else default_sizes
    sizes = tuple(int(s) for s in chosen.split(",") if s)
    light = args.light_sizes if args.light_sizes is not None else ("" if args.quick else "500")
    light_sizes = tuple(int(s) for s in light.split(",") if s)
    if args.quick:
        return Options(
            workdir=workdir, quick=True, sizes=sizes, light_sizes=light_sizes,
            duration=args.duration or 8.0, drain=5.0,
            ingest_count=30_000, ingest_limit=20.0, replay_txns=8_000, replay_limit=60.0,
            cold_reps=1, cold_log=False, idle_rooms=20, idle_clients=100, settle=2.0,
            quiet_clients=100, quiet_seconds=20.0,
            repeat=args.repeat or 1, cursors=args.cursors,
        )  # fmt: skip
    return Options(
        workdir=workdir, quick=False, sizes=sizes, light_sizes=light_sizes,
        duration=args.duration or 15.0, repeat=args.repeat or 3, cursors=args.cursors,
    )  # fmt: skip


# -- cached inputs ---------------------------------------------------------------------------
def _cache_dir(name: str, source: Path, extra: str = "") -> Path:
    stat = source.stat()
    key = hashlib.sha1(f"{source}:{stat.st_size}:{stat.st_mtime}:{extra}".encode()).hexdigest()
    return CACHE / f"{name}-{key[:12]}"


def _node_step(args: list[str], what: str) -> dict[str, Any]:
    print(f"  preparing {what} (once; cached in {CACHE}) …", flush=True)
    run = subprocess.run([NODE, *args], capture_output=True, text=True, check=False)
    if run.returncode != 0:
        raise SystemExit(f"{what} failed:\n{run.stderr[-2000:]}")
    return dict(json.loads(run.stdout.strip().splitlines()[-1]))


def ingest_data() -> IngestData:
    trace = DATA / "automerge-paper.json.gz"
    directory = _cache_dir("automerge-paper", trace)
    if not (directory / "final.bin").exists():
        directory.mkdir(parents=True, exist_ok=True)
        config = {"trace": str(trace), "out": str(directory)}
        event = _node_step([str(INGEST_JS), "generate", json.dumps(config)], "the ingest updates")
        if not event.get("matchesEndContent"):
            raise SystemExit("replaying automerge-paper did not give its endContent")
    return IngestData.load(directory)


def replay_plan(txns: int | None) -> tuple[Path, str]:
    trace = DATA / "friendsforever.json.gz"
    # A new planner makes a new plan.
    planner = hashlib.sha1(REPLAY_JS.read_bytes()).hexdigest()[:12]
    directory = _cache_dir("friendsforever", trace, f"{txns}:{planner}")
    plan = directory / "plan.json"
    if not plan.exists():
        directory.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {"trace": str(trace), "out": str(plan)}
        if txns is not None:
            config["limit"] = txns
        event = _node_step([str(REPLAY_JS), "plan", json.dumps(config)], "the replay plan")
        if not event.get("planOk"):
            plan.unlink()
            raise SystemExit("the offline replay of friendsforever did not converge")
    return plan, str(json.loads(plan.read_text())["endContent"])


def cop21_update() -> bytes:
    from drafting.importing import import_markdown

    return bytes(import_markdown(COP21_DRAFT.read_text(encoding="utf-8")).text.to_update())


# -- running ---------------------------------------------------------------------------------
def section(title: str, started: float) -> None:
    print(f"\n## {title}   (t+{time.monotonic() - started:.0f} s)\n", flush=True)


def progress(message: str) -> None:
    print(f"  {message}", flush=True)


def fanout_plan(options: Options) -> list[tuple[int, str, int]]:
    """(N, readers, run) in the order they are made: the repetitions of the small rooms
    one after the other, then each larger room once; every server in turn at each step."""
    sizes = [(n, "real") for n in options.sizes] + [(n, "light") for n in options.light_sizes]
    small = [(n, readers) for n, readers in sizes if n <= options.repeat_up_to]
    plan = [(n, readers, run) for run in range(1, options.repeat + 1) for n, readers in small]
    return plan + [(n, readers, 1) for n, readers in sizes if n > options.repeat_up_to]


def run_fanout(servers: list[ServerKind], options: Options, results: Results) -> None:
    stalled: dict[str, int] = {}  # server -> smallest N whose clients did not all join
    for n, readers, run in fanout_plan(options):
        for kind in servers:
            if kind.name in stalled and n >= stalled[kind.name]:
                result = FanoutResult(kind.name, n, 0, readers, run=run)
                result.status = f"not run: its clients did not all join at N={stalled[kind.name]}"
            else:
                result = fanout_run(kind, n, options, readers, run)
            joined = not result.status.startswith(("did not finish: join", "not run"))
            if not joined and kind.name not in stalled:
                stalled[kind.name] = n
            results.fanout.append(result)
            p99 = "-" if result.p99 is None else f"{result.p99:.1f} ms"
            progress(
                f"{kind.name:17} N={n:<4} {readers:5} run {run}  p99 {p99:>10}  {result.status}"
            )
    print()
    print(fanout_table(results.fanout))
    if any(k.name == OURS for k in servers) and any(k.name == REFERENCE for k in servers):
        print(f"\nRatios, {OURS} against the Node reference server:\n")
        print(fanout_ratios(results.fanout, OURS, REFERENCE))


def run_ingest(servers: list[ServerKind], options: Options, results: Results) -> None:
    data = ingest_data()
    for kind in servers:
        result = ingest_run(kind, data, options)
        results.ingest.append(result)
        progress(f"{kind.name:17} {result.status}")
    print()
    print(ingest_table(results.ingest))
    ours = next((r for r in results.ingest if r.server == OURS), None)
    node = next((r for r in results.ingest if r.server == REFERENCE), None)
    if ours is not None and node is not None and node.visible_rate:
        durable = (
            "-" if ours.durable_rate is None else f"{ours.durable_rate / node.visible_rate:.2f}"
        )
        visible = (
            "-" if ours.visible_rate is None else f"{ours.visible_rate / node.visible_rate:.2f}"
        )
        print(
            f"\nRatio {OURS}/{REFERENCE} (Node keeps updates in memory only): durable "
            f"{durable}, second client complete {visible}"
        )


def run_replay(servers: list[ServerKind], options: Options, results: Results) -> None:
    plan, expected = replay_plan(options.replay_txns)
    for kind in servers:
        result = replay_run(kind, plan, expected, options)
        results.replay.append(result)
        progress(f"{kind.name:17} converged={result.converged} {result.status}")
        for stall in result.stalls:
            progress(f"{'':17} {stall}")
    print()
    print(replay_table(results.replay))


def run_cold(servers: list[ServerKind], options: Options, results: Results) -> None:
    data = ingest_data()
    documents = [
        ("automerge-paper (final doc)", data.final_update),
        ("COP21 draft 23 Oct 2015", cop21_update()),
    ]
    for kind in servers:
        for label, update in documents:
            results.cold.append(cold_run(kind, label, update, options.cold_reps))
        if options.cold_log and isinstance(kind, Travaux):
            results.cold.extend(cold_log_runs(kind, data, options.cold_reps))
        progress(f"{kind.name:17} done")
    print()
    print(cold_table(results.cold))


Measured = TypeVar("Measured", IdleResult, QuietResult)


def run_each(
    servers: list[ServerKind],
    options: Options,
    measure: Callable[[ServerKind, Options], Measured],
    into: list[Measured],
    table: Callable[[list[Measured]], str],
) -> None:
    """One measurement per server, then their table."""
    for kind in servers:
        result = measure(kind, options)
        into.append(result)
        progress(f"{kind.name:17} {result.status}")
    print()
    print(table(into))


def run_idle(servers: list[ServerKind], options: Options, results: Results) -> None:
    run_each(servers, options, idle_run, results.idle, idle_table)


def run_quiet(servers: list[ServerKind], options: Options, results: Results) -> None:
    run_each(servers, options, quiet_run, results.quiet, quiet_table)


def run_clients(servers: list[ServerKind], options: Options, results: Results) -> None:
    """No server: what the clients of the largest fan-out room need, by tick length, with
    awareness renewals gathered as this server does; and at 20 ms as they were before
    (each tick's renewals: what a server forwarding each change when it comes sends)."""
    from crdt_sync.connection import Limits  # late, as in bench_servers

    room = max((*options.sizes, *options.light_sizes), default=500)
    gathered = Limits().renewal_seconds * 1000
    runs = [(tick, gathered if tick else 0.0) for tick in options.cost_ticks_ms]
    if 20.0 in options.cost_ticks_ms:
        runs.append((20.0, 0.0))
    for tick, renewal_ms in runs:
        result = client_cost_run(tick, options, room, renewal_ms)
        results.clients.append(result)
        cores = "-" if result.cores_for_room is None else f"{result.cores_for_room:.2f}"
        renewals = f"renewals per {renewal_ms:g} ms" if renewal_ms else "renewals per tick"
        progress(
            f"tick {tick:g} ms, {renewals}: {room} real clients need {cores} cores  {result.status}"
        )
    print()
    print(client_cost_table(results.clients))


RUNNERS: dict[str, Callable[[list[ServerKind], Options, Results], None]] = {
    "fanout": run_fanout,
    "ingest": run_ingest,
    "replay": run_replay,
    "cold": run_cold,
    "idle": run_idle,
    "quiet": run_quiet,
    "clients": run_clients,
}
TITLES = {
    "fanout": "1. Fan-out: one room, 10 % of the clients typing 5 chars/s",
    "ingest": "2. Ingest: automerge-paper, one update per keystroke, pipelined by one client",
    "replay": "3. Concurrent replay: friendsforever, two clients at once",
    "cold": "4a. Cold load: a stored document to the first synced client (server restarted)",
    "idle": "4b. Memory: idle rooms and idle connections (server RSS deltas)",
    "quiet": "4c. A quiet room: real clients connected, nobody typing (CPU)",
    "clients": "5. What real clients cost: the fan-out's frames given to real y-websocket "
    "clients, no server",
}


# -- targets ---------------------------------------------------------------------------------
def _verdict(ok: bool | None) -> str:
    return "not measured" if ok is None else ("met" if ok else "NOT met")


def _delivered(result: FanoutResult) -> float:
    return result.delivered / result.expected if result.expected else 0.0


def _p99_verdict(mine: FanoutResult, theirs: FanoutResult) -> str:
    if mine.p99_all is None or theirs.p99_all is None:
        return "not measured"
    if math.isinf(mine.p99_all) and math.isinf(theirs.p99_all):
        return "not comparable (neither delivered 99 %)"
    return _verdict(mine.p99_all <= theirs.p99_all)


def _throughput_verdict(mine: FanoutResult, theirs: FanoutResult) -> str:
    if mine.throughput is None or theirs.throughput is None:
        return "not measured"
    ok = mine.throughput >= 0.97 * theirs.throughput and _delivered(mine) >= _delivered(theirs)
    return f"{_verdict(ok)} ({mine.throughput / theirs.throughput:.2f}×)"


def _large_room(big: FanoutResult | None, readers: str) -> str:
    """The target at 500 clients: all delivered, p99 ≤ 50 ms, RSS ≤ 1 GB."""
    ok = None
    detail = ""
    if big is not None:
        ok = bool(
            big.finished and big.converged and big.p99_all is not None and big.p99_all <= 50
            and big.rss_peak is not None and big.rss_peak <= 1024**3
        )  # fmt: skip
        rss = "-" if big.rss_peak is None else f"{big.rss_peak / 2**20:,.0f} MB"
        share = f"{100 * _delivered(big):.1f} % delivered" if big.expected else big.status
        detail = f" (p99 of all deliveries {ms(big.p99_all)} ms, RSS peak {rss}, {share})"
    return f"- 500 {readers} clients, p99 ≤ 50 ms and RSS ≤ 1 GB: {_verdict(ok)}{detail}"


def _clients_need(results: Results) -> list[str]:
    """What the real clients of the large room need by themselves (scenario 5)."""
    cores = os.cpu_count() or 0
    return [
        f"- without any server, the {r.room} real clients need {r.cores_for_room:.2f} cores "
        f"of this machine's {cores} with frames merged per {r.tick_ms:g} ms, "
        f"{renewals_gathered(r)} ({r.frames_per_second:.0f} frames/s each)"
        for r in results.clients
        if r.tick_ms == 20 and r.cores_for_room is not None and r.frames_per_second is not None
    ]


def targets(results: Results) -> list[str]:
    """Each target against this run's figures (of repeated fan-out runs, the p99 of all
    their deliveries together, the median deliveries/s)."""
    groups = grouped(results.fanout)
    ours, reference = (
        {(n, readers): typical(runs) for (name, n, readers), runs in groups.items() if name == who}
        for who in (OURS, REFERENCE)
    )
    lines = [_large_room(ours.get((500, "real")), "real"), *_clients_need(results)]
    if (500, "light") in ours:
        lines.append(_large_room(ours[(500, "light")], "light"))
    ingest = next((r for r in results.ingest if r.server == OURS), None)
    rate = None if ingest is None else ingest.durable_rate
    ok = None if ingest is None else (rate is not None and rate >= 10_000)
    scope = ""
    if ingest is not None:
        measured = f"{rate:,.0f}/s" if rate is not None else ingest.status
        scope = f" ({measured} over {ingest.count:,} updates)"
    lines.append(f"- ingest ≥ 10,000 durable updates/s: {_verdict(ok)}{scope}")
    for key in sorted(set(ours) & set(reference), key=lambda k: (k[1] != "real", k[0])):
        mine, theirs = ours[key], reference[key]
        runs = len(groups[(OURS, *key)])
        of = f", {runs} runs together" if runs > 1 else ""
        lines.append(
            f"- N={key[0]} ({key[1]} clients{of}): p99 no worse than Node: "
            f"{_p99_verdict(mine, theirs)}; throughput no worse than Node (≥ 0.97× its "
            f"deliveries/s, no smaller share delivered): {_throughput_verdict(mine, theirs)}"
        )
    return lines


def load_results(path: Path) -> Results:
    """Results saved with --json, to print their tables again (--report)."""
    data = json.loads(path.read_text())
    kinds: dict[str, type[Any]] = {
        "fanout": FanoutResult, "ingest": IngestResult, "replay": ReplayResult,
        "cold": ColdResult, "idle": IdleResult, "quiet": QuietResult,
        "clients": ClientCostResult,
    }  # fmt: skip
    results = Results()
    for name, kind in kinds.items():
        names = {f.name for f in dataclasses.fields(kind)}
        saved = data.get(name, [])  # runs saved before a scenario existed lack it
        items = [kind(**{k: v for k, v in item.items() if k in names}) for item in saved]
        getattr(results, name).extend(items)
    return results


def report(results: Results) -> None:
    """Every table of a finished run, and the targets."""
    printers: list[tuple[str, Callable[[], str]]] = [
        ("fanout", lambda: fanout_table(results.fanout)),
        ("fanout", lambda: fanout_ratios(results.fanout, OURS, REFERENCE)),
        ("ingest", lambda: ingest_table(results.ingest)),
        ("replay", lambda: replay_table(results.replay)),
        ("cold", lambda: cold_table(results.cold)),
        ("idle", lambda: idle_table(results.idle)),
        ("quiet", lambda: quiet_table(results.quiet)),
        ("clients", lambda: client_cost_table(results.clients)),
    ]
    for name, printer in printers:
        if getattr(results, name):
            print(f"\n{TITLES[name]}\n")
            print(printer())
    print("\nTargets (issue 3)\n")
    print("\n".join(targets(results)))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.report is not None:
        report(load_results(args.report))
        return 0
    install_cleanup()
    QUIET.max_wait = args.wait_quiet
    if not (Path(__file__).resolve().parents[1] / "node_modules" / "yjs").exists():
        raise SystemExit("run `npm install` in the repository first (node_modules is missing)")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="travaux-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    options = make_options(args, workdir)
    servers = [make_server(name, workdir) for name in args.servers.split(",")]
    results = Results()
    started = time.monotonic()
    print("# Sync benchmark" + (" (--quick)" if options.quick else ""))
    print(machine())
    print(f"- working directory: {workdir}")
    try:
        for name in args.scenarios.split(","):
            section(TITLES[name], started)
            RUNNERS[name](servers, options, results)
        section("Targets (issue 3)", started)
        print("\n".join(targets(results)))
    finally:
        kill_all()
        if args.json is not None:
            payload = {"options": dataclasses.asdict(options), **dataclasses.asdict(results)}
            args.json.write_text(json.dumps(payload, indent=1, default=str))
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    waited = f" (of which {QUIET.waited:.0f} s waiting for a quiet machine)" if QUIET.waited else ""
    print(f"\ntotal {time.monotonic() - started:.0f} s{waited}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
