"""Writing a WebSocket frame straight to a connection's socket, from the room's fan-out.

Through ASGI a frame sent to one connection costs three layers of Python (Starlette's
WebSocket, uvicorn's send, the websockets library's framing) before the system call that
writes it: about 27 µs per connection here, of which the write is 10 (docs/PERFORMANCE.md).
A fan-out to 500 connections pays that 500 times per keystroke. So the server runs uvicorn
with `FrameWritingProtocol`, its sans-I/O WebSocket protocol plus one ASGI extension,
`travaux.write_frame`: a plain function that writes an already framed message to the
socket at once, or answers False when it cannot (handshake not done, closing, the socket's
buffer full, compression negotiated); the caller then sends through ASGI as usual.

Framing is done here (RFC 6455 §5.2): a server's frames are never masked, and ours are
single binary frames without extensions (permessage-deflate is off in `travaux serve`).
Under any other ASGI server the extension is absent and everything goes through ASGI.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

WRITE_FRAME = "travaux.write_frame"

FrameWriter = Callable[[bytes], bool]  # a whole framed message → written or not


def binary_frame(payload: bytes) -> bytes:
    """`payload` as one final, unmasked binary frame."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x82, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x82, 126, size)
    else:
        header = struct.pack("!BBQ", 0x82, 127, size)
    return header + payload


class FrameWritingProtocol(WebSocketsSansIOProtocol):
    """uvicorn's sans-I/O WebSocket protocol, offering `travaux.write_frame` to the app."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)  # absent when the handshake was refused
        if scope is not None:
            scope["extensions"][WRITE_FRAME] = {"write": self.write_frame}  # type: ignore[index]

    def write_frame(self, frame: bytes) -> bool:
        """Write a framed message now; False (nothing written) when it is not the moment."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or self.initial_response is not None
            or not self.writable.is_set()
            or self.conn.extensions  # compressed frames would need the library's framing
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True


def frame_writer(scope: dict[str, object]) -> FrameWriter | None:
    """The connection's frame writer, when the server offers one."""
    extensions = scope.get("extensions")
    offered = extensions.get(WRITE_FRAME) if isinstance(extensions, dict) else None
    return offered.get("write") if isinstance(offered, dict) else None
