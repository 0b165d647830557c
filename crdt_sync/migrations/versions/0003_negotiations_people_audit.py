"""Negotiations, their Parties and people; sign-in sessions and API tokens; the audit log;
texts that belong to a negotiation, and scoped documents (balloons, workspaces).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None

# Written out rather than imported from crdt_sync.models (see 0001).
LOG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID = sa.String(32)
WHEN = sa.DateTime(timezone=True)

APPEND_ONLY = "the audit log is append-only: entries are never changed or deleted"


def upgrade() -> None:
    op.create_table(
        "negotiations",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("grants", sa.Text(), nullable=False),
        sa.Column("rights_version", sa.Integer(), nullable=False),
        sa.Column("created", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_negotiations")),
    )
    op.create_table(
        "negotiation_parties",
        sa.Column("id", LOG_ID, autoincrement=True, nullable=False),
        sa.Column("negotiation_id", ID, nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.ForeignKeyConstraint(
            ["negotiation_id"],
            ["negotiations.id"],
            name=op.f("fk_negotiation_parties_negotiation_id_negotiations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_negotiation_parties")),
        sa.UniqueConstraint("negotiation_id", "code", name="uq_negotiation_parties_negotiation_id"),
    )
    op.create_table(
        "people",
        sa.Column("id", ID, nullable=False),
        sa.Column("login", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("login", name=op.f("uq_people_login")),
    )
    op.create_table(
        "memberships",
        sa.Column("id", LOG_ID, autoincrement=True, nullable=False),
        sa.Column("person_id", ID, nullable=False),
        sa.Column("negotiation_id", ID, nullable=False),
        sa.Column("party", sa.String(100), nullable=False),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("created", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_memberships_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["negotiation_id"],
            ["negotiations.id"],
            name=op.f("fk_memberships_negotiation_id_negotiations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
        sa.UniqueConstraint("person_id", "negotiation_id", name="uq_memberships_person_id"),
    )
    for table in ("sessions", "api_tokens"):
        specific = (
            [
                sa.Column("csrf_token", sa.String(64), nullable=False),
                sa.Column("created", WHEN, nullable=False),
                sa.Column("last_seen", WHEN, nullable=False),
                sa.Column("expires", WHEN, nullable=False),
                sa.Column("revoked", WHEN, nullable=True),
            ]
            if table == "sessions"
            else [
                sa.Column("name", sa.String(200), nullable=False),
                sa.Column("created", WHEN, nullable=False),
                sa.Column("expires", WHEN, nullable=True),
                sa.Column("revoked", WHEN, nullable=True),
                sa.Column("last_used", WHEN, nullable=True),
            ]
        )
        op.create_table(
            table,
            sa.Column("id", LOG_ID, autoincrement=True, nullable=False),
            sa.Column("token_hash", sa.String(64), nullable=False),
            sa.Column("person_id", ID, nullable=False),
            *specific,
            sa.ForeignKeyConstraint(
                ["person_id"],
                ["people.id"],
                name=op.f(f"fk_{table}_person_id_people"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
            sa.UniqueConstraint("token_hash", name=op.f(f"uq_{table}_token_hash")),
        )
    op.create_table(
        "audit_entries",
        sa.Column("id", LOG_ID, autoincrement=True, nullable=False),
        sa.Column("at", WHEN, nullable=False),
        sa.Column("negotiation_id", ID, nullable=False),
        sa.Column("text_id", ID, nullable=False),
        sa.Column("person", sa.String(200), nullable=False),
        sa.Column("party", sa.String(100), nullable=False),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("previous_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entries")),
    )
    op.create_index("ix_audit_entries_negotiation_id_id", "audit_entries", ["negotiation_id", "id"])
    _make_audit_log_append_only()
    _add_text_columns()


def downgrade() -> None:
    raise NotImplementedError("0003 is not reversible: the audit log may not be dropped")


def _make_audit_log_append_only() -> None:
    """The database refuses to change or delete an entry; the hash chain catches whoever
    bypasses this (a trigger can be dropped by the database's owner)."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION travaux_audit_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END; $$ LANGUAGE plpgsql"
        )
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entries_no_{event.lower()} BEFORE {event} "
                "ON audit_entries FOR EACH ROW EXECUTE FUNCTION travaux_audit_append_only()"
            )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_entries_no_{event.lower()} BEFORE {event} "
                f"ON audit_entries BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"
            )


def _add_text_columns() -> None:
    # Plain ADD COLUMN without foreign keys: SQLite can only add a foreign key by
    # re-creating `texts` (batch mode), and dropping it with foreign keys on would cascade
    # into the update log. The store keeps these references (texts are never deleted).
    op.add_column("texts", sa.Column("negotiation_id", ID, nullable=True))
    op.add_column("texts", sa.Column("parent_id", ID, nullable=True))
    op.add_column("texts", sa.Column("scope", sa.String(200), nullable=False, server_default=""))
    op.create_index("ix_texts_parent_id", "texts", ["parent_id"])
