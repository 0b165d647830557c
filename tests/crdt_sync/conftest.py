"""Stores on both supported databases: a SQLite file and the real PostgreSQL server.

Each PostgreSQL test gets a schema of its own, created empty and dropped afterwards, and
the store reaches it through `search_path`, so parallel runs and leftovers of an
interrupted run never meet. Set TRAVAUX_TEST_PG_URL to use another server; set it to the
empty string to skip the PostgreSQL cases on a machine without one.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def pg_base_url() -> str:
    url = os.environ.get("TRAVAUX_TEST_PG_URL", DEFAULT_PG_URL)
    if not url:
        pytest.skip("PostgreSQL cases switched off (TRAVAUX_TEST_PG_URL is empty)")
    return url


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A URL whose connections see only a fresh, empty schema."""
    base = pg_base_url()
    schema = f"travaux_test_{secrets.token_hex(6)}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as error:  # say how to fix it rather than show a driver traceback
        admin.dispose()
        pytest.fail(
            f"PostgreSQL at {make_url(base).render_as_string(hide_password=True)} is not "
            f"usable ({error.__class__.__name__}: {error}); start it, point "
            "TRAVAUX_TEST_PG_URL at another server, or set TRAVAUX_TEST_PG_URL= to skip"
        )
    try:
        yield (
            make_url(base)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind, as a URL for `Store(url)`."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'travaux.sqlite3'}"
    return request.getfixturevalue("pg_schema_url")
