"""Alembic environment for the Travaux store.

Migrations run from `crdt_sync.store.Store` when a database is opened, on the connection
the store hands over in `config.attributes["connection"]` (inside the transaction that
holds the migration lock). For a developer writing a new revision, the same file works
from the command line with a URL: `alembic -c crdt_sync/migrations/alembic.ini
-x url=sqlite:///dev.sqlite3 revision --autogenerate -m "…"`.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from crdt_sync.models import Base

target_metadata = Base.metadata


def _configure_and_run(connection: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place: batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or context.config.get_main_option(
        "sqlalchemy.url"
    )
    if not url:
        raise SystemExit("give the database with -x url=… (any SQLAlchemy URL)")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _configure_and_run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run them on a database")
run_migrations_online()
