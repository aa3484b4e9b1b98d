"""The event log: the outbox and the consumers' offsets.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from weaver.store.models import BigId, Json, UtcDateTime, Xid8

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    # PostgreSQL: the id of the writing transaction, the cursor's first part (DESIGN §5);
    # SQLite serializes its writers, so there the id alone orders commits and tx is 0
    tx = (sa.Column("tx", Xid8(), nullable=False, server_default=sa.text("pg_current_xact_id()")) if postgres
          else sa.Column("tx", sa.Integer(), nullable=False, server_default=sa.text("0")))
    identity = [sa.Identity()] if postgres else []
    op.create_table(
        "outbox",
        sa.Column("id", BigId, *identity, primary_key=True, autoincrement=True),
        tx,
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("version", sa.SmallInteger(), nullable=False),
        sa.Column("run_id", sa.String(64)),
        sa.Column("correlation_id", sa.String(128)),
        sa.Column("causation_id", sa.String(128)),
        sa.Column("ts", UtcDateTime(), nullable=False),
        sa.Column("payload", Json, nullable=False),
        sa.Column("created_at", UtcDateTime(), server_default=sa.func.now(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_outbox_tx_id", "outbox", ["tx", "id"])
    op.create_index("ix_outbox_run_id", "outbox", ["run_id"])
    op.create_table(
        "consumer_offsets",
        sa.Column("consumer", sa.String(128), primary_key=True),
        sa.Column("cursor", sa.String(64), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("consumer_offsets")
    op.drop_index("ix_outbox_run_id", "outbox")
    op.drop_index("ix_outbox_tx_id", "outbox")
    op.drop_table("outbox")
