from __future__ import annotations

import pytest

import weaver as wv
from weaver.core.errors import ParameterError
from weaver.strategy.examples import EXAMPLES, MomentumRotation, RsiReversion, SmaCross, resolve


def test_examples_are_known_by_short_name_and_by_module_path() -> None:
    assert resolve("sma_cross") is SmaCross
    assert resolve("weaver.strategy.examples:RsiReversion") is RsiReversion
    assert set(EXAMPLES) == {"sma_cross", "rsi_reversion", "momentum_rotation"}
    with pytest.raises(ParameterError, match="unknown strategy 'nope'"):
        resolve("nope")
    with pytest.raises(ParameterError, match="cannot load strategy"):
        resolve("weaver.strategy.examples:Nope")


def test_sma_cross_reproduces_the_reference_figures_on_goog() -> None:
    res = wv.backtest(SmaCross, "data/GOOG.csv", fast=10, slow=30)

    assert (res.stats["n_trades"], res.stats["n_open_trades"]) == (32, 1)  # 33 round trips, the last open
    assert res.stats["equity_final"] == pytest.approx(177_394.00, abs=1e-6)


def test_rsi_reversion_enters_with_limit_orders_and_protects_with_stops() -> None:
    res = wv.backtest(RsiReversion, "data/GOOG.csv")
    orders = res.orders

    entries = orders[(orders["side"] == "buy") & (orders["type"] == "limit")]
    stops = orders[orders["type"] == "stop"]
    assert len(entries) > 5 and (entries["tif"] == "gtc").all()
    assert len(stops) > 0
    filled = entries[entries["status"] == "filled"]
    assert (filled["avg_fill_price"] <= filled["limit_price"]).all()  # at the limit or better
    assert res.stats["n_trades"] + res.stats["n_open_trades"] >= len(filled)


def test_momentum_rotation_holds_the_strongest_symbols_from_one_cash_account() -> None:
    bars = {s: wv.synthetic(400, "1d", seed=k, symbol=s) for k, s in enumerate(["AAA", "BBB", "CCC"])}

    res = wv.backtest(MomentumRotation, bars, lookback=20, top=1, every=5)

    assert set(res.trades["symbol"]) <= {"AAA", "BBB", "CCC"}
    assert len(set(res.trades["symbol"])) >= 2
    assert len(res.equity) == 400
    assert res.equity.min() > 0


def test_momentum_rotation_needs_several_symbols() -> None:
    with pytest.raises(ParameterError, match="at least two symbols"):
        wv.backtest(MomentumRotation, wv.synthetic(100, "1d", seed=1))


# -- resolve: a user's strategy from the working directory or a file ---------------------------

MYSTRAT = """\
from weaver.strategy.examples import SmaCross


class MyClass(SmaCross):
    pass


def helper():
    return 1
"""


def test_resolve_finds_a_module_in_the_working_directory_and_leaves_sys_path_alone(user_dir) -> None:
    import sys

    (user_dir / "mystrat.py").write_text(MYSTRAT, encoding="utf-8")
    before = list(sys.path)

    cls = resolve("mystrat:MyClass")

    assert cls.__name__ == "MyClass" and issubclass(cls, SmaCross)
    assert sys.path == before


def test_resolve_loads_a_strategy_from_a_relative_or_an_absolute_file(user_dir) -> None:
    import sys

    (user_dir / "strategies").mkdir()
    (user_dir / "strategies" / "helpers.py").write_text("FAST = 7\n", encoding="utf-8")
    (user_dir / "strategies" / "filestrat.py").write_text(
        "from helpers import FAST\n" + MYSTRAT.replace("    pass", "    fast: int = param(FAST)")
        .replace("import SmaCross", "import SmaCross\nfrom weaver.strategy.params import param"), encoding="utf-8")
    before = list(sys.path)

    relative = resolve("strategies/filestrat.py:MyClass")
    absolute = resolve(f"{user_dir / 'strategies' / 'filestrat.py'}:MyClass")

    assert relative.__name__ == absolute.__name__ == "MyClass"
    assert relative.params["fast"].default == 7  # a sibling module imports, as when the file is run
    assert sys.path == before
    assert "filestrat" not in sys.modules  # the file's module does not take a module name


def test_a_file_strategy_may_use_postponed_annotations_enums_and_dataclasses(user_dir) -> None:
    # while the file runs it is a module in sys.modules: its string annotations resolve there
    (user_dir / "enumstrat.py").write_text(
        "from __future__ import annotations\n\nimport enum\nfrom dataclasses import dataclass\n\n"
        "import weaver as wv\n\n\nclass Side(enum.Enum):\n    LONG = 'long'\n    SHORT = 'short'\n\n\n"
        "@dataclass\nclass Cfg:\n    n: int = 3\n\n\nclass EnumStrat(wv.Strategy):\n    side: Side = Side.LONG\n",
        encoding="utf-8")

    cls = resolve("enumstrat.py:EnumStrat")

    assert cls.params["side"].choices is not None and [m.value for m in cls.params["side"].choices] == ["long", "short"]
    assert cls.validate_params(side="short")["side"].value == "short"


def test_resolve_names_a_missing_class_and_the_module_s_strategies(user_dir) -> None:
    (user_dir / "mystrat.py").write_text(MYSTRAT, encoding="utf-8")

    with pytest.raises(ParameterError) as caught:
        resolve("mystrat:MyClas")

    assert str(caught.value) == (f"cannot load strategy 'mystrat:MyClas': module mystrat ({user_dir / 'mystrat.py'}) "
                                 "has no attribute 'MyClas'; its Strategy subclasses are: MyClass")


def test_resolve_names_a_missing_module_and_where_it_looked(user_dir) -> None:
    with pytest.raises(ParameterError) as caught:
        resolve("nostrat:MyClass")

    assert str(caught.value) == (f"cannot load strategy 'nostrat:MyClass': no module 'nostrat' "
                                 f"(looked in the working directory {user_dir} and sys.path)")


def test_resolve_names_a_missing_file(user_dir) -> None:
    with pytest.raises(ParameterError) as caught:
        resolve("path/to/file.py:MyClass")

    missing = user_dir / "path" / "to" / "file.py"
    assert str(caught.value) == f"cannot load strategy 'path/to/file.py:MyClass': no file {missing}"


@pytest.mark.parametrize(("attr", "what"), [("helper", "a function"), ("ParameterError", "a class deriving from")])
def test_resolve_refuses_what_is_not_a_strategy_and_says_what_it_is(user_dir, attr: str, what: str) -> None:
    (user_dir / "mystrat.py").write_text(MYSTRAT + "from weaver.core.errors import ParameterError\n", encoding="utf-8")

    with pytest.raises(ParameterError) as caught:
        resolve(f"mystrat:{attr}")

    assert f"cannot load strategy 'mystrat:{attr}': mystrat.{attr} is {what}" in str(caught.value)
    assert "not a weaver.Strategy subclass" in str(caught.value)


@pytest.mark.parametrize("target", ["broken:MyClass", "broken.py:MyClass"])
def test_resolve_reports_an_error_raised_while_importing_the_user_s_module(user_dir, target: str) -> None:
    (user_dir / "broken.py").write_text("import math\nRATIO = 1 / 0\n", encoding="utf-8")

    with pytest.raises(ParameterError) as caught:
        resolve(target)

    assert str(caught.value).startswith(f"cannot load strategy {target!r}: importing ")
    assert f"({user_dir / 'broken.py'}) raised ZeroDivisionError: division by zero" in str(caught.value)


def test_resolve_reports_a_missing_import_inside_the_user_s_module(user_dir) -> None:
    (user_dir / "needy.py").write_text("import no_such_package_xyz\n", encoding="utf-8")

    with pytest.raises(ParameterError, match=r"importing needy \(.*needy\.py\) raised ModuleNotFoundError: "
                                             r"No module named 'no_such_package_xyz'"):
        resolve("needy:MyClass")


def test_resolve_refuses_an_incomplete_name() -> None:
    for name in ("mystrat:", ":MyClass", "mystrat.MyClass"):
        with pytest.raises(ParameterError, match="'module:Class' or 'path/to/file.py:Class'"):
            resolve(name)
