"""``run_options``: every entry point takes :class:`~weaver.core.config.RunConfig`'s fields as keywords.

The run options are written once, as ``RunConfig``'s fields (each with its default, the
values it accepts and a line of documentation). :func:`run_options` makes them keyword-only
parameters of a function: the function's ``__signature__`` (what ``inspect.signature``,
``help()`` and Jupyter's tab completion read) lists them with their defaults, its docstring
gets an "Other Parameters" section generated from the fields, and the function itself
receives one checked ``config``. Keywords given with a ``config=`` override its fields, as
``config.replace(**keywords)`` would. A keyword that is neither a run option nor the
strategy's parameter is refused with a :class:`~weaver.core.errors.ParameterError` that
names it.

It lives in the core, next to ``RunConfig``, because every layer that has an entry point
(backtesting, research, widgets) may import the core, and importing it stays cheap (the
standard library only).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import re
import textwrap
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from weaver.core.config import RunConfig, unknown_options
from weaver.core.errors import ParameterError

__all__ = ["OPTION_NAMES", "options_section", "resolve_config", "run_options"]

R = TypeVar("R")

#: the run options' names, in ``RunConfig``'s field order
OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(RunConfig))
_OPTION_SET = frozenset(OPTION_NAMES)
_DEFAULT = RunConfig()
_KW = inspect.Parameter.KEYWORD_ONLY
_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
#: numpydoc sections that come after "Other Parameters"
_LATER_SECTIONS = ("Raises", "Warns", "Warnings", "See Also", "Notes", "References", "Examples")


def resolve_config(config: RunConfig | None, given: dict[str, Any]) -> RunConfig:
    """Return the run's config: ``config`` (default: all defaults) with the ``given`` options on top.

    Raises
    ------
    ParameterError
        If ``config`` is not a RunConfig, or an option's value is refused.
    """
    if config is None:
        return RunConfig(**given) if given else _DEFAULT
    if not isinstance(config, RunConfig):
        raise ParameterError(f"config={config!r} must be a RunConfig (wv.RunConfig(cash=..., ...)) or None")
    return dataclasses.replace(config, **given) if given else config


def run_options(func: Callable[..., R]) -> Callable[..., R]:
    """Give ``func`` the run options as keyword-only parameters, and hand it one ``config``.

    ``func`` takes ``config: RunConfig`` as a keyword-only parameter (it always receives a
    checked one) and none of the options itself. The returned function takes every option
    of :class:`~weaver.core.config.RunConfig` as a keyword and ``config=`` (None: the
    defaults); keywords override the config's fields. Its signature lists ``func``'s own
    parameters, the options with their defaults and annotations, then ``config`` (and
    ``func``'s ``**`` parameter, the strategy's parameters, last). Its docstring is
    ``func``'s with an "Other Parameters" section describing the options.

    When ``func`` has a parameter named ``strategy`` and a ``**`` parameter, a keyword that
    is neither an option nor a parameter of that strategy is refused; without a ``**``
    parameter, any keyword that is not an option or ``func``'s own is refused.

    Raises
    ------
    TypeError
        At decoration, if ``func`` takes no keyword-only ``config`` or takes an option itself.
    """
    signature = inspect.signature(func)
    params = signature.parameters
    if "config" not in params or params["config"].kind is not _KW:
        raise TypeError(f"{func.__qualname__} must take config as a keyword-only parameter to take the run options")
    taken = _OPTION_SET & set(params)
    if taken:
        raise TypeError(f"{func.__qualname__} takes run options {sorted(taken)} itself: take them from config")
    positional = [p for p in params.values() if p.kind in _POSITIONAL]
    own_keywords = [p for p in params.values() if p.kind is _KW and p.name != "config"]
    var_keyword = next((p for p in params.values() if p.kind is inspect.Parameter.VAR_KEYWORD), None)
    own = frozenset(p.name for p in (*positional, *own_keywords))
    names = [p.name for p in positional]
    strategy_at = names.index("strategy") if "strategy" in names else None

    @functools.wraps(func)
    def with_options(*args: Any, **kwargs: Any) -> R:
        config = kwargs.pop("config", None)
        given = {name: kwargs.pop(name) for name in [k for k in kwargs if k in _OPTION_SET]}
        extra = [k for k in kwargs if k not in own]
        if extra:
            strategy = (args[strategy_at] if strategy_at is not None and len(args) > strategy_at
                        else kwargs.get("strategy"))
            _check_extra(func, extra, strategy if var_keyword is not None else None, var_keyword is not None)
        return func(*args, config=resolve_config(config, given), **kwargs)

    # annotations as text, as the rest of a signature reads under ``from __future__ import annotations``
    options = [inspect.Parameter(f.name, _KW, default=f.default, annotation=_type_text(f.metadata["accepts"]))
               for f in dataclasses.fields(RunConfig)]
    config_param = inspect.Parameter("config", _KW, default=None, annotation="RunConfig | None")
    with_options.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*positional, *own_keywords, *options, config_param, *([var_keyword] if var_keyword else [])])
    with_options.__doc__ = with_options_section(func.__doc__)
    return with_options


def _check_extra(func: Callable[..., Any], extra: list[str], strategy: Any, takes_params: bool) -> None:
    """Refuse keywords that are no run option (and, with a strategy, none of its parameters)."""
    if not takes_params:
        raise ParameterError(f"{func.__name__}(): {unknown_options(extra, list(OPTION_NAMES))}")
    known = getattr(strategy, "params", None)
    if not (isinstance(strategy, type) and isinstance(known, dict)):
        return  # not a strategy: the function says so itself
    unknown = [k for k in extra if k not in known]
    if not unknown:
        return
    import difflib

    hints = [f" (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(k, [*known, *OPTION_NAMES], n=1))
             else "" for k in unknown]
    named = ", ".join(f"{k!r}{hint}" for k, hint in zip(unknown, hints, strict=True))
    describe = getattr(strategy, "describe_params", None)
    listed = describe() if callable(describe) else ", ".join(known) or "(none)"
    raise ParameterError(
        f"{strategy.__name__} has no parameter {named}, and {'it is' if len(unknown) == 1 else 'they are'} "
        f"no run option; its parameters are: {listed}; the run options are: {', '.join(OPTION_NAMES)}")


# -- the generated documentation -------------------------------------------------------------


def _type_text(annotation: Any) -> str:
    """Return an annotation as it reads in a docstring: ``decimal.Decimal | int`` -> ``Decimal | int``."""
    text = inspect.formatannotation(annotation)
    return re.sub(r"\b(?:[a-z_][a-z0-9_]*\.)+(?=[A-Za-z_])", "", text)


def _default_text(value: Any) -> str:
    return str(value) if isinstance(value, Decimal) else repr(value)


def options_section() -> str:
    """Return the numpydoc "Other Parameters" section that documents the run options and ``config``."""
    lines = ["Other Parameters", "----------------"]
    for f in dataclasses.fields(RunConfig):
        lines.append(f"{f.name} : {_type_text(f.metadata['accepts'])}, default {_default_text(f.default)}")
        lines += textwrap.wrap(f.metadata["doc"], 92, initial_indent="    ", subsequent_indent="    ")
    lines.append("config : RunConfig, optional")
    lines += textwrap.wrap(
        "All the run options at once, as one :class:`~weaver.core.config.RunConfig`. An option also "
        "given as a keyword takes the keyword's value (``config.replace(**keywords)``); the run's "
        "result carries the config it ran with as ``result.config``.",
        92, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(lines)


def with_options_section(doc: str | None) -> str:
    """Return ``doc`` (cleaned of its indentation) with :func:`options_section` in numpydoc's place for it."""
    lines = inspect.cleandoc(doc or "").splitlines()
    at = len(lines)
    for k in range(len(lines) - 1):
        if lines[k].strip() in _LATER_SECTIONS and set(lines[k + 1].strip()) == {"-"}:
            at = k
            break
    section = options_section().splitlines()
    before = lines[:at]
    while before and not before[-1].strip():
        before.pop()
    return "\n".join([*before, "", *section, *([""] if at < len(lines) else []), *lines[at:]]) + "\n"
