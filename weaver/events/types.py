"""Event types and their versioned payload schemas (DESIGN §5).

Every event in the log has a dotted ``type`` in DESIGN §5's spellings (``"order.filled"``)
and a ``version`` of its payload's schema. The schemas are frozen pydantic models that
refuse unknown fields; :data:`EVENT_TYPES` holds them by type and version. Events are thin:
a payload names what changed and carries the few numbers a listener needs at once; the
full run, order or position is fetched over REST.

Nothing is written unchecked: :func:`validate_payload` refuses an unknown type
(:class:`EventTypeError`) or a payload its schema refuses (:class:`EventPayloadError`),
naming the type, the version and each failing field, and returns the payload ready for
JSON: ``Decimal`` as its exact string (``"0.1"``), times as ISO 8601 strings.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import fields
from decimal import Decimal
from types import MappingProxyType
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from weaver.core.enums import OrderStatus
from weaver.core.errors import DataError
from weaver.core.ids import MAX_LENGTH
from weaver.core.orders import OrderEvent

__all__ = [
    "EVENT_TYPES",
    "LATEST",
    "EventPayloadError",
    "EventTypeError",
    "OrderAcceptedV1",
    "OrderCancelRequestedV1",
    "OrderCanceledV1",
    "OrderExpiredV1",
    "OrderFilledV1",
    "OrderPartiallyFilledV1",
    "OrderRejectedV1",
    "OrderReplacedV1",
    "OrderSubmittedV1",
    "OrderTriggeredV1",
    "PositionChangedV1",
    "RunCompletedV1",
    "RunCreatedV1",
    "RunErrorV1",
    "RunHaltedV1",
    "RunStartedV1",
    "RunStoppedV1",
    "TickV1",
    "checked_json",
    "order_event_payload",
    "payload_model",
    "validate_payload",
]


# --- errors ---------------------------------------------------------------------------------


class EventTypeError(DataError):
    """Raise for an event type, or a version of one, that has no payload schema.

    Parameters
    ----------
    message
        What was refused and what is known instead.
    event_type
        The refused type, as given.
    version
        The refused version, or None when the type itself is unknown.
    """

    def __init__(self, message: str, event_type: object, version: object = None) -> None:
        self.event_type = event_type
        self.version = version
        super().__init__(message)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.event_type, self.version))


class EventPayloadError(DataError):
    """Raise for a payload that its type's schema refuses; the pydantic error is the cause.

    The message reads ``order.filled v1 payload: field 'qty': Input should be a valid
    decimal (got 'abc')``, one clause per failing field.

    Parameters
    ----------
    event_type
        The event's type.
    version
        The schema version the payload was checked against.
    problems
        ``(field, what is wrong)`` pairs; the field is ``""`` for the payload as a whole.
    """

    def __init__(self, event_type: str, version: int, problems: tuple[tuple[str, str], ...]) -> None:
        self.event_type = event_type
        self.version = version
        self.problems = problems
        clauses = "; ".join(f"field {field!r}: {what}" if field else what for field, what in problems)
        super().__init__(f"{event_type} v{version} payload: {clauses}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.event_type, self.version, self.problems))


# --- field types ----------------------------------------------------------------------------

_Text = Annotated[str, Field(min_length=1)]
#: a client order id as the core derives it (weaver.core.ids) and Alpaca takes it
_ClientOrderId = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH, pattern=r"^[A-Za-z0-9._-]+$")]
_Positive = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
_NonNegative = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]
_Finite = Annotated[Decimal, Field(allow_inf_nan=False)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    #: the event type whose payload this is, e.g. ``"order.filled"``
    event_type: ClassVar[str] = ""
    #: the schema's version within its type
    schema_version: ClassVar[int] = 1


# --- run.* ----------------------------------------------------------------------------------


class _RunV1(_Payload):
    """A run moved to a new status; ``status`` is the one the type names."""

    run_id: _Text
    reason: str | None = None


class RunCreatedV1(_RunV1):
    """Payload of ``run.created``, version 1: the run exists and waits to start."""

    event_type: ClassVar[str] = "run.created"
    status: Literal["pending"] = "pending"


class RunStartedV1(_RunV1):
    """Payload of ``run.started``, version 1: the run is trading."""

    event_type: ClassVar[str] = "run.started"
    status: Literal["running"] = "running"


class RunStoppedV1(_RunV1):
    """Payload of ``run.stopped``, version 1: the run was stopped before its end, ``reason`` saying why if given."""

    event_type: ClassVar[str] = "run.stopped"
    status: Literal["stopped"] = "stopped"


class RunCompletedV1(_RunV1):
    """Payload of ``run.completed``, version 1: the run reached its end."""

    event_type: ClassVar[str] = "run.completed"
    status: Literal["completed"] = "completed"


class RunErrorV1(_RunV1):
    """Payload of ``run.error``, version 1: the run failed; ``reason`` says how."""

    event_type: ClassVar[str] = "run.error"
    status: Literal["error"] = "error"
    reason: _Text


class RunHaltedV1(_RunV1):
    """Payload of ``run.halted``, version 1: a risk limit or an operator halted the run; ``reason`` says which."""

    event_type: ClassVar[str] = "run.halted"
    status: Literal["halted"] = "halted"
    reason: _Text


# --- order.* --------------------------------------------------------------------------------


class _OrderV1(_Payload):
    """An order event: its identity, its order's status after it, and its two times."""

    run_id: _Text | None = None
    client_order_id: _ClientOrderId
    venue_order_id: _Text | None = None
    symbol: _Text
    status: OrderStatus
    ts_event: AwareDatetime
    ts_init: AwareDatetime


class OrderSubmittedV1(_OrderV1):
    """Payload of ``order.submitted``, version 1: the order was sent to the venue."""

    event_type: ClassVar[str] = "order.submitted"


class OrderAcceptedV1(_OrderV1):
    """Payload of ``order.accepted``, version 1: the venue acknowledged the order."""

    event_type: ClassVar[str] = "order.accepted"


class OrderTriggeredV1(_OrderV1):
    """Payload of ``order.triggered``, version 1: the market touched the order's stop."""

    event_type: ClassVar[str] = "order.triggered"


class OrderCancelRequestedV1(_OrderV1):
    """Payload of ``order.cancel_requested``, version 1: a cancel was requested."""

    event_type: ClassVar[str] = "order.cancel_requested"


class _FillV1(_OrderV1):
    """An execution: its own ``qty``, ``price`` and ``commission``; ``filled_qty`` is the order's total."""

    exec_id: _Text
    qty: _Positive
    price: _Positive
    commission: _NonNegative = Decimal(0)
    filled_qty: _Positive


class OrderPartiallyFilledV1(_FillV1):
    """Payload of ``order.partially_filled``, version 1: an execution of part of the order."""

    event_type: ClassVar[str] = "order.partially_filled"


class OrderFilledV1(_FillV1):
    """Payload of ``order.filled``, version 1: the execution the venue reports as completing the order."""

    event_type: ClassVar[str] = "order.filled"


class OrderCanceledV1(_OrderV1):
    """Payload of ``order.canceled``, version 1, with the reason if one was given."""

    event_type: ClassVar[str] = "order.canceled"
    reason: str = ""


class OrderExpiredV1(_OrderV1):
    """Payload of ``order.expired``, version 1: the order's time in force ran out."""

    event_type: ClassVar[str] = "order.expired"
    reason: str = ""


class OrderRejectedV1(_OrderV1):
    """Payload of ``order.rejected``, version 1: the venue or a risk check refused the order, saying why."""

    event_type: ClassVar[str] = "order.rejected"
    reason: _Text


class OrderReplacedV1(_OrderV1):
    """Payload of ``order.replaced``, version 1: ``replaced_by`` is the new order's id, if known."""

    event_type: ClassVar[str] = "order.replaced"
    replaced_by: _Text | None = None


# --- position.changed, tick -----------------------------------------------------------------


class PositionChangedV1(_Payload):
    """Payload of ``position.changed``, version 1: the signed quantity now held (negative short, zero flat)."""

    event_type: ClassVar[str] = "position.changed"

    run_id: _Text | None = None
    symbol: _Text
    qty: _Finite
    avg_price: _NonNegative | None = None
    ts: AwareDatetime


class TickV1(_Payload):
    """Payload of ``tick``, version 1: a run finished bar ``bar_index`` (from 0) of ``total``, if known."""

    event_type: ClassVar[str] = "tick"

    run_id: _Text
    timestamp: AwareDatetime
    bar_index: int = Field(ge=0)
    total: int | None = Field(default=None, ge=0)

    @field_validator("total")
    @classmethod
    def _total_exceeds_the_index(cls, total: int | None, info: ValidationInfo) -> int | None:
        index = info.data.get("bar_index")
        if total is not None and index is not None and index >= total:
            raise ValueError(f"bar {index} (counted from 0) is past the total of {total} bars")
        return total


# --- the registry ---------------------------------------------------------------------------

_MODELS: tuple[type[_Payload], ...] = (
    RunCreatedV1, RunStartedV1, RunStoppedV1, RunCompletedV1, RunErrorV1, RunHaltedV1,
    OrderSubmittedV1, OrderAcceptedV1, OrderTriggeredV1, OrderPartiallyFilledV1, OrderFilledV1,
    OrderCancelRequestedV1, OrderCanceledV1, OrderReplacedV1, OrderExpiredV1, OrderRejectedV1,
    PositionChangedV1,
    TickV1,
)

_BY_TYPE: dict[str, dict[int, type[BaseModel]]] = {}
for _model in _MODELS:
    _BY_TYPE.setdefault(_model.event_type, {})[_model.schema_version] = _model
del _model

EVENT_TYPES: Mapping[str, Mapping[int, type[BaseModel]]] = MappingProxyType(
    {kind: MappingProxyType(versions) for kind, versions in _BY_TYPE.items()})
"""Event type -> schema version -> the payload's pydantic model: DESIGN §5's types, no other."""

LATEST: Mapping[str, int] = MappingProxyType({kind: max(versions) for kind, versions in _BY_TYPE.items()})
"""Event type -> the version new events are written in."""

_CURRENT: dict[str, type[BaseModel]] = {kind: _BY_TYPE[kind][LATEST[kind]] for kind in _BY_TYPE}
# What validate_payload calls for a model: its compiled validator and serializer, which
# model_validate and model_dump wrap (with the same defaults) at about 1 us a payload more;
# a 1,000-event outbox batch validates each of its events.
_Checks = tuple[type[_Payload], Callable[[Any], Any], Callable[[Any], bytes]]
_CHECKS: dict[type[BaseModel], _Checks] = {
    model: (model, model.__pydantic_validator__.validate_python, model.__pydantic_serializer__.to_json)
    for model in _MODELS}
_CURRENT_CHECKS: dict[str, _Checks] = {kind: _CHECKS[model] for kind, model in _CURRENT.items()}
_FILL_TYPES = frozenset(kind for kind, model in _CURRENT.items() if "filled_qty" in model.model_fields)
_SHOWN = 80  # characters of a refused value shown in a message


def payload_model(event_type: str, version: int | None = None) -> type[BaseModel]:
    """Return the payload model of ``event_type`` at ``version``.

    Parameters
    ----------
    event_type
        A type of :data:`EVENT_TYPES`, e.g. ``"order.filled"``.
    version
        The schema version; the latest (:data:`LATEST`) by default.

    Returns
    -------
    type[BaseModel]
        The frozen pydantic model that payloads of this type and version must pass.

    Raises
    ------
    EventTypeError
        If the type is unknown (the message suggests the nearest known type, or lists
        them all) or has no such version.
    """
    versions = _BY_TYPE.get(event_type) if isinstance(event_type, str) else None
    if versions is None:
        raise EventTypeError(_unknown_type(event_type), event_type)
    if version is None:
        return _CURRENT[event_type]
    model = versions.get(version) if version.__class__ is int else None
    if model is None:
        raise EventTypeError(
            f"event type {event_type!r} has no payload version {version!r} "
            f"(known versions: {', '.join(map(str, sorted(versions)))})", event_type, version)
    return model


def _unknown_type(event_type: object) -> str:
    message = f"unknown event type {event_type!r}"
    near = difflib.get_close_matches(event_type, _BY_TYPE, n=3) if isinstance(event_type, str) else []
    if near:
        return f"{message}; did you mean {' or '.join(map(repr, near))}?"
    return f"{message}; known types: {', '.join(_BY_TYPE)}"


def validate_payload(event_type: str, payload: Mapping[str, Any], version: int | None = None) -> dict[str, Any]:
    """Check ``payload`` against its type's schema and return it ready for JSON.

    Parameters
    ----------
    event_type
        A type of :data:`EVENT_TYPES`, e.g. ``"order.filled"``.
    payload
        The payload's fields; Python values (``Decimal``, aware ``datetime``, enum members)
        or their JSON forms, as :func:`validate_payload` returns them.
    version
        The schema version; the latest (:data:`LATEST`) by default.

    Returns
    -------
    dict[str, Any]
        Every field of the schema, defaults filled in: numbers as exact decimal strings,
        times as ISO 8601 strings, enums as their values. Validating it again returns it
        unchanged.

    Raises
    ------
    EventTypeError
        If the type, or its version, is unknown.
    EventPayloadError
        If the schema refuses the payload: the message names the type, the version and
        each missing, unknown or invalid field with its value.
    """
    model, instance = _check(event_type, payload, version)
    return model.__pydantic_serializer__.to_python(instance, mode="json")  # type: ignore[no-any-return]


def checked_json(event_type: str, payload: Mapping[str, Any], version: int | None = None) -> tuple[int, str]:
    """Check ``payload`` as :func:`validate_payload` does; return its schema's version and its JSON text.

    The event log checks every event it writes with this (1,000 in a batch), so the latest
    version's validator and serializer are looked up once, with no call between them.
    """
    checks = _CURRENT_CHECKS.get(event_type) if version is None and event_type.__class__ is str else None
    if checks is None:
        checks = _CHECKS[payload_model(event_type, version)]
    model, validate, serialize = checks
    try:
        return model.schema_version, serialize(validate(payload)).decode()
    except ValidationError as exc:
        raise EventPayloadError(event_type, model.schema_version, _problems(exc)) from exc


def _check(event_type: str, payload: Mapping[str, Any], version: int | None) -> tuple[type[_Payload], Any]:
    checks = _CURRENT_CHECKS.get(event_type) if version is None and event_type.__class__ is str else None
    if checks is None:
        checks = _CHECKS[payload_model(event_type, version)]
    model, validate, _ = checks
    try:
        return model, validate(payload)
    except ValidationError as exc:
        raise EventPayloadError(event_type, model.schema_version, _problems(exc)) from exc


def _problems(exc: ValidationError) -> tuple[tuple[str, str], ...]:
    found = []
    for error in exc.errors(include_url=False):
        field = ".".join(map(str, error["loc"]))
        what = error["msg"]
        if error["type"] != "missing":
            shown = repr(error["input"])
            if len(shown) > _SHOWN:
                shown = f"{shown[:_SHOWN - 3]}..."
            what = f"{what} (got {shown})"
        found.append((field, what))
    return tuple(found)


def order_event_payload(event: OrderEvent, *, symbol: str, status: OrderStatus | str, run_id: str | None = None,
                        filled_qty: Decimal | None = None) -> tuple[str, dict[str, Any]]:
    """Return the type and payload of the event that reports ``event`` (not yet validated).

    Parameters
    ----------
    event
        A lifecycle event of the core (``OrderFilled``, ``OrderCanceled``, ...); its
        ``event_type`` names the event, its fields fill the payload.
    symbol
        The order's instrument.
    status
        The order's status after the event.
    run_id
        The run the order belongs to, if any.
    filled_qty
        The order's cumulative filled quantity after a fill; required for a fill, refused
        for any other event.

    Returns
    -------
    tuple[str, dict[str, Any]]
        ``(event_type, payload)`` with Python values, for :func:`validate_payload` (the
        event log validates what it writes).

    Raises
    ------
    EventTypeError
        If the event's type has no payload schema.
    EventPayloadError
        If ``filled_qty`` is missing for a fill, or given for another event.
    """
    event_type = event.event_type
    model = payload_model(event_type)
    payload: dict[str, Any] = {"run_id": run_id, "symbol": symbol, "status": status}
    for item in fields(event):
        payload[item.name] = getattr(event, item.name)
    fill = event_type in _FILL_TYPES
    if fill and filled_qty is None:
        raise EventPayloadError(event_type, model.schema_version, (  # type: ignore[attr-defined]
            ("filled_qty", "Field required: the order's cumulative filled quantity after the fill"),))
    if not fill and filled_qty is not None:
        raise EventPayloadError(event_type, model.schema_version, (  # type: ignore[attr-defined]
            ("filled_qty", f"only a fill carries the order's filled quantity (got {filled_qty!r})"),))
    if fill:
        payload["filled_qty"] = filled_qty
    return event_type, payload

