"""Keep credentials out of the server's logs.

A script's WebSocket carries its API token in the URL (`?token=…`, the only place a
y-websocket client can put it), and uvicorn logs every request line and WebSocket path.
A log file is read by more people than may sign in as the token's owner: the token is
replaced by `[redacted]` before any handler sees the record.
"""

from __future__ import annotations

import logging
import re

TOKEN_IN_URL = re.compile(r"(?<=[?&]token=)[^&\s\"']+")
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(value: object) -> object:
    return TOKEN_IN_URL.sub("[redacted]", value) if isinstance(value, str) else value


class TokenRedaction(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(arg) for arg in record.args)
        record.msg = redact(record.msg)
        return True


def install() -> None:
    """Add the filter to uvicorn's loggers (once, however many apps are created)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, TokenRedaction) for f in logger.filters):
            logger.addFilter(TokenRedaction())
