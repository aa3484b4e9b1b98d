"""RunConfig: the run options of every entry point, typed, frozen, validated, persisted as plain data."""

from __future__ import annotations

import dataclasses
import json
import pickle
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from weaver.core import ParameterError, RunConfig


class Model:
    """A stand-in fill model: anything with a ``match`` method."""

    def match(self, order: object, bar: object, capacity: object = None) -> None:
        return None


def test_defaults_are_todays_backtest_defaults() -> None:
    config = RunConfig()

    assert config.cash == Decimal(100_000) and isinstance(config.cash, Decimal)
    assert (config.commission, config.slippage, config.fill_model, config.seed) == (None, None, None, None)
    assert config.participation is None and config.start is None
    assert (config.allow_short, config.fractional, config.lookahead_check) == (True, False, True)
    assert config.margin == Decimal(1) and isinstance(config.margin, Decimal)
    assert config.session_tz == "America/New_York"


@pytest.mark.parametrize(("given", "expected"), [
    (50_000, Decimal("50000")),
    (0.1, Decimal("0.1")),  # the float's shortest repr, not its binary expansion
    (1234.56, Decimal("1234.56")),
    ("2500.75", Decimal("2500.75")),
    (Decimal("7.5"), Decimal("7.5")),
])
def test_cash_and_margin_become_exact_decimals(given: object, expected: Decimal) -> None:
    assert RunConfig(cash=given).cash == expected  # type: ignore[arg-type]
    assert str(RunConfig(cash=given).cash) == str(expected)  # type: ignore[arg-type]
    if expected >= 1:
        assert RunConfig(margin=given).margin == expected  # type: ignore[arg-type]


def test_it_is_frozen_slotted_hashable_and_replaceable() -> None:
    config = RunConfig(cash=5_000, commission=0.001)

    with pytest.raises(dataclasses.FrozenInstanceError):
        config.cash = Decimal(1)  # type: ignore[misc]
    assert not hasattr(config, "__dict__")
    assert hash(config) == hash(RunConfig(cash="5000", commission=0.001))
    changed = dataclasses.replace(config, cash=6_000)
    assert changed.cash == Decimal(6_000) and changed.commission == 0.001 and config.cash == Decimal(5_000)
    assert config.replace(fractional=True) == dataclasses.replace(config, fractional=True)
    assert pickle.loads(pickle.dumps(config)) == config


@pytest.mark.parametrize(("changes", "named"), [
    ({"cash": 0}, "cash=0"),
    ({"cash": -5}, "cash=-5"),
    ({"cash": "lots"}, "cash='lots'"),
    ({"cash": float("nan")}, "cash=nan"),
    ({"cash": True}, "cash=True"),
    ({"cash": None}, "cash=None"),
    ({"commission": -0.001}, "commission=-0.001"),
    ({"commission": "free"}, "commission='free'"),
    ({"commission": True}, "commission=True"),
    ({"slippage": -2}, "slippage=-2"),
    ({"slippage": [1]}, "slippage=[1]"),
    ({"fill_model": "next open"}, "fill_model='next open'"),
    ({"fill_model": Model(), "slippage": 5}, "slippage=5"),
    ({"seed": -1}, "seed=-1"),
    ({"seed": 1.5}, "seed=1.5"),
    ({"seed": True}, "seed=True"),
    ({"participation": 0}, "participation=0"),
    ({"participation": 1.5}, "participation=1.5"),
    ({"participation": "half"}, "participation='half'"),
    ({"allow_short": 1}, "allow_short=1"),
    ({"fractional": "yes"}, "fractional='yes'"),
    ({"lookahead_check": None}, "lookahead_check=None"),
    ({"margin": 0.5}, "margin=0.5"),
    ({"margin": 0}, "margin=0"),
    ({"session_tz": ""}, "session_tz=''"),
    ({"session_tz": 5}, "session_tz=5"),
    ({"session_tz": "Mars/Base"}, "session_tz='Mars/Base': no such time zone"),
    ({"start": -1}, "start=-1"),
    ({"start": 1.5}, "start=1.5"),
])
def test_a_bad_option_is_refused_naming_the_field_and_the_value(changes: dict[str, object], named: str) -> None:
    with pytest.raises(ParameterError) as caught:
        RunConfig(**changes)  # type: ignore[arg-type]

    assert named in str(caught.value)


def test_a_model_object_and_callables_are_kept_as_given() -> None:
    model = Model()

    def fee(qty: Decimal, price: Decimal) -> Decimal:
        return Decimal(1)

    config = RunConfig(commission=fee, fill_model=model, seed=7)

    assert config.commission is fee and config.fill_model is model and config.seed == 7


def test_start_keeps_positions_and_strings_and_writes_times_as_iso_strings() -> None:
    assert RunConfig(start=250).start == 250
    assert RunConfig(start="2010-01-01").start == "2010-01-01"
    assert RunConfig(start=date(2010, 1, 4)).start == "2010-01-04"
    assert RunConfig(start=datetime(2010, 1, 4, 14, 30, tzinfo=timezone.utc)).start == "2010-01-04T14:30:00+00:00"


def test_to_dict_is_plain_json_and_from_dict_gives_the_config_back() -> None:
    config = RunConfig(cash=25_000.5, commission=Decimal("0.001"), slippage=2, seed=3, participation=0.25,
                       allow_short=False, fractional=True, margin=2, session_tz="UTC", start="2012-06-01",
                       lookahead_check=False)

    data = config.to_dict()

    assert json.loads(json.dumps(data)) == data
    assert list(data) == [f.name for f in dataclasses.fields(RunConfig)]
    assert data["cash"] == "25000.5" and data["margin"] == "2" and data["commission"] == "0.001"
    assert RunConfig.from_dict(data) == config
    assert RunConfig.from_dict(json.loads(json.dumps(data))) == config
    assert RunConfig.from_dict({}) == RunConfig()  # what a dict leaves out is the default


def test_a_model_is_described_in_to_dict_and_must_be_given_again_to_from_dict() -> None:
    model = Model()
    config = RunConfig(fill_model=model, commission=lambda qty, price: Decimal(0))

    data = config.to_dict()

    assert data["fill_model"] == {"object": f"{__name__}.Model"}
    assert data["commission"] == {"object": f"{__name__}.test_a_model_is_described_in_to_dict_and_must_be_given_"
                                            "again_to_from_dict.<locals>.<lambda>"}
    assert json.loads(json.dumps(data)) == data
    with pytest.raises(ParameterError, match="fill_model \\(the object .*Model\\).*give them again"):
        RunConfig.from_dict(data)
    again = RunConfig.from_dict(data, fill_model=model, commission=config.commission)
    assert again == config


def test_from_dict_refuses_keys_that_are_no_run_option() -> None:
    with pytest.raises(ParameterError, match="'cahs'.*did you mean 'cash'"):
        RunConfig.from_dict({"cahs": 10})


def test_every_field_documents_itself() -> None:
    for f in dataclasses.fields(RunConfig):
        assert f.metadata.get("doc"), f.name
        assert "accepts" in f.metadata, f.name
