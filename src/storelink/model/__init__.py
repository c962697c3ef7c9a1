"""Canonical retail entities and the event envelope. Pure data, no I/O."""

from storelink.model.base import CanonicalModel
from storelink.model.catalog import (
    Price,
    PriceScope,
    PriceScopeKind,
    Product,
    Promotion,
    PromotionKind,
)
from storelink.model.envelope import Event, order_key, sale_key, stock_key
from storelink.model.estate import Location, LocationKind, Store
from storelink.model.events import PAYLOAD_TYPES, CommandType, EventType
from storelink.model.operations import WebhookEndpointDisabled
from storelink.model.orders import (
    Invoice,
    Order,
    OrderLine,
    OrderStatus,
    Shipment,
    ShipmentLine,
)
from storelink.model.parties import Address, Customer
from storelink.model.sales import Payment, PaymentMethod, Return, ReturnLine, Sale, SaleLine
from storelink.model.stock import MovementReason, StockMovement, StockPosition
from storelink.model.types import Money, Quantity, UtcDateTime, utcnow

__all__ = [
    "PAYLOAD_TYPES",
    "Address",
    "CanonicalModel",
    "CommandType",
    "Customer",
    "Event",
    "EventType",
    "Invoice",
    "Location",
    "LocationKind",
    "Money",
    "MovementReason",
    "Order",
    "OrderLine",
    "OrderStatus",
    "Payment",
    "PaymentMethod",
    "Price",
    "PriceScope",
    "PriceScopeKind",
    "Product",
    "Promotion",
    "PromotionKind",
    "Quantity",
    "Return",
    "ReturnLine",
    "Sale",
    "SaleLine",
    "Shipment",
    "ShipmentLine",
    "StockMovement",
    "StockPosition",
    "Store",
    "UtcDateTime",
    "WebhookEndpointDisabled",
    "order_key",
    "sale_key",
    "stock_key",
    "utcnow",
]
