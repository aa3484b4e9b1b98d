"""A strategy class built from posted source text: one class found, or an error that names them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import weaver as wv
from weaver.strategy.source import StrategySourceError, describe_source, load_strategy_class

SMA = '''\
import weaver as wv
from weaver.indicators import crossover, sma


class MyCross(wv.Strategy):
    """Cross of two SMAs."""

    fast: int = wv.param(10, low=2, high=100, doc="fast window")
    slow: int = 30

    def init(self):
        self.f = self.indicator(sma, self.data.close, self.fast)
        self.s = self.indicator(sma, self.data.close, self.slow)

    def next(self):
        if crossover(self.f, self.s):
            self.buy(10)
        elif crossover(self.s, self.f):
            self.close()
'''

TWO = '''\
import weaver as wv


class Base(wv.Strategy):
    n: int = 3


class Child(Base):
    m: float = 0.5
'''


def test_the_one_strategy_class_of_a_source_is_built_and_runs() -> None:
    cls = load_strategy_class(SMA)

    result = wv.backtest(cls, "data/GOOG.csv", fast=10, slow=30)
    assert cls.__name__ == "MyCross" and issubclass(cls, wv.Strategy)
    assert cls.params["fast"].high == 100 and cls.slow == 30
    assert len(result.trades) > 10


def test_the_source_leaves_no_module_behind() -> None:
    before = set(sys.modules)

    cls = load_strategy_class(SMA)

    assert cls.__module__ not in sys.modules
    assert set(sys.modules) - before <= {m for m in sys.modules if m.startswith(("weaver", "numpy", "pandas"))}


def test_classes_imported_by_the_source_do_not_count() -> None:
    source = "from weaver.strategies import SmaCross\n\n\nclass Mine(SmaCross):\n    pass\n"

    assert load_strategy_class(source).__name__ == "Mine"


def test_postponed_annotations_and_dataclasses_work_as_in_a_module() -> None:
    source = ("from __future__ import annotations\nimport dataclasses\nimport weaver as wv\n\n"
              "@dataclasses.dataclass\nclass Note:\n    text: str\n\n"
              "class Mine(wv.Strategy):\n    n: int = wv.param(5, low=1)\n")

    cls = load_strategy_class(source)

    assert cls.params["n"].type is int and cls.params["n"].low == 1


def test_several_classes_need_class_name_and_the_error_names_them() -> None:
    with pytest.raises(StrategySourceError, match=r"2 weaver.Strategy subclasses: Base, Child; say which.*class_name") as err:
        load_strategy_class(TWO)

    assert err.value.field == "class_name" and err.value.line is None

    assert load_strategy_class(TWO, "Child").params["m"].default == 0.5
    assert load_strategy_class(TWO, "Base").__name__ == "Base"


def test_no_strategy_class_is_refused_naming_the_classes_it_has() -> None:
    with pytest.raises(StrategySourceError, match=r"defines no weaver.Strategy subclass \(its classes: Helper\)"):
        load_strategy_class("class Helper:\n    pass\n")
    with pytest.raises(StrategySourceError, match="defines no weaver.Strategy subclass"):
        load_strategy_class("x = 1\n")


@pytest.mark.parametrize(("class_name", "fragment"), [
    ("Nope", "no class 'Nope'; its weaver.Strategy subclasses: Base, Child"),
    ("wv", "'wv' is a module, not a weaver.Strategy subclass"),
    ("1x", "class_name '1x' is not a Python identifier"),
])
def test_a_wrong_class_name_is_refused(class_name: str, fragment: str) -> None:
    with pytest.raises(StrategySourceError, match=fragment.replace("(", r"\(").replace(")", r"\)")) as err:
        load_strategy_class(TWO, class_name)

    assert err.value.field == "class_name"


def test_a_class_imported_rather_than_defined_is_refused_by_name() -> None:
    source = "from weaver.strategies import SmaCross\n"

    with pytest.raises(StrategySourceError, match="SmaCross is imported from weaver.strategy.examples"):
        load_strategy_class(source, "SmaCross")


def test_a_syntax_error_names_its_line_and_column() -> None:
    with pytest.raises(StrategySourceError) as err:
        load_strategy_class("import weaver as wv\n\nclass X(wv.Strategy)\n    pass\n")

    assert err.value.line == 3 and err.value.field == "source"
    assert "line 3" in str(err.value) and "SyntaxError" in str(err.value)
    assert "class X(wv.Strategy)" in str(err.value)


@pytest.mark.parametrize(("source", "line", "fragment"), [
    ("import weaver\nimport talib_not_here\n", 2, "ModuleNotFoundError: No module named 'talib_not_here'"),
    ("x = 1\n\ndef f():\n    return 1 / 0\n\nf()\n", 4, "ZeroDivisionError: division by zero"),
    ("import sys\nsys.exit(3)\n", 2, "SystemExit: 3"),
    ("import weaver as wv\n\nclass X(wv.Strategy):\n    n: list = [1]\n", 3, "parameter type"),
])
def test_an_error_raised_at_import_names_its_type_message_and_line(source: str, line: int, fragment: str) -> None:
    with pytest.raises(StrategySourceError) as err:
        load_strategy_class(source)

    assert err.value.line == line
    assert fragment in str(err.value) and f"line {line}" in str(err.value)
    assert "Traceback" not in str(err.value)


def test_an_empty_or_non_text_source_is_refused() -> None:
    with pytest.raises(StrategySourceError, match="empty"):
        load_strategy_class("  \n")
    with pytest.raises(StrategySourceError, match="text"):
        load_strategy_class(b"x = 1")  # type: ignore[arg-type]


def test_the_error_pickles_with_its_line() -> None:
    import pickle

    with pytest.raises(StrategySourceError) as err:
        load_strategy_class("x = (\n")

    back = pickle.loads(pickle.dumps(err.value))
    assert str(back) == str(err.value) and (back.line, back.field) == (err.value.line, "source")


def test_describe_source_gives_the_class_name_and_its_parameter_schema() -> None:
    described = describe_source(SMA)

    assert described.class_name == "MyCross"
    assert described.params_schema["title"] == "MyCross"
    assert described.params_schema["properties"]["fast"] == {
        "type": "integer", "title": "fast", "description": "fast window", "default": 10, "minimum": 2, "maximum": 100}


def test_the_examples_module_loads_from_its_source_by_class_name() -> None:
    from weaver.strategy import examples

    source = Path(examples.__file__).read_text(encoding="utf-8")

    cls = load_strategy_class(source, "RsiReversion")
    assert cls.__name__ == "RsiReversion" and cls is not examples.RsiReversion
    assert cls.params_schema() == examples.RsiReversion.params_schema()
