from __future__ import annotations

import enum

import numpy as np

import pytest

import weaver as wv
from weaver.core.errors import ParameterError
from weaver.strategy import Strategy, param


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


class Typed(Strategy):
    n: int = param(10, low=2, high=50, step=1, doc="window")
    ratio: float = 0.5
    flag: bool = False
    label: str = "x"
    mode: Mode = Mode.FAST


def test_params_are_collected_with_types_defaults_and_bounds() -> None:
    p = Typed.params

    assert list(p) == ["n", "ratio", "flag", "label", "mode"]
    assert (p["n"].type, p["n"].default, p["n"].low, p["n"].high, p["n"].doc) == (int, 10, 2, 50, "window")
    assert p["ratio"].type is float and p["flag"].type is bool and p["label"].type is str
    assert p["mode"].choices == [Mode.FAST, Mode.SLOW]
    assert Typed.n == 10  # the class attribute reads as the default, not the Param


def test_validate_params_fills_defaults_and_converts_losslessly() -> None:
    values = Typed.validate_params(n=3, ratio=2, mode="slow")

    assert values == {"n": 3, "ratio": 2.0, "flag": False, "label": "x", "mode": Mode.SLOW}
    assert isinstance(values["ratio"], float)


def test_unknown_parameter_lists_the_valid_ones() -> None:
    with pytest.raises(ParameterError) as err:
        Typed.validate_params(nn=3)

    message = str(err.value)
    assert "'nn'" in message
    assert "n: int = 10" in message and "ratio: float = 0.5" in message and "mode: Mode" in message


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("n", 2.5, "Typed.n must be int, got 2.5 (float)"),
        ("n", True, "Typed.n must be int, got True (bool)"),
        ("n", "10", "Typed.n must be int, got '10' (str)"),
        ("flag", 1, "Typed.flag must be bool, got 1 (int)"),
        ("ratio", "half", "Typed.ratio must be float"),
        ("mode", "medium", "Typed.mode must be Mode"),
        ("n", 51, "Typed.n=51 is outside its bounds [2, 50]"),
    ],
)
def test_wrong_type_or_bounds_raise_naming_value_and_type(name: str, value: object, fragment: str) -> None:
    with pytest.raises(ParameterError, match=fragment.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        Typed.validate_params(**{name: value})


def test_bad_parameter_is_refused_before_any_bar_runs() -> None:
    calls = []

    class Spy(Strategy):
        n: int = 3

        def init(self) -> None:
            calls.append("init")

    with pytest.raises(ParameterError):
        wv.backtest(Spy, wv.synthetic(50, "1d", seed=0), n="3")
    assert calls == []


def test_subclass_inherits_and_overrides_parameters() -> None:
    class Child(Typed):
        n: int = 20
        extra: float = 1.0

    assert Child.params["n"].default == 20
    assert list(Child.params) == ["n", "ratio", "flag", "label", "mode", "extra"]


def test_unsupported_parameter_type_is_refused_at_class_creation() -> None:
    with pytest.raises(ParameterError, match="not supported"):
        class Bad(Strategy):  # noqa: F841
            window: list = [1, 2]  # noqa: RUF012


# -- numpy scalars, as np.arange and array indexing give them ----------------------------------


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("n", np.int64(12), 12),
        ("n", np.int32(7), 7),
        ("ratio", np.float64(0.25), 0.25),
        ("ratio", np.float32(0.5), 0.5),
        ("ratio", np.int64(2), 2.0),
        ("flag", np.bool_(True), True),
        ("label", np.str_("y"), "y"),
    ],
)
def test_numpy_scalars_are_accepted_as_plain_python_values(name: str, value: object, expected: object) -> None:
    got = Typed.validate_params(**{name: value})[name]

    assert got == expected
    assert type(got) is type(expected)  # a plain int/float/bool/str, not a numpy scalar


@pytest.mark.parametrize(
    ("name", "value", "fragment"),
    [
        ("n", np.float64(2.5), "Typed.n must be int, got 2.5 (float64)"),
        ("n", np.bool_(True), "Typed.n must be int, got True (bool)"),
        ("flag", np.int64(1), "Typed.flag must be bool, got 1 (int64)"),
        ("n", np.int64(51), "Typed.n=51 is outside its bounds [2, 50]"),
    ],
)
def test_numpy_scalars_of_the_wrong_kind_are_refused_in_plain_numbers(name: str, value: object, fragment: str) -> None:
    with pytest.raises(ParameterError) as err:
        Typed.validate_params(**{name: value})

    assert fragment in str(err.value)
    assert "np." not in str(err.value)


def test_backtest_and_sweep_take_numpy_values(tmp_path: object) -> None:
    from weaver.strategy.examples import SmaCross

    bars = wv.load_bars("data/GOOG.csv")
    res = wv.backtest(SmaCross, bars, fast=np.int64(12))
    assert res.params["fast"] == 12 and type(res.params["fast"]) is int

    sw = wv.sweep(SmaCross, bars, fast=np.arange(5, 30, 5), slow=np.int64(40), executor=1, progress=False)
    assert sw.frame["fast"].tolist() == [5, 10, 15, 20, 25]
    assert sw.errors.empty


def test_a_parameter_named_like_a_run_option_is_refused_at_class_creation() -> None:
    with pytest.raises(ParameterError, match=r"Bad\.cash: a parameter cannot be named 'cash': it is a run option "
                                             r"\(wv\.backtest\(\.\.\., cash=\.\.\.\), RunConfig\.cash\)"):
        class Bad(wv.Strategy):
            cash: int = 1


@pytest.mark.parametrize(("name", "kind"), [
    ("equity", "property Strategy.equity"),
    ("position", "property Strategy.position"),
    ("buy", "method Strategy.buy"),
    ("indicator", "method Strategy.indicator"),
    ("orders", "property Strategy.orders"),
    ("time", "property Strategy.time"),
    ("symbols", "property Strategy.symbols"),
    ("next", "method Strategy.next"),
    ("params", "attribute Strategy.params"),
    ("data", "attribute Strategy.data"),
])
def test_a_parameter_named_like_a_strategy_attribute_is_refused(name: str, kind: str) -> None:
    with pytest.raises(ParameterError, match=rf"Shadow\.{name}: a parameter cannot be named '{name}': it is the "
                                             rf"{kind}"):
        type("Shadow", (Strategy,), {"__annotations__": {name: int}, name: 3})


@pytest.mark.parametrize("name", ["seed", "start", "margin", "fill_model", "session_tz", "lookahead_check"])
def test_every_run_option_is_reserved(name: str) -> None:
    with pytest.raises(ParameterError, match=f"'{name}': it is a run option"):
        type("Shadow", (Strategy,), {"__annotations__": {name: int}, name: 3})


def test_private_and_unannotated_names_and_other_names_are_free() -> None:
    class Fine(Strategy):
        qty: int = 10
        size_fraction: float = 0.5
        _cash: int = 3  # private: no parameter
        window = 5  # not annotated: no parameter

    assert list(Fine.params) == ["qty", "size_fraction"]


def test_a_subclass_overriding_a_method_is_no_parameter() -> None:
    class Own(Strategy):
        fast: int = 3

        def next(self) -> None:
            pass

    assert list(Own.params) == ["fast"]
