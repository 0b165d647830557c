"""The first schema: texts, their append-only update log, and snapshots.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

# Written out rather than imported from crdt_sync.models: a migration describes the schema
# as it was at this revision, whatever the models say later.
LOG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "texts",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_texts")),
    )
    op.create_table(
        "updates",
        sa.Column("id", LOG_ID, autoincrement=True, nullable=False),
        sa.Column("text_id", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("origin", sa.String(200), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["text_id"],
            ["texts.id"],
            name=op.f("fk_updates_text_id_texts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_updates")),
    )
    op.create_index("ix_updates_text_id_id", "updates", ["text_id", "id"])
    op.create_table(
        "snapshots",
        sa.Column("id", LOG_ID, autoincrement=True, nullable=False),
        sa.Column("text_id", sa.String(32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("up_to_update_id", LOG_ID, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["text_id"],
            ["texts.id"],
            name=op.f("fk_snapshots_text_id_texts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshots")),
    )
    op.create_index(
        "ix_snapshots_text_id_up_to_update_id", "snapshots", ["text_id", "up_to_update_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_snapshots_text_id_up_to_update_id", table_name="snapshots")
    op.drop_table("snapshots")
    op.drop_index("ix_updates_text_id_id", table_name="updates")
    op.drop_table("updates")
    op.drop_table("texts")
