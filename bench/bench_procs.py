"""Child processes of the sync benchmark: servers, Node workers, and their CPU/RSS samples.

Every child is started in its own process group and registered, so that whatever happens
(a timeout, an exception, Ctrl+C) `kill_all()` leaves no stray process behind.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import psutil

_children: set[Child] = set()


class Child:
    """A subprocess we started, in its own session; `stop()` kills its whole group."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        log: Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        events: bool = False,
    ) -> None:
        self.args = list(args)
        self.log_path = log
        self._log: TextIO = log.open("a", encoding="utf-8")
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.process = subprocess.Popen(
            self.args,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE if events else subprocess.DEVNULL,
            stdout=subprocess.PIPE if events else self._log,
            stderr=self._log,
            text=True,
            start_new_session=True,
        )
        _children.add(self)
        if events:
            threading.Thread(target=self._read_events, daemon=True).start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_events(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                self._log.write(line)
                continue
            if isinstance(event, dict):
                self.events.put(event)
        self.events.put({"event": "exited"})

    def send(self, command: str) -> None:
        """Write one command line to the child's stdin (ignored if it has gone)."""
        assert self.process.stdin is not None
        with contextlib.suppress(BrokenPipeError, OSError, ValueError):
            self.process.stdin.write(command + "\n")
            self.process.stdin.flush()

    def next_event(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self.events.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM to the group, SIGKILL after `grace` seconds."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)  # stragglers of the group
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        self._log.close()
        _children.discard(self)


def kill_all() -> None:
    for child in list(_children):
        child.stop(grace=1.0)


def _on_signal(signum: int, _frame: object) -> None:
    kill_all()
    raise SystemExit(128 + signum)


def install_cleanup() -> None:
    atexit.register(kill_all)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)


def foreign_cpu(seconds: float = 2.0) -> float:
    """CPU (% of one core) used over `seconds` by processes this benchmark did not start."""
    me = psutil.Process()
    ours = {me.pid, *(child.pid for child in me.children(recursive=True))}
    others = [p for p in psutil.process_iter() if p.pid not in ours]
    for process in others:
        with contextlib.suppress(psutil.Error):
            process.cpu_percent(None)
    time.sleep(seconds)
    total = 0.0
    for process in others:
        with contextlib.suppress(psutil.Error):
            total += process.cpu_percent(None)
    return total


@dataclass
class QuietPolicy:
    """Before each server start, wait up to `max_wait` seconds for other work on the
    machine to use less than `threshold` % of a core (0: do not wait)."""

    max_wait: float = 0.0
    threshold: float = 25.0
    waited: float = 0.0

    def wait(self) -> None:
        deadline = time.monotonic() + self.max_wait
        start = time.monotonic()
        while self.max_wait > 0 and time.monotonic() < deadline:
            if foreign_cpu() < self.threshold:
                break
        self.waited += time.monotonic() - start


QUIET = QuietPolicy()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, child: Child, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not child.alive():
            raise RuntimeError(f"{child.args[0]} exited at start; see {child.log_path}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout:.0f} s")


# -- sampling -------------------------------------------------------------------------------
@dataclass
class Sample:
    t: float
    cpu: float  # percent of one core
    rss: int  # bytes
    load_cpu: float  # the load generators together, percent of one core
    machine_cpu: float  # the whole machine, percent of all its cores
    other_cpu: float  # processes this benchmark did not start (percent of one core)


@dataclass
class Sampler:
    """Samples the server's CPU and RSS (and the load generators' CPU) every `interval`."""

    pid: int
    interval: float = 0.25
    samples: list[Sample] = field(default_factory=list)
    load_pids: list[int] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._process = psutil.Process(self.pid)
        self._load: dict[int, psutil.Process] = {}
        self._others: dict[int, psutil.Process] = {}
        self._children: dict[int, psutil.Process] = {}
        self._other_cpu = 0.0
        self._ticks = 0
        self._stop = threading.Event()
        self._process.cpu_percent(None)
        psutil.cpu_percent(None)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def watch(self, pids: Iterable[int]) -> None:
        for pid in pids:
            with contextlib.suppress(psutil.Error):
                process = psutil.Process(pid)
                process.cpu_percent(None)
                self._load[pid] = process

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                cpu = self._process.cpu_percent(None)
                rss = self._process.memory_info().rss
            except psutil.Error:
                return
            helper_cpu, helper_rss = self._helpers()
            cpu += helper_cpu
            rss += helper_rss
            load = 0.0
            for process in list(self._load.values()):
                with contextlib.suppress(psutil.Error):
                    load += process.cpu_percent(None)
            self._ticks += 1
            if self._ticks % 4 == 0:
                self._other_cpu = self._foreign_cpu()
            machine = psutil.cpu_percent(None)
            self.samples.append(Sample(time.time(), cpu, rss, load, machine, self._other_cpu))

    def _helpers(self) -> tuple[float, int]:
        """CPU and RSS of the server's own child processes (this server's history
        indexer): they count as the server's."""
        cpu, rss = 0.0, 0
        with contextlib.suppress(psutil.Error):
            for child in self._process.children(recursive=True):
                known = self._children.get(child.pid)
                if known is None:  # its first CPU reading only starts the count
                    self._children[child.pid] = child
                    child.cpu_percent(None)
                    known = child
                with contextlib.suppress(psutil.Error):
                    cpu += known.cpu_percent(None)
                    rss += known.memory_info().rss
        return cpu, rss

    def _foreign_cpu(self) -> float:
        """CPU of the processes on the machine that are not this benchmark's: other work
        running at the same time makes every figure noisier."""
        me = psutil.Process()
        ours = {me.pid, *(child.pid for child in me.children(recursive=True))}
        total = 0.0
        seen = set()
        for process in psutil.process_iter():
            pid = process.pid
            if pid in ours:
                continue
            seen.add(pid)
            known = self._others.setdefault(pid, process)
            with contextlib.suppress(psutil.Error):
                total += known.cpu_percent(None)
        for pid in set(self._others) - seen:
            del self._others[pid]
        return total

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)

    def mark(self, name: str) -> None:
        self.marks[name] = time.time()

    def rss_now(self) -> int:
        try:
            return int(self._process.memory_info().rss)
        except psutil.Error:
            return 0

    def peak_rss(self) -> int:
        return max((s.rss for s in self.samples), default=self.rss_now())

    def window(self, start: str, end: str) -> list[Sample]:
        t0, t1 = self.marks.get(start, 0.0), self.marks.get(end, time.time())
        return [s for s in self.samples if t0 <= s.t <= t1]

    def mean_cpu(self, start: str, end: str) -> float | None:
        window = self.window(start, end)
        return sum(s.cpu for s in window) / len(window) if window else None

    def mean_load_cpu(self, start: str, end: str) -> float | None:
        window = self.window(start, end)
        return sum(s.load_cpu for s in window) / len(window) if window else None

    def mean_machine_cpu(self, start: str, end: str) -> float | None:
        window = self.window(start, end)
        return sum(s.machine_cpu for s in window) / len(window) if window else None

    def mean_other_cpu(self, start: str, end: str) -> float | None:
        window = self.window(start, end)
        return sum(s.other_cpu for s in window) / len(window) if window else None


# -- waiting on Node workers -----------------------------------------------------------------
class Abort(Exception):
    """A run stopped before it finished: the reason is reported as "did not finish"."""


class Deadline(Abort):
    """A wait passed its time limit."""


def wait_all(
    workers: Sequence[Child],
    event: str,
    deadline: float,
    *,
    what: str,
    check: Callable[[], None] | None = None,
    on_other: Callable[[int, dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Wait until every worker has emitted `event`; return those events in worker order.

    `check()` runs between waits (it raises Abort, e.g. when the server's RSS is over its
    cap); other events go to `on_other(worker index, event)`. Raises Deadline on the
    deadline, Abort when a worker exits or reports an error."""
    results: dict[int, dict[str, Any]] = {}
    while len(results) < len(workers):
        if time.monotonic() > deadline:
            raise Deadline(f"{what}: {len(results)}/{len(workers)} workers done at the time limit")
        if check is not None:
            check()
        for index, worker in enumerate(workers):
            if index in results:
                continue
            message = worker.next_event(0.02)
            if message is None:
                continue
            kind = message.get("event")
            if kind == event:
                results[index] = message
            elif kind == "exited":
                raise Abort(f"{what}: a worker exited (see {worker.log_path})")
            elif kind == "error":
                raise Abort(f"{what}: a worker failed: {str(message.get('message'))[:300]}")
            elif on_other is not None:
                on_other(index, message)
    return [results[i] for i in range(len(workers))]
