"""Applying hub deltas to the local copy: one page per commit, cursor included.

A page and its cursor commit together, so an agent killed mid-download resumes
from the last page it applied. Stock rows replace the *hub* part of a position
(on hand, reserved) and never touch ``pending``; a confirmation takes the
confirmed transaction's movements out of ``pending`` (see docs/conflict-rules.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from storelink.edge.catalog import stamp
from storelink.edge.database import LocalDatabase
from storelink.edge.schema import to_units
from storelink.model import Price, Product
from storelink.sync.wire import Confirmation, Dataset, DeltaPage, StockRow


class Replica:
    def __init__(self, database: LocalDatabase) -> None:
        self.database = database

    def cursor(self, dataset: Dataset) -> int:
        row = self.database.read.execute(
            "SELECT revision FROM cursors WHERE dataset = ?", (dataset.value,)
        ).fetchone()
        return int(row[0]) if row else 0

    def state(self, key: str) -> str | None:
        row = self.database.read.execute(
            "SELECT value FROM agent_state WHERE key = ?", (key,)
        ).fetchone()
        return str(row[0]) if row else None

    async def set_state(self, values: dict[str, str]) -> None:
        def work(connection: sqlite3.Connection) -> None:
            connection.executemany(
                "INSERT INTO agent_state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                list(values.items()),
            )

        await self.database.write(work)

    async def apply(self, page: DeltaPage, now: datetime) -> None:
        """Apply one delta page and move the cursor to ``page.until``."""

        def work(connection: sqlite3.Connection) -> None:
            _apply_rows(connection, page)
            _set_cursor(connection, page.dataset, page.until, now)

        await self.database.write(work)

    async def replace(self, dataset: Dataset, pages: Sequence[DeltaPage], now: datetime) -> None:
        """A full resync: the hub's complete data set replaces the local one in one commit."""

        def work(connection: sqlite3.Connection) -> None:
            if dataset is Dataset.PRODUCTS:
                connection.execute("DELETE FROM products")
            elif dataset is Dataset.PRICES:
                connection.execute("DELETE FROM prices")
            else:
                # hub positions are replaced; this store's own pending movements stay
                connection.execute("UPDATE local_stock SET on_hand = 0, reserved = 0, revision = 0")
            for page in pages:
                _apply_rows(connection, page)
            _set_cursor(connection, dataset, pages[-1].until if pages else 0, now)

        await self.database.write(work)


def _set_cursor(
    connection: sqlite3.Connection, dataset: Dataset, revision: int, now: datetime
) -> None:
    connection.execute(
        "INSERT INTO cursors (dataset, revision, synced_at) VALUES (?, ?, ?) "
        "ON CONFLICT (dataset) DO UPDATE SET revision = excluded.revision, "
        "synced_at = excluded.synced_at",
        (dataset.value, revision, stamp(now)),
    )


def _apply_rows(connection: sqlite3.Connection, page: DeltaPage) -> None:
    _products(connection, page.products)
    _prices(connection, page.prices)
    _stock(connection, page.stock)
    _confirm(connection, page.confirmations)
    if page.location:
        connection.execute(
            "INSERT INTO agent_state (key, value) VALUES ('location', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (page.location,),
        )


def _products(connection: sqlite3.Connection, products: Sequence[Product]) -> None:
    connection.executemany(
        "INSERT INTO products (sku, name, barcode, uom, tax_class, category, active) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sku) DO UPDATE SET name = excluded.name, "
        "barcode = excluded.barcode, uom = excluded.uom, tax_class = excluded.tax_class, "
        "category = excluded.category, active = excluded.active",
        [
            (p.sku, p.name, p.barcode, p.uom, p.tax_class, p.category, int(p.active))
            for p in products
        ],
    )


def _prices(connection: sqlite3.Connection, prices: Sequence[Price]) -> None:
    connection.executemany(
        "INSERT INTO prices (sku, scope_kind, scope_code, version, amount, currency, valid_from, "
        "valid_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (sku, scope_kind, scope_code, version) DO UPDATE SET "
        "amount = excluded.amount, currency = excluded.currency, "
        "valid_from = excluded.valid_from, valid_to = excluded.valid_to",
        [
            (
                p.sku,
                p.scope.kind.value,
                p.scope.code,
                p.version,
                to_units(p.amount),
                p.currency,
                stamp(p.valid_from),
                stamp(p.valid_to) if p.valid_to else None,
            )
            for p in prices
        ],
    )


def _stock(connection: sqlite3.Connection, rows: Sequence[StockRow]) -> None:
    connection.executemany(
        "INSERT INTO local_stock (sku, on_hand, reserved, revision) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (sku) DO UPDATE SET on_hand = excluded.on_hand, "
        "reserved = excluded.reserved, revision = excluded.revision",
        [(r.sku, to_units(r.on_hand), to_units(r.reserved), r.revision) for r in rows],
    )


def _confirm(connection: sqlite3.Connection, confirmations: Sequence[Confirmation]) -> None:
    for confirmation in confirmations:
        uuid = str(confirmation.uuid)
        moves = connection.execute(
            "SELECT sku, quantity FROM movements WHERE uuid = ? AND confirmed = 0", (uuid,)
        ).fetchall()
        for move in moves:
            connection.execute(
                "UPDATE local_stock SET pending = pending - ? WHERE sku = ?",
                (move["quantity"], move["sku"]),
            )
        connection.execute("UPDATE movements SET confirmed = 1 WHERE uuid = ?", (uuid,))
        connection.execute(
            "UPDATE upload_queue SET confirmed_revision = ? WHERE uuid = ?",
            (confirmation.revision, uuid),
        )
