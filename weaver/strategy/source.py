"""Build a strategy class from its source text, as the server registers and runs posted strategies.

The source is executed as a module of its own: it may import anything (``weaver``, numpy,
its own helpers on ``sys.path``) and must define exactly one :class:`~weaver.strategy.Strategy`
subclass, or name the one meant with ``class_name``. Classes it imports do not count: a
strategy's version is the hash of its source, so the class must be written there.

Executing source runs its code: call these functions in a process of their own (the server
does, in :mod:`weaver.api.workers`), never in one whose state matters. The module is
registered in ``sys.modules`` only while it executes, as :func:`runpy.run_path` does, so
postponed annotations and dataclasses resolve, and nothing is left behind afterwards (the
class then travels to other processes by value, as a notebook's classes do).

Nothing here knows the server: the functions take text and return a class, a
:class:`SourceDescription` or a :class:`StrategySourceError`.
"""

from __future__ import annotations

import hashlib
import sys
import traceback
import types
from dataclasses import dataclass
from typing import Any

from weaver.core.errors import ParameterError
from weaver.strategy.base import Strategy

__all__ = ["SourceDescription", "StrategySourceError", "describe_source", "load_strategy_class"]

#: the file name that compiled source carries in tracebacks and messages
SOURCE_FILE = "<strategy source>"


class StrategySourceError(ParameterError):
    """Raise for a strategy source that does not build: the message names the line and the error.

    ``line`` is the source's line at fault (1-based), or None when no line is (no class found);
    ``field`` is what to fix: ``"source"``, or ``"class_name"`` when the source is fine but the
    class meant is not named, or named wrong.
    """

    def __init__(self, message: str, line: int | None = None, field: str = "source") -> None:
        super().__init__(message, line, field)
        self.line = line
        self.field = field

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class SourceDescription:
    """What a strategy source defines: its class's name and the parameters' JSON Schema."""

    class_name: str
    params_schema: dict[str, Any]


def load_strategy_class(source: str, class_name: str | None = None) -> type[Strategy]:
    """Execute ``source`` as a module and return the strategy class it defines.

    Parameters
    ----------
    source
        Python source text.
    class_name
        The class to return when the source defines several ``Strategy`` subclasses.

    Returns
    -------
    type[Strategy]
        The class, ready for ``wv.backtest`` or a run.

    Raises
    ------
    StrategySourceError
        For a syntax error or an exception raised while the source executes (its type,
        message and line), a source that defines no ``Strategy`` subclass or several without
        ``class_name`` (naming the classes), or a ``class_name`` that names no such class.
    """
    if not isinstance(source, str):
        raise StrategySourceError(f"the source must be text, got {type(source).__name__}")
    if not source.strip():
        raise StrategySourceError("the source is empty")
    if class_name is not None and not (isinstance(class_name, str) and class_name.isidentifier()):
        raise StrategySourceError(f"class_name {class_name!r} is not a Python identifier", field="class_name")
    namespace = _execute(source)
    module_name = namespace["__name__"]
    own: list[type[Strategy]] = []
    for value in namespace.values():  # in the order the source defines them; an alias counts once
        if (isinstance(value, type) and issubclass(value, Strategy) and value is not Strategy
                and value.__module__ == module_name and value not in own):
            own.append(value)
    names = ", ".join(cls.__name__ for cls in own)
    if class_name is None:
        if len(own) == 1:
            return own[0]
        if not own:
            classes = [n for n, v in namespace.items() if isinstance(v, type) and v.__module__ == module_name]
            listed = f" (its classes: {', '.join(classes)})" if classes else ""
            raise StrategySourceError(f"the source defines no weaver.Strategy subclass{listed}; "
                                      "write `class MyStrategy(weaver.Strategy): ...`")
        raise StrategySourceError(f"the source defines {len(own)} weaver.Strategy subclasses: {names}; "
                                  "say which one with class_name", field="class_name")
    found = namespace.get(class_name)
    if found is None:
        listed = f"its weaver.Strategy subclasses: {names}" if own else "it defines no weaver.Strategy subclass"
        raise StrategySourceError(f"the source has no class {class_name!r}; {listed}", field="class_name")
    if not (isinstance(found, type) and issubclass(found, Strategy)):
        what = "a module" if isinstance(found, types.ModuleType) else f"a {type(found).__name__}"
        raise StrategySourceError(f"{class_name!r} is {what}, not a weaver.Strategy subclass", field="class_name")
    if found.__module__ != module_name:
        raise StrategySourceError(f"{class_name} is imported from {found.__module__}, not defined in the source; "
                                  "a registered strategy's class is written in its source", field="class_name")
    return found


def describe_source(source: str, class_name: str | None = None) -> SourceDescription:
    """Build the strategy class of ``source`` and return its name and parameter schema.

    Raises
    ------
    StrategySourceError
        As :func:`load_strategy_class` does.
    """
    cls = load_strategy_class(source, class_name)
    return SourceDescription(cls.__name__, cls.params_schema())


def _execute(source: str) -> dict[str, Any]:
    """Run ``source`` as a module registered in ``sys.modules`` only while it runs; return its namespace."""
    try:
        code = compile(source, SOURCE_FILE, "exec", dont_inherit=True)
    except SyntaxError as exc:  # IndentationError too
        line = exc.lineno
        where = f"line {line}" + (f", column {exc.offset}" if exc.offset else "")
        text = f": {exc.text.strip()}" if exc.text and exc.text.strip() else ""
        raise StrategySourceError(f"the source does not compile: {type(exc).__name__} at {where}: "
                                  f"{exc.msg}{text}", line) from None
    name = f"weaver_strategy_{hashlib.sha256(source.encode('utf-8', 'surrogatepass')).hexdigest()[:16]}"
    module = types.ModuleType(name)
    module.__file__ = SOURCE_FILE
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        exec(code, module.__dict__)  # noqa: S102 - running the posted strategy is the point; see the module notes
    except (Exception, SystemExit) as exc:
        line = _source_line(exc)
        where = f" at line {line}{_line_text(source, line)}" if line is not None else ""
        message = str(exc) if not isinstance(exc, SystemExit) else str(exc.code)
        raise StrategySourceError(f"importing the source failed{where}: {type(exc).__name__}: {message}",
                                  line) from None
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous
    return module.__dict__


def _source_line(exc: BaseException) -> int | None:
    """Return the deepest line of the source in ``exc``'s traceback (or of a syntax error it raised)."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == SOURCE_FILE:
            line = frame.lineno
    if line is None and isinstance(exc, SyntaxError) and exc.filename == SOURCE_FILE:
        line = exc.lineno
    return line


def _line_text(source: str, line: int | None) -> str:
    if line is None:
        return ""
    lines = source.splitlines()
    text = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    return f" (`{text}`)" if text else ""
