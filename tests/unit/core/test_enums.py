"""Tests for the core enums."""

from __future__ import annotations

from enum import Enum

import pytest

from weaver.core import (
    OrderSide,
    OrderStatus,
    OrderType,
    RunMode,
    RunStatus,
    TimeInForce,
)

ALL_ENUMS = [RunMode, RunStatus, OrderSide, OrderType, OrderStatus, TimeInForce]


@pytest.mark.parametrize("enum_cls", ALL_ENUMS)
def test_enums_are_lowercase_str_enums(enum_cls: type[Enum]) -> None:
    for member in enum_cls:
        assert isinstance(member, str)
        assert member.value == member.value.lower()
        assert str(member) == member.value
        assert f"{member}" == member.value
        assert enum_cls(member.value) is member


def test_roadmap_values() -> None:
    assert [m.value for m in RunMode] == ["live", "paper", "backtest"]
    assert [m.value for m in RunStatus] == [
        "pending", "running", "stopped", "completed", "error", "halted",
    ]
    assert [m.value for m in OrderType] == ["market", "limit", "stop", "stop_limit", "trailing_stop"]  # + Alpaca's
    assert [m.value for m in TimeInForce] == ["day", "gtc", "ioc", "fok"]



def test_order_statuses_are_alpacas_spellings() -> None:
    # DESIGN §5: Alpaca's names, pending (not yet sent) being Weaver's own
    assert [m.value for m in OrderStatus] == [
        "pending", "submitted", "new", "partially_filled", "filled", "pending_cancel", "canceled", "expired",
        "rejected", "replaced",
    ]


def test_side_sign_and_opposite() -> None:
    assert OrderSide.BUY.sign == 1
    assert OrderSide.SELL.sign == -1
    assert OrderSide.BUY.opposite is OrderSide.SELL
    assert OrderSide.SELL.opposite is OrderSide.BUY


def test_status_terminal_and_open_partition_the_states() -> None:
    terminal = {s for s in OrderStatus if s.is_terminal}
    open_ = {s for s in OrderStatus if s.is_open}
    assert terminal == {
        OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED, OrderStatus.REPLACED,
    }
    assert open_ == {
        OrderStatus.SUBMITTED, OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED, OrderStatus.PENDING_CANCEL,
    }
    assert set(OrderStatus) - terminal - open_ == {OrderStatus.PENDING}
