"""``storelink hub serve`` runs the whole hub (API and workers) and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx2

from storelink.bus import enqueue
from storelink.config import Settings
from storelink.config.sections import ApiSettings, WebhookSettings
from storelink.db import create_engine
from storelink.hub import serve_app
from storelink.model import Event, EventType, Payment, PaymentMethod, Sale, SaleLine, sale_key
from storelink.sandbox.partners import PartnerReceiver, receivers_app
from storelink.webhooks import EndpointSpec, EndpointStore, SecretBox, URLPolicy
from tests.services import free_port


def a_sale() -> Sale:
    return Sale(
        id=uuid.uuid4(),
        store="S001",
        occurred_at=datetime.now(UTC),
        currency="EUR",
        lines=[SaleLine(sku="SKU-1", quantity=Decimal(1), unit_price=Decimal("2.50"))],
        payments=[Payment(method=PaymentMethod.CARD, amount=Decimal("2.50"))],
    )


async def wait_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with httpx2.AsyncClient(base_url=url, timeout=2) as client, asyncio.timeout(60):
        while True:
            assert process.returncode is None, "hub serve exited before it answered"
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx2.TransportError:
                pass
            await asyncio.sleep(0.05)  # polling a server that is starting up


async def test_hub_serve_delivers_outbox_events_to_a_partner_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "STORELINK_DATA_DIR": str(tmp_path),
        "STORELINK_API__PORT": str(port),
        "STORELINK_WEBHOOKS__ALLOW_HTTP": "true",
        "STORELINK_WEBHOOKS__ALLOWED_HOSTS": '["127.0.0.1"]',
    }
    env.pop("STORELINK_CONFIG", None)
    settings = Settings(
        data_dir=tmp_path,
        api=ApiSettings(port=port),
        webhooks=WebhookSettings(allow_http=True, allowed_hosts=["127.0.0.1"]),
    )
    partner = PartnerReceiver("shop")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "storelink.cli",
        "hub",
        "serve",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    engine = create_engine(settings.effective_database_url)
    try:
        await wait_healthy(f"http://127.0.0.1:{port}", process)
        async with serve_app(receivers_app([partner])) as receivers:
            store = EndpointStore(
                engine,
                SecretBox.from_settings(settings),  # the same vault key file in data_dir
                policy=URLPolicy.from_settings(settings.webhooks),
            )
            _, partner.secret = await store.add(
                EndpointSpec(url=f"{receivers}/partners/shop", event_types=("storelink.sale.*",))
            )
            sales = [a_sale() for _ in range(3)]
            events = [
                Event.of(
                    EventType.SALE_RECORDED,
                    s,
                    source="/stores/S001",
                    partitionkey=sale_key("S001", s.id),
                )
                for s in sales
            ]
            # another part of the hub committing state with its events: the served hub's
            # relay, fan-out and dispatcher must carry them to the partner on their own
            async with engine.begin() as connection:
                await enqueue(connection, events)
            async with asyncio.timeout(30):
                await partner.wait_received(3)
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            out, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await engine.dispose()
    assert process.returncode == 0, err.decode()
    assert sorted(d.event_id for d in partner.received) == sorted(e.id for e in events)
    assert partner.refused == 0
    text = out.decode()
    assert f"hub serving on http://127.0.0.1:{port}" in text
    assert "Dispatcher" in text and "Relay" in text
    assert "hub stopped" in text
