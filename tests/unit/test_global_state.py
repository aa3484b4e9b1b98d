"""A library call leaves the user's interpreter as it found it (DESIGN §2).

The collector's state (enabled, thresholds, debug flags, what the host froze), ``sys.path``
and the kinds of modules loaded are the same before and after every public call; two
backtests in two threads of one process give what each gives alone; worker processes
started from a threaded parent are not forked.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Callable, Iterator

import pytest

import weaver as wv
from weaver.strategy.examples import RsiReversion, SmaCross

GOOG = "data/GOOG.csv"


def interpreter_state() -> dict[str, object]:
    return {
        "gc enabled": gc.isenabled(),
        "gc thresholds": gc.get_threshold(),
        "gc debug": gc.get_debug(),
        "sys.path": list(sys.path),
        # a stand-in for another library's module would be some other kind of object
        "module kinds": sorted({type(m).__qualname__ for m in list(sys.modules.values()) if m is not None}),
    }


@pytest.fixture
def host_froze_something() -> Iterator[None]:
    """A host application that froze its objects (an unfreeze anywhere would undo it)."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


CALLS: dict[str, Callable[[], object]] = {
    "load_bars": lambda: wv.load_bars(GOOG),
    "backtest": lambda: wv.backtest(SmaCross, GOOG).stats,
    "backtest with hooks, limits and stops": lambda: wv.backtest(RsiReversion, GOOG).stats,
    "sweep in this process": lambda: wv.sweep(SmaCross, GOOG, method="event", executor=1, progress=False,
                                                fast=[5, 10], slow=[30]),
    "vectorized sweep": lambda: wv.sweep(SmaCross, GOOG, method="vectorized", progress=False, fast=[5, 10]),
    "sweep on processes": lambda: wv.sweep(SmaCross, GOOG, method="event", executor=2, progress=False,
                                             fast=[5, 10], slow=[30]),
    "walk_forward": lambda: wv.walk_forward(SmaCross, GOOG, train=500, test=500, executor=1, progress=False,
                                            fast=[5, 10], slow=[30]),
    "check_lookahead": lambda: wv.check_lookahead(SmaCross, GOOG),
    "plot": lambda: wv.backtest(SmaCross, GOOG).plot(),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_a_public_call_leaves_the_interpreter_as_it_found_it(name: str, host_froze_something: None) -> None:
    CALLS[name]()  # imports what it needs first: the modules it loads are not the point
    before, frozen = interpreter_state(), gc.get_freeze_count()

    CALLS[name]()

    assert interpreter_state() == before
    # what the host froze stays frozen: an unfreeze would empty it, a freeze would add to it
    # (a frozen object that dies leaves it, as a cache the call clears may)
    assert frozen - 5_000 <= gc.get_freeze_count() <= frozen


def test_two_backtests_in_two_threads_give_what_each_gives_alone() -> None:
    bars = wv.load_bars(GOOG)
    runs = {"fast": {"fast": 5, "slow": 20}, "slow": {"fast": 20, "slow": 60}}
    alone = {k: wv.backtest(SmaCross, bars, **p) for k, p in runs.items()}
    together: dict[str, object] = {}
    start = threading.Barrier(2)

    def run(key: str) -> None:
        start.wait(5)
        for _ in range(3):  # overlapping for a while, not only at the start
            together[key] = wv.backtest(SmaCross, bars, **runs[key])

    threads = [threading.Thread(target=run, args=(k,)) for k in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    for key, solo in alone.items():
        res = together[key]
        assert res.equity.equals(solo.equity) and res.trades.equals(solo.trades), key
        assert res.orders.drop(columns="updated_at").equals(solo.orders.drop(columns="updated_at"))


def test_workers_started_from_a_threaded_process_are_not_forked() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, args=(30,), daemon=True)  # as a notebook kernel has
    other.start()
    try:
        res = wv.sweep(SmaCross, GOOG, method="event", executor=2, progress=False, fast=[5, 10], slow=[30])
    finally:
        stop.set()
        other.join(5)

    assert res.info["start_method"] in ("forkserver", "spawn")
    assert res.errors.empty


def test_the_command_line_as_a_library_call_leaves_the_collector_alone(capsys: pytest.CaptureFixture[str]) -> None:
    from weaver.cli import main

    before = interpreter_state()
    assert main(["backtest", "sma_cross", GOOG, "--json"]) == 0
    assert interpreter_state() == before


def test_the_weaver_command_tunes_its_own_process() -> None:
    import subprocess

    code = ("import gc, weaver.cli as cli; before = gc.get_threshold()[0]; "
            "cli.console(['backtest', 'sma_cross', 'data/GOOG.csv', '--json']); "
            "print(before, gc.get_threshold()[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    before, after = map(int, out.stdout.split()[-2:])
    assert after > before  # the console script's process is Weaver's own


def test_the_console_script_is_the_owned_entry_point() -> None:
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "weaver"]
    assert script.value == "weaver.cli:console"
