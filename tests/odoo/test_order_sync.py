"""OrderSync: created orders from the event log become confirmed sale orders, once."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus import Relay, enqueue
from storelink.bus.backends.embedded import EmbeddedEventLog
from storelink.bus.tables import outbox
from storelink.config import Settings
from storelink.model import Event, EventType, Order, OrderLine, order_key
from storelink.odoo import OrderSync, open_connector
from tests.odoo.conftest import PRODUCTS, STORE, Emulated


def created(ref: str) -> Event:
    order = Order(
        id=f"o-{ref}",
        channel="market",
        external_ref=ref,
        currency="USD",
        lines=[OrderLine(sku="SKU-2", quantity=Decimal(1), unit_price=Decimal("12.00"))],
        fulfil_from="S001",
        created_at=datetime(2026, 11, 28, 9, 0, tzinfo=UTC),
    )
    return Event.of(
        EventType.ORDER_CREATED, order, source="/channels/market", partitionkey=order_key(order.id)
    )


async def confirmations(engine: AsyncEngine) -> list[dict[str, object]]:
    async with engine.connect() as connection:
        rows = (await connection.execute(select(outbox.c.envelope).order_by(outbox.c.id))).all()
    found = [json.loads(r.envelope) for r in rows]
    return [e for e in found if e["type"] == EventType.ORDER_CONFIRMED.value]


async def test_created_orders_are_confirmed_in_odoo_once(
    odoo17: Emulated, sqlite_engine: AsyncEngine, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path)
    log = await EmbeddedEventLog.open(tmp_path / "events.db", settings.bus)
    events = [created("A1"), created("A2")]
    try:
        async with sqlite_engine.begin() as connection:
            await enqueue(connection, events)
        assert await Relay(sqlite_engine, log).run_once() == 2
        async with open_connector(odoo17.settings()) as odoo:
            await odoo.upsert_stores([STORE])
            await odoo.upsert_products(PRODUCTS)
            sync = OrderSync(log, sqlite_engine, odoo, fetch_wait_s=0.1)
            assert await sync.run_once() == 2
            # a redelivery after a crash between Odoo and the ack changes nothing
            await sync.handle(events[0])
    finally:
        await log.close()
    orders = odoo17.read("sale.order", [], ["client_order_ref", "state"])
    assert sorted((o["client_order_ref"], o["state"]) for o in orders) == [
        ("market:A1", "sale"),
        ("market:A2", "sale"),
    ]
    confirmed = await confirmations(sqlite_engine)
    assert sorted(str(e["partitionkey"]) for e in confirmed) == ["order:o-A1", "order:o-A2"]
    assert all(e["data"]["status"] == "confirmed" for e in confirmed)  # type: ignore[index]
