"""The composed hub: served over real HTTP, restartable on one database, fanning events out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx2

from storelink.bus import enqueue
from storelink.config import Settings
from storelink.config.sections import ApiSettings, WebhookSettings
from storelink.hub import Hub, bind, serve_app
from storelink.model import Event, EventType, Payment, PaymentMethod, Sale, SaleLine, sale_key
from storelink.sandbox.partners import PartnerReceiver, receivers_app
from storelink.webhooks import EndpointSpec, EndpointStore, SecretBox, URLPolicy


def hub_settings(tmp_path: Path) -> Settings:
    with bind("127.0.0.1", 0) as probe:
        port = probe.getsockname()[1]
    return Settings(
        data_dir=tmp_path,
        api=ApiSettings(port=port),
        webhooks=WebhookSettings(allow_http=True, allowed_hosts=["127.0.0.1"]),
    )


def a_sale(store: str) -> Sale:
    return Sale(
        id=uuid.uuid4(),
        store=store,
        occurred_at=datetime.now(UTC),
        currency="EUR",
        lines=[SaleLine(sku="SKU-1", quantity=Decimal(1), unit_price=Decimal("2.50"))],
        payments=[Payment(method=PaymentMethod.CARD, amount=Decimal("2.50"))],
    )


async def test_hub_serves_and_restarts_on_the_same_database_and_port(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path)
    urls = []
    for _ in range(2):  # the second Hub is a real restart: fresh object, same database
        async with Hub(settings) as hub, httpx2.AsyncClient(base_url=hub.url) as client:
            urls.append(hub.url)
            response = await client.get("/healthz")
            assert response.status_code == 200, response.text
        async with httpx2.AsyncClient() as client:
            try:
                await client.get(f"{hub.url}/healthz")
                raise AssertionError("the stopped hub still answers")
            except httpx2.ConnectError:
                pass
    assert urls[0] == urls[1] == f"http://127.0.0.1:{settings.api.port}"


async def test_events_in_the_outbox_reach_a_subscribed_partner(tmp_path: Path) -> None:
    settings = hub_settings(tmp_path)
    partner = PartnerReceiver("shop")
    async with serve_app(receivers_app([partner])) as receivers, Hub(settings) as hub:
        assert hub.engine is not None
        store = EndpointStore(
            hub.engine,
            SecretBox.from_settings(settings),
            policy=URLPolicy.from_settings(settings.webhooks),
        )
        _, partner.secret = await store.add(
            EndpointSpec(
                url=f"{receivers}/partners/shop", event_types=("storelink.sale.*",), ordered=True
            )
        )
        sales = [a_sale("S001") for _ in range(5)]
        events = [
            Event.of(
                EventType.SALE_RECORDED,
                s,
                source="/stores/S001",
                partitionkey=sale_key("S001", s.id),
            )
            for s in sales
        ]
        async with hub.engine.begin() as connection:
            await enqueue(connection, events)
        stop = asyncio.Event()
        running = asyncio.create_task(hub.run(stop))
        async with asyncio.timeout(15):
            await partner.wait_received(5)
        stop.set()
        await running
    assert [d.event_id for d in partner.received] == [e.id for e in events]
    assert partner.refused == 0  # every delivery carried a valid Standard Webhooks signature
