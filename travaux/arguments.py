"""Values given on the command line, read the same way by every sub-command."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_time(value: str | None, example: str = "2015-12-09") -> datetime | None:
    """An ISO 8601 date or time (UTC unless it says otherwise); ValueError that says how
    to write one."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{value!r} is not a time (ISO 8601, e.g. {example} or {example}T21:30)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)
