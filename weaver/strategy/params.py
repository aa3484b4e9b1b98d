"""Typed strategy parameters: declared as annotated class attributes, checked before any bar runs."""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from weaver.core.errors import ParameterError

_SUPPORTED = (bool, int, float, str)


@dataclass(frozen=True, slots=True)
class Param:
    """A strategy parameter: its type, default and optional bounds for widgets and sweeps.

    Declare one with :func:`param`; a plain ``fast: int = 10`` becomes ``Param(int, 10)``.
    """

    type: type
    default: Any
    low: float | None = None
    high: float | None = None
    step: float | None = None
    doc: str = ""
    name: str = ""

    @property
    def type_name(self) -> str:
        """Return the parameter's type as it reads in an error message."""
        return self.type.__name__

    @property
    def choices(self) -> list[Any] | None:
        """Return the allowed values of an enum parameter, else None."""
        return list(self.type) if issubclass(self.type, enum.Enum) else None

    def coerce(self, value: Any, *, owner: str) -> Any:
        """Check ``value`` against the type and bounds; return it in the parameter's type.

        Only lossless conversions are made: an int for a float, an enum's value or name for
        the enum member, and a numpy scalar (as ``np.arange`` gives) for the Python value it
        holds. Anything else raises :class:`ParameterError`.
        """
        given = value
        if isinstance(value, np.generic):  # np.int64(5) -> 5, np.bool_(True) -> True
            value = value.item()
        t = self.type
        ok: Any
        if t is bool:
            ok = value if isinstance(value, bool) else None
        elif t is int:
            ok = value if isinstance(value, int) and not isinstance(value, bool) else None
        elif t is float:
            ok = float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        elif t is str:
            ok = str(value) if isinstance(value, str) else None
        else:  # an Enum
            ok = _enum_member(t, value)
        if ok is None:
            raise ParameterError(
                f"{owner}.{self.name} must be {self.type_name}, got {value!r} ({type(given).__name__})"
            )
        if self.low is not None and ok < self.low or self.high is not None and ok > self.high:
            raise ParameterError(
                f"{owner}.{self.name}={ok!r} is outside its bounds [{self.low}, {self.high}]"
            )
        return ok


def _enum_member(t: type[enum.Enum], value: Any) -> enum.Enum | None:
    if isinstance(value, t):
        return value
    for member in t:
        if value == member.value or value == member.name:
            return member
    return None


def param(
    default: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    step: float | None = None,
    doc: str = "",
) -> Any:
    """Declare a strategy parameter with bounds, e.g. ``fast: int = param(10, low=2, high=100)``.

    Parameters
    ----------
    default
        The value used when the caller does not give one.
    low, high
        Inclusive bounds; values outside raise :class:`ParameterError`. Widgets use them for
        slider ranges.
    step
        The widget step.
    doc
        A one-line description shown next to the control.
    """
    return Param(type(default), default, low, high, step, doc)


def collect_params(cls: type, annotations: dict[str, Any], namespace: dict[str, Any]) -> dict[str, Param]:
    """Build the :class:`Param` table of a strategy class from its annotated attributes."""
    found: dict[str, Param] = {}
    for name, hint in annotations.items():
        if name.startswith("_") or name not in namespace:
            continue
        value = namespace[name]
        declared = _resolve_type(hint, cls)
        if isinstance(value, Param):
            p = Param(declared or value.type, value.default, value.low, value.high, value.step, value.doc, name)
        else:
            p = Param(declared or type(value), value, name=name)
        if not (p.type in _SUPPORTED or issubclass(p.type, enum.Enum)):
            raise ParameterError(
                f"{cls.__name__}.{name}: parameter type {p.type!r} is not supported; "
                "use int, float, bool, str or an Enum"
            )
        found[name] = Param(p.type, p.coerce(p.default, owner=cls.__name__), p.low, p.high, p.step, p.doc, name)
    return found


def _resolve_type(hint: Any, cls: type) -> type | None:
    if isinstance(hint, type):
        return hint
    if isinstance(hint, str):  # from __future__ import annotations
        import sys

        module = sys.modules.get(cls.__module__)
        scope = {"int": int, "float": float, "bool": bool, "str": str, **vars(module or object())}
        try:
            resolved = eval(hint, scope)  # noqa: S307 - class annotations written by the strategy's author
        except Exception:
            return None
        return resolved if isinstance(resolved, type) else None
    return None


#: the JSON Schema dialect of :func:`params_json_schema`
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string"}


def params_json_schema(params: Mapping[str, Param], *, title: str, description: str | None = None) -> dict[str, Any]:
    """Return parameters as a JSON Schema object: each one's type, default, bounds and description.

    Parameters
    ----------
    params
        The parameters, e.g. a strategy's ``params``.
    title
        The schema's title: the strategy class's name.
    description
        The schema's description; left out when None.

    Returns
    -------
    dict
        Plain JSON (draft 2020-12): ``properties`` holds, per parameter, ``type``
        (``integer``, ``number``, ``boolean``, ``string``), ``title`` (its name),
        ``description`` (its ``doc``), ``default``, the inclusive bounds ``minimum`` and
        ``maximum``, and the widget step as ``x-step``; an Enum parameter lists its members'
        values in ``enum``. Infinite bounds are left out. No other property is allowed.
    """
    schema: dict[str, Any] = {"$schema": JSON_SCHEMA_DIALECT, "title": title}
    if description:
        schema["description"] = description
    schema.update({"type": "object", "additionalProperties": False,
                   "properties": {name: _property(name, p) for name, p in params.items()}})
    return schema


def _property(name: str, p: Param) -> dict[str, Any]:
    prop: dict[str, Any] = {}
    if p.choices is not None:
        values = [_json_value(member.value) for member in p.choices]
        kinds = {_JSON_TYPES.get(type(v)) for v in values}
        if len(kinds) == 1 and None not in kinds:
            prop["type"] = kinds.pop()
        prop.update(title=name)
        if p.doc:
            prop["description"] = p.doc
        prop.update(default=_json_value(p.default.value), enum=values)
        return prop
    prop.update(type=_JSON_TYPES[p.type], title=name)
    if p.doc:
        prop["description"] = p.doc
    prop["default"] = p.default
    for key, bound in (("minimum", p.low), ("maximum", p.high), ("x-step", p.step)):
        if bound is not None and math.isfinite(bound):
            prop[key] = bound
    return prop


def _json_value(value: Any) -> Any:
    """Return an Enum member's value as JSON holds it (an IntEnum's as its int)."""
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return str(value)


def params_from_json_schema(schema: Mapping[str, Any]) -> dict[str, Param | None]:
    """Return the parameters a :func:`params_json_schema` document describes, by name.

    The inverse of :func:`params_json_schema` for what JSON can say: type, default and
    bounds. An Enum parameter (``enum``) maps to None: its members are Python objects the
    schema only names, so the strategy's own class checks it.
    """
    types = {name: kind for kind, name in _JSON_TYPES.items()}
    found: dict[str, Param | None] = {}
    for name, prop in (schema.get("properties") or {}).items():
        kind = types.get(prop.get("type")) if isinstance(prop, Mapping) else None
        if kind is None or "enum" in prop:
            found[name] = None
            continue
        found[name] = Param(kind, prop.get("default"), prop.get("minimum"), prop.get("maximum"),
                            prop.get("x-step"), prop.get("description", ""), name)
    return found

