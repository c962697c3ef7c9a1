"""Change capture against the emulator: read model, outbox events, cursor resume."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus.tables import outbox
from storelink.db.tables import products, stock_positions, stores
from storelink.model import EventType, Price, PriceScope, PriceScopeKind, Product, StockPosition
from storelink.odoo import ChangeCapture, open_connector
from storelink.odoo.capture import CaptureFailed
from storelink.odoo.feeds import PriceFeed, ProductFeed, StockFeed, StoreFeed
from tests.odoo.conftest import PRODUCTS, STORE, Emulated


def ahead() -> datetime:
    """A capture clock past the settle lag, for tests about something else."""
    return datetime.now(UTC) + timedelta(seconds=10)


class FrozenClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 28, 8, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def events(engine: AsyncEngine, type_: str | None = None) -> list[dict[str, Any]]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(outbox.c.envelope).order_by(outbox.c.id))).all()
    found = [json.loads(row.envelope) for row in rows]
    return [e for e in found if type_ is None or e["type"] == type_]


async def test_capture_fills_the_read_model_and_the_outbox(
    odoo17: Emulated, engine: AsyncEngine
) -> None:
    async with open_connector(odoo17.settings()) as connector:
        await connector.upsert_stores([STORE])
        await connector.upsert_products(PRODUCTS)
        await connector.apply_stock_counts(
            [
                StockPosition(sku="SKU-1", location="S001", on_hand=Decimal(12), as_of=STORE_TIME),
            ]
        )
        capture = ChangeCapture(engine, connector, clock=ahead)
        seen = await capture.run_once()
        again = await capture.run_once()
    assert seen > 0 and again == 0
    async with engine.connect() as connection:
        skus = set((await connection.execute(select(products.c.sku))).scalars())
        stock = (await connection.execute(select(stock_positions))).all()
        codes = set((await connection.execute(select(stores.c.code))).scalars())
    assert skus == {p.sku for p in PRODUCTS}
    assert [(s.sku, s.location, s.on_hand) for s in stock] == [("SKU-1", "S001", Decimal(12))]
    assert "S001" in codes
    changed = await events(engine, EventType.PRODUCT_CHANGED)
    assert sorted(e["data"]["sku"] for e in changed) == sorted(p.sku for p in PRODUCTS)
    levels = await events(engine, EventType.STOCK_LEVEL_CHANGED)
    assert [(e["partitionkey"], e["data"]["on_hand"]) for e in levels] == [("SKU-1@S001", "12")]


STORE_TIME = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


async def test_cursor_resumes_without_gaps_or_repeats_when_records_share_a_write_date(
    odoo17: Emulated, sqlite_engine: AsyncEngine
) -> None:
    clock = FrozenClock()
    odoo17.emu.set_clock(clock)
    batch = [Product(sku=f"P{n:02d}", name=f"Product {n}") for n in range(11)]
    async with open_connector(odoo17.settings()) as connector:
        await connector.upsert_products(batch)  # all eleven share one write_date
        settled = lambda: clock.now + timedelta(seconds=3)  # noqa: E731
        first = ChangeCapture(
            sqlite_engine, connector, feeds=[ProductFeed()], page_size=3, clock=settled
        )
        assert await first.run_once() == 11

        # a restart: a new capture object on the same database picks up the cursor
        clock.now += timedelta(seconds=1)
        await connector.upsert_products(
            [batch[4].model_copy(update={"name": "Renamed"}), Product(sku="P99", name="New")]
        )
        clock.now += timedelta(seconds=5)
        await connector.upsert_products([batch[0].model_copy(update={"name": "Again"})])
        restarted = ChangeCapture(
            sqlite_engine, connector, feeds=[ProductFeed()], page_size=3, clock=settled
        )
        assert await restarted.run_once() == 3
        assert await restarted.run_once() == 0
    changed = await events(sqlite_engine, EventType.PRODUCT_CHANGED)
    per_sku = Counter(e["data"]["sku"] for e in changed)
    assert per_sku == Counter({**{p.sku: 1 for p in batch}, "P04": 2, "P00": 2, "P99": 1})
    assert [e["data"]["name"] for e in changed if e["data"]["sku"] == "P04"] == [
        "Product 4",
        "Renamed",
    ]


async def test_a_crashed_commit_is_polled_again(
    odoo17: Emulated, sqlite_engine: AsyncEngine
) -> None:
    class Failing(ProductFeed):
        async def collect(self, odoo: Any, rows: Any) -> Any:
            raise RuntimeError("hub crashed before commit")

    async with open_connector(odoo17.settings()) as connector:
        await connector.upsert_products(PRODUCTS)
        broken = ChangeCapture(sqlite_engine, connector, feeds=[Failing()], clock=ahead)
        with pytest.raises(CaptureFailed, match="hub crashed before commit"):
            await broken.run_once()
        assert await events(sqlite_engine) == []
        healthy = ChangeCapture(sqlite_engine, connector, feeds=[ProductFeed()], clock=ahead)
        assert await healthy.run_once() == len(PRODUCTS)
    assert len(await events(sqlite_engine, EventType.PRODUCT_CHANGED)) == len(PRODUCTS)


async def test_a_failing_feed_does_not_stall_the_feeds_after_it(
    odoo17: Emulated, sqlite_engine: AsyncEngine
) -> None:
    @dataclass
    class Failing(StoreFeed):
        async def collect(self, odoo: Any, rows: Any) -> Any:
            raise RuntimeError("this record type cannot be captured")

    async with open_connector(odoo17.settings()) as connector:
        await connector.upsert_stores([STORE])
        await connector.upsert_products(PRODUCTS)
        capture = ChangeCapture(
            sqlite_engine, connector, feeds=[Failing(), ProductFeed()], clock=ahead
        )
        with pytest.raises(CaptureFailed) as failed:
            await capture.run_once()
        assert failed.value.captured == len(PRODUCTS)
        assert list(failed.value.errors) == ["stores"]
        assert capture.failing == {"stores": "RuntimeError: this record type cannot be captured"}
        assert (await capture.cursor("stores")).version == 0  # retried next round
    assert len(await events(sqlite_engine, EventType.PRODUCT_CHANGED)) == len(PRODUCTS)


async def test_a_price_written_again_with_its_old_version_is_a_new_change(
    odoo17: Emulated, sqlite_engine: AsyncEngine
) -> None:
    """A rerun re-seeds version 1 and changes to version 2 again: each write is captured."""
    clock = FrozenClock()
    odoo17.emu.set_clock(clock)
    settled = lambda: clock.now + timedelta(seconds=3)  # noqa: E731
    scope = PriceScope(kind=PriceScopeKind.STORE, code="S001")
    first = Price(
        sku="SKU-1",
        scope=scope,
        amount=Decimal("2.50"),
        currency="USD",
        version=1,
        valid_from=STORE_TIME,
    )
    second = first.model_copy(update={"amount": Decimal("2.75"), "version": 2})
    async with open_connector(odoo17.settings()) as connector:
        await connector.upsert_products(PRODUCTS)
        capture = ChangeCapture(sqlite_engine, connector, feeds=[PriceFeed()], clock=settled)
        for price in (
            first,
            second,
            first,
            second.model_copy(update={"valid_from": STORE_TIME + timedelta(days=1)}),
        ):
            clock.now += timedelta(seconds=1)
            await connector.upsert_prices([price])
            assert await capture.run_once() == 1
    changed = await events(sqlite_engine, EventType.PRICE_CHANGED)
    assert [(e["data"]["version"], Decimal(e["data"]["amount"])) for e in changed] == [
        (1, first.amount),
        (2, second.amount),
        (1, first.amount),
        (2, second.amount),
    ]


async def test_two_pollers_racing_emit_each_change_once(
    odoo17: Emulated, sqlite_engine: AsyncEngine
) -> None:
    import asyncio

    async with open_connector(odoo17.settings()) as one, open_connector(odoo17.settings()) as two:
        await one.upsert_stores([STORE])
        await one.upsert_products(PRODUCTS)
        feeds = [StoreFeed(), ProductFeed(), StockFeed()]
        await asyncio.gather(
            ChangeCapture(sqlite_engine, one, feeds=feeds, clock=ahead).run_once(),
            ChangeCapture(sqlite_engine, two, feeds=feeds, clock=ahead).run_once(),
        )
    changed = await events(sqlite_engine, EventType.PRODUCT_CHANGED)
    assert sorted(e["data"]["sku"] for e in changed) == sorted(p.sku for p in PRODUCTS)


async def test_a_second_still_being_written_is_not_captured_until_it_settles(
    odoo17: Emulated, sqlite_engine: AsyncEngine
) -> None:
    clock = FrozenClock()
    odoo17.emu.set_clock(clock)
    capture_now = FrozenClock()
    async with open_connector(odoo17.settings()) as connector:
        await connector.upsert_products(PRODUCTS)
        capture = ChangeCapture(
            sqlite_engine, connector, feeds=[ProductFeed()], settle_s=2, clock=capture_now
        )
        assert await capture.run_once() == 0 and capture.fresh_pending
        # later in the same second, the product with the lowest id changes again
        await connector.upsert_products([PRODUCTS[0].model_copy(update={"name": "Late"})])
        capture_now.now += timedelta(seconds=3)
        assert await capture.run_once() == len(PRODUCTS)
        assert not capture.fresh_pending
    changed = await events(sqlite_engine, EventType.PRODUCT_CHANGED)
    names = {e["data"]["sku"]: e["data"]["name"] for e in changed}
    assert len(changed) == len(PRODUCTS) and names[PRODUCTS[0].sku] == "Late"


async def test_orders_shipments_and_invoices_become_events(
    odoo: Emulated, sqlite_engine: AsyncEngine
) -> None:
    from storelink.odoo.feeds import InvoiceFeed, OrderFeed, ShipmentFeed
    from tests.odoo.test_connector import make_order, prepare

    async with open_connector(odoo.settings()) as connector:
        await prepare(connector)
        (placed,) = await connector.create_channel_orders([make_order("77")])
        await connector.sale_orders.deliver([placed.odoo_id])
        partner = await connector.customers.walk_in()
        (invoice,) = await connector.client.create(
            "account.move",
            [
                {
                    "move_type": "out_invoice",
                    "partner_id": partner,
                    "invoice_origin": placed.name,
                    "invoice_line_ids": [
                        [0, 0, {"name": "cups", "quantity": 2, "price_unit": 2.5}]
                    ],
                }
            ],
        )
        await connector.client.call("account.move", "action_post", [invoice])
        capture = ChangeCapture(
            sqlite_engine,
            connector,
            feeds=[OrderFeed(), ShipmentFeed(), InvoiceFeed()],
            clock=ahead,
        )
        await capture.run_once()
    (confirmed,) = await events(sqlite_engine, EventType.ORDER_CONFIRMED)
    assert confirmed["data"]["channel"] == "webshop" and confirmed["data"]["external_ref"] == "77"
    assert confirmed["data"]["lines"] == [{"sku": "SKU-1", "quantity": "2", "unit_price": "2.5"}]
    shipments = await events(sqlite_engine, EventType.SHIPMENT_DONE)
    assert [(s["data"]["location"], s["data"]["lines"]) for s in shipments] == [
        ("S001", [{"sku": "SKU-1", "quantity": "2"}])
    ]
    (posted,) = await events(sqlite_engine, EventType.INVOICE_POSTED)
    assert posted["data"]["order_id"] == placed.name
    assert posted["data"]["amount_total"] == "5"
