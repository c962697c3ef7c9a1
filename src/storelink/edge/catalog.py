"""Reading the local catalog: a product with its current price and local available stock."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from storelink.edge.schema import from_units


@dataclass(frozen=True, slots=True)
class PriceView:
    amount: Decimal
    currency: str
    version: int
    valid_to: datetime | None


@dataclass(frozen=True, slots=True)
class ProductView:
    """What a till shows: the product, the price valid now, and local available stock."""

    sku: str
    name: str
    barcode: str | None
    uom: str
    active: bool
    price: PriceView | None
    #: last hub on-hand minus reserved, plus this store's unconfirmed movements
    available: Decimal
    pending: Decimal


_PRODUCT = """
SELECT p.sku, p.name, p.barcode, p.uom, p.active,
       COALESCE(s.on_hand, 0) AS on_hand, COALESCE(s.reserved, 0) AS reserved,
       COALESCE(s.pending, 0) AS pending
FROM products p LEFT JOIN local_stock s ON s.sku = p.sku
WHERE {where}
"""

#: The closest scope wins (the store's own price, then its pricelist, then the list
#: price), and within it the highest version valid now. Timestamps are fixed-width
#: ISO-8601 UTC text, so text order is time order.
_PRICE = """
SELECT amount, currency, version, valid_to FROM prices
WHERE sku = ? AND valid_from <= ? AND (valid_to IS NULL OR valid_to > ?)
ORDER BY CASE WHEN scope_kind = 'store' THEN 0 WHEN scope_code = 'list' THEN 2 ELSE 1 END,
         version DESC
LIMIT 1
"""


def stamp(moment: datetime) -> str:
    """The stored form of a UTC timestamp (fixed width, so text order is time order)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def unstamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def current_price(connection: sqlite3.Connection, sku: str, now: datetime) -> PriceView | None:
    moment = stamp(now)
    row = connection.execute(_PRICE, (sku, moment, moment)).fetchone()
    if row is None:
        return None
    return PriceView(
        amount=from_units(row["amount"]),
        currency=row["currency"],
        version=row["version"],
        valid_to=unstamp(row["valid_to"]) if row["valid_to"] else None,
    )


def find_product(
    connection: sqlite3.Connection,
    now: datetime,
    *,
    sku: str | None = None,
    barcode: str | None = None,
) -> ProductView | None:
    """The product with ``sku`` or ``barcode``, or ``None``."""
    if sku is not None:
        row = connection.execute(_PRODUCT.format(where="p.sku = ?"), (sku,)).fetchone()
    else:
        row = connection.execute(_PRODUCT.format(where="p.barcode = ?"), (barcode,)).fetchone()
    if row is None:
        return None
    return ProductView(
        sku=row["sku"],
        name=row["name"],
        barcode=row["barcode"],
        uom=row["uom"],
        active=bool(row["active"]),
        price=current_price(connection, row["sku"], now),
        available=from_units(row["on_hand"] - row["reserved"] + row["pending"]),
        pending=from_units(row["pending"]),
    )
