"""The four scenarios of the sync benchmark (issue 3), each run against one server.

1. fan-out: N real y-websocket clients in one room, a tenth typing 5 chars/s; latency from
   each writer to every reader, delivered/expected, server CPU and RSS;
2. ingest: a sequential trace sent by one client, one update per keystroke, pipelined;
   updates/s until durably stored (and until a second client has the whole text);
3. replay: the concurrent `friendsforever` trace by two clients at once; converged?;
4. cold load of large documents to a first client; RSS per idle room and per connection;
5. what real clients cost: the fan-out's frames given to real y-websocket clients without
   a server, the CPU they need (no server is run).

Each run starts a fresh server process and stops it (and every load process) at the end;
a run that passes its time limit, or its memory cap, is reported as "did not finish".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import struct
import subprocess
import threading
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_procs import Abort, Child, Deadline, wait_all
from bench_servers import (
    BENCH,
    UNLIMITED_RATE,
    NodeReference,
    Running,
    ServerKind,
    Travaux,
    make_server,
)
from pycrdt import Doc
from ywire import bench_text, fetch, observe

NODE = "node"
LOAD_JS = BENCH / "js" / "load.cjs"
INGEST_JS = BENCH / "js" / "ingest.cjs"
REPLAY_JS = BENCH / "js" / "replay.cjs"
CLIENT_COST_JS = BENCH / "js" / "client_cost.cjs"
MB = 1024 * 1024


@dataclass(frozen=True)
class Options:
    workdir: Path
    quick: bool
    sizes: tuple[int, ...]
    duration: float  # seconds of typing per fan-out run
    light_sizes: tuple[int, ...] = ()  # fan-out again with light clients at these sizes
    writer_fraction: float = 0.1
    cursors: bool = False  # real writers move their awareness cursor with each keystroke
    interval_ms: float = 200.0  # 5 characters per second
    per_process: int = 125  # real clients per load process
    light_per_process: int = 250  # light ones
    join_seconds_per_client: float = 0.15
    join_stall: float = 30.0  # seconds without a newly synced client: the join is abandoned
    drain: float = 5.0
    rss_cap: int = 4096 * MB
    ingest_count: int = 259_778
    ingest_limit: float = 60.0
    replay_txns: int | None = None
    replay_limit: float = 120.0
    cold_reps: int = 3
    cold_log: bool = True
    idle_rooms: int = 100
    idle_clients: int = 500
    quiet_clients: int = 500  # real clients in a room where nobody types
    quiet_seconds: float = 45.0  # three rounds of their awareness renewals (every 15 s)
    settle: float = 3.0
    cost_clients: int = 50  # real clients fed the fan-out's frames, per tick length
    cost_ticks_ms: tuple[float, ...] = (0.0, 5.0, 20.0, 40.0)  # 0: a frame per keystroke
    # Fan-out runs of at most `repeat_up_to` clients are made `repeat` times, interleaved
    # between the servers: the p99 of one short run of a small room rests on its few
    # slowest keystrokes, which the machine's other processes decide as much as the server.
    repeat: int = 1
    repeat_up_to: int = 50


def rss_guard(server: Running, cap: int) -> Callable[[], None]:
    def check() -> None:
        samples = server.sampler.samples
        if samples and samples[-1].rss > cap:
            raise Abort(f"server RSS {samples[-1].rss / MB:.0f} MB over the {cap / MB:.0f} MB cap")
        if not server.child.alive():
            raise Abort(f"the server exited (see {server.child.log_path})")

    return check


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def p99_of_expected(ordered: list[float], expected: int) -> float | None:
    """The 99th percentile of all `expected` deliveries (ascending latencies of those that
    arrived); infinite when more than 1 % never arrived."""
    if expected == 0:
        return None
    rank = math.ceil(0.99 * expected)
    return ordered[rank - 1] if rank <= len(ordered) else math.inf


# A run keeps this share of its expected deliveries per run it may be pooled with: see
# `slowest_kept`.
POOL_SHARE = 0.02


def slowest_kept(ordered: list[float], expected: int, runs: int) -> list[float]:
    """What a run keeps of its ascending latencies for a p99 pooled with up to `runs - 1`
    others (`pooled_p99`), slowest first: that p99 is among the slowest 1 % of all their
    deliveries, which one run alone may hold — kept with a margin, since runs differ a
    little in length. Nothing when the run is not repeated."""
    if runs < 2:
        return []
    keep = min(len(ordered), math.ceil(POOL_SHARE * runs * expected) + 1)
    return [round(value, 3) for value in reversed(ordered[len(ordered) - keep :])]


def pooled_p99(runs: Sequence[FanoutResult]) -> float | None:
    """The 99th percentile of every expected delivery of `runs` taken together, the
    undelivered counting as infinitely late: at N = 10, 75 keystrokes make a run, and its
    own p99 is one keystroke. None when the runs did not keep enough latencies to say
    (runs saved before they kept any)."""
    expected = sum(r.expected for r in runs)
    if expected == 0 or any(r.arrived is None for r in runs):
        return None
    from_top = expected - math.ceil(0.99 * expected) + 1  # its rank, counted from the slowest
    missing = sum(r.expected - (r.arrived or 0) for r in runs)
    if from_top <= missing:
        return math.inf
    merged = sorted((value for r in runs for value in r.slowest), reverse=True)
    if len(merged) < from_top - missing:
        return None
    value = merged[from_top - missing - 1]
    for r in runs:  # exact only if no run left out a latency above it
        left_out = len(r.slowest) < (r.arrived or 0)
        if left_out and (not r.slowest or r.slowest[-1] > value):
            return None
    return value


# == 1. fan-out ==================================================================================
@dataclass
class FanoutResult:
    server: str
    n: int
    writers: int
    readers: str = "real"
    status: str = "ok"
    join_s: float | None = None
    inserts: int = 0
    insert_rate: float | None = None
    delivered: int = 0
    expected: int = 0
    p50: float | None = None
    p90: float | None = None
    p99: float | None = None
    max: float | None = None
    # p99 over every expected delivery, undelivered ones counting as infinitely late:
    # comparable between servers that did not deliver the same share.
    p99_all: float | None = None
    throughput: float | None = None  # deliveries per second
    converged: bool | None = None
    cpu: float | None = None  # server, % of one core, while typing
    load_cpu: float | None = None  # load generators together
    machine_cpu: float | None = None  # the whole machine, % of all cores
    other_cpu: float | None = None  # processes this benchmark did not start, % of one core
    rss_end: int | None = None
    rss_peak: int | None = None
    reconnects: int = 0
    close_codes: dict[str, int] = field(default_factory=dict)
    run: int = 1  # which repetition of this server, size and kind of reader
    # Deliveries with a latency (`delivered` counts the same, once drained); None in runs
    # saved before it was kept, which `pooled_p99` cannot pool.
    arrived: int | None = None
    slowest: list[float] = field(default_factory=list)  # for `pooled_p99`, slowest first

    @property
    def finished(self) -> bool:
        return self.status == "ok"


def split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def start_load_worker(
    server: Running, rooms: list[str], *, clients: int, writers: int, index: int, offset: int,
    out: Path, options: Options, first: bool = False, readers: str = "real",
) -> Child:  # fmt: skip
    config = {
        "readers": readers,
        "url": server.kind.base_url(server.port),
        "rooms": rooms,
        "clients": clients,
        "writers": writers,
        "index": index,
        "offset": offset,
        "out": str(out),
        "first": first,
        "intervalMs": options.interval_ms,
        "cursors": options.cursors,
    }
    log = out / f"load-{index}.log"
    return Child([NODE, str(LOAD_JS), json.dumps(config)], log=log, cwd=BENCH, events=True)


class JoinWatch:
    """Counts synced clients from the workers' progress events; a join that makes no
    progress for `stall` seconds is abandoned (the stock pycrdt-websocket server stops
    syncing new clients at ~100: waiting longer only burns the time budget)."""

    def __init__(self, server: Running, clients: int, options: Options) -> None:
        self.clients = clients
        self.synced: dict[int, int] = {}
        self.started = self.changed = time.monotonic()
        self.stall = options.join_stall
        self._guard = rss_guard(server, options.rss_cap)

    def progress(self, index: int, event: dict[str, Any]) -> None:
        if event.get("event") in ("progress", "first"):
            count = int(event.get("synced", 0))
            if count != self.synced.get(index):
                self.synced[index] = count
                self.changed = time.monotonic()

    def check(self) -> None:
        self._guard()
        if time.monotonic() - self.changed > self.stall:
            raise Abort(f"join stalled: {self.total}/{self.clients} clients synced, none in "
                        f"the last {self.stall:.0f} s")  # fmt: skip

    @property
    def total(self) -> int:
        return sum(self.synced.values())

    def deadline_passed(self) -> Abort:
        elapsed = time.monotonic() - self.started
        return Abort(f"join: {self.total}/{self.clients} clients synced in {elapsed:.0f} s")


def stop_load(workers: list[Child]) -> None:
    """Ask every load process to exit, then stop each (2 s of grace, then a kill)."""
    for worker in workers:
        worker.send("exit")
    for worker in workers:
        worker.stop(grace=2.0)


def stop_all(workers: list[Child], server: Running) -> None:
    """The load processes first: a server stopped under them would see them reconnect."""
    stop_load(workers)
    server.stop()


def start_load(
    server: Running, rooms: list[str], clients: int, writers: int, out: Path, options: Options,
    deadline: float, workers: list[Child], readers: str = "real",
) -> int:  # fmt: skip
    """Open `clients` clients (the first one alone: a brand-new room is then opened by one
    client, as the stock pycrdt-websocket server needs); return how many synced."""
    per_process = options.light_per_process if readers == "light" else options.per_process
    parts = max(1, math.ceil(clients / per_process))
    sizes, writer_split = split(clients, parts), split(writers, parts)
    offsets = [sum(sizes[:i]) for i in range(parts)]
    watch = JoinWatch(server, clients, options)

    mine: list[Child] = []  # waited on here; `workers` (the caller's) stops them later

    def started(index: int) -> Child:
        worker = start_load_worker(
            server, rooms, clients=sizes[index], writers=writer_split[index], index=index,
            offset=offsets[index], out=out, options=options, first=index == 0, readers=readers,
        )  # fmt: skip
        mine.append(worker)
        workers.append(worker)
        server.sampler.watch([worker.pid])
        return worker

    try:
        first = wait_all([started(0)], "first", deadline, what="first client", check=watch.check)
        watch.progress(0, first[0])
        for index in range(1, parts):
            started(index)
        ready = wait_all(
            mine, "ready", deadline, what="join", check=watch.check, on_other=watch.progress
        )
    except Deadline:
        raise watch.deadline_passed() from None
    return sum(int(event["synced"]) for event in ready)


def merge_sends(events: list[dict[str, Any]], out: Path) -> tuple[Path, int]:
    merged: dict[str, list[float]] = {}
    for event in events:
        merged.update(json.loads(Path(event["file"]).read_text()))
    path = out / "sends.json"
    path.write_text(json.dumps(merged))
    return path, sum(len(times) for times in merged.values())


def read_latencies(events: list[dict[str, Any]]) -> list[float]:
    values = array("f")
    for event in events:
        values.frombytes(Path(event["file"]).read_bytes())
    return sorted(values)


def fanout_run(
    kind: ServerKind, n: int, options: Options, readers: str = "real", run: int = 1
) -> FanoutResult:
    writers = max(1, round(n * options.writer_fraction))
    result = FanoutResult(kind.name, n, writers, readers, run=run)
    tag = f"{n}-{readers}" + (f"-run{run}" if run > 1 else "")
    out = options.workdir / f"fanout-{kind.name}-{tag}"
    out.mkdir(parents=True, exist_ok=True)
    server = kind.start(f"fanout-{tag}")
    workers: list[Child] = []
    try:
        room = kind.create_room(f"fanout-{n}")
        pooled = options.repeat if n <= options.repeat_up_to else 1
        _fanout(server, room, n, writers, out, options, workers, result, pooled)
    except Abort as error:
        result.status = f"did not finish: {error}"
    finally:
        result.rss_peak = server.sampler.peak_rss()
        stop_all(workers, server)
    return result


def _fanout(
    server: Running, room: str, n: int, writers: int, out: Path, options: Options,
    workers: list[Child], result: FanoutResult, pooled: int,
) -> None:  # fmt: skip
    sampler = server.sampler
    check = rss_guard(server, options.rss_cap)
    start = time.monotonic()
    join_deadline = start + 15 + n * options.join_seconds_per_client
    synced = start_load(
        server, [room], n, writers, out, options, join_deadline, workers, result.readers
    )
    result.join_s = time.monotonic() - start
    if synced < n:
        raise Abort(f"join: only {synced}/{n} clients synced")
    time.sleep(1.0)  # the join's awareness traffic settles
    sampler.mark("typing")
    for worker in workers:
        worker.send(f"go {json.dumps({'durationMs': options.duration * 1000})}")
    sent = wait_all(
        workers, "sent", time.monotonic() + options.duration + 30, what="typing", check=check
    )
    sampler.mark("typed")
    result.rss_end = sampler.rss_now()
    sends, result.inserts = merge_sends(sent, out)
    result.insert_rate = result.inserts / options.duration
    for worker in workers:
        worker.send(f"expect {sends}")
    # Not everything may arrive: the results then say how much did.
    with contextlib.suppress(Deadline):
        wait_all(workers, "complete", time.monotonic() + options.drain, what="drain", check=check)
    for worker in workers:
        worker.send("collect")
    results = wait_all(workers, "result", time.monotonic() + 60, what="collect")
    _fill_fanout(result, results, sampler.mean_cpu("typing", "typed"), pooled)
    result.load_cpu = sampler.mean_load_cpu("typing", "typed")
    result.machine_cpu = sampler.mean_machine_cpu("typing", "typed")
    result.other_cpu = sampler.mean_other_cpu("typing", "typed")


def _fill_fanout(
    result: FanoutResult, events: list[dict[str, Any]], cpu: float | None, pooled: int
) -> None:
    latencies = read_latencies(events)
    result.arrived = len(latencies)
    result.delivered = sum(int(e["delivered"]) for e in events)
    result.expected = sum(int(e["expected"]) for e in events)
    result.cpu = cpu
    if latencies:
        result.p50 = percentile(latencies, 50)
        result.p90 = percentile(latencies, 90)
        result.p99 = percentile(latencies, 99)
        result.max = latencies[-1]
    result.p99_all = p99_of_expected(latencies, result.expected)
    result.slowest = slowest_kept(latencies, result.expected, pooled)
    first_typed = min(float(e["typingStart"]) for e in events if e.get("typingStart"))
    last_received = max(float(e["lastReceived"]) for e in events)
    if last_received > first_typed:
        result.throughput = result.delivered / ((last_received - first_typed) / 1000)
    texts: dict[str, int] = {}
    for event in events:
        for key, count in event["texts"].items():
            texts[key] = texts.get(key, 0) + count
        result.reconnects += int(event["reconnects"])
        for code, count in event["closeCodes"].items():
            result.close_codes[code] = result.close_codes.get(code, 0) + count
    # Light clients keep no text: only their deliveries are checked; real ones' texts too.
    same_text = len(texts) == 1 and next(iter(texts)).split(":")[0] == str(result.inserts)
    light = result.readers == "light"
    result.converged = (light or same_text) and result.delivered == result.expected


# == 2. ingest ==================================================================================
@dataclass
class IngestData:
    """A trace as one update per transaction (from bench/js/ingest.cjs generate)."""

    updates_file: Path
    final_update: bytes
    updates: list[bytes]

    @classmethod
    def load(cls, directory: Path) -> IngestData:
        data = (directory / "updates.bin").read_bytes()
        updates: list[bytes] = []
        offset = 0
        while offset < len(data):
            (length,) = struct.unpack_from("<I", data, offset)
            updates.append(data[offset + 4 : offset + 4 + length])
            offset += 4 + length
        return cls(directory / "updates.bin", (directory / "final.bin").read_bytes(), updates)

    def target(self, count: int) -> tuple[bytes, str]:
        """State vector and text after the first `count` updates."""
        doc = Doc()
        for update in self.updates[:count]:
            doc.apply_update(update)
        return doc.get_state(), bench_text(doc)


@dataclass
class IngestResult:
    server: str
    count: int
    status: str = "ok"
    flushed_s: float | None = None  # the client had written every frame to its socket
    durable_s: float | None = None  # every update in the server's store
    visible_s: float | None = None  # a second client, connected before, has the whole text
    stored: int | None = None
    durable_rate: float | None = None
    visible_rate: float | None = None
    half_durable_s: float | None = None
    cpu: float | None = None
    rss_peak: int | None = None
    close: str | None = None
    durable_kind: str = ""
    other_cpu: float | None = None


class Observer:
    """A second client in a thread: connected before the sender, done at the full text."""

    def __init__(self, url: str, state: bytes, text: str, timeout: float) -> None:
        self.url, self.state, self.text, self.timeout = url, state, text, timeout
        self.connected = threading.Event()
        self.done_at: float | None = None
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _complete(self, doc: Doc) -> bool:
        return doc.get_state() == self.state and bench_text(doc) == self.text

    def _run(self) -> None:
        try:
            self.done_at = asyncio.run(
                observe(self.url, self._complete, self.connected, self.timeout)
            )
        except Exception as error:  # reported, not raised: the sender's side still counts
            self.error = f"{type(error).__name__}: {error}"
            self.connected.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)


def ingest_run(kind: ServerKind, data: IngestData, options: Options) -> IngestResult:
    count = min(options.ingest_count, len(data.updates))
    result = IngestResult(kind.name, count)
    env = UNLIMITED_RATE if isinstance(kind, Travaux) else {}
    server = kind.start("ingest", env)
    sender: Child | None = None
    try:
        room = kind.create_room("ingest")
        base = kind.stored_updates(room)
        state, text = data.target(count)
        observer = Observer(server.room_url(room), state, text, options.ingest_limit + 30)
        observer.connected.wait(30)
        config = {
            "url": kind.base_url(server.port), "room": room,
            "file": str(data.updates_file), "count": count,
        }  # fmt: skip
        log = options.workdir / f"ingest-{kind.name}.log"
        sender = Child([NODE, str(INGEST_JS), "send", json.dumps(config)], log=log, events=True)
        t0 = wait_all([sender], "sending", time.monotonic() + 30, what="connect")[0]["t0"] / 1000
        server.sampler.mark("send")
        _follow_ingest(kind, server, room, base, sender, observer, t0, result, options)
        server.sampler.mark("sent")
        result.cpu = server.sampler.mean_cpu("send", "sent")
        result.other_cpu = server.sampler.mean_other_cpu("send", "sent")
    except Abort as error:
        result.status = f"did not finish: {error}"
    finally:
        result.rss_peak = server.sampler.peak_rss()
        if sender is not None:
            sender.send("exit")
            sender.stop(grace=1.0)
        server.stop()
    return result


def _follow_ingest(
    kind: ServerKind, server: Running, room: str, base: int | None, sender: Child,
    observer: Observer, t0: float, result: IngestResult, options: Options,
) -> None:  # fmt: skip
    count = result.count
    result.durable_kind = "store rows" if base is not None else "none (memory)"
    deadline = t0 + options.ingest_limit
    while time.time() < deadline:
        _sender_events(sender, t0, result)
        if base is not None and result.durable_s is None:
            stored = (kind.stored_updates(room) or 0) - base
            result.stored = stored
            now = time.time()
            _give_up_if_hopeless(stored, count, now - t0, options.ingest_limit)
            if result.half_durable_s is None and stored >= count // 2:
                result.half_durable_s = now - t0
            if stored >= count:
                result.durable_s = now - t0
        if observer.done_at is not None and result.visible_s is None:
            result.visible_s = observer.done_at - t0
        if (base is None or result.durable_s is not None) and (
            result.visible_s is not None or observer.error is not None
        ):
            break
        if not server.child.alive():
            raise Abort(f"the server exited (see {server.child.log_path})")
        time.sleep(0.1)
    _sender_events(sender, t0, result)
    if result.durable_s is not None:
        result.durable_rate = count / result.durable_s
    if result.visible_s is not None:
        result.visible_rate = count / result.visible_s
    if base is not None and result.durable_s is None:
        stored = result.stored or 0
        raise Abort(
            f"{stored:,}/{count:,} stored after {options.ingest_limit:.0f} s "
            f"({stored / options.ingest_limit:,.0f}/s)"
        )
    if result.visible_s is None:
        reason = observer.error or f"not within {options.ingest_limit:.0f} s"
        raise Abort(f"the second client never had the whole text: {reason}")


def _give_up_if_hopeless(stored: int, count: int, elapsed: float, limit: float) -> None:
    """After 15 s, a server storing at less than half the pace needed to finish within
    the limit is stopped there: its rate is known, waiting adds nothing."""
    if elapsed >= 15 and stored / elapsed * limit < count / 10:
        raise Abort(
            f"{stored:,}/{count:,} stored after {elapsed:.0f} s ({stored / elapsed:,.0f}/s; "
            f"stopped: could not finish within {limit:.0f} s)"
        )


def _sender_events(sender: Child, t0: float, result: IngestResult) -> None:
    while (event := sender.next_event(0)) is not None:
        if event.get("event") == "flushed":
            result.flushed_s = event["t1"] / 1000 - t0
        elif event.get("event") == "closed":
            result.close = f"{event.get('code')} {event.get('reason', '')}".strip()


# == 3. concurrent replay ========================================================================
@dataclass
class ReplayResult:
    server: str
    txns: int
    status: str = "ok"
    converged: bool | None = None
    seconds: float | None = None
    server_text_ok: bool | None = None
    waits: int = 0
    close_codes: dict[str, int] = field(default_factory=dict)
    cpu: float | None = None
    other_cpu: float | None = None
    # Per client, when it did not converge: how far it got and what it was waiting for.
    stalls: list[str] = field(default_factory=list)


def replay_run(kind: ServerKind, plan: Path, expected: str, options: Options) -> ReplayResult:
    txns = len(json.loads(plan.read_text())["txns"])
    result = ReplayResult(kind.name, txns)
    env = UNLIMITED_RATE if isinstance(kind, Travaux) else {}
    server = kind.start("replay", env)
    players: list[Child] = []
    try:
        room = kind.create_room("replay")
        for agent in (0, 1):
            config = {
                "url": kind.base_url(server.port), "room": room, "plan": str(plan),
                "agent": agent, "timeoutMs": options.replay_limit * 1000,
            }  # fmt: skip
            log = options.workdir / f"replay-{kind.name}-{agent}.log"
            players.append(Child([NODE, str(REPLAY_JS), "play", json.dumps(config)], log=log,
                                 events=True))  # fmt: skip
        wait_all(players, "ready", time.monotonic() + 30, what="connect")
        server.sampler.mark("go")
        for player in players:
            player.send("go")
        done = wait_all(
            players, "done", time.monotonic() + options.replay_limit + 15, what="replay"
        )
        server.sampler.mark("done")
        _fill_replay(result, done, server.sampler.mean_cpu("go", "done"))
        result.other_cpu = server.sampler.mean_other_cpu("go", "done")
        doc, _ = asyncio.run(fetch(server.room_url(room), lambda d: True, timeout=30))
        result.server_text_ok = bench_text(doc) == expected
    except Abort as error:
        result.status = f"did not finish: {error}"
    finally:
        for player in players:
            player.send("exit")
            player.stop(grace=1.0)
        server.stop()
    return result


def _fill_replay(result: ReplayResult, done: list[dict[str, Any]], cpu: float | None) -> None:
    result.converged = all(bool(d["converged"]) for d in done)
    result.seconds = (max(d["tConverged"] for d in done) - min(d["t0"] for d in done)) / 1000
    result.waits = sum(int(d["waits"]) for d in done)
    result.cpu = cpu
    for agent, d in enumerate(done):
        for code, count in d["closeCodes"].items():
            result.close_codes[code] = result.close_codes.get(code, 0) + count
        if not d["converged"]:
            result.stalls.append(_stall(agent, d))
    if not result.converged and len({d["textHash"] for d in done}) == 1:
        # Not a lost update: the clients hold the same text, ordered otherwise than the trace.
        result.stalls.append("the two clients hold the same text, which is not endContent")


def _stall(agent: int, d: dict[str, Any]) -> str:
    waiting = ", ".join(
        f"client {need['client']} clock {need['clock']} (has {need['have']})"
        for need in d.get("stuck") or []
    )
    return (
        f"agent {agent}: applied {d['applied']}/{d['own']} of its transactions, "
        f"{d['length']}/{d['expectedLength']} characters, connected {d['connects']}×, "
        f"pending updates: {'yes' if d['pending'] else 'no'}"
        + (f"; waiting for {waiting}" if waiting else "")
    )


# == 4a. cold load ==============================================================================
@dataclass
class ColdResult:
    server: str
    document: str
    size: int
    status: str = "ok"
    seconds: list[float] = field(default_factory=list)
    rss_loaded: int | None = None


def _cold_times(
    kind: ServerKind, room: str, state: bytes, label: str, reps: int, result: ColdResult
) -> None:
    env = kind.leveldb_env() if isinstance(kind, NodeReference) else {}
    for rep in range(reps):
        server = kind.start(f"cold-{label}-{rep}", env)
        try:
            _, seconds = asyncio.run(
                fetch(server.room_url(room), lambda d: d.get_state() == state, timeout=60)
            )
            result.seconds.append(seconds)
            time.sleep(0.3)
            result.rss_loaded = server.sampler.rss_now()
        except (TimeoutError, ConnectionError, OSError) as error:
            result.status = f"did not finish: {type(error).__name__} {error}"
            return
        finally:
            server.stop()


def cold_run(kind: ServerKind, label: str, update: bytes, reps: int) -> ColdResult:
    result = ColdResult(kind.name, label, len(update))
    doc = Doc()
    doc.apply_update(update)
    room = kind.seed(label, update)
    _cold_times(kind, room, doc.get_state(), label, reps, result)
    return result


def cold_log_runs(kind: Travaux, data: IngestData, reps: int) -> list[ColdResult]:
    """Travaux only: the whole automerge-paper trace as its update log (one row per
    keystroke), loaded without, then with, a compaction snapshot."""
    from crdt_sync.store import Store

    store = Store(kind.db_url)
    try:
        text_id = store.create_text(data.updates[0], title="log", kind="bench", origin="bench")
        room = kind.signed(store, text_id)  # the chair's token in the room name
        rest = data.updates[1:]
        for start in range(0, len(rest), 10_000):
            store.append_many([(text_id, u, "bench") for u in rest[start : start + 10_000]])
        doc = Doc()
        doc.apply_update(data.final_update)
        size = sum(len(u) for u in data.updates)
        label = f"automerge-paper log ({len(data.updates):,} rows)"
        log_only = ColdResult(kind.name, label, size)
        _cold_times(kind, room, doc.get_state(), "log", reps, log_only)
        store.compact(text_id)
        snapshot = ColdResult(kind.name, "same log + compaction snapshot", size)
        _cold_times(kind, room, doc.get_state(), "snapshot", reps, snapshot)
    finally:
        store.close()
    return [log_only, snapshot]


# == 4b. idle memory ============================================================================
@dataclass
class IdleResult:
    server: str
    rooms: int
    clients: int
    status: str = "ok"
    per_room: float | None = None  # bytes per idle room with one client
    per_connection: float | None = None  # bytes per idle client in one room
    rss_rooms: int | None = None
    rss_clients: int | None = None
    join_s: float | None = None


def _idle_phase(
    kind: ServerKind, rooms: list[str], clients: int, options: Options, tag: str, readers: str
) -> tuple[int, int, float]:
    """RSS before and after opening `clients` idle clients (round-robin over `rooms[1:]`,
    or all in `rooms[0]`), with one client already in rooms[0]; and the join time."""
    server = kind.start(tag)
    workers: list[Child] = []
    out = options.workdir / f"{tag}-{kind.name}"
    out.mkdir(parents=True, exist_ok=True)
    try:
        warm = out / "warm"
        warm.mkdir(exist_ok=True)
        start_load(server, rooms[:1], 1, 0, warm, options, time.monotonic() + 30, workers)
        time.sleep(options.settle)
        before = server.sampler.rss_now()
        targets = rooms[1:] or rooms[:1]
        start = time.monotonic()
        deadline = start + 15 + clients * options.join_seconds_per_client
        synced = start_load(server, targets, clients, 0, out, options, deadline, workers, readers)
        joined = time.monotonic() - start
        if synced < clients:
            raise Abort(f"only {synced}/{clients} clients synced")
        time.sleep(options.settle)
        rss_guard(server, options.rss_cap)()
        return before, server.sampler.rss_now(), joined
    finally:
        stop_all(workers, server)


def idle_run(kind: ServerKind, options: Options) -> IdleResult:
    result = IdleResult(kind.name, options.idle_rooms, options.idle_clients)
    try:
        if isinstance(kind, Travaux):
            rooms = kind.create_rooms("idle", options.idle_rooms + 1)
        else:
            rooms = [kind.create_room(f"idle{i}") for i in range(options.idle_rooms + 1)]
        before, after, _ = _idle_phase(kind, rooms, options.idle_rooms, options, "rooms", "real")
        result.rss_rooms = after
        result.per_room = (after - before) / options.idle_rooms
        room = kind.create_room("crowd")
        # Light clients: 500 real ones take a minute of awareness echoes to join on 2 cores
        # (see the fan-out table); what stays in the server per connection is the same.
        before, after, joined = _idle_phase(
            kind, [room], options.idle_clients, options, "crowd", "light"
        )
        result.rss_clients, result.join_s = after, joined
        result.per_connection = (after - before) / options.idle_clients
    except Abort as error:
        result.status = f"did not finish: {error}"
    return result


# -- 4c. a quiet room ----------------------------------------------------------------------
@dataclass
class QuietResult:
    server: str
    clients: int
    seconds: float
    status: str = "ok"
    join_s: float | None = None
    server_cpu: float | None = None  # means over the window, percent of one core
    load_cpu: float | None = None
    machine_cpu: float | None = None  # percent of the whole machine
    other_cpu: float | None = None


def quiet_run(kind: ServerKind, options: Options) -> QuietResult:
    """What a room of real clients costs while nobody types: a plenary watching the
    screen. Each y-websocket client renews its awareness state every 15 s and sends back
    every awareness update it applies; what that becomes depends on the server. The
    CPU of the server and of the load processes over `quiet_seconds`, from `settle`
    seconds after the last client synced. On a database of its own: this server's
    history indexer, started with it, would otherwise be indexing the texts of the
    scenarios before (the ingest's 259,778 updates) while the room is measured."""
    result = QuietResult(kind.name, options.quiet_clients, options.quiet_seconds)
    kind = make_server(kind.name, options.workdir / "quiet")
    server = kind.start("quiet")
    workers: list[Child] = []
    out = options.workdir / f"quiet-{kind.name}"
    out.mkdir(parents=True, exist_ok=True)
    try:
        room = kind.create_room("quiet")
        start = time.monotonic()
        deadline = start + 15 + result.clients * options.join_seconds_per_client
        synced = start_load(server, [room], result.clients, 0, out, options, deadline, workers)
        result.join_s = time.monotonic() - start
        if synced < result.clients:
            raise Abort(f"only {synced}/{result.clients} clients synced")
        time.sleep(options.settle)
        server.sampler.mark("quiet")
        time.sleep(options.quiet_seconds)
        server.sampler.mark("quiet end")
        rss_guard(server, options.rss_cap)()
        sampler = server.sampler
        result.server_cpu = sampler.mean_cpu("quiet", "quiet end")
        result.load_cpu = sampler.mean_load_cpu("quiet", "quiet end")
        result.machine_cpu = sampler.mean_machine_cpu("quiet", "quiet end")
        result.other_cpu = sampler.mean_other_cpu("quiet", "quiet end")
    except Abort as error:
        result.status = f"did not finish: {error}"
    finally:
        stop_all(workers, server)
    return result


# -- 5. what real clients cost --------------------------------------------------------------
@dataclass
class ClientCostResult:
    tick_ms: float
    clients: int
    room: int  # the size of the room whose frames they are given
    renewal_ms: float = 0.0  # awareness renewals gathered this long (0: each tick's)
    frames_per_second: float | None = None  # per client: update and awareness frames
    core_per_client: float | None = None  # the share of one core one client needs
    converged: bool | None = None
    status: str = "ok"

    @property
    def cores_for_room(self) -> float | None:
        """Cores the whole room's clients need, on one machine, to keep up."""
        return None if self.core_per_client is None else self.core_per_client * self.room


def client_cost_run(
    tick_ms: float, options: Options, room: int = 500, renewal_ms: float = 0.0
) -> ClientCostResult:
    """The frames `room` clients would receive in the fan-out scenario, merged per tick of
    `tick_ms` as this server's fan-out merges them (awareness renewals those of each tick,
    or of `renewal_ms` together), given to real clients in one Node process
    (bench/js/client_cost.cjs); no server, no sockets."""
    result = ClientCostResult(tick_ms, options.cost_clients, room, renewal_ms)
    config = {
        "clients": options.cost_clients,
        "writers": round(room * options.writer_fraction),
        "population": room,
        "intervalMs": options.interval_ms,
        "tickMs": tick_ms,
        "renewalMs": renewal_ms,
        "durationMs": options.duration * 1000,
    }
    try:
        run = subprocess.run(
            [NODE, str(CLIENT_COST_JS), json.dumps(config)],
            capture_output=True, text=True, timeout=600, check=False, cwd=BENCH,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        result.status = "did not finish in 600 s"
        return result
    events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    done = next((e for e in events if e.get("event") == "result"), None)
    if done is None:
        failed = next((e for e in events if e.get("event") == "error"), None)
        why = failed["message"] if failed else run.stderr.strip()[-300:]
        result.status = f"failed: {why}"
        return result
    result.frames_per_second = float(done["framesPerClientPerSecond"])
    result.core_per_client = float(done["corePerClient"])
    result.converged = bool(done["converged"])
    return result
