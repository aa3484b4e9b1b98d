"""Tests for the event types and their versioned payload schemas (DESIGN §5, issue 13)."""

from __future__ import annotations

import json
import pickle
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from weaver.core import (
    DataError,
    OrderAccepted,
    OrderCanceled,
    OrderCancelRequested,
    OrderEvent,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
    OrderReplaced,
    OrderStatus,
    OrderSubmitted,
    OrderTriggered,
    RunStatus,
)
from weaver.events import (
    EVENT_TYPES,
    LATEST,
    EventPayloadError,
    EventTypeError,
    order_event_payload,
    payload_model,
    validate_payload,
)

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=timezone.utc)
T1 = T0 + timedelta(milliseconds=250)

# DESIGN §5, in its spellings (the roadmap's ``cancelled`` and ``partial`` lose)
DESIGN_TYPES = [
    "run.created", "run.started", "run.stopped", "run.completed", "run.error", "run.halted",
    "order.submitted", "order.accepted", "order.triggered", "order.partially_filled", "order.filled",
    "order.cancel_requested", "order.canceled", "order.replaced", "order.expired", "order.rejected",
    "position.changed",
    "tick",
]
RUN_STATUS = {
    "run.created": RunStatus.PENDING, "run.started": RunStatus.RUNNING, "run.stopped": RunStatus.STOPPED,
    "run.completed": RunStatus.COMPLETED, "run.error": RunStatus.ERROR, "run.halted": RunStatus.HALTED,
}
FILL_TYPES = {"order.partially_filled", "order.filled"}


def _order_subclasses(root: type[OrderEvent] = OrderEvent) -> list[type[OrderEvent]]:
    """Return Weaver's subclasses of ``root``, at any depth (not a test's own).

    ``dataclass(slots=True)`` makes a new class and drops the first, which ``__subclasses__``
    lists until it is collected: a class counts if its module still names it.
    """
    found = []
    for sub in root.__subclasses__():
        if sub.__module__.startswith("weaver.") and getattr(sys.modules[sub.__module__], sub.__name__, None) is sub:
            found.append(sub)
        found.extend(_order_subclasses(sub))
    return found


def make_payload(event_type: str, **overrides: Any) -> dict[str, Any]:
    """Return a valid payload of ``event_type``, with ``overrides`` applied."""
    if event_type.startswith("run."):
        payload: dict[str, Any] = {"run_id": "r1", "status": RUN_STATUS[event_type].value, "reason": None}
        if event_type in ("run.error", "run.halted"):
            payload["reason"] = "the broker disconnected"
    elif event_type.startswith("order."):
        payload = {"run_id": "r1", "client_order_id": "r1-20240102T143000Z-1", "venue_order_id": None,
                   "symbol": "AAPL", "status": "new", "ts_event": T0, "ts_init": T1}
        if event_type in FILL_TYPES:
            payload.update(exec_id="x1", qty=Decimal("10"), price=Decimal("187.25"),
                           commission=Decimal("0.01"), filled_qty=Decimal("10"))
        elif event_type in ("order.canceled", "order.expired", "order.rejected"):
            payload["reason"] = "insufficient buying power"
        elif event_type == "order.replaced":
            payload["replaced_by"] = "r1-20240102T143000Z-2"
    elif event_type == "position.changed":
        payload = {"run_id": "r1", "symbol": "AAPL", "qty": Decimal("-5"), "avg_price": Decimal("187.25"),
                   "ts": T0}
    else:
        payload = {"run_id": "r1", "timestamp": T0, "bar_index": 0, "total": 390}
    payload.update(overrides)
    return payload


def refused(event_type: str, payload: Any, **kwargs: Any) -> EventPayloadError:
    with pytest.raises(EventPayloadError) as caught:
        validate_payload(event_type, payload, **kwargs)
    return caught.value


# --- the registry --------------------------------------------------------------------------


def test_every_design_type_is_registered_and_nothing_else() -> None:
    assert sorted(EVENT_TYPES) == sorted(DESIGN_TYPES)
    assert set(LATEST) == set(DESIGN_TYPES)


def test_every_type_is_at_version_one_and_latest_names_a_registered_version() -> None:
    for event_type, versions in EVENT_TYPES.items():
        assert set(versions) == {1}, event_type
        assert LATEST[event_type] in versions
        assert payload_model(event_type) is versions[LATEST[event_type]]
        assert payload_model(event_type, 1) is versions[1]


def test_the_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        EVENT_TYPES["order.cancelled"] = {}  # type: ignore[index]
    with pytest.raises(TypeError):
        EVENT_TYPES["order.filled"][2] = payload_model("order.filled")  # type: ignore[index]
    with pytest.raises(TypeError):
        LATEST["tick"] = 2  # type: ignore[index]


@pytest.mark.parametrize("event_type", DESIGN_TYPES)
def test_each_model_is_a_frozen_pydantic_model_refusing_unknown_fields(event_type: str) -> None:
    model = payload_model(event_type)
    instance = model.model_validate(make_payload(event_type))

    assert issubclass(model, BaseModel)
    assert model.model_config.get("extra") == "forbid"
    with pytest.raises(ValidationError):
        instance.run_id = "other"  # type: ignore[misc]


@pytest.mark.parametrize("event_type", DESIGN_TYPES)
def test_a_valid_payload_comes_back_json_ready(event_type: str) -> None:
    payload = make_payload(event_type)

    out = validate_payload(event_type, payload)

    assert json.loads(json.dumps(out)) == out
    assert set(out) == set(payload_model(event_type).model_fields)
    assert validate_payload(event_type, out) == out  # what was stored validates again, unchanged


def test_order_subclasses_map_exactly_to_the_registered_order_types() -> None:
    concrete = {cls.event_type for cls in _order_subclasses() if cls.event_type}

    assert concrete == {t for t in DESIGN_TYPES if t.startswith("order.")}


# --- unknown types and versions -------------------------------------------------------------


def test_an_unknown_type_is_refused_with_a_near_miss_suggested() -> None:
    with pytest.raises(EventTypeError) as caught:
        validate_payload("order.cancelled", make_payload("order.canceled"))

    message = str(caught.value)
    assert "'order.cancelled'" in message
    assert "'order.canceled'" in message
    assert caught.value.event_type == "order.cancelled"
    assert isinstance(caught.value, DataError)


def test_an_unknown_type_far_from_any_lists_the_known_types() -> None:
    with pytest.raises(EventTypeError) as caught:
        payload_model("fill")

    message = str(caught.value)
    assert "'fill'" in message
    for event_type in DESIGN_TYPES:
        assert event_type in message


@pytest.mark.parametrize("bad", [None, 7, ("order", "filled"), ""])
def test_a_type_that_is_not_a_string_is_refused_naming_it(bad: Any) -> None:
    with pytest.raises(EventTypeError, match=repr(bad).replace("(", r"\(").replace(")", r"\)")):
        validate_payload(bad, {})


@pytest.mark.parametrize("version", [0, 2, True, "1"])
def test_an_unknown_version_is_refused_naming_the_type_and_version(version: Any) -> None:
    with pytest.raises(EventTypeError) as caught:
        validate_payload("order.filled", make_payload("order.filled"), version=version)

    message = str(caught.value)
    assert "'order.filled'" in message and repr(version) in message and "1" in message
    assert caught.value.version == version


# --- refused payloads ----------------------------------------------------------------------


def test_a_bad_field_is_named_with_its_value_and_pydantics_message() -> None:
    error = refused("order.filled", make_payload("order.filled", qty="abc"))

    assert "order.filled v1 payload: field 'qty': Input should be a valid decimal (got 'abc')" in str(error)
    assert isinstance(error, DataError)
    assert isinstance(error.__cause__, ValidationError)
    assert error.event_type == "order.filled" and error.version == 1
    assert [field for field, _ in error.problems] == ["qty"]


def test_a_missing_field_is_named() -> None:
    payload = make_payload("order.filled")
    del payload["exec_id"]

    message = str(refused("order.filled", payload))

    assert "order.filled v1 payload: field 'exec_id': Field required" in message


def test_an_extra_field_is_named() -> None:
    message = str(refused("tick", make_payload("tick", bar=3)))

    assert "tick v1 payload: field 'bar': Extra inputs are not permitted (got 3)" in message


def test_every_failing_field_is_named() -> None:
    payload = make_payload("position.changed", qty="x", symbol="")
    del payload["ts"]

    error = refused("position.changed", payload)

    assert sorted(field for field, _ in error.problems) == ["qty", "symbol", "ts"]
    for name in ("'qty'", "'symbol'", "'ts'"):
        assert name in str(error)


def test_a_payload_that_is_not_a_mapping_is_refused() -> None:
    error = refused("tick", ["r1", T0, 0])

    assert "tick v1 payload" in str(error) and "['r1'" in str(error)


@pytest.mark.parametrize(("event_type", "field"), [
    ("order.submitted", "ts_event"), ("order.filled", "ts_init"), ("position.changed", "ts"), ("tick", "timestamp"),
])
def test_a_naive_datetime_is_refused(event_type: str, field: str) -> None:
    message = str(refused(event_type, make_payload(event_type, **{field: datetime(2024, 1, 2, 14, 30)})))

    assert f"field '{field}'" in message and "timezone" in message


@pytest.mark.parametrize(("event_type", "status"), [
    ("run.started", "pending"), ("run.completed", "running"), ("run.created", "nope"),
])
def test_a_run_status_must_match_its_type(event_type: str, status: str) -> None:
    assert "field 'status'" in str(refused(event_type, make_payload(event_type, status=status)))


def test_a_run_status_defaults_to_its_types_and_an_enum_member_is_taken() -> None:
    for event_type, status in RUN_STATUS.items():
        payload = make_payload(event_type)
        assert validate_payload(event_type, {**payload, "status": status})["status"] == status.value
        del payload["status"]
        assert validate_payload(event_type, payload)["status"] == status.value


@pytest.mark.parametrize("event_type", ["run.error", "run.halted", "order.rejected"])
@pytest.mark.parametrize("reason", ["", None])
def test_an_error_a_halt_and_a_rejection_need_a_reason(event_type: str, reason: str | None) -> None:
    assert "field 'reason'" in str(refused(event_type, make_payload(event_type, reason=reason)))


def test_other_runs_may_say_why_and_a_cancel_or_expiry_need_not() -> None:
    assert validate_payload("run.stopped", make_payload("run.stopped", reason="user"))["reason"] == "user"
    for event_type in ("order.canceled", "order.expired"):
        payload = make_payload(event_type)
        del payload["reason"]
        assert validate_payload(event_type, payload)["reason"] == ""


@pytest.mark.parametrize("coid", ["", "has space", "é", "x" * 129, "a/b"])
def test_a_client_order_id_is_1_to_128_safe_characters(coid: str) -> None:
    assert "field 'client_order_id'" in str(refused("order.accepted", make_payload("order.accepted",
                                                                                  client_order_id=coid)))


def test_a_client_order_id_of_128_safe_characters_is_taken() -> None:
    coid = "aZ0._-" * 21 + "xy"

    assert validate_payload("order.accepted", make_payload("order.accepted", client_order_id=coid))[
        "client_order_id"] == coid


def test_an_unknown_order_status_is_refused() -> None:
    assert "field 'status'" in str(refused("order.accepted", make_payload("order.accepted", status="cancelled")))


@pytest.mark.parametrize(("field", "value"), [
    ("qty", Decimal(0)), ("qty", Decimal("-1")), ("price", Decimal(0)), ("commission", Decimal("-0.01")),
    ("filled_qty", Decimal(0)), ("qty", Decimal("NaN")), ("price", "Infinity"), ("exec_id", ""),
])
def test_a_fill_needs_positive_finite_numbers_and_an_execution_id(field: str, value: Any) -> None:
    assert f"field '{field}'" in str(refused("order.filled", make_payload("order.filled", **{field: value})))


@pytest.mark.parametrize(("overrides", "field"), [
    ({"bar_index": -1}, "bar_index"), ({"bar_index": 390}, "total"), ({"bar_index": 1.5}, "bar_index"),
])
def test_a_tick_counts_bars_from_zero_below_the_total(overrides: dict[str, Any], field: str) -> None:
    assert f"field '{field}'" in str(refused("tick", make_payload("tick", **overrides)))


def test_a_tick_of_a_run_without_an_end_has_no_total() -> None:
    assert validate_payload("tick", make_payload("tick", bar_index=10_000, total=None))["total"] is None


def test_an_error_pickles_with_its_type_version_and_problems() -> None:
    error = refused("order.filled", make_payload("order.filled", qty="abc"))
    with pytest.raises(EventTypeError) as caught:
        payload_model("order.cancelled")

    again, unknown = pickle.loads(pickle.dumps(error)), pickle.loads(pickle.dumps(caught.value))

    assert (str(again), again.event_type, again.version, again.problems) == (
        str(error), error.event_type, error.version, error.problems)
    assert (str(unknown), unknown.event_type) == (str(caught.value), "order.cancelled")


# --- exact numbers and times ---------------------------------------------------------------


@pytest.mark.parametrize(("value", "written"), [
    ("0.1", "0.1"), ("187.2500", "187.2500"), ("1E+3", "1E+3"), ("123456789012345678901234567890.5", None),
    ("0.000000001", "1E-9"),  # Decimal's own str: the same number, exponent and all
])
def test_a_decimal_survives_as_its_exact_string(value: str, written: str | None) -> None:
    out = validate_payload("order.filled", make_payload("order.filled", price=Decimal(value)))

    assert out["price"] == (written or value) == str(Decimal(value))
    assert Decimal(out["price"]).as_tuple() == Decimal(value).as_tuple()


def test_a_float_becomes_the_decimal_it_prints_as() -> None:
    out = validate_payload("position.changed", make_payload("position.changed", qty=0.1))

    assert out["qty"] == "0.1"


def test_a_time_keeps_its_instant() -> None:
    est = timezone(timedelta(hours=-5))
    out = validate_payload("tick", make_payload("tick", timestamp=T1.astimezone(est)))

    assert datetime.fromisoformat(out["timestamp"]) == T1


# --- from the core's order events ------------------------------------------------------------


def _events() -> list[OrderEvent]:
    coid = "r1-20240102T143000Z-1"
    return [
        OrderSubmitted(coid, T0),
        OrderAccepted(coid, T0, venue_order_id="v-1", ts_init=T1),
        OrderTriggered(coid, T0),
        OrderPartiallyFilled(coid, T0, "x1", Decimal("4"), Decimal("187.25"), Decimal("0.01")),
        OrderFilled(coid, T0, "x2", Decimal("6"), Decimal("187.5"), venue_order_id="v-1"),
        OrderCancelRequested(coid, T0),
        OrderCanceled(coid, T0, "by the user"),
        OrderCanceled(coid, T0),
        OrderExpired(coid, T0, "end of day"),
        OrderRejected(coid, T0, "insufficient buying power"),
        OrderReplaced(coid, T0, "r1-20240102T143000Z-2"),
        OrderReplaced(coid, T0),
    ]


def test_every_order_event_class_is_covered_by_the_sample_events() -> None:
    assert {type(e) for e in _events()} == {c for c in _order_subclasses() if c.event_type}


@pytest.mark.parametrize("event", _events(), ids=lambda e: type(e).__name__)
def test_an_order_event_round_trips_through_its_schema(event: OrderEvent) -> None:
    filled = Decimal("10") if event.event_type in FILL_TYPES else None

    event_type, payload = order_event_payload(event, symbol="AAPL", status=OrderStatus.PARTIALLY_FILLED,
                                              run_id="r1", filled_qty=filled)
    out = validate_payload(event_type, payload)

    assert event_type == event.event_type
    assert out["client_order_id"] == event.client_order_id
    assert out["venue_order_id"] == event.venue_order_id
    assert datetime.fromisoformat(out["ts_event"]) == event.ts_event
    assert datetime.fromisoformat(out["ts_init"]) == event.ts_init
    assert (out["symbol"], out["status"], out["run_id"]) == ("AAPL", "partially_filled", "r1")
    for name in ("exec_id", "reason", "replaced_by"):
        if hasattr(event, name):
            assert out[name] == getattr(event, name)
    for name in ("qty", "price", "commission"):
        if hasattr(event, name):
            assert out[name] == str(getattr(event, name))
    if filled is not None:
        assert out["filled_qty"] == "10"
    assert validate_payload(event_type, out) == out


def test_a_fill_needs_the_orders_filled_qty_and_only_a_fill_takes_it() -> None:
    fill, accepted = _events()[4], _events()[1]

    with pytest.raises(EventPayloadError, match="order.filled v1 payload: field 'filled_qty'"):
        order_event_payload(fill, symbol="AAPL", status="filled")
    with pytest.raises(EventPayloadError, match="order.accepted v1 payload: field 'filled_qty'"):
        order_event_payload(accepted, symbol="AAPL", status="new", filled_qty=Decimal(1))


def test_an_order_event_of_an_unregistered_type_is_refused() -> None:
    class OrderNudged(OrderSubmitted):  # not a dataclass of its own: it shares the parent's slots
        event_type = "order.nudged"

    with pytest.raises(EventTypeError, match="'order.nudged'"):
        order_event_payload(OrderNudged("c1", T0), symbol="AAPL", status="new")


# --- property: whatever is valid comes back the same ----------------------------------------

ids = st.from_regex(r"[A-Za-z0-9._-]{1,128}", fullmatch=True)
texts = st.text(min_size=1, max_size=40)
times = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=-5)),
                                                timezone(timedelta(hours=5, minutes=30))]))
positive = st.decimals(min_value=Decimal("1e-9"), max_value=Decimal("1e12"), allow_nan=False,
                       allow_infinity=False)
fees = st.decimals(min_value=0, max_value=Decimal("1e6"), allow_nan=False, allow_infinity=False)
signed = st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), allow_nan=False,
                     allow_infinity=False)


@st.composite
def payloads(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    event_type = draw(st.sampled_from(DESIGN_TYPES))
    payload = make_payload(event_type)
    if event_type.startswith("run."):
        payload.update(run_id=draw(texts))
        if event_type in ("run.error", "run.halted"):
            payload["reason"] = draw(texts)
    elif event_type.startswith("order."):
        payload.update(run_id=draw(st.none() | texts), client_order_id=draw(ids),
                       venue_order_id=draw(st.none() | texts), symbol=draw(texts),
                       status=draw(st.sampled_from(OrderStatus)), ts_event=draw(times), ts_init=draw(times))
        if event_type in FILL_TYPES:
            payload.update(exec_id=draw(texts), qty=draw(positive), price=draw(positive),
                           commission=draw(fees), filled_qty=draw(positive))
    elif event_type == "position.changed":
        payload.update(qty=draw(signed), avg_price=draw(st.none() | positive), ts=draw(times))
    else:
        index = draw(st.integers(min_value=0, max_value=10**9))
        payload.update(timestamp=draw(times), bar_index=index,
                       total=draw(st.none() | st.integers(min_value=index + 1, max_value=10**9 + 1)))
    return event_type, payload


def _same(original: Any, stored: Any) -> bool:
    if isinstance(original, Decimal):
        return Decimal(stored) == original and stored == str(original)
    if isinstance(original, datetime):
        return datetime.fromisoformat(stored) == original
    return stored == original


@settings(max_examples=150, deadline=None)
@given(payloads())
def test_a_valid_payload_round_trips(case: tuple[str, dict[str, Any]]) -> None:
    event_type, payload = case

    out = validate_payload(event_type, payload)

    assert json.loads(json.dumps(out)) == out
    assert validate_payload(event_type, out) == out
    # the fast path (the compiled validator and serializer) is what the model's own methods do
    assert out == payload_model(event_type).model_validate(payload).model_dump(mode="json")
    for name, value in payload.items():
        assert _same(value, out[name]), (name, value, out[name])
