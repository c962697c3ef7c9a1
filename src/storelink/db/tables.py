"""The hub's read model of the estate (stores, locations, products, prices, stock) and the
leases hub workers share the background work by.

The read model is kept current by Odoo change capture and by store uploads; read by the
API and the store delta downloads. ``revision`` grows on every change of a row so that
a reader can ask for "everything after revision N".
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from storelink.db.metadata import metadata
from storelink.db.types import Amount, UtcDateTime

stores = Table(
    "stores",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("location", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("pricelist", String(32)),
    Column("active", Boolean, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

locations = Table(
    "locations",
    metadata,
    Column("code", String(32), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("store", String(32)),
)

products = Table(
    "products",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("name", String(256), nullable=False),
    Column("barcode", String(32), unique=True),
    Column("uom", String(32), nullable=False),
    Column("tax_class", String(32), nullable=False),
    Column("category", String(128)),
    Column("active", Boolean, nullable=False),
    Column("revision", BigInteger, nullable=False, index=True),
    Column("updated_at", UtcDateTime, nullable=False),
)

prices = Table(
    "prices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("sku", String(64), nullable=False),
    Column("scope_kind", String(16), nullable=False),
    Column("scope_code", String(32), nullable=False),
    Column("amount", Amount, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("version", Integer, nullable=False),
    Column("valid_from", UtcDateTime, nullable=False),
    Column("valid_to", UtcDateTime),
    Column("revision", BigInteger, nullable=False, index=True),
    UniqueConstraint("sku", "scope_kind", "scope_code", "version"),
    Index("ix_prices_lookup", "sku", "scope_kind", "scope_code"),
)

stock_positions = Table(
    "stock_positions",
    metadata,
    Column("sku", String(64), primary_key=True),
    Column("location", String(32), primary_key=True),
    Column("on_hand", Amount, nullable=False),
    Column("reserved", Amount, nullable=False),
    Column("as_of", UtcDateTime, nullable=False),
    Column("revision", BigInteger, nullable=False, index=True),
)

#: Named leases hub worker processes share work by (:mod:`storelink.db.leases`): who holds
#: ``name`` until ``expires_at``, and the fencing ``token`` that grows by one at every new
#: tenure. A released lease keeps its row (and token) with ``expires_at`` in the past.
leases = Table(
    "leases",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("token", BigInteger, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("acquired_at", UtcDateTime, nullable=False),
)
