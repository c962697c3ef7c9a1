"""The drain's writer over the real connector and the Odoo emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from uuid import uuid4

import pytest

from storelink.config import Settings
from storelink.model import (
    Payment,
    PaymentMethod,
    Product,
    Sale,
    SaleLine,
    StockMovement,
    StockPosition,
    Store,
    utcnow,
)
from storelink.model.stock import MovementReason
from storelink.odoo import OdooConnector, open_connector
from storelink.sandbox.odoo_emulator import OdooEmulator, serve_emulator
from storelink.sync.connector_writer import ConnectorWriter


@pytest.fixture
async def odoo() -> AsyncIterator[tuple[OdooEmulator, OdooConnector]]:
    emulator = OdooEmulator(version="17")
    async with serve_emulator(emulator) as url:
        settings = Settings.model_validate(
            {"odoo": {"url": url, "database": "storelink", "user": "admin", "password": "admin"}}
        )
        async with open_connector(settings.odoo) as connector:
            await connector.upsert_stores([Store(code="S1", name="S1", location="S1")])
            await connector.upsert_products([Product(sku="A", name="A")])
            await connector.apply_stock_counts(
                [StockPosition(sku="A", location="S1", on_hand=Decimal(10), as_of=utcnow())]
            )
            yield emulator, connector


def sale(sku: str = "A") -> Sale:
    return Sale(
        id=uuid4(),
        store="S1",
        occurred_at=utcnow(),
        currency="USD",
        lines=[SaleLine(sku=sku, quantity=Decimal(2), unit_price=Decimal(3))],
        payments=[Payment(method=PaymentMethod.CASH, amount=Decimal(6))],
    )


async def test_one_refused_sale_does_not_hold_up_its_batch_and_replays_change_nothing(
    odoo: tuple[OdooEmulator, OdooConnector],
) -> None:
    emulator, connector = odoo
    writer = ConnectorWriter(connector)
    batch = [sale(), sale("NOT-IN-ODOO"), sale()]
    outcomes = await writer.record_sales(batch)
    assert [o.error is None for o in outcomes] == [True, False, True]
    assert len(emulator.records("pos.order")) == 2
    again = await writer.record_sales([batch[0], batch[2]])  # a drain that died before marking
    assert all(o.error is None for o in again)
    assert len(emulator.records("pos.order")) == 2
    positions = await writer.read_positions([("A", "S1")])
    assert [(p.sku, p.location, p.on_hand) for p in positions] == [("A", "S1", Decimal(6))]


async def test_an_adjustment_moves_odoo_stock_by_its_signed_quantity(
    odoo: tuple[OdooEmulator, OdooConnector],
) -> None:
    _, connector = odoo
    writer = ConnectorWriter(connector)
    movement = StockMovement(
        sku="A",
        location="S1",
        quantity=Decimal(-3),
        reason=MovementReason.ADJUSTMENT,
        occurred_at=utcnow(),
    )
    outcomes = await writer.apply_adjustments([(movement.id, movement)])
    assert outcomes[0].error is None
    positions = await writer.read_positions([("A", "S1")])
    assert positions[0].on_hand == Decimal(7)
