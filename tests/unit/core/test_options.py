"""run_options: RunConfig's fields as keyword-only parameters of a function, written once."""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import pytest

from weaver.core import ParameterError, RunConfig
from weaver.core.options import OPTION_NAMES, options_section, run_options

FIELDS = [f.name for f in dataclasses.fields(RunConfig)]


class Fake:
    """Looks like a strategy to the decorator: a class with a ``params`` table."""

    params: dict[str, Any] = {"fast": 10, "slow": 30}

    @classmethod
    def describe_params(cls) -> str:
        return "fast: int = 10, slow: int = 30"


@run_options
def entry(strategy: type, bars: str, *, progress: bool = False, config: RunConfig, **params: Any) -> tuple:
    """Do something with a strategy.

    Parameters
    ----------
    strategy
        The class.

    Raises
    ------
    ParameterError
        Never here.
    """
    return strategy, bars, progress, config, params


@run_options
def plain(frames: str, params: dict[str, Any], *, config: RunConfig) -> RunConfig:
    """Take no strategy parameters as keywords."""
    return config


def test_the_signature_lists_every_option_keyword_only_with_its_default() -> None:
    sig = inspect.signature(entry)

    names = list(sig.parameters)
    assert names == ["strategy", "bars", "progress", *FIELDS, "config", "params"]
    for f in dataclasses.fields(RunConfig):
        p = sig.parameters[f.name]
        assert p.kind is inspect.Parameter.KEYWORD_ONLY and p.default == f.default, f.name
    assert sig.parameters["config"].default is None
    assert sig.parameters["cash"].annotation == "Decimal | int | float | str"
    assert sig.parameters["fill_model"].annotation == "FillModelLike | None"
    assert sig.return_annotation == "tuple"
    assert OPTION_NAMES == tuple(FIELDS)


def test_the_docstring_gets_the_options_section_before_raises() -> None:
    doc = entry.__doc__

    assert doc.index("Parameters\n----------") < doc.index("Other Parameters\n----------------") \
        < doc.index("Raises\n------")
    for name in FIELDS:
        assert f"\n{name} : " in doc, name
    assert "cash : Decimal | int | float | str, default 100000" in doc
    assert "config : RunConfig, optional" in doc
    assert options_section() in doc
    assert plain.__doc__.rstrip().endswith(options_section().splitlines()[-1])


def test_the_function_receives_one_config_and_the_rest_untouched() -> None:
    strategy, bars, progress, config, params = entry(Fake, "b", progress=True, cash=5_000, fast=3)

    assert (strategy, bars, progress, params) == (Fake, "b", True, {"fast": 3})
    assert config == RunConfig(cash=5_000)


def test_no_option_gives_the_defaults_and_a_config_is_passed_as_it_is() -> None:
    mine = RunConfig(cash=1_234)

    assert entry(Fake, "b")[3] == RunConfig()
    assert entry(Fake, "b", config=mine)[3] is mine


def test_keywords_override_the_config() -> None:
    base = RunConfig(cash=1_000, commission=0.001, fractional=True)

    config = entry(Fake, "b", config=base, cash=2_000)[3]

    assert config == RunConfig(cash=2_000, commission=0.001, fractional=True)
    assert base.cash == 1_000


def test_a_config_that_is_not_a_run_config_is_refused() -> None:
    with pytest.raises(ParameterError, match=r"config=\{'cash': 5\} must be a RunConfig"):
        entry(Fake, "b", config={"cash": 5})


def test_a_keyword_that_is_no_option_nor_parameter_is_refused_naming_it() -> None:
    with pytest.raises(ParameterError, match=r"Fake has no parameter 'cahs' \(did you mean 'cash'\?\), and it is "
                                             r"no run option; its parameters are: fast: int = 10"):
        entry(Fake, "b", cahs=5)
    with pytest.raises(ParameterError, match=r"'fats' \(did you mean 'fast'\?\), 'zz'"):
        entry(Fake, "b", fats=5, zz=1)
    with pytest.raises(ParameterError, match=r"plain\(\): 'cahs' \(did you mean 'cash'\?\) is not a run option"):
        plain("f", {}, cahs=5)


def test_a_bad_option_value_is_refused_before_the_function_runs() -> None:
    with pytest.raises(ParameterError, match="run option cash=-1"):
        entry(Fake, "b", cash=-1)


def test_a_function_without_config_or_taking_an_option_itself_cannot_be_decorated() -> None:
    def no_config(strategy: type) -> None:
        pass

    def takes_cash(strategy: type, *, cash: float, config: RunConfig) -> None:
        pass

    with pytest.raises(TypeError, match="config"):
        run_options(no_config)
    with pytest.raises(TypeError, match="cash"):
        run_options(takes_cash)
