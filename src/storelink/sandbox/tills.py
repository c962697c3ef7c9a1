"""Simulated tills: sales and returns posted to each store's POS API at a rate.

The tills only know a store through :class:`PosClient` (price lookup, record a
sale, record a return), the same narrow seam a real POS would use. Every
transaction a store answered 201 for goes into the :class:`TillLedger`; that
ledger is the truth the end-of-run verification holds Odoo to.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from storelink.errors import SyncError
from storelink.model import Return, Sale, utcnow
from storelink.sandbox.baskets import BasketMaker
from storelink.sandbox.estate import Estate
from storelink.sandbox.verify import TxnKey

#: share of transactions that are returns (of an earlier sale of the same store)
RETURN_RATE = 0.06


class PosClient(Protocol):
    """What a till can ask of its store's POS API."""

    async def price(self, sku: str) -> Decimal:
        """The store's current unit price of ``sku``; :class:`SyncError` when it has none."""
        ...

    async def record_sale(self, sale: Sale) -> bool:
        """Post ``sale``; True when the store answered 201 (durably recorded)."""
        ...

    async def record_return(self, return_: Return) -> bool:
        """Post ``return_``; True when the store answered 201."""
        ...


@dataclass
class TillLedger:
    """Every transaction a till was answered 201 for, and every one it was not."""

    sales: dict[TxnKey, Sale] = field(default_factory=dict)
    returns: dict[TxnKey, Return] = field(default_factory=dict)
    refused: int = 0

    def recorded(self) -> dict[TxnKey, dict[str, Decimal]]:
        """Quantity per SKU that each recorded transaction moved out of (or back into) a store."""
        moved: dict[TxnKey, dict[str, Decimal]] = {}
        for key, sale in self.sales.items():
            moved[key] = {line.sku: -line.quantity for line in sale.lines}
        for key, back in self.returns.items():
            moved[key] = {line.sku: line.quantity for line in back.lines if line.restock}
        return moved

    def __len__(self) -> int:
        return len(self.sales) + len(self.returns)


class Tills:
    """Posts ``total`` transactions across the estate's stores at ``rate`` per second.

    ``rate`` 0 posts as fast as the stores answer. ``before_each`` is awaited
    with the number posted so far before every transaction (the runner fires
    scheduled faults from it).
    """

    def __init__(
        self,
        estate: Estate,
        stores: Mapping[str, PosClient],
        *,
        total: int,
        rate: float,
        seed: int,
        concurrency: int = 0,
    ) -> None:
        self._estate = estate
        self._stores = stores
        self._total = total
        self._rate = rate
        self._rng = random.Random(seed ^ 0x7111)
        self._maker = BasketMaker(estate, self._rng)
        self._codes: Sequence[str] = sorted(stores)
        # some stores are busier than others (a flagship does three times a kiosk)
        self._traffic = [self._rng.uniform(1.0, 3.0) for _ in self._codes]
        self._recent: dict[str, list[Sale]] = {code: [] for code in self._codes}
        self._limit = asyncio.Semaphore(concurrency or max(4, len(self._codes)))
        self.ledger = TillLedger()
        self.posted = 0

    async def run(self, before_each: Callable[[int], Awaitable[None]] | None = None) -> None:
        started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            for n in range(self._total):
                if before_each is not None:
                    await before_each(n)
                if self._rate > 0:
                    # pace against the start, not the previous post, so slow answers do not drift
                    delay = started + n / self._rate - time.monotonic()
                    if delay > 0:
                        await asyncio.sleep(delay)
                await self._limit.acquire()
                group.create_task(self._post_one(n))

    async def _post_one(self, n: int) -> None:
        # every random draw happens before the first await, so the sequence of
        # transactions depends on the seed alone, not on how answers interleave
        try:
            (code,) = self._rng.choices(self._codes, self._traffic)
            pos = self._stores[code]
            recent = self._recent[code]
            if recent and self._rng.random() < RETURN_RATE:
                original = recent.pop(self._rng.randrange(len(recent)))
                back = self._maker.return_of(original, utcnow())
                if await pos.record_return(back):
                    self.ledger.returns[("return", code, str(back.id))] = back
                else:
                    self.ledger.refused += 1
                return
            basket = self._maker.basket()
            try:
                prices = {sku: await pos.price(sku) for sku in basket.quantities}
            except SyncError:
                # the store cannot price an item: the customer leaves, nothing is recorded
                self.ledger.refused += 1
                return
            sale = self._maker.sale(
                code, str(n % 3 + 1), utcnow(), lambda _store, sku: prices[sku], basket
            )
            if await pos.record_sale(sale):
                self.ledger.sales[("sale", code, str(sale.id))] = sale
                recent.append(sale)
                del recent[:-50]
            else:
                self.ledger.refused += 1
        finally:
            self.posted += 1
            self._limit.release()
