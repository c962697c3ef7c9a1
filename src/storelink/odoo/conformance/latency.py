"""Measuring a real Odoo's latency: time every call at several batch sizes, fit, write.

``storelink odoo measure-latency --odoo-url … --odoo-db …`` runs, through a
:class:`TimingTransport`:

1. the store sales path at each batch size of :data:`SIZES` (``ROUNDS`` batches
   each: the dedupe read, the version's POS sync, the read-back), stock counts
   and stock reads at the same sizes, and the one-sale-per-call path of
   ``bench/odoo_ingest.py``'s baseline;
2. the conformance scenario once, so every other call the connector makes has
   at least one timing.

It writes to the database (fresh codes each run): give it a scratch one. The
fitted :class:`~storelink.odoo.latency.LatencyModel` goes to
``src/storelink/emulator/latency/<series>.json``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx2

from storelink.model import Payment, PaymentMethod, Product, Sale, SaleLine, StockPosition, Store
from storelink.odoo.client import ConnectOptions, connect
from storelink.odoo.conformance.record import record
from storelink.odoo.conformance.transport import decode, read_back
from storelink.odoo.connector import OdooConnector
from storelink.odoo.latency import LatencyModel, Sample, fit, sized_call
from storelink.odoo.retry import RetryPolicy

#: batch sizes timed (the bench and the sandbox use 200 and 1000; Odoo's cost is linear)
SIZES = (1, 10, 50, 200)
#: batches per size
ROUNDS = 3
LINES_PER_SALE = 3


class TimingTransport(httpx2.AsyncBaseTransport):
    """Passes requests to ``inner``; keeps a :class:`Sample` per JSON-RPC/XML-RPC call."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.samples: list[Sample] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        started = time.perf_counter()
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        seconds = time.perf_counter() - started
        entry = decode(request.url.path, body, response.status_code, content)
        if entry.get("protocol") in ("jsonrpc", "xmlrpc"):
            self.samples.append(Sample(*sized_call(entry), seconds))
        return read_back(response, content, request)

    async def aclose(self) -> None:
        """Leave ``inner`` open: the connector and the recorder close their clients."""


def _sale(store: str, skus: list[str], n: int) -> Sale:
    lines = [
        SaleLine(sku=skus[(n + k) % len(skus)], quantity=Decimal(1 + k), unit_price=Decimal("2.5"))
        for k in range(LINES_PER_SALE)
    ]
    total = sum((line.total for line in lines), Decimal(0))
    return Sale(
        id=uuid.uuid4(),
        store=store,
        occurred_at=datetime.now(UTC),
        currency="USD",
        lines=lines,
        payments=[Payment(method=PaymentMethod.CASH, amount=total)],
    )


async def _workload(connector: OdooConnector, progress: Callable[[str], None]) -> None:
    tag = uuid.uuid4().hex[:4].upper()
    store = Store(code=f"L{tag}", name=f"Latency {tag}", location=f"L{tag}", currency="USD")
    products = [Product(sku=f"LAT-{tag}-{n:03d}", name=f"Latency {n}") for n in range(max(SIZES))]
    skus = [p.sku for p in products]
    progress("estate")
    await connector.upsert_stores([store])
    await connector.upsert_products(products)
    client = connector.client
    for size in SIZES:
        client.batch_size = size
        progress(f"batches of {size}")
        sales = [_sale(store.code, skus, n) for n in range(size * ROUNDS)]
        await connector.record_store_sales(sales)
        for start in range(0, size * ROUNDS, size):
            now = datetime.now(UTC)
            counts = [
                StockPosition(sku=sku, location=store.code, on_hand=Decimal(500 + start), as_of=now)
                for sku in skus[:size]
            ]
            await connector.apply_stock_counts(counts)
        await connector.read_stock_positions([store.code])
    client.batch_size = 1
    progress("one sale per call")
    for n in range(ROUNDS * 3):
        await connector.record_store_sales([_sale(store.code, skus, n)])


async def measure(
    options: ConnectOptions, *, progress: Callable[[str], None] | None = None
) -> LatencyModel:
    """Time the connector's calls against ``options.url`` and fit a model of them."""
    say = progress or (lambda _: None)
    timing = TimingTransport(httpx2.AsyncHTTPTransport())
    timed = replace(options, transport=timing, retry=RetryPolicy(attempts=1))
    try:
        client = await connect(timed)
        connector = OdooConnector(client)
        try:
            server: dict[str, Any] = await client.backend.version()  # type: ignore[assignment]
            await _workload(connector, say)
        finally:
            await connector.aclose()
        say("conformance scenario")
        await record(options, inner=timing)
    finally:
        await timing.inner.aclose()
    return fit(
        timing.samples,
        series=str(client.dialect.series),
        server_version=str(server.get("server_version", "")),
        measured={
            "command": "storelink odoo measure-latency",
            "sizes": list(SIZES),
            "rounds": ROUNDS,
            "lines_per_sale": LINES_PER_SALE,
            "calls_timed": len(timing.samples),
            "measured_at": datetime.now(UTC).date().isoformat(),
        },
    )
