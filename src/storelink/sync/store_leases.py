"""Per-store drain leases: across hub worker processes, one store has one writer.

Odoo's dedup of a POS ticket is check-then-insert inside one transaction, so two
writers sending the same ticket at the same moment both create it (see
:mod:`storelink.odoo.sales`). So each hub worker's drain writes the transactions of
a store only while it holds the lease ``drain:store:<code>``
(:mod:`storelink.db.leases`), and commits their marks only after checking the lease
in the same transaction (:meth:`StoreLeases.fence`).

Sharing. Every drain keeps a heartbeat lease ``drain:worker:<worker id>``; the live
workers are the unexpired heartbeats. At every pass (:meth:`StoreLeases.rebalance`)
a worker takes free stores that have a backlog while it holds fewer busy stores than
its fair share, ``ceil(stores with backlog / live workers)``, and gives up busy stores
beyond it, so a worker that joins gets its share at the others' next pass. Idle stores
it holds are kept and renewed but do not count: giving one up only to take it back at
its next sale would cost two writes per store per burst. A worker that dies stops
renewing: after the TTL its heartbeat and its stores expire, the others' share grows
and they take its stores, re-sending whatever it had in flight (harmless: the writer
is idempotent by store + transaction uuid). Renewal runs beside the drain
(:meth:`StoreLeases.keep_alive`), so an Odoo batch slower than the TTL costs no store.

What it guarantees: a worker's marks (``written``/``failed``, applied) commit only
while it holds the store's lease with the token it wrote under; a batch whose lease
was lost is abandoned (logged, counted in ``storelink_drain_fenced_transactions_total``)
and its new holder sends it again. Before each Odoo write the worker also looks at its
leases again, so a worker that was paused past its TTL stops before sending.

Where it does not: a write already on the wire when the lease expires is not
un-sent, and a pause between that last look and the send still lets one batch out
while another worker may be sending the same tickets (the gap is one statement, not
the TTL). One embedded hub on SQLite goes the same way with one worker holding every
store, at the cost of a few small writes per TTL.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field

from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncConnection

from storelink.bus.worker import idle
from storelink.db.leases import LeaseStore
from storelink.ops.logging import get_logger
from storelink.ops.metrics import REGISTRY

STORE_PREFIX = "drain:store:"
WORKER_PREFIX = "drain:worker:"

FENCED = Counter(
    "storelink_drain_fenced_transactions_total",
    "Store transactions a drain abandoned because it no longer held their store's lease",
    ["stage"],
    registry=REGISTRY,
)
HELD = Gauge(
    "storelink_drain_stores_held",
    "Stores whose drain lease this hub worker holds",
    registry=REGISTRY,
)

_log = get_logger("storelink.sync.store_leases")


def lease_name(store: str) -> str:
    return f"{STORE_PREFIX}{store}"


@dataclass
class StoreLeases:
    """The store leases of one drain (one hub worker); see the module docstring."""

    leases: LeaseStore
    holder: str
    ttl_s: float = 10.0
    #: how often leases are renewed; 0 means a third of ``ttl_s``
    renew_s: float = 0.0
    #: orders the free stores a worker tries (random, so workers do not all race for one)
    shuffle: Callable[[list[str]], None] = random.shuffle
    #: store code -> fencing token of the leases held
    tokens: dict[str, int] = field(default_factory=dict)
    _beat: int | None = None
    #: live workers (heartbeats) when last counted; 0 before the first count
    _workers: int = 0
    _renewed_at: float = -math.inf
    _turn: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.renew_s = self.renew_s or self.ttl_s / 3

    @property
    def heartbeat(self) -> str:
        return f"{WORKER_PREFIX}{self.holder}"

    @property
    def stores(self) -> set[str]:
        """The stores this worker may write now, as far as it knows."""
        return set(self.tokens)

    async def rebalance(self, backlog: Collection[str]) -> None:
        """Renew when due, then take or give up stores towards the fair share of ``backlog``
        (the stores with transactions to write or apply)."""
        async with self._turn:
            due = time.monotonic() - self._renewed_at >= self.renew_s
            if due:
                await self._renew()
            if self._beat is None:
                self._beat = await self.leases.acquire(self.heartbeat, self.holder, self.ttl_s)
                if self._beat is None:
                    # another live process uses this worker id: stay out of the share
                    _log.warning("drain heartbeat held elsewhere", holder=self.holder)
                    return
            # the live workers are counted again at every renewal, or when there is a store
            # to take; in between (a worker alone, or holding all its backlog) a pass costs
            # no lease read at all
            if due or not self._workers or any(store not in self.tokens for store in backlog):
                self._workers = max(1, len(await self.leases.live(WORKER_PREFIX)))
            share = math.ceil(len(backlog) / self._workers)
            busy = sorted(store for store in self.tokens if store in backlog)
            for store in busy[share:]:
                await self._release(store)
            wanted = share - len(busy[:share])
            if wanted > 0:
                await self._take([store for store in backlog if store not in self.tokens], wanted)
            HELD.set(len(self.tokens))

    async def still_held(self, stores: Iterable[str]) -> set[str]:
        """Of ``stores``, those still held (a look before an Odoo write; not binding)."""
        tokens = {lease_name(s): self.tokens[s] for s in stores if s in self.tokens}
        held = await self.leases.still_held(self.holder, tokens)
        return {name.removeprefix(STORE_PREFIX) for name in held}

    async def fence(self, connection: AsyncConnection, stores: Iterable[str]) -> set[str]:
        """Of ``stores``, those still held, locked until ``connection``'s transaction ends:
        write marks for these only (make this the transaction's first statement)."""
        tokens = {lease_name(s): self.tokens[s] for s in stores if s in self.tokens}
        held = await self.leases.held(connection, self.holder, tokens)
        return {name.removeprefix(STORE_PREFIX) for name in held}

    def abandon(self, stores: Collection[str], *, stage: str, transactions: int) -> None:
        """Forget ``stores`` whose lease was lost: ``transactions`` of theirs are left to the
        new holder (counted; logged when the loss is news)."""
        if not stores:
            return
        FENCED.labels(stage).inc(transactions)
        lost = sorted(store for store in stores if self.tokens.pop(store, None) is not None)
        HELD.set(len(self.tokens))
        if lost:
            _log.warning(
                "drain fenced: store lease lost, batch abandoned to its new holder",
                stores=lost,
                stage=stage,
                transactions=transactions,
                holder=self.holder,
            )

    async def keep_alive(self, stop: asyncio.Event) -> None:
        """Renew the heartbeat and every held store every ``renew_s`` until ``stop``."""
        while not stop.is_set():
            await idle(stop, self.renew_s)
            if stop.is_set():
                return
            try:
                async with self._turn:
                    await self._renew()
            except Exception as exc:  # a database blip: the next round retries; commits stay fenced
                _log.warning("drain lease renewal failed", error=str(exc), holder=self.holder)

    async def release_all(self) -> None:
        """Give every lease up at once (a clean stop: the others need not wait for the TTL)."""
        async with self._turn:
            for store in list(self.tokens):
                await self._release(store)
            if self._beat is not None:
                await self.leases.release(self.heartbeat, self.holder, self._beat)
                self._beat = None
            HELD.set(0)

    async def _renew(self) -> None:
        tokens = {lease_name(store): token for store, token in self.tokens.items()}
        if self._beat is not None:
            tokens[self.heartbeat] = self._beat
        renewed = await self.leases.renew_many(self.holder, tokens, self.ttl_s)
        self._renewed_at = time.monotonic()
        if self.heartbeat not in renewed:
            self._beat = None
        lost = [store for store in self.tokens if lease_name(store) not in renewed]
        for store in lost:
            del self.tokens[store]
        if lost:
            _log.warning("drain store leases expired", stores=lost, holder=self.holder)

    async def _release(self, store: str) -> None:
        token = self.tokens.pop(store)
        await self.leases.release(lease_name(store), self.holder, token)

    async def _take(self, candidates: list[str], wanted: int) -> None:
        free = await self.leases.available(lease_name(store) for store in candidates)
        stores = sorted(name.removeprefix(STORE_PREFIX) for name in free)
        self.shuffle(stores)
        for store in stores:
            if wanted <= 0:
                return
            token = await self.leases.acquire(lease_name(store), self.holder, self.ttl_s)
            if token is not None:
                self.tokens[store] = token
                wanted -= 1
