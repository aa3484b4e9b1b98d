"""The core is pure stdlib, and its ports are structural protocols."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timezone
from decimal import Decimal

import pytest

import weaver.core
from weaver.core import (
    Account,
    Bar,
    BarSource,
    Broker,
    Clock,
    Envelope,
    EventLog,
    Order,
    OrderEvent,
    Position,
)

T0 = datetime(2024, 1, 2, tzinfo=timezone.utc)


def test_importing_core_loads_only_the_stdlib() -> None:
    code = (
        "import sys; before = set(sys.modules); import weaver.core; "
        "print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()

    foreign = [
        name for name in out
        if name.split(".")[0] not in sys.stdlib_module_names
        and name not in ("weaver",) and not name.startswith("weaver.core")
    ]
    assert foreign == []
    assert not {"asyncio", "socket", "pandas", "numpy"} & set(out)


def test_all_is_complete_and_resolvable() -> None:
    for name in weaver.core.__all__:
        assert getattr(weaver.core, name) is not None
    assert len(set(weaver.core.__all__)) == len(weaver.core.__all__)


class FakeClock:
    def now(self) -> datetime:
        return T0

    def __iter__(self) -> Iterator[datetime]:
        return iter([T0])


class FakeLog:
    def append(self, type: str, payload: dict, **meta: object) -> Envelope:
        raise NotImplementedError

    def read(self, after: str | None = None, limit: int = 100) -> list[Envelope]:
        return []

    def head(self) -> str:
        return "0-0"


class OffsetLog:
    """The contract the cursor replaced: "ids greater than the offset" skips out-of-order commits."""

    def append(self, envelope: Envelope) -> int:
        return 1

    def read_from(self, offset: int, limit: int = 100) -> list[Envelope]:
        return []

    def last_offset(self) -> int:
        return 0


class FakeBars:
    def history(
        self, symbol: str, timeframe: str, start: datetime | None = None,
        end: datetime | None = None,
    ) -> Sequence[Bar]:
        return []

    def symbols(self) -> list[str]:
        return []


class FakeBroker:
    def submit(self, order: Order) -> Order:
        return order

    def cancel(self, client_order_id: str) -> Order:
        raise NotImplementedError

    def get_order(self, client_order_id: str) -> Order | None:
        return None

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return []

    def positions(self) -> dict[str, Position]:
        return {}

    def account(self) -> Account:
        return Account(Decimal(0), Decimal(0), Decimal(0))

    def on_update(self, handler: Callable[[Order, OrderEvent], None]) -> None:
        pass


def test_fakes_satisfy_the_ports() -> None:
    assert isinstance(FakeClock(), Clock)
    assert isinstance(FakeLog(), EventLog)
    assert not isinstance(OffsetLog(), EventLog)
    assert isinstance(FakeBars(), BarSource)
    assert isinstance(FakeBroker(), Broker)
    assert not isinstance(FakeClock(), Broker)


def test_envelope_is_frozen() -> None:
    env = Envelope(
        id=None, type="order.filled", version=1, run_id="r1", correlation_id=None,
        causation_id=None, ts=T0, payload={"client_order_id": "abc"},
    )
    assert env.payload["client_order_id"] == "abc"
    with pytest.raises(AttributeError):
        env.id = 3  # type: ignore[misc]
