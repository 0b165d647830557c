"""A real `travaux serve` process for tests that talk to it over sockets."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    db_url: str

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_url: str, tmp_path: Path, **limits: float) -> Server:
    port = free_port()
    log = open(tmp_path / f"server-{port}.log", "wb")  # noqa: SIM115 — lives with the process
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "travaux.cli",
            "serve",
            "--port",
            str(port),
            "--db",
            db_url,
            "--no-demo",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "TRAVAUX_DATA_DIR": str(tmp_path),
            **{f"TRAVAUX_LIMIT_{name.upper()}": str(value) for name, value in limits.items()},
        },
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/api/texts", timeout=1)
            return Server(process, port, db_url)
        except httpx.TransportError:
            if process.poll() is not None:
                break
            time.sleep(0.1)
    process.kill()
    raise RuntimeError((tmp_path / f"server-{port}.log").read_text())
