"""Runs through their lifecycle in the store, on SQLite and PostgreSQL: created pending, moved only
as the core's table allows (a stale move is refused and writes nothing), a backtest recorded on
its own run, deleted unless running; and what a run leaves, read back page by page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

import weaver as wv
from tests.integration.store.helpers import count
from tests.integration.store.test_runs import assert_same_backtest
from weaver.core import RunConfig, RunMode, RunStatus
from weaver.core.runs import RunAction, RunTransitionError
from weaver.store import Store
from weaver.store.errors import ConflictError, NotFoundError
from weaver.store.json_values import encode_mapping
from weaver.store.run_records import (
    append_log,
    create_run,
    delete_run,
    find_strategy,
    get_order,
    get_run,
    list_equity,
    list_fills,
    list_logs,
    list_orders,
    list_positions,
    list_runs,
    record_backtest,
    runs_in_status,
    transition_run,
)
from weaver.strategy.examples import SmaCross

SOURCE = "class Mine(wv.Strategy):\n    fast: int = 10\n"


def write(store: Store, work: Any) -> Any:
    async def run(aio: Any) -> Any:
        async with aio.unit_of_work() as uow:
            return await work(uow)

    return store.call(run)


def read(store: Store, work: Any) -> Any:
    return store.call(work)


def new_run(store: Store, name: str = "sma_cross", config: RunConfig | None = None, **fields: Any) -> str:
    strategy = store.register_strategy(name, SOURCE + f"# {name}\n", {"fast": {"type": "int", "default": 10}})
    spec = {"config": (config or RunConfig()).to_dict(),
            "params": encode_mapping({"fast": 10, "slow": 30, "qty": 100}, "params")}
    values = {"mode": RunMode.BACKTEST, "symbols": ["GOOG"], "timeframe": "1d", "spec": spec, **fields}

    async def work(uow: Any) -> str:
        return (await create_run(uow, strategy=strategy, **values)).id

    return write(store, work)


def move(store: Store, run_id: str, action: RunAction, **kwargs: Any) -> Any:
    return write(store, lambda uow: transition_run(uow, run_id, action, **kwargs))


def events_of(store: Store, run_id: str, n: int) -> list[tuple[str, dict]]:
    """Return the run's events once ``n`` are readable: on PostgreSQL another session's open
    transaction anywhere in the cluster holds newer events back until it ends (DESIGN §5)."""
    import time

    deadline = time.monotonic() + 20
    while len(found := store.log.read(None, 1000, run_id=run_id)) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return [(e.type, e.payload) for e in found]


def test_a_run_is_created_pending_and_told_by_run_created(store: Store) -> None:
    run_id = new_run(store)

    run = read(store, lambda aio: get_run(aio, run_id))

    assert run.status == RunStatus.PENDING and run.strategy == "sma_cross" and run.strategy_version
    assert run.started_at is None and run.stopped_at is None and run.stats is None
    assert events_of(store, run_id, 1) == [("run.created", {"run_id": run_id, "reason": None, "status": "pending"})]


def test_a_run_moves_only_as_the_table_allows_and_a_refused_move_writes_nothing(store: Store) -> None:
    run_id = new_run(store)

    with pytest.raises(RunTransitionError, match="'pending'"):
        move(store, run_id, RunAction.STOP)
    started = move(store, run_id, RunAction.START, correlation_id="req-1")
    with pytest.raises(RunTransitionError, match="'running'"):
        move(store, run_id, RunAction.START)
    failed = move(store, run_id, RunAction.FAIL, reason="the worker died")

    assert started.status == RunStatus.RUNNING and started.started_at is not None
    assert failed.status == RunStatus.ERROR and failed.error == "the worker died" and failed.stopped_at is not None
    assert [t for t, _ in events_of(store, run_id, 3)] == ["run.created", "run.started", "run.error"]
    assert events_of(store, run_id, 3)[-1][1]["reason"] == "the worker died"
    assert store.log.read(None, 10, run_id=run_id)[1].correlation_id == "req-1"


def test_an_unknown_run_is_named(store: Store) -> None:
    with pytest.raises(NotFoundError, match="'nope'"):
        read(store, lambda aio: get_run(aio, "nope"))
    with pytest.raises(NotFoundError, match="'nope'"):
        move(store, "nope", RunAction.START)


def test_a_backtest_is_recorded_on_its_running_run_and_loads_back_equal(store: Store, goog: pd.DataFrame) -> None:
    result = wv.backtest(SmaCross, goog, commission=0.001)
    run_id = new_run(store, config=result.config)
    move(store, run_id, RunAction.START)

    done = write(store, lambda uow: record_backtest(uow, run_id, result))
    loaded = store.load_backtest(run_id)

    assert done.status == RunStatus.COMPLETED and done.stats is not None
    assert loaded.strategy == "sma_cross" and loaded.status == "completed"
    assert_same_backtest(loaded, result)
    assert (loaded.data_start, loaded.data_end) == (goog.index[0], goog.index[-1])
    assert [t for t, _ in events_of(store, run_id, 3)] == ["run.created", "run.started", "run.completed"]


def test_a_result_for_a_run_no_longer_running_is_refused_whole(store: Store, goog: pd.DataFrame) -> None:
    result = wv.backtest(SmaCross, goog.iloc[:300])
    run_id = new_run(store)
    move(store, run_id, RunAction.START)
    move(store, run_id, RunAction.STOP, reason="asked to")

    with pytest.raises(RunTransitionError, match="'stopped'"):
        write(store, lambda uow: record_backtest(uow, run_id, result))

    assert count(store, "orders") == 0 and count(store, "equity_points") == 0
    assert read(store, lambda aio: get_run(aio, run_id)).stats is None


def test_a_running_run_cannot_be_deleted_a_finished_one_goes_with_what_it_left(store: Store,
                                                                            goog: pd.DataFrame) -> None:
    result = wv.backtest(SmaCross, goog.iloc[:500])
    run_id = new_run(store)
    move(store, run_id, RunAction.START)

    with pytest.raises(ConflictError, match="running"):
        write(store, lambda uow: delete_run(uow, run_id))
    write(store, lambda uow: record_backtest(uow, run_id, result))
    write(store, lambda uow: delete_run(uow, run_id))

    with pytest.raises(NotFoundError):
        read(store, lambda aio: get_run(aio, run_id))
    with pytest.raises(NotFoundError):
        write(store, lambda uow: delete_run(uow, run_id))
    assert count(store, "orders") == 0 and count(store, "fills") == 0 and count(store, "equity_points") == 0


def test_runs_are_listed_newest_first_filtered_and_counted(store: Store) -> None:
    first = new_run(store, "sma_cross")
    second = new_run(store, "rsi_reversion")
    third = new_run(store, "sma_cross")
    move(store, third, RunAction.START)

    everything, total = read(store, lambda aio: list_runs(aio, offset=0, limit=2))
    rest, _ = read(store, lambda aio: list_runs(aio, offset=2, limit=2))
    sma, sma_total = read(store, lambda aio: list_runs(aio, strategy="sma_cross"))
    running, _ = read(store, lambda aio: list_runs(aio, status=RunStatus.RUNNING, mode=RunMode.BACKTEST))
    by_id, _ = read(store, lambda aio: list_runs(aio, strategy=str(everything[0].strategy_id)))
    paper, paper_total = read(store, lambda aio: list_runs(aio, mode=RunMode.PAPER))

    assert total == 3 and [r.id for r in [*everything, *rest]] == [third, second, first]
    assert sma_total == 2 and {r.id for r in sma} == {first, third}
    assert [r.id for r in running] == [third] and third in {r.id for r in by_id}
    assert (paper, paper_total) == ([], 0)
    assert [r.id for r in read(store, lambda aio: runs_in_status(aio, RunStatus.RUNNING))] == [third]


def test_a_strategy_is_found_by_name_newest_version_first_or_by_id(store: Store) -> None:
    old = store.register_strategy("mine", SOURCE, {})
    new = store.register_strategy("mine", SOURCE + "    slow: int = 30\n", {})

    by_name = read(store, lambda aio: find_strategy(aio, "mine"))
    by_id = read(store, lambda aio: find_strategy(aio, str(old.id)))

    assert by_name.id == new.id and by_id.id == old.id and by_id.source == SOURCE
    with pytest.raises(NotFoundError, match="'other'"):
        read(store, lambda aio: find_strategy(aio, "other"))
    with pytest.raises(NotFoundError, match="'999999'"):
        read(store, lambda aio: find_strategy(aio, "999999"))


def test_what_a_run_left_is_read_page_by_page(store: Store, goog: pd.DataFrame) -> None:
    result = wv.backtest(SmaCross, goog, commission=0.001)
    run_id = new_run(store)
    move(store, run_id, RunAction.START)
    write(store, lambda uow: append_log(uow, run_id, "info", "worker started"))
    write(store, lambda uow: record_backtest(uow, run_id, result))
    write(store, lambda uow: append_log(uow, run_id, "info", "done"))

    orders, n_orders = read(store, lambda aio: list_orders(aio, run_id=run_id, offset=0, limit=5))
    filled, n_filled = read(store, lambda aio: list_orders(aio, run_id=run_id, status="filled", symbol="GOOG"))
    none, n_none = read(store, lambda aio: list_orders(aio, run_id=run_id, symbol="AAPL"))
    one = read(store, lambda aio: get_order(aio, orders[0].id))
    fills, n_fills = read(store, lambda aio: list_fills(aio, run_id, offset=0, limit=3))
    equity, n_equity = read(store, lambda aio: list_equity(aio, run_id, offset=10, limit=2))
    history, n_history = read(store, lambda aio: list_positions(aio, run_id, limit=500))
    latest, n_latest = read(store, lambda aio: list_positions(aio, run_id, latest=True))
    logs, n_logs = read(store, lambda aio: list_logs(aio, run_id))

    assert n_orders == len(result.orders) and [o.client_order_id for o in orders] == \
        list(result.orders["client_order_id"][:5])
    assert n_filled == (result.orders["status"] == "filled").sum() and {o.status for o in filled} == {"filled"}
    assert (none, n_none) == ([], 0)
    assert one.client_order_id == orders[0].client_order_id and one.run_id == run_id
    assert n_fills == len(result.fills) and [f.price for f in fills] == \
        [Decimal(repr(p)) for p in result.fills["price"][:3]]
    assert n_equity == len(result.equity) and [e.ts for e in equity] == list(result.equity.index[10:12])
    assert n_history == len(history) > 1 and n_latest == 1 and latest[0].ts == history[-1].ts
    assert [(line.seq, line.message) for line in logs] == [(0, "worker started"), (1, "done")] and n_logs == 2
    with pytest.raises(NotFoundError, match="order 0"):
        read(store, lambda aio: get_order(aio, 0))
