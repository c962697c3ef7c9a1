"""Store agent: durable sale recording and lookups at the POS API, and the backlog drain rate.

    .venv/bin/python bench/agent.py [--tills 8] [--sales 2000] [--stores 20] [--backlog 10000]

* recording: p50/p99 of ``POST /v1/sales`` on a real agent process under
  concurrent tills, against a plain SQLite insert with ``synchronous=FULL``
  (one row per commit) measured in the same run;
* lookup: p50/p99 of ``GET /v1/products?barcode=…`` under the same tills;
* drain: sales/s from the agents' queues into the Odoo emulator for a backlog
  spread over many stores (upload → hub → drain in batches), against the naive
  path (each sale sent to Odoo on its own) measured in the same run.

Targets: recording p99 <= 25 ms, lookup p99 <= 5 ms, drain >= 5x naive.
Prints a table and, as its very last line, one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx2
from rich.console import Console
from rich.table import Table

from storelink.edge import LocalDatabase, Replica
from storelink.model import Price, PriceScope, PriceScopeKind, Product, utcnow
from storelink.sync import Dataset, DeltaPage, StockRow

SKUS = [f"SKU-{i:04d}" for i in range(500)]


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- recording and lookup -------------------------------------------------------------


def baseline_insert(path: Path, count: int) -> list[float]:
    """Plain SQLite: one INSERT per committed transaction, WAL, synchronous=FULL."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=FULL")
    connection.execute("CREATE TABLE sales (uuid TEXT PRIMARY KEY, body TEXT NOT NULL)")
    samples = []
    body = json.dumps({"lines": [{"sku": "SKU-0001", "quantity": "1"}]})
    for _ in range(count):
        started = time.perf_counter()
        connection.execute("BEGIN")
        connection.execute("INSERT INTO sales VALUES (?, ?)", (str(uuid4()), body))
        connection.execute("COMMIT")
        samples.append(time.perf_counter() - started)
    connection.close()
    return samples


def spawn(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def seed_agent_database(path: Path, store: str) -> None:
    now = utcnow()
    database = LocalDatabase(path)
    replica = Replica(database)
    pages = [
        DeltaPage(
            dataset=Dataset.PRODUCTS,
            after=0,
            until=1,
            more=False,
            products=[
                Product(sku=sku, name=f"Product {sku}", barcode=f"400{i:05d}")
                for i, sku in enumerate(SKUS)
            ],
        ),
        DeltaPage(
            dataset=Dataset.PRICES,
            after=0,
            until=1,
            more=False,
            prices=[
                Price(
                    sku=sku,
                    scope=PriceScope(kind=PriceScopeKind.STORE, code=store),
                    amount=Decimal("2.50"),
                    currency="EUR",
                    version=1,
                    valid_from=now - timedelta(days=1),
                )
                for sku in SKUS
            ],
        ),
        DeltaPage(
            dataset=Dataset.STOCK,
            after=0,
            until=1,
            more=False,
            location=store,
            stock=[
                StockRow(sku=sku, on_hand=Decimal(1000), reserved=Decimal(0), as_of=now, revision=1)
                for sku in SKUS
            ],
        ),
    ]
    for page in pages:
        await replica.apply(page, now)
    database.close()


class Till:
    """A minimal keep-alive HTTP/1.1 client: the till's own cost must not be what is measured
    (a full client library costs more CPU per request than the agent's answer)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = f"{method} {path} HTTP/1.1\r\nhost: agent\r\ncontent-length: {len(body)}\r\n"
        if body:
            head += "content-type: application/json\r\n"
        self.writer.write(head.encode() + b"\r\n" + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        payload = await self.reader.readexactly(length)
        return int(status_line.split()[1]), payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def tills(
    count: int,
    per_till: int,
    call: Callable[[Till, int], Awaitable[None]],
    port: int,
    *,
    interval_s: float = 0.0,
) -> tuple[list[float], float]:
    """``count`` tills each making ``per_till`` calls, one every ``interval_s`` (0: back to
    back, i.e. saturation). Returns every call's latency and the calls per second achieved."""
    samples: list[float] = []

    async def one(number: int) -> None:
        till = Till(port)
        try:
            # tills start spread over one interval, as real ones are not in lockstep
            start = time.perf_counter() + interval_s * number / count
            for index in range(per_till):
                delay = start + index * interval_s - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                started = time.perf_counter()
                await call(till, number * per_till + index)
                samples.append(time.perf_counter() - started)
        finally:
            await till.close()

    began = time.perf_counter()
    await asyncio.gather(*(one(t) for t in range(count)))
    return samples, len(samples) / (time.perf_counter() - began)


async def measure_pos(
    work: Path, till_count: int, sales: int, sale_every_s: float, lookup_every_s: float
) -> dict[str, float]:
    store, port = "B1", free_port()
    database = work / "agent-B1.db"
    await seed_agent_database(database, store)
    env = {
        **os.environ,
        "STORELINK_DATA_DIR": str(work),
        "STORELINK_OBSERVABILITY__LOG_LEVEL": "error",
        # no hub: the agent is offline, which is when the till depends on it most
        "STORELINK_AGENT__BACKOFF_CAP_S": "5",
    }
    command = [sys.executable, "-m", "storelink.cli", "agent", "run", "--store", store]
    command += ["--hub", "http://127.0.0.1:9", "--port", str(port), "--database", str(database)]
    process = spawn(command, env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        async with httpx2.AsyncClient(base_url=url, timeout=1) as probe:
            while True:
                try:
                    if (await probe.get("/healthz")).status_code == 200:
                        break
                except httpx2.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("agent did not start")
                await asyncio.sleep(0.05)

        async def sale(till: Till, n: int) -> None:
            body = {
                "uuid": str(uuid4()),
                "lines": [{"sku": SKUS[n % len(SKUS)], "quantity": "1"}],
                "payments": [{"method": "card", "amount": "2.50"}],
            }
            status, payload = await till.request("POST", "/v1/sales", json.dumps(body).encode())
            assert status == 201, payload

        async def lookup(till: Till, n: int) -> None:
            status, _ = await till.request("GET", f"/v1/products?barcode=400{n % 500:05d}")
            assert status == 200

        per_till = max(1, sales // till_count)
        await tills(till_count, 20, sale, port)  # warm-up
        recording, _ = await tills(till_count, per_till, sale, port, interval_s=sale_every_s)
        lookups, _ = await tills(till_count, per_till, lookup, port, interval_s=lookup_every_s)
        _, sale_saturation = await tills(till_count, per_till // 2, sale, port)
        _, lookup_saturation = await tills(till_count, per_till // 2, lookup, port)
    finally:
        process.terminate()
        process.wait(timeout=10)
    baseline = baseline_insert(work / "baseline.db", len(recording))
    ms = 1000.0
    return {
        "tills": till_count,
        "sale_every_s_per_till": sale_every_s,
        "lookup_every_s_per_till": lookup_every_s,
        "sales_recorded": len(recording),
        "record_p50_ms": round(statistics.median(recording) * ms, 3),
        "record_p99_ms": round(percentile(recording, 99) * ms, 3),
        "baseline_insert_p50_ms": round(statistics.median(baseline) * ms, 3),
        "baseline_insert_p99_ms": round(percentile(baseline, 99) * ms, 3),
        "lookup_p50_ms": round(statistics.median(lookups) * ms, 3),
        "lookup_p99_ms": round(percentile(lookups, 99) * ms, 3),
        "record_saturation_per_s": round(sale_saturation, 1),
        "lookup_saturation_per_s": round(lookup_saturation, 1),
    }


# --- drain ----------------------------------------------------------------------------


# --- drain ----------------------------------------------------------------------------


def start_emulator(port: int, latency: str) -> subprocess.Popen[bytes]:
    """The Odoo emulator in its own process, as a real Odoo would be (``latency``: fast|real)."""
    command = [sys.executable, "-m", "storelink.cli", "odoo", "emulate", "--port", str(port)]
    return spawn([*command, "--version", "17", "--latency", latency], dict(os.environ))


def emulator_name(latency: str) -> str:
    from storelink.odoo.latency import emulator_label, emulator_model

    return emulator_label("17", emulator_model("17", latency))


async def wait_http(url: str) -> None:
    deadline = time.monotonic() + 30
    async with httpx2.AsyncClient(timeout=1) as probe:
        while True:
            try:
                if (await probe.get(url)).status_code < 500:
                    return
            except httpx2.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up")
            await asyncio.sleep(0.05)


async def measure_drain(
    work: Path, store_count: int, backlog: int, naive: int, latency: str
) -> dict[str, Any]:
    from sqlalchemy import func, insert, select

    from storelink.api.app import create_app
    from storelink.api.principal import Role
    from storelink.config import Settings
    from storelink.db import create_engine, upgrade
    from storelink.db.tables import stores
    from storelink.edge import Agent, AgentConfig, SaleRequest
    from storelink.hub import serve_app
    from storelink.model import Payment, PaymentMethod, Sale, SaleLine, StockPosition, Store
    from storelink.odoo import open_connector
    from storelink.sync import Drain
    from storelink.sync.connector_writer import ConnectorWriter
    from storelink.sync.tables import sync_transactions

    port = free_port()
    emulator = start_emulator(port, latency)
    codes = [f"S{i:02d}" for i in range(store_count)]
    skus = SKUS[:50]
    settings = Settings.model_validate(
        {
            "data_dir": work / "hub",
            "database_url": f"sqlite+aiosqlite:///{(work / 'hub.db').as_posix()}",
            "odoo": {
                "url": f"http://127.0.0.1:{port}",
                "database": "storelink",
                "user": "admin",
                "password": "admin",
            },
            "observability": {"log_level": "error"},
        }
    )
    engine = create_engine(settings.effective_database_url)
    agents: list[Agent] = []
    try:
        await wait_http(f"http://127.0.0.1:{port}/web/health")
        await upgrade(engine)
        async with open_connector(settings.odoo) as odoo:
            await odoo.upsert_stores([Store(code=c, name=c, location=c) for c in codes])
            await odoo.upsert_products([Product(sku=s, name=s) for s in skus])
            await odoo.apply_stock_counts(
                [
                    StockPosition(sku=s, location=c, on_hand=Decimal(10_000), as_of=utcnow())
                    for s in skus
                    for c in codes
                ]
            )
        now = utcnow()
        async with engine.begin() as connection:
            await connection.execute(
                insert(stores),
                [
                    {
                        "code": c,
                        "name": c,
                        "location": c,
                        "currency": "USD",
                        "timezone": "UTC",
                        "pricelist": None,
                        "active": True,
                        "updated_at": now,
                    }
                    for c in codes
                ],
            )
        app = create_app(settings, engine=engine, migrate=False)
        async with serve_app(app) as hub_url:
            for code in codes:
                client = await app.state.hub.tokens.add_client(
                    Role.STORE, store=code, rate_per_s=10_000, burst=10_000
                )
                agent = Agent(
                    AgentConfig(
                        store=code,
                        hub_url=hub_url,
                        database=work / f"agent-{code}.db",
                        client_id=client.client_id,
                        client_secret=client.secret,
                    )
                )
                agents.append(agent)
                for page in catalog(code, skus):
                    await agent.replica.apply(page, now)
            per_store = backlog // len(codes)
            # the backlog: every store sold offline; record it through the agents' recorders
            await asyncio.gather(
                *(
                    agent.recorder.record_sale(
                        SaleRequest.model_validate(
                            {
                                "lines": [{"sku": skus[n % len(skus)], "quantity": "1"}],
                                "payments": [{"method": "cash", "amount": "2.50"}],
                            }
                        )
                    )
                    for agent in agents
                    for n in range(per_store)
                )
            )
            total = per_store * len(codes)
            # the agents have been online before (token, cursors): only the drain is timed
            await asyncio.gather(*(agent.downloader.run_once() for agent in agents))
            async with open_connector(settings.odoo) as odoo:
                drain = Drain(engine, ConnectorWriter(odoo))
                stop = asyncio.Event()
                started = time.perf_counter()
                workers = [asyncio.create_task(drain.run(stop))]
                workers += [asyncio.create_task(a.uploader.run(stop, idle_s=0.2)) for a in agents]

                async def written() -> int:
                    async with engine.connect() as connection:
                        query = select(func.count()).where(sync_transactions.c.status == "written")
                        return int((await connection.execute(query)).scalar_one())

                while await written() < total:  # noqa: ASYNC110 (polling another system)
                    await asyncio.sleep(0.1)
                elapsed = time.perf_counter() - started
                stop.set()
                await asyncio.gather(*workers)
                round_trips = odoo.round_trips
                # the naive path on the same Odoo (same data volume): each sale its own call
                started = time.perf_counter()
                for n in range(naive):
                    sale = Sale(
                        id=uuid4(),
                        store=codes[n % len(codes)],
                        occurred_at=utcnow(),
                        currency="USD",
                        lines=[SaleLine(sku=skus[n % len(skus)], quantity=1, unit_price=2)],
                        payments=[Payment(method=PaymentMethod.CASH, amount=2)],
                    )
                    await odoo.record_store_sales([sale])
                naive_rate = naive / (time.perf_counter() - started)
    finally:
        for agent in agents:
            await agent.aclose()
        await engine.dispose()
        emulator.terminate()
        emulator.wait(timeout=10)
    drain_rate = total / elapsed
    return {
        "drain_odoo": emulator_name(latency),
        "drain_stores": len(codes),
        "drain_backlog_sales": total,
        "drain_elapsed_s": round(elapsed, 2),
        "drain_sales_per_s": round(drain_rate, 1),
        "naive_sales_sampled": naive,
        "naive_sales_per_s": round(naive_rate, 1),
        "drain_vs_naive": round(drain_rate / naive_rate, 2),
        "drain_odoo_round_trips": round_trips,
    }


def catalog(store: str, skus: list[str]) -> list[DeltaPage]:
    now = utcnow()
    return [
        DeltaPage(
            dataset=Dataset.PRODUCTS,
            after=0,
            until=1,
            more=False,
            products=[Product(sku=s, name=s) for s in skus],
        ),
        DeltaPage(
            dataset=Dataset.PRICES,
            after=0,
            until=1,
            more=False,
            prices=[
                Price(
                    sku=s,
                    scope=PriceScope(kind=PriceScopeKind.STORE, code=store),
                    amount=Decimal("2.50"),
                    currency="USD",
                    version=1,
                    valid_from=now - timedelta(days=1),
                )
                for s in skus
            ],
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tills", type=int, default=8)
    parser.add_argument("--sales", type=int, default=2000)
    parser.add_argument(
        "--sale-every", type=float, default=0.1, help="seconds between sales at one till"
    )
    parser.add_argument(
        "--lookup-every", type=float, default=0.05, help="seconds between scans at one till"
    )
    parser.add_argument("--stores", type=int, default=20)
    parser.add_argument("--backlog", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=300, help="sales sent one by one")
    parser.add_argument(
        "--latency",
        choices=["fast", "real"],
        default="fast",
        help="the drain's Odoo emulator: as fast as it can, or as slow as the measured real 17",
    )
    parser.add_argument("--skip-pos", action="store_true")
    parser.add_argument("--skip-drain", action="store_true")
    args = parser.parse_args()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as directory:
        if not args.skip_pos:
            figures.update(
                asyncio.run(
                    measure_pos(
                        Path(directory), args.tills, args.sales, args.sale_every, args.lookup_every
                    )
                )
            )
            figures["record_p99_vs_baseline_p99"] = round(
                figures["record_p99_ms"] / figures["baseline_insert_p99_ms"], 2
            )
            figures["record_p99_target_met"] = figures["record_p99_ms"] <= 25
            figures["lookup_p99_target_met"] = figures["lookup_p99_ms"] <= 5
    with tempfile.TemporaryDirectory() as directory:
        if not args.skip_drain:
            figures.update(
                asyncio.run(
                    measure_drain(
                        Path(directory), args.stores, args.backlog, args.naive, args.latency
                    )
                )
            )
            figures["drain_target_met"] = figures["drain_vs_naive"] >= 5
    table = Table(title="storelink agent")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in figures.items():
        table.add_row(name, str(value))
    Console().print(table)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
