"""A strategy's parameters as JSON Schema: types, defaults, bounds, what the dashboard's forms read."""

from __future__ import annotations

import enum
import json
import math

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from weaver.core.errors import ParameterError
from weaver.strategy import Strategy, param
from weaver.strategy.examples import EXAMPLES, SmaCross


class Mode(enum.Enum):
    FAST = "fast"
    SLOW = "slow"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Typed(Strategy):
    """Every kind of parameter.

    More text that is not the summary.
    """

    n: int = param(10, low=2, high=50, step=1, doc="window")
    ratio: float = param(0.5, low=0.0, high=1.0, step=0.05)
    flag: bool = False
    label: str = "x"
    mode: Mode = Mode.FAST
    level: Level = Level.HIGH
    open_ended: float = param(1.0, low=0.0, high=math.inf)


def test_the_schema_of_sma_cross_has_types_defaults_and_bounds() -> None:
    schema = SmaCross.params_schema()

    assert schema == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "SmaCross",
        "description": "Buy ``qty`` shares when the fast SMA crosses above the slow one; close on the cross back.",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "fast": {"type": "integer", "title": "fast", "description": "fast SMA window (bars)", "default": 10,
                     "minimum": 2, "maximum": 200, "x-step": 1},
            "slow": {"type": "integer", "title": "slow", "description": "slow SMA window (bars)", "default": 30,
                     "minimum": 3, "maximum": 500, "x-step": 1},
            "qty": {"type": "integer", "title": "qty", "description": "shares per trade", "default": 100,
                    "minimum": 1, "maximum": 1_000_000, "x-step": 1},
        },
    }


def test_every_kind_of_parameter_maps_to_json_schema() -> None:
    props = Typed.params_schema()["properties"]

    assert props["ratio"] == {"type": "number", "title": "ratio", "default": 0.5, "minimum": 0.0, "maximum": 1.0,
                              "x-step": 0.05}
    assert props["flag"] == {"type": "boolean", "title": "flag", "default": False}
    assert props["label"] == {"type": "string", "title": "label", "default": "x"}
    assert props["mode"] == {"type": "string", "title": "mode", "default": "fast", "enum": ["fast", "slow"]}
    assert props["level"] == {"type": "integer", "title": "level", "default": 2, "enum": [1, 2]}
    assert props["open_ended"] == {"type": "number", "title": "open_ended", "default": 1.0, "minimum": 0.0}
    assert Typed.params_schema()["description"] == "Every kind of parameter."


@pytest.mark.parametrize("cls", [Typed, *EXAMPLES.values()], ids=lambda c: c.__name__)
def test_the_schema_is_valid_json_schema_its_defaults_validate_and_it_is_plain_json(cls: type[Strategy]) -> None:
    schema = cls.params_schema()

    jsonschema.Draft202012Validator.check_schema(schema)
    defaults = {name: prop["default"] for name, prop in schema["properties"].items()}
    jsonschema.validate(defaults, schema)
    assert json.loads(json.dumps(schema, allow_nan=False)) == schema
    cls.validate_params(**defaults)


def test_a_strategy_without_parameters_has_an_empty_object_schema() -> None:
    class Bare(Strategy):
        pass

    schema = Bare.params_schema()

    assert schema["properties"] == {} and schema["additionalProperties"] is False and "description" not in schema


@given(n=st.integers(-100, 200), ratio=st.floats(-2, 3, allow_nan=False), mode=st.sampled_from(["fast", "slow", "x"]))
def test_the_schema_accepts_exactly_what_validate_params_accepts(n: int, ratio: float, mode: str) -> None:
    values = {"n": n, "ratio": ratio, "mode": mode}
    schema = Typed.params_schema()

    by_schema = jsonschema.Draft202012Validator(schema).is_valid(values)
    try:
        Typed.validate_params(**values)
        by_strategy = True
    except ParameterError:
        by_strategy = False

    assert by_schema == by_strategy
