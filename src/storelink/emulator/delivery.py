"""Sends the queued ``base.automation`` webhooks: fire-and-forget, 1 s timeout, loopback only."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx2
import structlog

from storelink.emulator.database import WebhookPost
from storelink.ops.http import async_client

log = structlog.get_logger(__name__)
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
TIMEOUT_S = 1.0


@dataclass(frozen=True)
class WebhookDelivery:
    """One attempt, kept for tests: the status code, or the error that ended it."""

    url: str
    payload: dict[str, Any]
    status: int | None
    error: str | None = None


class WebhookSender:
    def __init__(self) -> None:
        self.deliveries: list[WebhookDelivery] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def send(self, posts: list[WebhookPost]) -> None:
        for post in posts:
            if urlsplit(post.url).hostname not in LOOPBACK:
                # the emulator never talks to anything but this machine
                self.deliveries.append(
                    WebhookDelivery(post.url, post.payload, None, "not loopback")
                )
                continue
            task = asyncio.get_running_loop().create_task(self._post(post))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _post(self, post: WebhookPost) -> None:
        body = json.dumps(post.payload, sort_keys=True, default=str)
        try:
            async with async_client(timeout=TIMEOUT_S) as client:
                response = await client.post(
                    post.url, content=body, headers={"Content-Type": "application/json"}
                )
            self.deliveries.append(WebhookDelivery(post.url, post.payload, response.status_code))
        except httpx2.HTTPError as exc:
            # Odoo only logs a failed webhook; nobody retries it
            log.info("odoo_emulator.webhook_failed", url=post.url, error=repr(exc))
            self.deliveries.append(WebhookDelivery(post.url, post.payload, None, repr(exc)))

    async def drain(self) -> None:
        """Wait for the posts in flight (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
