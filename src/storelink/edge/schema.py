"""The agent's own SQLite schema.

Quantities and money are stored as integer ten-thousandths (like the hub's
``Amount`` on SQLite) so sums stay exact. ``local_stock.pending`` is the sum of
this store's movements the hub has not yet confirmed; local available stock is
``on_hand - reserved + pending`` (see docs/conflict-rules.md).
"""

from __future__ import annotations

from decimal import Decimal

SCHEMA_VERSION = 1
SCALE = Decimal(10_000)

DDL = """
CREATE TABLE IF NOT EXISTS products (
    sku TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    barcode TEXT,
    uom TEXT NOT NULL,
    tax_class TEXT NOT NULL,
    category TEXT,
    active INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_products_barcode ON products (barcode);
CREATE TABLE IF NOT EXISTS prices (
    sku TEXT NOT NULL,
    scope_kind TEXT NOT NULL,
    scope_code TEXT NOT NULL,
    version INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    valid_from TEXT NOT NULL,
    valid_to TEXT,
    PRIMARY KEY (sku, scope_kind, scope_code, version)
);
CREATE INDEX IF NOT EXISTS ix_prices_sku_version ON prices (sku, version);
CREATE TABLE IF NOT EXISTS local_stock (
    sku TEXT PRIMARY KEY,
    on_hand INTEGER NOT NULL DEFAULT 0,
    reserved INTEGER NOT NULL DEFAULT 0,
    pending INTEGER NOT NULL DEFAULT 0,
    revision INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS upload_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    body TEXT NOT NULL,
    response TEXT NOT NULL,
    flagged INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    sent_at TEXT,
    confirmed_revision INTEGER
);
CREATE INDEX IF NOT EXISTS ix_upload_queue_unsent ON upload_queue (sent_at, seq);
CREATE TABLE IF NOT EXISTS movements (
    uuid TEXT NOT NULL,
    line INTEGER NOT NULL,
    sku TEXT NOT NULL,
    quantity INTEGER NOT NULL,
    confirmed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (uuid, line)
);
CREATE TABLE IF NOT EXISTS cursors (
    dataset TEXT PRIMARY KEY,
    revision INTEGER NOT NULL,
    synced_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS agent_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS hub_responses (
    status TEXT PRIMARY KEY,
    count INTEGER NOT NULL
);
"""


def to_units(value: Decimal) -> int:
    """A decimal quantity or amount as integer ten-thousandths (exact)."""
    return int((value * SCALE).to_integral_exact())


def from_units(units: int) -> Decimal:
    return (Decimal(units) / SCALE).quantize(Decimal("0.0001"))
