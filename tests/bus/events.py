"""Small valid events for bus tests."""

from __future__ import annotations

from decimal import Decimal

from storelink.model import (
    Event,
    EventType,
    MovementReason,
    Order,
    Product,
    StockMovement,
    utcnow,
)
from tests.model.samples import SAMPLES


def stock_moved(key: str, quantity: int = 1, *, event_id: str | None = None) -> Event:
    """A stock movement whose partition key is ``key`` (used as the SKU)."""
    movement = StockMovement(
        sku=key,
        location="L1",
        quantity=Decimal(quantity),
        reason=MovementReason.SALE,
        occurred_at=utcnow(),
    )
    return Event.of(EventType.STOCK_MOVED, movement, source="/tests", partitionkey=key, id=event_id)


def order_event(event_type: str, order_id: str) -> Event:
    """An order fact (``storelink.order.*``) keyed by the order."""
    order = SAMPLES[Order].model_copy(update={"id": order_id})
    return Event.of(event_type, order, source="/tests", partitionkey=f"order:{order_id}")


def product_changed(sku: str) -> Event:
    product = Product(sku=sku, name=f"Product {sku}")
    return Event.of(EventType.PRODUCT_CHANGED, product, source="/tests", partitionkey=sku)
