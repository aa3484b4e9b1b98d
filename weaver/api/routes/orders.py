"""``/api/v1/orders``: runs' orders, filtered by run, status and symbol, page by page, and one by id
(roadmap A.1; statuses and field names are Alpaca's, DESIGN §5)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from weaver.api.deps import RunServiceDep
from weaver.api.errors import ErrorResponse
from weaver.api.paging import Page, Paging, paging
from weaver.store.models import MAX_ID
from weaver.core.enums import OrderSide, OrderStatus, OrderType, TimeInForce

__all__ = ["OrderResponse", "order_response", "v1"]

v1 = APIRouter(prefix="/orders", tags=["orders"])


class OrderResponse(BaseModel):
    """An order of a run, in its latest state."""

    id: int
    run_id: str
    client_order_id: str = Field(description="The idempotency key, derived from the run, the bar and the order's "
                                             "place in it")
    venue_order_id: str | None = Field(description="The venue's id (none in a backtest)")
    symbol: str
    side: OrderSide
    order_type: OrderType
    qty: Decimal
    limit_price: Decimal | None
    stop_price: Decimal | None
    trail_price: Decimal | None
    trail_percent: Decimal | None
    time_in_force: TimeInForce
    status: OrderStatus
    filled_qty: Decimal
    filled_avg_price: Decimal | None
    created_at: datetime
    updated_at: datetime
    filled_at: datetime | None
    reason: str | None = Field(description="Why it was rejected, reduced, canceled or expired")


def order_response(row: Any) -> OrderResponse:
    """Return the API's view of a stored order."""
    return OrderResponse(
        id=row.id, run_id=row.run_id, client_order_id=row.client_order_id, venue_order_id=row.venue_order_id,
        symbol=row.symbol, side=row.side, order_type=row.type, qty=row.qty, limit_price=row.limit_price,
        stop_price=row.stop_price, trail_price=row.trail_price, trail_percent=row.trail_percent,
        time_in_force=row.tif, status=row.status, filled_qty=row.filled_qty, filled_avg_price=row.avg_fill_price,
        created_at=row.created_at, updated_at=row.updated_at, filled_at=row.filled_at, reason=row.reason)


@v1.get("", response_model=Page[OrderResponse], summary="List orders")
async def list_orders(runs: RunServiceDep, page: Annotated[Paging, Depends(paging(50))], run_id: str | None = None,
                      status: OrderStatus | None = None, symbol: str | None = None) -> Page[OrderResponse]:
    """Return a page of orders in the order they were placed, filtered by run, status and symbol."""
    rows, total = await runs.orders(run_id=run_id, status=None if status is None else status.value, symbol=symbol,
                                    offset=page.offset, limit=page.page_size)
    return page.of([order_response(row) for row in rows], total)


@v1.get("/{order_id}", response_model=OrderResponse, summary="Get an order",
        responses={404: {"model": ErrorResponse, "description": "No such order"}})
async def get_order(order_id: Annotated[int, Path(ge=-MAX_ID, le=MAX_ID, description="The order's id")],
                    runs: RunServiceDep) -> OrderResponse:
    """Return the order."""
    return order_response(await runs.order(order_id))
