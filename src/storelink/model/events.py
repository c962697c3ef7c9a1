"""The catalogue of event and command types and the model each one carries.

Facts are named ``storelink.<entity>.<fact>.v1`` in the past tense; commands,
which ask for something to happen and may be refused, are kept apart as
``storelink.command.<verb>.v1``.
"""

from __future__ import annotations

from enum import StrEnum

from storelink.model.base import CanonicalModel
from storelink.model.catalog import Price, Product, Promotion
from storelink.model.estate import Store
from storelink.model.operations import WebhookEndpointDisabled
from storelink.model.orders import Invoice, Order, Shipment
from storelink.model.parties import Customer
from storelink.model.sales import Return, Sale
from storelink.model.stock import StockMovement, StockPosition


class EventType(StrEnum):
    SALE_RECORDED = "storelink.sale.recorded.v1"
    RETURN_RECORDED = "storelink.return.recorded.v1"
    RETURN_COMPLETED = "storelink.return.completed.v1"
    STOCK_MOVED = "storelink.stock.moved.v1"
    STOCK_LEVEL_CHANGED = "storelink.stock.level_changed.v1"
    PRICE_CHANGED = "storelink.price.changed.v1"
    PRODUCT_CHANGED = "storelink.product.changed.v1"
    PROMOTION_CHANGED = "storelink.promotion.changed.v1"
    ORDER_CREATED = "storelink.order.created.v1"
    ORDER_CONFIRMED = "storelink.order.confirmed.v1"
    ORDER_CANCELLED = "storelink.order.cancelled.v1"
    SHIPMENT_DONE = "storelink.shipment.done.v1"
    INVOICE_POSTED = "storelink.invoice.posted.v1"
    CUSTOMER_CHANGED = "storelink.customer.changed.v1"
    STORE_CHANGED = "storelink.store.changed.v1"
    WEBHOOK_ENDPOINT_DISABLED = "storelink.webhook_endpoint.disabled.v1"


class CommandType(StrEnum):
    CREATE_ORDER = "storelink.command.create_order.v1"
    RECORD_SALE = "storelink.command.record_sale.v1"
    RECORD_RETURN = "storelink.command.record_return.v1"
    APPLY_STOCK_COUNT = "storelink.command.apply_stock_count.v1"
    UPSERT_CUSTOMER = "storelink.command.upsert_customer.v1"


#: The canonical model carried in ``data`` by each event and command type.
PAYLOAD_TYPES: dict[str, type[CanonicalModel]] = {
    EventType.SALE_RECORDED: Sale,
    EventType.RETURN_RECORDED: Return,
    EventType.RETURN_COMPLETED: Return,
    EventType.STOCK_MOVED: StockMovement,
    EventType.STOCK_LEVEL_CHANGED: StockPosition,
    EventType.PRICE_CHANGED: Price,
    EventType.PRODUCT_CHANGED: Product,
    EventType.PROMOTION_CHANGED: Promotion,
    EventType.ORDER_CREATED: Order,
    EventType.ORDER_CONFIRMED: Order,
    EventType.ORDER_CANCELLED: Order,
    EventType.SHIPMENT_DONE: Shipment,
    EventType.INVOICE_POSTED: Invoice,
    EventType.CUSTOMER_CHANGED: Customer,
    EventType.STORE_CHANGED: Store,
    EventType.WEBHOOK_ENDPOINT_DISABLED: WebhookEndpointDisabled,
    CommandType.CREATE_ORDER: Order,
    CommandType.RECORD_SALE: Sale,
    CommandType.RECORD_RETURN: Return,
    CommandType.APPLY_STOCK_COUNT: StockPosition,
    CommandType.UPSERT_CUSTOMER: Customer,
}
