"""Every cross-reference in the package's docstrings points at something that exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = re.compile(r":(func|class|meth|mod|attr):`~?(weaver(?:\.\w+)+)`")


def _references() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted((ROOT / "weaver").rglob("*.py")):
        for role, target in REFERENCE.findall(path.read_text(encoding="utf-8")):
            found.append((str(path.relative_to(ROOT)), role, target))
    return found


def _resolve(target: str) -> object:
    parts = target.split(".")
    for cut in range(len(parts), 0, -1):  # the longest importable module, then attributes
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ImportError(target)


@pytest.mark.parametrize(("where", "role", "target"), _references())
def test_a_cross_reference_resolves_to_its_kind(where: str, role: str, target: str) -> None:
    try:
        obj = _resolve(target)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{where}: {target} does not exist ({exc})")
    kind = {"func": callable(obj) and not isinstance(obj, type | ModuleType),
            "class": isinstance(obj, type), "mod": isinstance(obj, ModuleType)}.get(role, True)
    assert kind, f"{where}: :{role}:`{target}` is a {type(obj).__name__}"


def test_references_were_found() -> None:
    assert len(_references()) > 10


def test_help_of_strategy_documents_data_positions_trailing_stops_and_sizing() -> None:
    import pydoc

    import weaver as wv

    text = pydoc.render_doc(wv.Strategy, renderer=pydoc.plaintext)
    for needle in ('self.data["GOOG"].close', "self.data.symbols", "avg_price", "is_short", "pnl",
                   "trail_percent", "becomes whole units at submit, from the last close",
                   "reduced to the units the cash pays for", "0 < size <= 1"):
        assert needle in text, needle
