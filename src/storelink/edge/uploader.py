"""Sends the upload queue to the hub in batches, oldest first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from storelink.edge.catalog import stamp
from storelink.edge.hub import HubClient
from storelink.edge.loop import repeat
from storelink.edge.queue import UploadQueue
from storelink.edge.replica import Replica
from storelink.errors import SyncError
from storelink.model import utcnow
from storelink.sync.backoff import Backoff


class Uploader:
    """One pass sends one batch; the hub keeps each ``(store, uuid)`` once, so a batch
    resent after a lost answer changes nothing there."""

    def __init__(
        self,
        store: str,
        queue: UploadQueue,
        replica: Replica,
        hub: HubClient,
        *,
        batch_size: int = 200,
        backoff: Backoff | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.queue = queue
        self.replica = replica
        self.hub = hub
        self.batch_size = batch_size
        self.backoff = backoff or Backoff()
        self.clock = clock
        #: set by the POS API after each write so a fresh sale leaves at once
        self.wake = asyncio.Event()
        self.online: bool | None = None

    async def run_once(self) -> int:
        batch = self.queue.oldest(self.batch_size)
        if not batch:
            return 0
        try:
            await self.hub.upload(self.store, batch)
        except SyncError as exc:
            await self._contact(False, str(exc))
            raise
        now = self.clock()
        await self.queue.mark_sent([t.uuid for t in batch], now)
        await self._contact(True, None)
        return len(batch)

    async def _contact(self, ok: bool, error: str | None) -> None:
        values = {"upload_online": "1" if ok else "0", "upload_error": error or ""}
        if ok:
            values["last_upload_at"] = stamp(self.clock())
        if ok != self.online or ok:
            await self.replica.set_state(values)
        self.online = ok

    async def run(self, stop: asyncio.Event, *, idle_s: float = 1.0) -> None:
        await repeat(
            "upload", self.run_once, stop, idle_s=idle_s, backoff=self.backoff, wake=self.wake
        )
