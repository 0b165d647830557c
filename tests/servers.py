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


def launch_server(
    db_url: str,
    tmp_path: Path,
    *extra_args: str,
    limits: dict[str, float] | None = None,
    new_session: bool = False,
    env: dict[str, str] | None = None,
) -> Server:
    """Start `travaux serve` on a free port (not waiting for it: see `wait_until_serving`)."""
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
            *extra_args,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={
            **os.environ,
            "TRAVAUX_DATA_DIR": str(tmp_path),
            **{f"TRAVAUX_LIMIT_{k.upper()}": str(v) for k, v in (limits or {}).items()},
            **(env or {}),
        },
        start_new_session=new_session,  # worker processes go with their parent
    )
    return Server(process, port, db_url)


def wait_until_serving(server: Server, tmp_path: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{server.port}/api/texts", timeout=1)
            return
        except httpx.TransportError:
            if server.process.poll() is not None:
                break
            time.sleep(0.1)
    server.process.kill()
    raise RuntimeError((tmp_path / f"server-{server.port}.log").read_text())


def start_server(db_url: str, tmp_path: Path, **limits: float) -> Server:
    server = launch_server(db_url, tmp_path, limits=limits)
    wait_until_serving(server, tmp_path)
    return server
