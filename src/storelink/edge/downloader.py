"""Pulls catalog, prices and stock from the hub since the agent's cursors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from storelink.edge.catalog import stamp
from storelink.edge.hub import HubClient
from storelink.edge.loop import repeat
from storelink.edge.replica import Replica
from storelink.errors import CursorExpiredError, SyncError
from storelink.model import utcnow
from storelink.ops.logging import get_logger
from storelink.sync.backoff import Backoff
from storelink.sync.wire import Dataset, DeltaPage

_log = get_logger("storelink.edge.downloader")


class Downloader:
    """One pass brings every data set up to date, page by page (each page commits with its
    cursor, so an interrupted pull resumes); a cursor the hub no longer serves triggers
    a full resync of that data set."""

    def __init__(
        self,
        store: str,
        replica: Replica,
        hub: HubClient,
        *,
        page_size: int = 500,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.replica = replica
        self.hub = hub
        self.page_size = page_size
        self.backoff = backoff or Backoff()
        self.clock = clock

    async def run_once(self) -> int:
        """Apply every change waiting at the hub; return how many rows changed."""
        changed = 0
        try:
            for dataset in Dataset:
                try:
                    changed += await self._pull(dataset)
                except CursorExpiredError:
                    _log.info("cursor expired, resyncing in full", dataset=dataset.value)
                    changed += await self.resync(dataset)
        except SyncError as exc:
            await self.replica.set_state({"download_online": "0", "download_error": str(exc)})
            raise
        await self.replica.set_state(
            {"download_online": "1", "download_error": "", "last_download_at": stamp(self.clock())}
        )
        return changed

    async def _pull(self, dataset: Dataset) -> int:
        after, changed = self.replica.cursor(dataset), 0
        while True:
            page = await self.hub.delta(self.store, dataset, after=after, limit=self.page_size)
            await self.replica.apply(page, self.clock())
            changed += _size(page)
            after = page.until
            if not page.more:
                return changed

    async def resync(self, dataset: Dataset) -> int:
        """Fetch the whole data set and replace the local copy with it in one commit."""
        pages: list[DeltaPage] = []
        after = 0
        while True:
            page = await self.hub.delta(self.store, dataset, after=after, limit=self.page_size)
            pages.append(page)
            after = page.until
            if not page.more:
                break
        await self.replica.replace(dataset, pages, self.clock())
        return sum(_size(page) for page in pages)

    async def run(self, stop: asyncio.Event, *, idle_s: float = 10.0) -> None:
        await repeat("download", self.run_once, stop, idle_s=idle_s, backoff=self.backoff)


def _size(page: DeltaPage) -> int:
    return len(page.products) + len(page.prices) + len(page.stock) + len(page.confirmations)
