"""A simulated eCommerce channel: web orders posted to the hub's ``POST /v1/orders``.

The channel is a ``channel`` role API client like a real web shop: it fetches an
OAuth2 token, posts each order with its own ``Idempotency-Key`` and, when an
answer is lost (hub restarting, a 5xx, a 409 "still running", a 429), sends the
very same request again, so an order is never placed twice. Every order the hub
answered 201 for (or, after a lost answer, 409 "already has that order") goes
into :attr:`ChannelSimulator.placed`; verification holds
Odoo to it. Orders whose outcome stayed unknown (never answered before the
give-up time) are kept apart in :attr:`ChannelSimulator.abandoned`.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx2

from storelink.ops import async_client, get_logger
from storelink.sandbox.baskets import BasketMaker
from storelink.sandbox.estate import Estate
from storelink.sandbox.statuses import StatusCounts, retry_after_s

log = get_logger("storelink.sandbox.channel")

#: the channel code of the simulated web shop
CHANNEL = "WEB"
TOKEN_PATH = "/v1/oauth/token"
#: what :meth:`ChannelSimulator._send` reports for a 409 naming the order as already there
ALREADY_PLACED = -409
#: answers after which the same request is sent again
_TRANSIENT = frozenset({409, 429, 500, 502, 503, 504})
#: how long one order keeps being retried before its outcome is given up as unknown
GIVE_UP_S = 90.0


@dataclass(frozen=True)
class ChannelOrder:
    """One web order as the channel posts it."""

    external_ref: str
    idempotency_key: str
    body: dict[str, Any]


class ChannelSimulator:
    """Posts ``count`` seeded web orders, spread over the tills' ``total`` transactions.

    The runner calls :meth:`fire` with the tills' progress; each order whose
    share of the trading has come is posted in a task of its own. :meth:`finish`
    waits for every post to be answered (or given up).
    """

    def __init__(
        self,
        estate: Estate,
        *,
        hub_url: str,
        client_id: str,
        client_secret: str,
        count: int,
        total: int,
        seed: int,
        concurrency: int = 4,
    ) -> None:
        self._client_id = client_id
        self._client_secret = client_secret
        self._http = async_client(base_url=hub_url.rstrip("/"), timeout=10.0)
        self._total = max(total, 1)
        self._limit = asyncio.Semaphore(concurrency)
        self._token: str | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._next = 0
        # every random draw happens here, so the orders depend on the seed alone
        rng = random.Random(seed ^ 0xC4A7)
        maker = BasketMaker(estate, rng)
        # the web shop sells at the first store's opening prices
        web_prices = estate.stores[0].code
        self.orders: list[ChannelOrder] = []
        for n in range(count):
            basket = maker.basket()
            ref = f"W{n + 1:06d}-{rng.getrandbits(32) ^ (estate.run_salt & 0xFFFFFFFF):08x}"
            lines = [
                {
                    "sku": sku,
                    "quantity": str(quantity),
                    "unit_price": str(estate.price_of(web_prices, sku)),
                }
                for sku, quantity in sorted(basket.quantities.items())
            ]
            key = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            body = {"external_ref": ref, "currency": estate.currency, "lines": lines}
            self.orders.append(ChannelOrder(ref, key, body))
        #: external ref -> lines, for every order the hub answered 201
        self.placed: dict[str, list[dict[str, str]]] = {}
        #: external refs whose outcome stayed unknown
        self.abandoned: set[str] = set()
        #: orders the hub refused outright (a 4xx other than the transient ones)
        self.refused = 0
        #: every answer the hub gave the channel
        self.statuses = StatusCounts()

    def fire(self, posted: int) -> None:
        """Start posting every order due once the tills have posted ``posted``."""
        count = len(self.orders)
        while self._next < count and posted >= self._next * self._total / count:
            order = self.orders[self._next]
            self._next += 1
            self._tasks.append(asyncio.create_task(self._post(order)))

    async def finish(self) -> None:
        """Post what is left and wait for every answer."""
        self.fire(self._total)
        if self._tasks:
            await asyncio.gather(*self._tasks)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._http.aclose()

    async def _post(self, order: ChannelOrder) -> None:
        async with self._limit:
            deadline = time.monotonic() + GIVE_UP_S
            delay = 0.05
            while time.monotonic() < deadline:
                status, retry_after = await self._send(order)
                # 201, or a replay of it; a plain 409 is the hub's unique (channel, ref):
                # an earlier attempt of ours was captured but its answer was lost
                if status in (201, ALREADY_PLACED):
                    self.placed[order.external_ref] = order.body["lines"]
                    return
                if status is not None and status not in _TRANSIENT and status != 401:
                    log.warning("sandbox.channel.refused", ref=order.external_ref, status=status)
                    self.refused += 1
                    return
                # a busy hub says how long to wait: never sooner than it asked
                await asyncio.sleep(max(delay, retry_after))
                delay = min(delay * 2, 1.0)
            self.abandoned.add(order.external_ref)

    async def _send(self, order: ChannelOrder) -> tuple[int | None, float]:
        """One attempt: the status code (or :data:`ALREADY_PLACED`; None when unanswered)
        and the seconds the hub asked to wait before the next (``Retry-After``)."""
        try:
            token, retry_after = await self._bearer()
            if token is None:
                return None, retry_after
            response = await self._http.post(
                "/v1/orders",
                json=order.body,
                headers={
                    "authorization": f"Bearer {token}",
                    # the same key on every attempt: a retry replays, never re-places
                    "idempotency-key": order.idempotency_key,
                },
            )
        except httpx2.TransportError:
            self.statuses.failed()
            return None, 0.0
        self.statuses.saw(response)
        retry_after = retry_after_s(response) or 0.0
        if response.status_code == 401:
            self._token = None  # expired, or signed before a key rotation
        if response.status_code == 409 and "retry-after" not in response.headers:
            return ALREADY_PLACED, 0.0
        return response.status_code, retry_after

    async def _bearer(self) -> tuple[str | None, float]:
        if self._token is None:
            response = await self._http.post(
                TOKEN_PATH,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self._client_id,
                    "client_secret": self._client_secret,
                },
            )
            self.statuses.saw(response)
            if response.status_code != 200:
                # a restarting or busy hub; the order's retry loop asks again
                return None, retry_after_s(response) or 0.0
            self._token = str(response.json()["access_token"])
        return self._token, 0.0
