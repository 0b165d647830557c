"""Revisions (immutable, hash-chained) and the per-clause history cache.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

# Written out rather than imported from crdt_sync.models (see 0001).
LOG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

IMMUTABLE = "revisions are immutable: cut a new revision instead of changing one"


def upgrade() -> None:
    op.create_table(
        "revisions",
        sa.Column("id", LOG_ID, autoincrement=True, nullable=False),
        sa.Column("text_id", sa.String(32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("up_to_update_id", LOG_ID, nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("statistics", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["text_id"], ["texts.id"], name=op.f("fk_revisions_text_id_texts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revisions")),
        sa.UniqueConstraint("text_id", "number", name="uq_revisions_text_id_number"),
        sa.UniqueConstraint("text_id", "label", name="uq_revisions_text_id_label"),
    )
    op.create_table(
        "history_entries",
        sa.Column("id", LOG_ID, autoincrement=True, nullable=False),
        sa.Column("text_id", sa.String(32), nullable=False),
        sa.Column("clause_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("kinds", sa.String(400), nullable=False),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("party", sa.String(100), nullable=False),
        sa.Column("started", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_update_id", LOG_ID, nullable=False),
        sa.Column("last_update_id", LOG_ID, nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("words_before", sa.Text(), nullable=False),
        sa.Column("words_after", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["text_id"],
            ["texts.id"],
            name=op.f("fk_history_entries_text_id_texts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_history_entries")),
    )
    op.create_index(
        "ix_history_entries_text_id_clause_id", "history_entries", ["text_id", "clause_id", "id"]
    )
    op.create_table(
        "history_cursors",
        sa.Column("text_id", sa.String(32), nullable=False),
        sa.Column("up_to_update_id", LOG_ID, nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["text_id"],
            ["texts.id"],
            name=op.f("fk_history_cursors_text_id_texts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("text_id", name=op.f("pk_history_cursors")),
    )
    _forbid_updates_of_revisions()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS revisions_immutable ON revisions")
        op.execute("DROP FUNCTION IF EXISTS travaux_revisions_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS revisions_immutable")
    op.drop_table("history_cursors")
    op.drop_index("ix_history_entries_text_id_clause_id", table_name="history_entries")
    op.drop_table("history_entries")
    op.drop_table("revisions")


def _forbid_updates_of_revisions() -> None:
    """The database itself refuses to change a revision; the hash chain catches whoever
    bypasses this (a trigger can be dropped by the database's owner)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION travaux_revisions_immutable() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{IMMUTABLE}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER revisions_immutable BEFORE UPDATE ON revisions "
            "FOR EACH ROW EXECUTE FUNCTION travaux_revisions_immutable()"
        )
    else:
        op.execute(
            "CREATE TRIGGER revisions_immutable BEFORE UPDATE ON revisions "
            f"BEGIN SELECT RAISE(ABORT, '{IMMUTABLE}'); END"
        )
