"""Downloads resume from the last page applied after an interruption."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest

from storelink.edge import Agent, AgentConfig, QueuedTransaction
from storelink.errors import HubUnreachableError
from storelink.model import Product
from storelink.sync import Dataset, DeltaPage, UploadResult


class PagedHub:
    """A hub seam serving products one per page; the link drops once, after ``drop_after``."""

    def __init__(self, products: list[Product], drop_after: int) -> None:
        self.products = products
        self.drop_after = drop_after
        self.asked: list[int] = []

    async def upload(self, store: str, batch: Sequence[QueuedTransaction]) -> UploadResult:
        raise HubUnreachableError("uploads are not part of this test")

    async def delta(self, store: str, dataset: Dataset, *, after: int, limit: int) -> DeltaPage:
        if dataset is not Dataset.PRODUCTS:
            return DeltaPage(dataset=dataset, after=after, until=after, more=False)
        self.asked.append(after)
        if len(self.asked) == self.drop_after + 1:
            raise HubUnreachableError("link dropped mid-download")
        rows = self.products[after : after + 1]
        until = after + len(rows)
        return DeltaPage(
            dataset=dataset,
            after=after,
            until=until,
            more=until < len(self.products),
            products=rows,
        )

    async def aclose(self) -> None:
        return None


@pytest.fixture
async def fresh(tmp_path: Path) -> AsyncIterator[Agent]:
    config = AgentConfig(store="S1", hub_url="http://127.0.0.1:9", database=tmp_path / "a.db")
    hub = PagedHub([Product(sku=f"N{i}", name=f"New {i}") for i in range(5)], drop_after=2)
    agent = Agent(config, hub=hub)
    try:
        yield agent
    finally:
        await agent.aclose()


async def test_an_interrupted_download_resumes_from_its_cursor(fresh: Agent) -> None:
    hub = fresh.downloader.hub
    assert isinstance(hub, PagedHub)
    with pytest.raises(HubUnreachableError):
        await fresh.downloader.run_once()
    assert fresh.replica.cursor(Dataset.PRODUCTS) == 2  # two pages were applied and kept
    assert fresh.replica.state("download_online") == "0"
    assert await fresh.downloader.run_once() == 3
    assert hub.asked == [0, 1, 2, 2, 3, 4]  # resumed at 2, not from the start
    skus = [r[0] for r in fresh.database.read.execute("SELECT sku FROM products ORDER BY sku")]
    assert skus == ["N0", "N1", "N2", "N3", "N4"]
