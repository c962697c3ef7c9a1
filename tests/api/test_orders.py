"""Channel orders and returns: stored with their event in one transaction, status from events."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx2
from sqlalchemy import select

from storelink.api import HubState, Role
from storelink.api.events import apply_order_event
from storelink.bus.tables import outbox
from storelink.model import Event
from storelink.model.envelope import order_key
from storelink.model.events import EventType
from storelink.model.orders import Order, OrderStatus, Shipment, ShipmentLine
from storelink.model.sales import Return
from tests.api.conftest import Minter

ORDER = {
    "external_ref": "WEB-7",
    "currency": "EUR",
    "lines": [{"sku": "SKU-1", "quantity": "3", "unit_price": "1.10"}],
}


async def test_order_created_with_event_then_confirmed(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    headers = await auth(Role.CHANNEL, channel="web")
    created = await client.post(
        "/v1/orders", json=ORDER, headers={**headers, "Idempotency-Key": "o"}
    )
    assert created.status_code == 201, created.text
    order = Order.model_validate(created.json()["order"])
    assert order.channel == "web" and order.status is OrderStatus.RECEIVED
    async with hub.engine.connect() as connection:
        rows = (await connection.execute(select(outbox))).all()
    assert len(rows) == 1 and rows[0].type == EventType.ORDER_CREATED
    event = Event.model_validate_json(rows[0].envelope)
    assert event.partitionkey == order_key(order.id) and event.payload() == order

    confirmed = Event.of(
        EventType.ORDER_CONFIRMED,
        order.model_copy(update={"status": OrderStatus.CONFIRMED}),
        source="/odoo",
        partitionkey=order_key(order.id),
    )
    assert await apply_order_event(hub.engine, confirmed)
    assert not await apply_order_event(hub.engine, confirmed)  # redelivery changes nothing
    read = await client.get(f"/v1/orders/{order.id}", headers=headers)
    assert read.json()["order"]["status"] == "confirmed"

    shipped = Event.of(
        EventType.SHIPMENT_DONE,
        Shipment(
            reference="WH/OUT/1",
            order_id=order.id,
            location="WH",
            lines=[ShipmentLine(sku="SKU-1", quantity=3)],
            done_at=hub.clock(),
        ),
        source="/odoo",
        partitionkey=order_key(order.id),
    )
    assert await apply_order_event(hub.engine, shipped)
    assert not await apply_order_event(hub.engine, confirmed)  # late event does not regress
    read = await client.get(f"/v1/orders/{order.id}", headers=headers)
    assert read.json()["order"]["status"] == "shipped"


async def test_duplicate_channel_order_number_is_409_and_writes_nothing(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    headers = await auth(Role.CHANNEL, channel="web")
    assert (
        await client.post("/v1/orders", json=ORDER, headers={**headers, "Idempotency-Key": "a"})
    ).status_code == 201
    again = await client.post("/v1/orders", json=ORDER, headers={**headers, "Idempotency-Key": "b"})
    assert again.status_code == 409
    async with hub.engine.connect() as connection:
        assert len((await connection.execute(select(outbox))).all()) == 1


async def test_return_recorded_for_own_store_only(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    body = {
        "id": str(uuid.uuid4()),
        "store": "S001",
        "occurred_at": (hub.clock() - timedelta(minutes=5)).isoformat(),
        "currency": "EUR",
        "lines": [{"sku": "SKU-1", "quantity": "1", "refund_amount": "4.00"}],
        "refunds": [{"method": "card", "amount": "4.00"}],
    }
    own = await auth(Role.STORE, store="S001")
    other = await auth(Role.STORE, store="S002")
    refused = await client.post("/v1/returns", json=body, headers={**other, "Idempotency-Key": "r"})
    assert refused.status_code == 404
    created = await client.post("/v1/returns", json=body, headers={**own, "Idempotency-Key": "r"})
    assert created.status_code == 201 and created.json()["status"] == "recorded"
    completed = Event.of(
        EventType.RETURN_COMPLETED,
        Return.model_validate(body),
        source="/odoo",
        partitionkey=f"return:S001:{body['id']}",
    )
    assert await apply_order_event(hub.engine, completed)
    read = await client.get(f"/v1/returns/{body['id']}", headers=own)
    assert read.json()["status"] == "completed"
    assert (await client.get(f"/v1/returns/{body['id']}", headers=other)).status_code == 404
