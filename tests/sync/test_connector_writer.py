"""The drain's writer over the real connector and the Odoo emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any
from uuid import uuid4

import pytest

from storelink.config import Settings
from storelink.emulator import OdooEmulator, serve_emulator
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
from storelink.odoo.backend import Call
from storelink.sync.connector_writer import ConnectorWriter


@pytest.fixture
async def odoo() -> AsyncIterator[tuple[OdooEmulator, OdooConnector]]:
    emulator = OdooEmulator(version="17")
    # POS orders move stock at once (17's default moves it when the session closes)
    emulator.call("res.company", "write", [1], {"point_of_sale_update_stock_quantities": "real"})
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


def adjustment(quantity: int, sku: str = "A") -> StockMovement:
    return StockMovement(
        sku=sku,
        location="S1",
        quantity=Decimal(quantity),
        reason=MovementReason.ADJUSTMENT,
        occurred_at=utcnow(),
    )


async def test_adjustments_are_applied_once_and_a_bad_one_does_not_hold_up_its_batch(
    odoo: tuple[OdooEmulator, OdooConnector],
) -> None:
    emulator, connector = odoo
    writer = ConnectorWriter(connector)
    batch = [adjustment(-3), adjustment(2, "NOT-IN-ODOO"), adjustment(5)]
    items = [(m.id, m) for m in batch]
    outcomes = await writer.apply_adjustments(items)
    assert [o.uuid for o in outcomes] == [m.id for m in batch]
    assert [o.error is None for o in outcomes] == [True, False, True]
    again = await writer.apply_adjustments([items[0], items[2]])  # died before marking
    assert all(o.error is None for o in again)
    positions = await writer.read_positions([("A", "S1")])
    assert positions[0].on_hand == Decimal(10 - 3 + 5)
    origins = [p.get("origin") or "" for p in emulator.records("stock.picking")]
    assert sum(origin.startswith("storelink/adjustment/") for origin in origins) == 2


async def test_a_sale_odoo_validates_while_an_adjustment_is_written_is_kept(
    odoo: tuple[OdooEmulator, OdooConnector],
) -> None:
    _, connector = odoo
    writer = ConnectorWriter(connector)
    backend = connector.client.backend
    execute = backend.execute
    sold: list[Call] = []

    async def sell_before_the_first_create(call: Call) -> Any:
        if call.method == "create" and not sold:
            sold.append(call)
            await writer.record_sales([sale()])  # a till sells 2 in Odoo meanwhile
        return await execute(call)

    backend.execute = sell_before_the_first_create  # type: ignore[method-assign]
    shrink = adjustment(-1)
    outcomes = await writer.apply_adjustments([(shrink.id, shrink)])
    assert sold and outcomes[0].error is None
    positions = await writer.read_positions([("A", "S1")])
    assert positions[0].on_hand == Decimal(10 - 2 - 1)
