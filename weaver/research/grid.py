"""Parameter grids: expand ``name=iterable`` keywords into checked combinations, before any work."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from weaver.core.errors import ParameterError


class Combination(Mapping[str, Any]):
    """One point of a grid: every strategy parameter (defaults filled in), read as ``p.fast`` or ``p["fast"]``.

    This is what a sweep's ``constraint`` receives, e.g. ``lambda p: p.fast < p.slow``.
    """

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        object.__setattr__(self, "_values", dict(values))

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(f"no parameter {name!r}; the parameters are {sorted(self._values)}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Combination is read-only")

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Any:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return "Combination(" + ", ".join(f"{k}={v!r}" for k, v in self._values.items()) + ")"


def _values(name: str, spec: Any) -> list[Any]:
    if isinstance(spec, str | bytes) or not isinstance(spec, Iterable):
        return [spec]  # a single value pins the parameter
    values = list(spec)
    if not values:
        raise ParameterError(f"the grid gives no values for {name!r}: {spec!r} is empty")
    return values


def expand_grid(
    strategy: Any,
    grid: Mapping[str, Any],
    constraint: Callable[[Combination], bool] | None = None,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Return the swept names and the checked combinations (all parameters, defaults filled in).

    Every value is checked against the strategy's typed parameters, and the constraint is
    applied, before anything runs.

    Raises
    ------
    ParameterError
        For an empty grid or an empty list of values, an unknown parameter, a value of the
        wrong type or out of bounds, a constraint that raises, or one that rejects every
        combination.
    """
    if not grid:
        raise ParameterError(
            f"the grid is empty: give each swept parameter an iterable, e.g. fast=range(5, 55, 5); "
            f"{strategy.__name__}'s parameters are: {strategy.describe_params()}"
        )
    strategy.validate_params(**{name: _values(name, spec)[0] for name, spec in grid.items()})  # names first
    names = list(grid)
    axes = []
    for name in names:
        checked = [strategy.validate_params(**{name: v})[name] for v in _values(name, grid[name])]
        axes.append(list(dict.fromkeys(checked)))  # drop repeated values, keep the order
    combos: list[dict[str, Any]] = []
    total = 0
    for point in itertools.product(*axes):
        total += 1
        values = strategy.validate_params(**dict(zip(names, point, strict=True)))
        if constraint is not None:
            try:
                keep = constraint(Combination(values))
            except Exception as exc:
                raise ParameterError(
                    f"the constraint raised {type(exc).__name__}: {exc} on {Combination(values)!r}"
                ) from exc
            if not keep:
                continue
        combos.append(values)
    if not combos:
        raise ParameterError(f"the constraint rejects all {total} combinations of the grid {_describe(names, axes)}")
    return names, combos


def _describe(names: list[str], axes: list[list[Any]]) -> str:
    def show(vs: list[Any]) -> str:
        return repr(vs) if len(vs) <= 6 else f"[{vs[0]!r}, {vs[1]!r}, …, {vs[-1]!r}] ({len(vs)} values)"

    return ", ".join(f"{n}={show(vs)}" for n, vs in zip(names, axes, strict=True))


def parse_range(text: str) -> list[Any]:
    """Read a command-line grid axis: ``5:50:5`` (inclusive), ``5,10,20``, or one value.

    Numbers read as int when they look like ints, else float; other words stay strings
    (``true``/``false`` read as booleans).
    """
    text = text.strip()
    if ":" in text:
        parts = [_scalar(p) for p in text.split(":")]
        if len(parts) not in (2, 3) or not all(isinstance(p, int | float) and not isinstance(p, bool) for p in parts):
            raise ParameterError(f"a range reads START:STOP[:STEP] with numbers, got {text!r}")
        start, stop = parts[0], parts[1]
        step = parts[2] if len(parts) == 3 else 1
        if step <= 0:
            raise ParameterError(f"the step of {text!r} must be positive")
        out, k = [], 0
        while True:
            v = start + k * step
            if v > stop + (1e-9 * abs(step) if isinstance(step, float) else 0):
                break
            out.append(round(v, 12) if isinstance(v, float) else v)
            k += 1
        if not out:
            raise ParameterError(f"the range {text!r} is empty")
        return out
    return [_scalar(p) for p in text.split(",") if p.strip()]


def _scalar(text: str) -> Any:
    t = text.strip()
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t
