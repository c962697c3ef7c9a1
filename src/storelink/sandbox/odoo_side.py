"""Odoo as the sandbox drives and reads it: the emulator by default, or a real database.

The sandbox talks to Odoo through its own connector, separate from the hub's:
to seed the estate, to play the back-office user who changes prices and counts
stock, and to read everything back for verification. Sales are read back as
raw ``pos.order`` records (``pos_reference`` = ``storelink/<store>/<uuid>``; from 18,
for an order without it — sent before storelink sent one, or given Odoo's own —
the ``uuid`` and the POS config named after the store) and fallback ``sale.order``
records (``client_order_ref`` = ``pos:<store>:<uuid>``),
so a record the connector would not recognise still shows up as a stranger.
Only records created since :meth:`ConnectedOdoo.prepare` took its snapshot are
read back: what an earlier run left in the same Odoo is not this run's.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import httpx2

from storelink.config.sections import OdooSettings
from storelink.errors import OdooError, UsageError
from storelink.hub import bind
from storelink.model import Price, PriceScopeKind, StockPosition, utcnow
from storelink.odoo import OdooConnector, check, open_connector
from storelink.odoo.latency import emulator_label, emulator_model
from storelink.ops import async_client
from storelink.sandbox.cleanup import CleanupResult, clean_up
from storelink.sandbox.estate import Estate
from storelink.sandbox.ledger import RunMarks, Snapshot, reactivate, take_snapshot
from storelink.sandbox.verify import TxnKey

#: stock counts applied per call while seeding
PAGE = 2000
#: how long the emulator process may take to answer its health check
EMULATOR_START_S = 30.0
#: the Odoo version the sandbox's own emulator plays
EMULATED = "17"


def _key(reference: object, amount: object, separator: str, prefix: str) -> TxnKey | None:
    if not isinstance(reference, str) or not reference.startswith(prefix):
        return None
    parts = reference[len(prefix) :].split(separator)
    if len(parts) != 2:
        return None
    if Decimal(str(amount)) < 0:
        return ("return", parts[0], parts[1])
    return ("sale", parts[0], parts[1])


class ConnectedOdoo:
    """An :class:`~storelink.sandbox.estate_run.OdooSide` over a connector."""

    def __init__(self, settings: OdooSettings, connector: OdooConnector, name: str) -> None:
        self.settings = settings
        self.connector = connector
        #: which Odoo this is: ``real 17.0-20240709``, ``emulator 17 (fast)`` …
        self.name = name
        #: Odoo before the run wrote (see :mod:`storelink.sandbox.ledger`)
        self.snapshot: Snapshot | None = None

    async def prepare(self, estate: Estate) -> None:
        """Snapshot Odoo before the run writes; revive estate records a cleanup archived."""
        client = self.connector.client
        pos = await self.connector.lookups.has_pos()
        self.snapshot = await take_snapshot(client, [s.code for s in estate.stores], pos=pos)
        if await reactivate(client, self.snapshot):
            self.connector.lookups.forget()

    async def clean_up(self, marks: RunMarks) -> CleanupResult:
        """Remove what the run created (see :mod:`storelink.sandbox.cleanup`)."""
        return await clean_up(self.connector.client, self.snapshot, marks)

    def _since(self, model: str) -> list[Any]:
        return [self.snapshot.newer(model)] if self.snapshot is not None else []

    async def currency(self) -> str:
        """The company currency: the estate trades in it so Odoo needs nothing activated."""
        (company,) = await self.connector.client.search_read(
            "res.company", [], ["currency_id"], order="id", limit=1
        )
        currency = company["currency_id"]
        return str(currency[1] if isinstance(currency, list) else "EUR")

    async def seed(self, estate: Estate) -> None:
        odoo = self.connector
        await odoo.upsert_stores(list(estate.stores))
        await odoo.upsert_products(list(estate.products))
        await odoo.upsert_prices(list(estate.prices))
        now = utcnow()
        counts = [
            StockPosition(sku=sku, location=location, on_hand=quantity, as_of=now)
            for (sku, location), quantity in sorted(estate.stock.items())
        ]
        for start in range(0, len(counts), PAGE):
            await odoo.apply_stock_counts(counts[start : start + PAGE])

    async def change_prices(self, prices: Sequence[Price]) -> None:
        await self.connector.upsert_prices(list(prices))

    async def count_stock(self, counts: Sequence[StockPosition]) -> None:
        await self.connector.apply_stock_counts(list(counts))

    async def _all(self, model: str, domain: list[Any], fields: list[str]) -> list[dict[str, Any]]:
        # the client pages through every match in chunks of its batch size
        return await self.connector.client.search_read(model, domain, fields, order="id")

    async def transactions(self) -> list[TxnKey]:
        keys: list[TxnKey] = []
        if await self.connector.lookups.has_pos():
            # from 18 an order without storelink's reference (older storelink versions sent
            # none) is keyed by its uuid, the store being the config
            by_uuid = self.connector.client.dialect.major >= 18
            fields = ["pos_reference", "amount_total", *(["uuid", "config_id"] if by_uuid else [])]
            for row in await self._all("pos.order", self._since("pos.order"), fields):
                reference = row["pos_reference"]
                ours = isinstance(reference, str) and reference.startswith("storelink/")
                if by_uuid and not ours and row.get("uuid") and row.get("config_id"):
                    reference = f"storelink/{row['config_id'][1]}/{row['uuid']}"
                key = _key(reference, row["amount_total"], "/", "storelink/")
                keys.append(key or ("sale", "?", f"pos.order#{row['id']} {reference}"))
        for row in await self._all(
            "sale.order",
            [["client_order_ref", "=like", "pos:%"], *self._since("sale.order")],
            ["client_order_ref", "amount_total"],
        ):
            key = _key(row["client_order_ref"], row["amount_total"], ":", "pos:")
            keys.append(key or ("sale", "?", f"sale.order#{row['id']}"))
        return keys

    async def channel_orders(self, channel: str) -> list[tuple[str, str]]:
        """``(external ref, state)`` per ``sale.order`` of ``channel`` (``<channel>:<ref>``)."""
        prefix = f"{channel}:"
        rows = await self._all(
            "sale.order",
            [["client_order_ref", "=like", f"{prefix}%"], *self._since("sale.order")],
            ["client_order_ref", "state"],
        )
        return [(str(row["client_order_ref"])[len(prefix) :], str(row["state"])) for row in rows]

    async def stock(self, estate: Estate) -> dict[str, dict[str, Decimal]]:
        store_of = {s.location: s.code for s in estate.stores}
        stock: dict[str, dict[str, Decimal]] = {s.code: {} for s in estate.stores}
        for position in await self.connector.read_stock_positions(list(store_of)):
            stock[store_of[position.location]][position.sku] = position.on_hand
        return stock

    async def prices(self, estate: Estate) -> dict[str, dict[str, Decimal]]:
        now = utcnow()
        best: dict[tuple[str, str], Price] = {}
        for price in await self.connector.read_prices():
            if price.scope.kind is not PriceScopeKind.STORE:
                continue
            if price.valid_from > now or (price.valid_to is not None and price.valid_to <= now):
                continue
            key = (price.scope.code, price.sku)
            if key not in best or price.version > best[key].version:
                best[key] = price
        prices: dict[str, dict[str, Decimal]] = {s.code: {} for s in estate.stores}
        for (store, sku), price in best.items():
            prices.setdefault(store, {})[sku] = price.amount
        return prices


@asynccontextmanager
async def emulator_process(
    version: str = "17", *, latency: str = "fast", workers: int = 1
) -> AsyncIterator[str]:
    """``storelink odoo emulate`` in a child process on a free loopback port; yields its URL.

    A process of its own gives the emulator the machine's second core: in the
    sandbox's one event loop it would compete with the hub and every agent.
    ``latency="real"`` makes it answer as slowly as the measured real Odoo
    (``workers`` calls at once).
    """
    # the child serves on a socket bound here: no other program can take the port between
    # choosing it and the child listening on it
    with bind("127.0.0.1", 0) as listener:
        port = int(listener.getsockname()[1])
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "storelink.cli",
            "odoo",
            "emulate",
            "--fd",
            str(listener.fileno()),
            "--version",
            version,
            "--latency",
            latency,
            "--workers",
            str(workers),
            pass_fds=(listener.fileno(),),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with async_client(base_url=url, timeout=2.0) as client:
            async with asyncio.timeout(EMULATOR_START_S):
                while True:
                    if process.returncode is not None:
                        raise OdooError(f"the Odoo emulator exited with {process.returncode}")
                    try:
                        if (await client.get("/web/health")).status_code == 200:
                            break
                    except httpx2.TransportError:
                        pass
                    await asyncio.sleep(0.05)
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                async with asyncio.timeout(5):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()


@asynccontextmanager
async def open_odoo_side(settings: OdooSettings) -> AsyncIterator[ConnectedOdoo]:
    """The configured Odoo, or a fresh emulator when ``settings.url`` is None."""
    if settings.url is not None:
        # a real Odoo gets the readiness report first: nothing is written to an Odoo
        # that lacks a module or an access right the run needs
        readiness = await check(settings)
        if not readiness.ready:
            raise UsageError(
                "the Odoo at --odoo-url is not ready for the sandbox", problems=readiness.problems
            )
        async with open_connector(settings) as connector:
            server = await connector.client.backend.version()
            name = f"real {server.get('server_version', connector.version)}"
            yield ConnectedOdoo(settings, connector, name)
        return
    version, latency = EMULATED, settings.emulator_latency
    # a version never measured fails here, in one line, not in the child process
    name = emulator_label(version, emulator_model(version, latency, settings.emulator_workers))
    async with emulator_process(version, latency=latency, workers=settings.emulator_workers) as url:
        served = OdooSettings.model_validate(
            {
                **settings.model_dump(exclude={"url", "database", "user", "password"}),
                "url": url,
                "database": "storelink",
                "user": "admin",
                "password": "admin",
            }
        )
        async with open_connector(served) as connector:
            yield ConnectedOdoo(served, connector, name)
