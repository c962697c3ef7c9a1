"""An in-process agent whose local copy is seeded through the same path hub deltas take."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx2
import pytest

from storelink.edge import Agent, AgentConfig
from storelink.model import Price, PriceScope, PriceScopeKind, Product
from storelink.sync import Dataset, DeltaPage, StockRow


class Clock:
    """A controllable clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 6, 1, 12, 0, tzinfo=UTC))


def catalog_pages(
    now: datetime, skus: dict[str, int], store: str = "S1", price: str = "2.50"
) -> list[DeltaPage]:
    """Delta pages as the hub would send them: products, store prices v1, stock."""
    products = [
        Product(sku=sku, name=f"Product {sku}", barcode=f"400{i:05d}") for i, sku in enumerate(skus)
    ]
    prices = [
        Price(
            sku=sku,
            scope=PriceScope(kind=PriceScopeKind.STORE, code=store),
            amount=Decimal(price),
            currency="EUR",
            version=1,
            valid_from=now - timedelta(days=1),
        )
        for sku in skus
    ]
    stock = [
        StockRow(sku=sku, on_hand=Decimal(q), reserved=Decimal(0), as_of=now, revision=1)
        for sku, q in skus.items()
    ]
    return [
        DeltaPage(dataset=Dataset.PRODUCTS, after=0, until=1, more=False, products=products),
        DeltaPage(dataset=Dataset.PRICES, after=0, until=1, more=False, prices=prices),
        DeltaPage(dataset=Dataset.STOCK, after=0, until=1, more=False, stock=stock, location=store),
    ]


@pytest.fixture
async def agent(tmp_path: Path, clock: Clock) -> AsyncIterator[Agent]:
    config = AgentConfig(store="S1", hub_url="http://127.0.0.1:9", database=tmp_path / "a.db")
    agent = Agent(config, clock=clock)
    for page in catalog_pages(clock.now, {"SKU-1": 5, "SKU-2": 0}):
        await agent.replica.apply(page, clock.now)
    try:
        yield agent
    finally:
        await agent.aclose()


@pytest.fixture
async def pos(agent: Agent) -> AsyncIterator[httpx2.AsyncClient]:
    transport = httpx2.ASGITransport(app=agent.app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://agent") as client:
        yield client
