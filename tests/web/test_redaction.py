"""API tokens never reach the server's logs."""

from __future__ import annotations

import logging

from web.redaction import TokenRedaction, redact


def test_a_token_in_a_url_is_redacted_wherever_it_stands():
    assert redact("/ws/abc?token=trv_secret123") == "/ws/abc?token=[redacted]"
    assert redact("/ws/abc?x=1&token=trv_s-_9&y=2") == "/ws/abc?x=1&token=[redacted]&y=2"
    assert redact("/api/texts?negotiation=demo") == "/api/texts?negotiation=demo"


def test_uvicorn_style_records_lose_the_token_before_formatting():
    record = logging.LogRecord(
        "uvicorn.error",
        logging.INFO,
        __file__,
        1,
        '%s - "WebSocket %s" [accepted]',
        ("127.0.0.1:5000", "/ws/abc?token=trv_secret123"),
        None,
    )
    TokenRedaction().filter(record)
    assert "trv_secret123" not in record.getMessage()
    assert "token=[redacted]" in record.getMessage()
