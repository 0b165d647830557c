"""The three servers under test, started the same way: a subprocess on a loopback port.

- `travaux`: this project's server, `python -m travaux.cli serve` on an SQLite file;
- `pycrdt-websocket`: the stock pycrdt-websocket server with pycrdt-store's SQLiteYStore
  (launched by bench/pycrdt_server.py);
- `node`: the reference `@y/websocket-server` 0.1.1 (in memory; LevelDB through its own
  YPERSISTENCE variable where a scenario needs a document on disk).
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench_procs import QUIET, Child, Sampler, free_port, wait_for_port

if TYPE_CHECKING:
    from crdt_sync.store import Store

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
NODE_SERVER = REPO / "node_modules" / "@y" / "websocket-server" / "src" / "server.js"
EMPTY_UPDATE = b"\x00\x00"

# A replay at machine speed is not a person typing: the default of 500 messages per second
# per connection (with a burst of 5000) would close the sender with 1008. Only the trace
# scenarios (ingest, concurrent replay) lift it; fan-out runs with the defaults.
UNLIMITED_RATE = {
    "TRAVAUX_LIMIT_MESSAGES_PER_SECOND": "1000000000",
    "TRAVAUX_LIMIT_MESSAGE_BURST": "1000000000",
}


def slug(label: str) -> str:
    """A label as a URL path segment and a file name."""
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


@dataclass
class Running:
    """A started server: its process, port, sampler, and how to reach its rooms."""

    kind: ServerKind
    child: Child
    port: int
    sampler: Sampler

    def room_url(self, room: str) -> str:
        return f"{self.kind.base_url(self.port)}/{room}"

    def stop(self) -> None:
        self.sampler.stop()
        self.child.stop()


@dataclass
class ServerKind:
    """What differs between the three servers; one instance per server and working dir."""

    name: str
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)

    # -- overridden ------------------------------------------------------------------------
    def command(self, port: int) -> list[str]:
        raise NotImplementedError

    def base_url(self, port: int) -> str:
        return f"ws://127.0.0.1:{port}"

    def create_room(self, label: str) -> str:
        """A room clients may join (the Travaux server refuses unknown text ids)."""
        return f"{slug(label)}-{free_port()}"

    def seed(self, label: str, update: bytes) -> str:
        """A room whose stored document is `update`, before the server starts."""
        raise NotImplementedError

    def stored_updates(self, room: str) -> int | None:
        """How many updates of `room` are durably stored (None: not known)."""
        return None

    # -- common ------------------------------------------------------------------------------
    def start(self, tag: str, env: dict[str, str] | None = None) -> Running:
        QUIET.wait()
        port = free_port()
        log = self.workdir / f"{self.name}-{slug(tag)}.log"
        child = Child(self.command(port), log=log, cwd=REPO, env={**self.env, **(env or {})})
        try:
            wait_for_port(port, child)
        except Exception:
            child.stop()
            raise
        return Running(self, child, port, Sampler(child.pid))


class Travaux(ServerKind):
    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.workdir / 'travaux.sqlite3'}"

    def command(self, port: int) -> list[str]:
        return [
            sys.executable, "-m", "travaux.cli", "serve", "--host", "127.0.0.1",
            "--port", str(port), "--db", self.db_url, "--no-demo", "--quiet",
        ]  # fmt: skip

    def base_url(self, port: int) -> str:
        return f"ws://127.0.0.1:{port}/ws"

    def _store(self) -> Store:
        from crdt_sync.store import Store  # late: the store pulls in SQLAlchemy and Alembic

        return Store(self.db_url)

    def create_room(self, label: str) -> str:
        return self.seed(label, EMPTY_UPDATE)

    def seed(self, label: str, update: bytes) -> str:
        store = self._store()
        try:
            return self.signed(
                store, store.create_text(update, title=label, kind="bench", origin="bench")
            )
        finally:
            store.close()

    def create_rooms(self, label: str, count: int) -> list[str]:
        store = self._store()
        try:
            return [
                self.signed(
                    store,
                    store.create_text(
                        EMPTY_UPDATE, title=f"{label}-{i}", kind="bench", origin="bench"
                    ),
                )
                for i in range(count)
            ]
        finally:
            store.close()

    def signed(self, store: Store, text_id: str) -> str:
        """The room name a client uses: every connection signs in, here as the chair of a
        bench negotiation, with `?token=` as y-websocket's `params` would add it."""
        from crdt_sync.accounts import Accounts

        accounts = Accounts(store)
        if not getattr(self, "_token", None):
            negotiation = accounts.create_negotiation("bench")
            accounts.create_person("bench-chair", "Bench chair", "bench-password")
            accounts.grant("bench-chair", negotiation, "chair")
            self._negotiation = negotiation
            self._token = accounts.create_token("bench-chair", "bench")
        accounts.attach_text(text_id, self._negotiation)
        return f"{text_id}?token={self._token}"

    def stored_updates(self, room: str) -> int | None:
        path = self.workdir / "travaux.sqlite3"
        room = room.split("?", 1)[0]
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute("SELECT count(*) FROM updates WHERE text_id = ?", (room,)).fetchone()
        return int(row[0])


class PycrdtWebsocket(ServerKind):
    @property
    def db_path(self) -> Path:
        return self.workdir / "ystore.sqlite3"

    def command(self, port: int) -> list[str]:
        return [
            sys.executable, str(BENCH / "pycrdt_server.py"),
            "--port", str(port), "--db", str(self.db_path),
        ]  # fmt: skip

    def seed(self, label: str, update: bytes) -> str:
        room = self.create_room(label)
        asyncio.run(_write_ystore(self.db_path, f"/{room}", update))
        return room

    def stored_updates(self, room: str) -> int | None:
        if not self.db_path.exists():
            return 0
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5) as db:
            try:
                row = db.execute(
                    "SELECT count(*) FROM yupdates WHERE path = ?", (f"/{room}",)
                ).fetchone()
            except sqlite3.OperationalError:  # the store has not created its tables yet
                return 0
        return int(row[0])


async def _write_ystore(db_path: Path, path: str, update: bytes) -> None:
    """Store `update` as the document of `path` through pycrdt-store's own API."""
    from pycrdt_server import store_class

    async with store_class(str(db_path))(path=path) as store:
        await store.write(update)


class NodeReference(ServerKind):
    def command(self, port: int) -> list[str]:
        return ["node", str(NODE_SERVER)]

    def start(self, tag: str, env: dict[str, str] | None = None) -> Running:
        # The server reads HOST and PORT from its environment.
        QUIET.wait()
        port = free_port()
        log = self.workdir / f"{self.name}-{slug(tag)}.log"
        child_env = {**self.env, **(env or {}), "HOST": "127.0.0.1", "PORT": str(port)}
        child = Child(self.command(port), log=log, cwd=REPO, env=child_env)
        try:
            wait_for_port(port, child)
        except Exception:
            child.stop()
            raise
        return Running(self, child, port, Sampler(child.pid))

    def leveldb_env(self) -> dict[str, str]:
        return {"YPERSISTENCE": str(self.workdir / "leveldb")}

    def seed(self, label: str, update: bytes) -> str:
        """Through the server itself: a client pushes the update, LevelDB keeps it."""
        from ywire import push

        room = self.create_room(label)
        server = self.start(f"seed-{slug(label)}", self.leveldb_env())
        try:
            asyncio.run(push(server.room_url(room), update, linger=1.0))
        finally:
            server.stop()
        return room


SERVER_NAMES = ("travaux", "pycrdt-websocket", "node")


def make_server(name: str, workdir: Path) -> ServerKind:
    directory = workdir / name
    directory.mkdir(parents=True, exist_ok=True)
    kinds: dict[str, type[ServerKind]] = {
        "travaux": Travaux,
        "pycrdt-websocket": PycrdtWebsocket,
        "node": NodeReference,
    }
    return kinds[name](name, directory)
