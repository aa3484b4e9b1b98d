"""The domain: strategies, runs and their log lines, orders, fills, position snapshots, equity.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from weaver.store.models import Amount, BigId, Json, UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# the values as of this revision (a later one that adds a value changes the constraint)
_RUN_MODES = "mode IN ('live', 'paper', 'backtest')"
_RUN_STATUSES = "status IN ('pending', 'running', 'stopped', 'completed', 'error', 'halted')"
_SIDES = "side IN ('buy', 'sell')"


def _run_id(table: str, **kw: object) -> sa.Column:
    """The column by which a row names its run; the row goes when the run goes."""
    return sa.Column("run_id", sa.String(64), sa.ForeignKey("runs.id", ondelete="CASCADE", name=f"fk_{table}_run_id"),
                     nullable=False, **kw)


def upgrade() -> None:
    identity = [sa.Identity()] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "strategies",
        sa.Column("id", BigId, *identity, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("params_schema", Json, nullable=False),
        sa.Column("created_at", UtcDateTime(), server_default=sa.func.now(), nullable=False),
        sa.UniqueConstraint("name", "version", name="uq_strategies_name_version"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("strategy_id", BigId, sa.ForeignKey("strategies.id", name="fk_runs_strategy_id")),
        sa.Column("strategy", sa.String(200), nullable=False),
        sa.Column("strategy_version", sa.String(64)),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("symbols", Json, nullable=False),
        sa.Column("timeframe", sa.String(16)),
        sa.Column("spec", Json, nullable=False),
        sa.Column("data_start", UtcDateTime()),
        sa.Column("data_end", UtcDateTime()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("started_at", UtcDateTime()),
        sa.Column("stopped_at", UtcDateTime()),
        sa.Column("stats", Json),
        sa.Column("error", sa.Text()),
        sa.CheckConstraint(_RUN_MODES, name="ck_runs_mode"),
        sa.CheckConstraint(_RUN_STATUSES, name="ck_runs_status"),
    )
    op.create_index("ix_runs_status", "runs", ["status"])
    op.create_index("ix_runs_mode", "runs", ["mode"])
    op.create_index("ix_runs_created_at", "runs", ["created_at"])
    op.create_index("ix_runs_strategy_id", "runs", ["strategy_id"])
    op.create_table(
        "run_logs",
        _run_id("run_logs", primary_key=True),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("ts", UtcDateTime(), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
    )
    op.create_table(
        "orders",
        sa.Column("id", BigId, *identity, primary_key=True, autoincrement=True),
        _run_id("orders"),
        sa.Column("client_order_id", sa.String(128), nullable=False),
        sa.Column("venue_order_id", sa.String(128)),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("qty", Amount(), nullable=False),
        sa.Column("limit_price", Amount()),
        sa.Column("stop_price", Amount()),
        sa.Column("trail_price", Amount()),
        sa.Column("trail_percent", Amount()),
        sa.Column("tif", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("filled_qty", Amount(), nullable=False),
        sa.Column("avg_fill_price", Amount()),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("filled_at", UtcDateTime()),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.UniqueConstraint("run_id", "client_order_id", name="uq_orders_run_id_client_order_id"),
        sa.CheckConstraint(_SIDES, name="ck_orders_side"),
    )
    op.create_index("ix_orders_run_id_status", "orders", ["run_id", "status"])
    op.create_table(
        "fills",
        sa.Column("id", BigId, *identity, primary_key=True, autoincrement=True),
        _run_id("fills"),
        sa.Column("exec_id", sa.String(128), nullable=False),
        sa.Column("client_order_id", sa.String(128), nullable=False),
        sa.Column("ts", UtcDateTime(), nullable=False),
        sa.Column("symbol", sa.String(64), nullable=False),
        sa.Column("side", sa.String(8), nullable=False),
        sa.Column("qty", Amount(), nullable=False),
        sa.Column("price", Amount(), nullable=False),
        sa.Column("commission", Amount(), nullable=False),
        sa.UniqueConstraint("run_id", "exec_id", name="uq_fills_run_id_exec_id"),
        sa.CheckConstraint(_SIDES, name="ck_fills_side"),
    )
    op.create_index("ix_fills_run_id_client_order_id", "fills", ["run_id", "client_order_id"])
    op.create_table(
        "position_snapshots",
        _run_id("position_snapshots", primary_key=True),
        sa.Column("symbol", sa.String(64), primary_key=True),
        sa.Column("ts", UtcDateTime(), primary_key=True),
        sa.Column("qty", Amount(), nullable=False),
        sa.Column("avg_price", Amount()),
    )
    op.create_table(
        "equity_points",
        _run_id("equity_points", primary_key=True),
        sa.Column("ts", UtcDateTime(), primary_key=True),
        sa.Column("equity", Amount(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("equity_points")
    op.drop_table("position_snapshots")
    op.drop_index("ix_fills_run_id_client_order_id", "fills")
    op.drop_table("fills")
    op.drop_index("ix_orders_run_id_status", "orders")
    op.drop_table("orders")
    op.drop_table("run_logs")
    for index in ("ix_runs_strategy_id", "ix_runs_created_at", "ix_runs_mode", "ix_runs_status"):
        op.drop_index(index, "runs")
    op.drop_table("runs")
    op.drop_table("strategies")
