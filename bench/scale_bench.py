"""Benchmark of several server processes (issue 8): printed tables, not tests.

    .venv/bin/python bench/scale_bench.py                 # 1, 2, 4 processes at 500 clients
    .venv/bin/python bench/scale_bench.py --quick         # 100 clients, 8 s of typing
    ... --processes 1,2,4 --clients 500 --readers light,real --duration 15 --hop-sizes 100,500
    ... --pg postgresql+psycopg://postgres@127.0.0.1:5432/test --redis redis://127.0.0.1:6379/0
    ... --json results.json --keep

One room, `--clients` y-websocket clients (bench/js/load.cjs: ≤ 125 clients per Node load
process, each signed in with a token), a tenth of them typing 5 characters per second.
The server processes are `travaux serve --db <PostgreSQL> --redis <Redis>`, each on its
own port as on its own machine; load process i connects to server i mod P, so the clients
are spread evenly. Every run uses a fresh PostgreSQL schema and a fresh Redis channel
prefix. Reported per run: fan-out latency (each character, from its writer to every
reader, one wall clock), delivered/expected, deliveries per second, convergence, and the
CPU of the servers (together), PostgreSQL, Redis, the load processes and the machine.

1. **Scale**: a single process without Redis (the plain default, on PostgreSQL), then 1, 2
   and 4 processes with Redis.
2. **The Redis hop**: two processes, every writer on the first; readers on the first get
   same-process deliveries, readers on the second cross-process ones (commit, publish,
   Redis, subscriber, apply, tick). The difference is what the hop costs.

All processes share the machine's cores: on a 2-core machine, more processes cannot mean
more CPU, only how the same CPU is divided (see docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import math
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from bench_procs import Abort, Child, Deadline, Sampler, install_cleanup, kill_all, wait_all
from bench_report import machine, ms, num, table
from bench_scenarios import (
    Options,
    merge_sends,
    p99_of_expected,
    percentile,
    read_latencies,
    start_load_worker,
    stop_load,
)
from bench_servers import REPO, Running, Travaux, free_port, wait_for_port

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


@dataclasses.dataclass
class Run:
    label: str
    processes: int
    redis: bool
    clients: int
    writers: int
    readers: str
    duration: float = 15.0
    status: str = "ok"
    join_s: float | None = None
    inserts: int = 0
    delivered: int = 0
    expected: int = 0
    p50: float | None = None
    p99: float | None = None
    max: float | None = None
    p99_all: float | None = None
    throughput: float | None = None
    converged: bool | None = None
    servers_cpu: float | None = None  # % of one core, the server processes together
    postgres_cpu: float | None = None
    redis_cpu: float | None = None
    load_cpu: float | None = None
    machine_cpu: float | None = None
    other_cpu: float | None = None
    rss_mb: float | None = None  # the largest server process
    # The hop runs: latencies of readers on the writers' process, and on the other one.
    same: dict[str, float | None] = dataclasses.field(default_factory=dict)
    cross: dict[str, float | None] = dataclasses.field(default_factory=dict)


class Cluster(Travaux):
    """`travaux serve` processes on one PostgreSQL schema and one Redis prefix."""

    def __init__(self, workdir: Path, pg_url: str, redis_url: str | None) -> None:
        super().__init__("travaux", workdir)
        self.pg_url = pg_url
        self.redis_url = redis_url
        self.prefix = f"travaux-bench-{secrets.token_hex(4)}"

    @property
    def db_url(self) -> str:
        return self.pg_url

    def command(self, port: int) -> list[str]:
        command = [*super().command(port)]
        if self.redis_url:
            command += ["--redis", self.redis_url, "--redis-prefix", self.prefix]
        return command


class Services:
    """CPU of the PostgreSQL and Redis servers (whoever started them)."""

    def __init__(self) -> None:
        self.processes = {
            name: [p for p in psutil.process_iter(["name"]) if p.info["name"] == name]
            for name in ("postgres", "redis-server")
        }
        self.totals: dict[str, float] = {}
        self.started = 0.0

    def mark(self) -> None:
        self.started = time.monotonic()
        self.totals = {name: self._cpu_seconds(name) for name in self.processes}

    def mean(self, name: str) -> float | None:
        elapsed = time.monotonic() - self.started
        if not self.processes[name] or elapsed <= 0:
            return None
        return 100 * (self._cpu_seconds(name) - self.totals[name]) / elapsed

    def _cpu_seconds(self, name: str) -> float:
        total = 0.0
        for process in self.processes[name]:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                continue
        return total


def pg_schema(base: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"travaux_bench_{secrets.token_hex(5)}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()

    url = (
        make_url(base)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    return url, drop


def start_servers(kind: Cluster, count: int, tag: str) -> list[Running]:
    children = []
    for n in range(count):
        port = free_port()
        log = kind.workdir / f"server-{tag}-{n}.log"
        children.append((Child(kind.command(port), log=log, cwd=REPO), port))
    running = []
    for child, port in children:
        wait_for_port(port, child, timeout=60)
        running.append(Running(kind, child, port, Sampler(child.pid)))
    return running


def one_run(run: Run, options: Options, args: argparse.Namespace, hop: bool = False) -> Run:
    url, drop = pg_schema(args.pg)
    workdir = options.workdir / run.label.replace(" ", "-")
    workdir.mkdir(parents=True, exist_ok=True)
    kind = Cluster(workdir, url, args.redis if run.redis else None)
    from crdt_sync.store import Store

    Store(url).close()  # the schema, before several processes race to create it
    servers: list[Running] = []
    workers: list[Child] = []
    try:
        servers = start_servers(kind, run.processes, run.label.replace(" ", "-"))
        room = kind.create_room("scale")
        _fanout(run, servers, room, workdir, options, workers, hop)
    except Abort as error:
        run.status = f"did not finish: {error}"
    finally:
        stop_load(workers)
        for server in servers:
            run.rss_mb = max(run.rss_mb or 0, server.sampler.peak_rss() / 2**20)
            server.stop()
        drop()
    return run


def _fanout(
    run: Run,
    servers: list[Running],
    room: str,
    out: Path,
    options: Options,
    workers: list[Child],
    hop: bool,
) -> None:
    parts = max(2 if hop else len(servers), math.ceil(run.clients / options.per_process))
    if not hop:
        parts = math.ceil(parts / len(servers)) * len(servers)  # the same count per server
    sizes = [run.clients // parts + (1 if i < run.clients % parts else 0) for i in range(parts)]
    if hop:  # every writer on the first process, in the first load process
        writer_split = [run.writers] + [0] * (parts - 1)
        targets = [0 if i < parts // 2 else 1 for i in range(parts)]
    else:
        writer_split = [
            run.writers // parts + (1 if i < run.writers % parts else 0) for i in range(parts)
        ]
        targets = [i % len(servers) for i in range(parts)]
    offsets = [sum(sizes[:i]) for i in range(parts)]

    def start(index: int) -> Child:
        worker = start_load_worker(
            servers[targets[index]], [room], clients=sizes[index], writers=writer_split[index],
            index=index, offset=offsets[index], out=out, options=options, first=index == 0,
            readers=run.readers,
        )  # fmt: skip
        workers.append(worker)
        for server in servers:
            server.sampler.watch([worker.pid])
        return worker

    started = time.monotonic()
    deadline = started + 15 + run.clients * options.join_seconds_per_client
    try:
        wait_all([start(0)], "first", deadline, what="first client")
        for index in range(1, parts):
            start(index)
        ready = wait_all(workers, "ready", deadline, what="join")
    except Deadline as error:
        raise Abort(str(error)) from None
    synced = sum(int(e["synced"]) for e in ready)
    run.join_s = time.monotonic() - started
    if synced < run.clients:
        raise Abort(f"join: only {synced}/{run.clients} clients synced")
    time.sleep(1.0)
    services = Services()
    services.mark()
    for server in servers:
        server.sampler.mark("typing")
    for worker in workers:
        worker.send(f"go {json.dumps({'durationMs': options.duration * 1000})}")
    sent = wait_all(workers, "sent", time.monotonic() + options.duration + 30, what="typing")
    for server in servers:
        server.sampler.mark("typed")
    run.postgres_cpu = services.mean("postgres")
    run.redis_cpu = services.mean("redis-server")
    sends, run.inserts = merge_sends(sent, out)
    for worker in workers:
        worker.send(f"expect {sends}")
    with contextlib.suppress(Deadline):  # not everything may arrive: the results say
        wait_all(workers, "complete", time.monotonic() + options.drain, what="drain")
    for worker in workers:
        worker.send("collect")
    results = wait_all(workers, "result", time.monotonic() + 60, what="collect")
    _fill(run, results, servers)
    if hop:
        run.same = _percentiles([r for r, t in zip(results, targets, strict=True) if t == 0])
        run.cross = _percentiles([r for r, t in zip(results, targets, strict=True) if t == 1])


def _percentiles(events: list[dict[str, Any]]) -> dict[str, float | None]:
    latencies = read_latencies(events)
    if not latencies:
        return {"p50": None, "p90": None, "p99": None, "max": None, "n": 0}
    return {
        "p50": percentile(latencies, 50),
        "p90": percentile(latencies, 90),
        "p99": percentile(latencies, 99),
        "max": latencies[-1],
        "n": len(latencies),
    }


def _fill(run: Run, events: list[dict[str, Any]], servers: list[Running]) -> None:
    latencies = read_latencies(events)
    run.delivered = sum(int(e["delivered"]) for e in events)
    run.expected = sum(int(e["expected"]) for e in events)
    if latencies:
        run.p50 = percentile(latencies, 50)
        run.p99 = percentile(latencies, 99)
        run.max = latencies[-1]
    run.p99_all = p99_of_expected(latencies, run.expected)
    first_typed = min(float(e["typingStart"]) for e in events if e.get("typingStart"))
    last_received = max(float(e["lastReceived"]) for e in events)
    if last_received > first_typed:
        run.throughput = run.delivered / ((last_received - first_typed) / 1000)
    texts: dict[str, int] = {}
    for event in events:
        for key, count in event["texts"].items():
            texts[key] = texts.get(key, 0) + count
    same_text = len(texts) == 1 and next(iter(texts)).split(":")[0] == str(run.inserts)
    # Light clients keep no text: only their deliveries are checked (as in sync_bench).
    run.converged = (run.readers == "light" or same_text) and run.delivered == run.expected
    cpus = [s.sampler.mean_cpu("typing", "typed") for s in servers]
    run.servers_cpu = sum(c for c in cpus if c is not None)
    first = servers[0].sampler
    run.load_cpu = first.mean_load_cpu("typing", "typed")
    run.machine_cpu = first.mean_machine_cpu("typing", "typed")
    other = first.mean_other_cpu("typing", "typed")
    if other is not None:  # the sibling servers, PostgreSQL and Redis are "others" to it
        siblings = sum(c for c in cpus[1:] if c is not None)
        services = (run.postgres_cpu or 0) + (run.redis_cpu or 0)
        run.other_cpu = max(0.0, other - siblings - services)


# -- tables ------------------------------------------------------------------------------------
def scale_table(runs: list[Run]) -> str:
    headers = [
        "processes", "Redis", "readers", "N", "join s", "inserts/s", "delivered", "p50 ms",
        "p99 ms", "max ms", "p99 all ms", "deliveries/s", "converged", "servers CPU %",
        "PostgreSQL CPU %", "Redis CPU %", "load CPU %", "machine CPU %", "others CPU %",
        "RSS max MB", "status",
    ]  # fmt: skip
    rows = []
    for r in runs:
        delivered = f"{100 * r.delivered / r.expected:.1f} %" if r.expected else "-"
        rows.append([
            str(r.processes), "yes" if r.redis else "no", r.readers, str(r.clients),
            num(r.join_s, 1), num(r.inserts / r.duration if r.inserts else None, 1), delivered,
            ms(r.p50), ms(r.p99), ms(r.max), ms(r.p99_all), num(r.throughput),
            "-" if r.converged is None else ("yes" if r.converged else "NO"),
            num(r.servers_cpu), num(r.postgres_cpu), num(r.redis_cpu), num(r.load_cpu),
            num(r.machine_cpu), num(r.other_cpu), num(r.rss_mb), r.status,
        ])  # fmt: skip
    return table(headers, rows)


def hop_table(runs: list[Run]) -> str:
    headers = [
        "N", "readers", "deliveries", "p50 ms", "p90 ms", "p99 ms", "max ms",
    ]  # fmt: skip
    rows = []
    for r in runs:
        if r.status != "ok":
            rows.append([str(r.clients), "-", "-", "-", "-", "-", r.status])
            continue
        for name, stats in (("same process", r.same), ("other process", r.cross)):
            rows.append([
                str(r.clients), name, num(stats.get("n")), ms(stats.get("p50")),
                ms(stats.get("p90")), ms(stats.get("p99")), ms(stats.get("max")),
            ])  # fmt: skip
        delta = [(r.cross.get(k) or 0) - (r.same.get(k) or 0) for k in ("p50", "p90", "p99")]
        rows.append([str(r.clients), "hop (difference)", "", *(ms(d) for d in delta), ""])
    return table(headers, rows)


# -- main --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--readers", default="light", help="light, real or light,real")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--hop-sizes", default="100,500")
    parser.add_argument("--no-baseline", action="store_true", help="skip 1 process without Redis")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.clients, args.duration, args.hop_sizes = 100, 8.0, "100"
    install_cleanup()
    workdir = Path(tempfile.mkdtemp(prefix="travaux-scale-"))
    options = Options(workdir=workdir, quick=args.quick, sizes=(), duration=args.duration)
    writers = max(1, round(args.clients * options.writer_fraction))
    print(machine(), flush=True)
    scale: list[Run] = []
    hops: list[Run] = []
    try:
        for readers in args.readers.split(","):
            plans = [] if args.no_baseline else [(1, False)]
            plans += [(int(p), True) for p in args.processes.split(",")]
            for processes, redis in plans:
                label = f"scale {processes}{'' if redis else ' no-redis'} {readers}"
                run = Run(label, processes, redis, args.clients, writers, readers, args.duration)
                print(f"… {label}", file=sys.stderr, flush=True)
                scale.append(one_run(run, options, args))
        for size in (int(s) for s in args.hop_sizes.split(",") if s):
            writers = max(1, round(size * options.writer_fraction))
            run = Run(f"hop {size}", 2, True, size, writers, "light", args.duration)
            print(f"… {run.label}", file=sys.stderr, flush=True)
            hops.append(one_run(run, options, args, hop=True))
    finally:
        kill_all()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"\n**Scale**: one room, {args.clients} clients, 10 % typing 5 chars/s for "
          f"{args.duration:g} s, spread over the processes:\n")  # fmt: skip
    print(scale_table(scale))
    print("\n**The Redis hop**: two processes, every writer on the first:\n")
    print(hop_table(hops))
    if args.json:
        args.json.write_text(json.dumps([dataclasses.asdict(r) for r in scale + hops], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
