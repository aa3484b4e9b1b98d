"""Strategies and runs in the store, on SQLite and PostgreSQL: register, save a backtest, load it back equal."""

from __future__ import annotations

import asyncio
import hashlib
import math
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import weaver as wv
from weaver.core.errors import DataError
from tests.integration.store.helpers import count
from weaver.store import AsyncStore, Store
from weaver.store.errors import ConflictError, NotFoundError
from weaver.store.models import Base, OutboxEvent
from weaver.store.runs import StoredBacktest, load_backtest, save_backtest
from weaver.strategy.examples import RsiReversion, SmaCross

SOURCE = "class Mine(wv.Strategy):\n    fast: int = 10\n"
SCHEMA = {"fast": {"type": "int", "default": 10, "low": 2, "high": 200}}
DOMAIN_TABLES = ("strategies", "runs", "run_logs", "orders", "fills", "position_snapshots", "equity_points")


@pytest.fixture(scope="module")
def sma(goog: pd.DataFrame) -> wv.BacktestResult:
    """Market orders only, a commission (float products: 17-digit values)."""
    return wv.backtest(SmaCross, goog, commission=0.001)


@pytest.fixture(scope="module")
def rsi(goog: pd.DataFrame) -> wv.BacktestResult:
    """Limit and stop orders, cancellations with a reason, fractional quantities, slippage."""
    return wv.backtest(RsiReversion, goog, commission=0.001, fractional=True, slippage=3)


@pytest.fixture(scope="module")
def idle(goog: pd.DataFrame) -> wv.BacktestResult:
    """A run that places no order: empty frames, NaN statistics."""
    return wv.backtest(SmaCross, goog.iloc[:20])




def assert_same_backtest(loaded: StoredBacktest, result: wv.BacktestResult) -> None:
    pd.testing.assert_frame_equal(loaded.orders, result.orders, check_exact=True)
    pd.testing.assert_frame_equal(loaded.fills, result.fills, check_exact=True)
    pd.testing.assert_series_equal(loaded.equity, result.equity, check_exact=True)
    pd.testing.assert_series_equal(loaded.stats, result.stats, check_exact=True)
    for key, value in result.stats.items():  # an object Series: the values' types too
        back = loaded.stats[key]
        assert type(back) is type(value), key
        assert back == value or (math.isnan(value) and math.isnan(back)), key
        if isinstance(value, pd.Timestamp | pd.Timedelta):
            assert back.unit == value.unit, key
    assert loaded.config == result.config
    assert loaded.params == result.params
    assert loaded.notes == result.notes


# --- strategies -------------------------------------------------------------------------------


def test_register_strategy_versions_by_the_sources_sha256_and_is_idempotent(store: Store) -> None:
    first = store.register_strategy("mine", SOURCE, SCHEMA)
    again = store.register_strategy("mine", SOURCE, SCHEMA)

    assert first.version == hashlib.sha256(SOURCE.encode("utf-8")).hexdigest()
    assert again == first
    assert (first.name, first.source, first.params_schema) == ("mine", SOURCE, SCHEMA)
    assert first.created_at.tzinfo is not None
    assert count(store, "strategies") == 1


def test_a_changed_source_is_a_new_version_of_the_same_name(store: Store) -> None:
    first = store.register_strategy("mine", SOURCE, SCHEMA)
    second = store.register_strategy("mine", SOURCE + "    slow: int = 30\n", SCHEMA)
    other = store.register_strategy("theirs", SOURCE, SCHEMA)

    assert second.version != first.version and second.id != first.id
    assert other.version == first.version and other.id != first.id
    assert count(store, "strategies") == 3


# --- backtests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sma", "rsi", "idle"])
def test_a_saved_backtest_loads_back_equal(store: Store, name: str, request: pytest.FixtureRequest) -> None:
    result = request.getfixturevalue(name)

    run_id = store.save_backtest(result)
    loaded = store.load_backtest(run_id)

    assert loaded.run_id == run_id
    assert_same_backtest(loaded, result)
    assert (loaded.mode, loaded.status) == ("backtest", "completed")
    assert loaded.symbols == list(result.bars) and loaded.timeframe == result.timeframe
    assert loaded.strategy == result.strategy


def test_stats_that_json_cannot_hold_round_trip(store: Store, sma: wv.BacktestResult) -> None:
    import copy

    result = copy.copy(sma)
    tricky = {
        "nan": math.nan, "inf": math.inf, "minus_inf": -math.inf, "minus_zero": -0.0, "zero": 0.0,
        "tiny": 1e-7, "huge": 1e16, "dust": 0.1 + 0.2, "int": 7, "big_int": 2**62, "flag": True, "none": None,
        "text": "a $tag-looking string", "ns": pd.Timestamp("2024-01-02 14:30:00.000000001", tz="UTC"),
        "zoned": pd.Timestamp("2024-01-02 09:30", tz="America/New_York"), "naive": pd.Timestamp("2024-01-02"),
        "us": pd.Timestamp("2024-01-02", tz="UTC").as_unit("us"), "span": pd.Timedelta(1, "ns"),
        "negative_span": -pd.Timedelta("1 days 00:00:01"), "not_a_time": pd.NaT, "exact": Decimal("0.1"),
    }
    result.__dict__["stats"] = pd.Series(tricky, name="stats", dtype=object)

    loaded = store.load_backtest(store.save_backtest(result))

    assert list(loaded.stats.index) == list(tricky)
    for key, value in tricky.items():
        back = loaded.stats[key]
        assert type(back) is type(value), key
        if value is pd.NaT:
            assert back is pd.NaT
        elif isinstance(value, float) and math.isnan(value):
            assert math.isnan(back)
        else:
            assert back == value, key
        if isinstance(value, float):
            assert math.copysign(1, back) == math.copysign(1, value), key
        if isinstance(value, pd.Timestamp):
            assert (back.unit, str(back.tz)) == (value.unit, str(value.tz)), key


def test_saving_writes_a_completed_run_and_its_two_events(store: Store, sma: wv.BacktestResult) -> None:
    run_id = store.save_backtest(sma, run_id="goog-sma-1")

    # the outbox's rows as written (the log's readers wait for every older transaction in the
    # PostgreSQL cluster, which a test should not depend on)
    async def outbox(aio: AsyncStore) -> list:
        async with aio.connect() as conn:
            table = OutboxEvent.__table__
            query = sa.select(table.c.type, table.c.payload, table.c.tx).where(table.c.run_id == run_id)
            return [tuple(row) for row in await conn.execute(query.order_by(table.c.id))]

    events = store.call(outbox)

    assert run_id == "goog-sma-1"
    assert [e[0] for e in events] == ["run.created", "run.completed"]
    assert [e[1]["status"] for e in events] == ["pending", "completed"]
    assert {e[1]["run_id"] for e in events} == {run_id}
    assert len({e[2] for e in events}) == 1  # one transaction
    assert count(store, "orders") == len(sma.orders) and count(store, "fills") == len(sma.fills)
    assert count(store, "equity_points") == len(sma.equity)


def test_the_run_row_describes_the_run(store: Store, sma: wv.BacktestResult) -> None:
    loaded = store.load_backtest(store.save_backtest(sma))

    assert loaded.spec == {"config": sma.config.to_dict(), "params": sma.params}
    assert loaded.data_start == sma.equity.index[0] and loaded.data_end == sma.equity.index[-1]
    assert loaded.created_at <= loaded.started_at <= loaded.stopped_at
    assert loaded.strategy_version is None and loaded.error is None


def test_position_snapshots_follow_the_fills(store: Store, rsi: wv.BacktestResult) -> None:
    loaded = store.load_backtest(store.save_backtest(rsi))

    positions = loaded.positions
    signed = np.where(rsi.fills["side"] == "buy", rsi.fills["qty"], -rsi.fills["qty"])
    held = pd.Series(signed, index=rsi.fills["timestamp"]).groupby(level=0).sum().cumsum()

    assert list(positions.columns) == ["ts", "symbol", "qty", "avg_price"]
    assert list(positions["ts"]) == list(held.index)
    np.testing.assert_allclose(positions["qty"].astype(float), held.to_numpy(), atol=1e-9)
    assert all(isinstance(q, Decimal) for q in positions["qty"])
    opening = rsi.fills.iloc[0]
    assert float(positions["avg_price"].iloc[0]) == opening["price"]


def test_a_save_that_fails_halfway_writes_nothing(store: Store, sma: wv.BacktestResult) -> None:
    seen: list[str] = []

    def fail_at_the_fills(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement.split("(")[0].strip())
        if statement.startswith("INSERT INTO fills"):
            raise RuntimeError("the disk is on fire")

    sa.event.listen(store.aio.engine.sync_engine, "before_cursor_execute", fail_at_the_fills)
    try:
        with pytest.raises(RuntimeError, match="on fire"):
            store.save_backtest(sma)
    finally:
        sa.event.remove(store.aio.engine.sync_engine, "before_cursor_execute", fail_at_the_fills)

    assert "INSERT INTO runs" in seen and "INSERT INTO orders" in seen
    for table in ("runs", "orders", "fills", "equity_points", "position_snapshots", "run_logs", "outbox"):
        assert count(store, table) == 0, table


def test_a_run_links_the_registered_strategy_it_names(store: Store, sma: wv.BacktestResult) -> None:
    record = store.register_strategy("sma_cross", SOURCE, SCHEMA)

    loaded = store.load_backtest(store.save_backtest(sma, strategy_name="sma_cross"))

    assert (loaded.strategy, loaded.strategy_id, loaded.strategy_version) == ("sma_cross", record.id, record.version)


def test_an_unregistered_strategy_name_is_refused_and_writes_nothing(store: Store, sma: wv.BacktestResult) -> None:
    with pytest.raises(NotFoundError, match="'nope'"):
        store.save_backtest(sma, strategy_name="nope")

    assert count(store, "runs") == 0 and count(store, "outbox") == 0


def test_a_run_id_is_used_once(store: Store, sma: wv.BacktestResult) -> None:
    store.save_backtest(sma, run_id="once")

    with pytest.raises(ConflictError, match="'once'"):
        store.save_backtest(sma, run_id="once")
    with pytest.raises(wv.ParameterError, match="run id"):
        store.save_backtest(sma, run_id="has spaces")

    assert count(store, "runs") == 1 and count(store, "outbox") == 2


def test_loading_an_unknown_run_names_it(store: Store) -> None:
    with pytest.raises(NotFoundError, match="'missing'"):
        store.load_backtest("missing")


def test_times_finer_than_a_microsecond_are_refused(store: Store, sma: wv.BacktestResult) -> None:
    import copy

    result = copy.copy(sma)
    equity = sma.equity.copy()
    equity.index = equity.index + pd.Timedelta(1, "ns")
    result.equity = equity

    with pytest.raises(DataError, match="microsecond"):
        store.save_backtest(result)
    assert count(store, "runs") == 0


def test_deleting_a_run_deletes_what_belongs_to_it(store: Store, rsi: wv.BacktestResult) -> None:
    run_id = store.save_backtest(rsi)

    async def delete(aio: AsyncStore) -> None:
        async with aio.connect(write=True) as conn:
            await conn.execute(sa.text("DELETE FROM runs WHERE id = :id"), {"id": run_id})

    store.call(delete)

    for table in ("orders", "fills", "equity_points", "position_snapshots", "run_logs"):
        assert count(store, table) == 0, table


def test_the_async_functions_compose_in_a_unit_of_work(url: str, sma: wv.BacktestResult) -> None:
    async def main() -> StoredBacktest:
        async with AsyncStore(url) as aio:
            await aio.upgrade()
            async with aio.unit_of_work() as uow:
                run_id = await save_backtest(uow, sma)
            assert [e.type for e in uow.events] == ["run.created", "run.completed"]
            return await load_backtest(aio, run_id)

    assert_same_backtest(asyncio.run(main()), sma)


# --- migrations -----------------------------------------------------------------------------------


def tables(store: Store) -> set[str]:
    async def work(aio: AsyncStore) -> set[str]:
        async with aio.connect() as conn:
            return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))

    return store.call(work) - {"alembic_version"}


def test_migrations_upgrade_downgrade_and_upgrade_again(url: str) -> None:
    with Store(url) as store:
        store.upgrade()
        assert tables(store) == {"outbox", "consumer_offsets", *DOMAIN_TABLES}
        assert store.current() == "0002" == AsyncStore.head_revision()

        store.downgrade("0001")
        assert tables(store) == {"outbox", "consumer_offsets"}
        store.downgrade("base")
        assert tables(store) == set() and store.current() is None

        store.upgrade()
        assert tables(store) == {"outbox", "consumer_offsets", *DOMAIN_TABLES}


@pytest.mark.filterwarnings("ignore:Did not recognize type 'xid8'")  # the outbox's tx: reflection has no type for it
def test_the_migrations_create_what_the_models_declare(url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    def diff(connection: sa.Connection) -> list:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async def work(aio: AsyncStore) -> list:
        async with aio.engine.connect() as conn:
            return await conn.run_sync(diff)

    with Store(url) as store:
        store.upgrade()
        assert store.call(work) == []
