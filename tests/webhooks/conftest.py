"""Fixtures for webhook tests: loopback-friendly settings, a manual clock, receivers."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.config import Settings
from storelink.config.sections import WebhookSettings
from storelink.model import Event, EventType, Price, PriceScope, PriceScopeKind
from storelink.webhooks import (
    Dispatcher,
    EndpointStore,
    HttpTransport,
    ManualClock,
    RetryPolicy,
    SecretBox,
    URLPolicy,
)
from tests.webhooks.receiver import Receiver, serve


@pytest.fixture
def webhook_settings() -> WebhookSettings:
    return WebhookSettings(
        allow_http=True,
        allowed_hosts=["127.0.0.1"],
        timeout_s=5,
        jitter=0,
        retry_schedule_s=[0, 5, 300],
        disable_after_s=3600,
        poll_interval_s=0.05,
    )


@pytest.fixture
def secret_box(tmp_path: Path) -> SecretBox:
    """Seals under a vault key generated once into a throw-away data dir."""
    return SecretBox.from_settings(Settings(data_dir=tmp_path / "keys"))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def endpoints(
    engine: AsyncEngine,
    webhook_settings: WebhookSettings,
    clock: ManualClock,
    secret_box: SecretBox,
) -> EndpointStore:
    return EndpointStore(
        engine,
        policy=URLPolicy.from_settings(webhook_settings),
        clock=clock,
        secret_box=secret_box,
    )


@pytest.fixture
async def dispatcher(
    engine: AsyncEngine,
    webhook_settings: WebhookSettings,
    clock: ManualClock,
    secret_box: SecretBox,
) -> AsyncIterator[Dispatcher]:
    dispatcher = Dispatcher(
        engine,
        settings=webhook_settings,
        clock=clock,
        transport=HttpTransport(policy=URLPolicy.from_settings(webhook_settings)),
        retry=RetryPolicy.from_settings(webhook_settings, rng=random.Random(7)),
        secret_box=secret_box,
    )
    try:
        yield dispatcher
    finally:
        await dispatcher.aclose()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with serve(Receiver()) as running:
        yield running


def price_event(
    sku: str = "SKU-1", version: int = 1, *, store: str = "S001", partitionkey: str | None = None
) -> Event:
    price = Price(
        sku=sku,
        scope=PriceScope(kind=PriceScopeKind.STORE, code=store),
        amount=Decimal("9.99"),
        currency="EUR",
        version=version,
        valid_from=datetime(2026, 3, 1, tzinfo=UTC),
    )
    return Event.of(
        EventType.PRICE_CHANGED,
        price,
        source=f"/stores/{store}",
        partitionkey=partitionkey or f"{sku}@{store}",
    )
