"""The stock pycrdt-websocket server with its SQLite store, for the sync benchmark.

    python bench/pycrdt_server.py --port 9000 --db /tmp/ystore.db

`pycrdt.websocket.WebsocketServer` behind its `ASGIServer`, served by uvicorn on loopback;
every room (named by the URL path, as y-websocket clients ask for it) keeps its updates in
`pycrdt.store.SQLiteYStore` and is loaded from it when it is opened again. Library
defaults everywhere (auto_clean_rooms, checkpoints every 100 updates, no compression), with
one exception made for a fair comparison: permessage-deflate is off, as it is on the two
other servers. Nothing here works around the library's known problems (STACK-NOTES.md).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

import uvicorn
from pycrdt.store import SQLiteYStore, YDocNotFound
from pycrdt.websocket import ASGIServer, WebsocketServer, YRoom


def store_class(db_path: str) -> type[SQLiteYStore]:
    """SQLiteYStore is configured by subclassing (its documented way)."""
    return type("BenchYStore", (SQLiteYStore,), {"db_path": db_path})


class StoredWebsocketServer(WebsocketServer):
    """A WebsocketServer whose rooms are persisted in an SQLiteYStore."""

    def __init__(self, db_path: str) -> None:
        super().__init__(rooms_ready=False, log=logging.getLogger("pycrdt-bench"))
        self.store = store_class(db_path)

    async def get_room(self, name: str) -> YRoom:
        if name not in self.rooms:
            self.rooms[name] = YRoom(ready=False, ystore=self.store(path=name), log=self.log)
            room = self.rooms[name]
            await self.start_room(room)
            await self._load(room)
        room = self.rooms[name]
        await self.start_room(room)
        await room.ready_event.wait()
        return room

    async def _load(self, room: YRoom) -> None:
        """Apply what the store holds, then let the room observe (and persist) changes."""
        assert room.ystore is not None
        await room.ystore.started.wait()
        with contextlib.suppress(YDocNotFound):  # a new room
            await room.ystore.apply_updates(room.ydoc)
        room.ready = True


async def serve(port: int, db_path: str) -> None:
    websocket_server = StoredWebsocketServer(db_path)
    async with websocket_server:
        config = uvicorn.Config(
            ASGIServer(websocket_server),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            ws_per_message_deflate=False,
        )
        await uvicorn.Server(config).serve()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True, help="SQLite file of the store")
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.db))


if __name__ == "__main__":
    main()
