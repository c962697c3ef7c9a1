"""Store sales into Odoo: the batched connector against a naive one-call-per-record client.

    .venv/bin/python bench/odoo_ingest.py [--sales 500] [--lines 3] [--version 17]
        [--odoo-url URL --odoo-db DB --odoo-user USER (--odoo-password PW | --odoo-api-key KEY)]

Without ``--odoo-url`` each run gets its own fresh Odoo emulator (same starting
state) over real HTTP on 127.0.0.1. The connector records all sales with ``record_store_sales``; the
baseline records the same number of (different) sales the way a simple
integration would: per sale, look up each product, look for the order, send it.
Prints a table and, as its last line, one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import random
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from storelink.config.sections import OdooSettings
from storelink.model import Payment, PaymentMethod, Product, Sale, SaleLine, StockPosition, Store
from storelink.odoo import OdooConnector, open_connector
from storelink.odoo.sales import ticket_of_sale

STORE = Store(code="BNCH", name="Bench store", location="BNCH")
SKUS = [f"BENCH-{n:03d}" for n in range(40)]


@dataclass(frozen=True)
class Figures:
    sales: int
    seconds: float
    sales_per_s: float
    round_trips: int
    round_trips_per_sale: float


def make_sales(count: int, lines: int, rng: random.Random) -> list[Sale]:
    sales = []
    for _ in range(count):
        sale_lines = [
            SaleLine(
                sku=rng.choice(SKUS),
                quantity=Decimal(rng.randint(1, 3)),
                unit_price=Decimal(rng.randint(100, 2000)) / 100,
            )
            for _ in range(lines)
        ]
        total = sum((line.total for line in sale_lines), Decimal(0))
        sales.append(
            Sale(
                id=uuid.UUID(int=rng.getrandbits(128), version=4),
                store=STORE.code,
                occurred_at=datetime.now(UTC),
                currency="USD",
                lines=sale_lines,
                payments=[Payment(method=PaymentMethod.CARD, amount=total)],
            )
        )
    return sales


async def prepare(odoo: OdooConnector) -> None:
    await odoo.upsert_stores([STORE])
    await odoo.upsert_products([Product(sku=sku, name=f"Bench {sku}") for sku in SKUS])
    await odoo.apply_stock_counts(
        [
            StockPosition(
                sku=sku, location=STORE.code, on_hand=Decimal(100_000), as_of=datetime.now(UTC)
            )
            for sku in SKUS
        ]
    )


async def batched(odoo: OdooConnector, sales: list[Sale]) -> Figures:
    before, started = odoo.round_trips, time.perf_counter()
    results = await odoo.record_store_sales(sales)
    elapsed = time.perf_counter() - started
    assert sum(r.created for r in results) == len(sales), "every sale must be new"
    return _figures(len(sales), elapsed, odoo.round_trips - before)


async def naive(odoo: OdooConnector, sales: list[Sale]) -> Figures:
    """One call per record: what storelink does without batching, per sale."""
    client, dialect = odoo.client, odoo.client.dialect
    sales_path = odoo.store_sales
    before, started = odoo.round_trips, time.perf_counter()
    for sale in sales:
        ticket = ticket_of_sale(sale)
        products: dict[str, int] = {}
        for line in ticket.lines:
            rows = await client.call(
                "product.product", "search_read",
                domain=[["default_code", "=", line.sku]], fields=["id"], limit=1,
            )  # fmt: skip
            products[line.sku] = int(rows[0]["id"])
        store = (await client.call(
            "stock.warehouse", "search_read", domain=[["code", "=", sale.store]], fields=["id"]
        ))[0]  # fmt: skip
        del store
        config = (await client.call(
            "pos.config", "search_read", domain=[["name", "=", sale.store]], fields=["id"]
        ))[0]  # fmt: skip
        tills = await sales_path._tills_for({int(config["id"])})
        key = "uuid" if dialect.major >= 18 else "pos_reference"
        value = str(ticket.uuid) if dialect.major >= 18 else ticket.reference
        if await client.call("pos.order", "search", domain=[[key, "=", value]]):
            continue
        values = sales_path._order_values(ticket, tills[int(config["id"])], products, {})
        payload = [dialect.pos_wrap(str(ticket.uuid), values)]
        await client.call("pos.order", dialect.pos_sync_method, **dialect.pos_sync_params(payload))
    elapsed = time.perf_counter() - started
    return _figures(len(sales), elapsed, odoo.round_trips - before)


def _figures(count: int, seconds: float, trips: int) -> Figures:
    return Figures(
        sales=count,
        seconds=round(seconds, 3),
        sales_per_s=round(count / seconds, 1),
        round_trips=trips,
        round_trips_per_sale=round(trips / count, 3),
    )


@asynccontextmanager
async def odoo_settings(args: argparse.Namespace) -> AsyncIterator[tuple[OdooSettings, str]]:
    if args.odoo_url:
        yield (
            OdooSettings(
                url=args.odoo_url,
                database=args.odoo_db,
                user=args.odoo_user,
                password=args.odoo_password,
                api_key=args.odoo_api_key,
                batch_size=args.batch_size,
            ),
            args.odoo_url,
        )
        return
    emulator: Any = importlib.import_module("storelink.emulator")
    emu = emulator.OdooEmulator(version=args.version)
    async with emulator.serve_emulator(emu) as url:
        yield (
            OdooSettings(
                url=url,
                database="storelink",
                user="admin",
                password="admin",
                api_key="storelink-test-key" if args.version == "19" else None,
                batch_size=args.batch_size,
            ),
            f"emulator {args.version}",
        )


async def measure(args: argparse.Namespace, method: str, sales: list[Sale]) -> tuple[Figures, str]:
    """One run on its own emulator (same starting state for both), or on the given Odoo."""
    async with odoo_settings(args) as (settings, target), open_connector(settings) as odoo:
        await prepare(odoo)
        figures = await (batched if method == "batched" else naive)(odoo, sales)
    return figures, target


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    baseline, target = await measure(args, "naive", make_sales(args.sales, args.lines, rng))
    connector, _ = await measure(args, "batched", make_sales(args.sales, args.lines, rng))
    speedup = round(connector.sales_per_s / baseline.sales_per_s, 2)
    fewer = round(baseline.round_trips / max(connector.round_trips, 1), 1)
    table = Table(title=f"{args.sales} store sales x {args.lines} lines into Odoo ({target})")
    for column in ("run", "seconds", "sales/s", "round trips", "round trips/sale"):
        table.add_column(column, justify="right")
    for name, f in (("naive (baseline)", baseline), ("connector", connector)):
        table.add_row(
            name,
            f"{f.seconds}",
            f"{f.sales_per_s}",
            f"{f.round_trips}",
            f"{f.round_trips_per_sale}",
        )
    console = Console()
    console.print(table)
    console.print(
        f"sales/s ratio {speedup}x (target >= 5x); round trips {fewer}x fewer (target >= 10x)"
    )
    print(
        json.dumps(
            {
                "target": target,
                "sales": args.sales,
                "lines_per_sale": args.lines,
                "baseline": asdict(baseline),
                "connector": asdict(connector),
                "sales_per_s_ratio": speedup,
                "round_trips_ratio": fewer,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=500)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument("--version", choices=["16", "17", "18", "19"], default="17")
    parser.add_argument("--odoo-url")
    parser.add_argument("--odoo-db")
    parser.add_argument("--odoo-user")
    parser.add_argument("--odoo-password")
    parser.add_argument("--odoo-api-key")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
