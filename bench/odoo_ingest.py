"""Store sales into Odoo: the batched connector against a naive one-call-per-record client.

    .venv/bin/python bench/odoo_ingest.py [--sales 500] [--lines 3] [--version 17] [--repeat 3]
        [--odoo-url URL --odoo-db DB --odoo-user USER (--odoo-password PW | --odoo-api-key KEY)]
        [--latency real [--workers 1]]

Without ``--odoo-url`` each run gets its own fresh Odoo emulator (same starting
state) over real HTTP on 127.0.0.1 — as fast as it can, or with ``--latency real`` as
slow as the measured real Odoo of ``--version`` (:mod:`storelink.odoo.latency`). The
connector records all sales with ``record_store_sales``; the baseline records the
same number of (different) sales the way a simple integration would: per sale, look
up each product, look for the order, send it.
Odoo's own batched ceiling is a third run: the same number of sales written by a
minimal client that calls Odoo's batched POS entry point itself over plain
JSON-RPC ``execute_kw`` (``pos.order.create_from_ui(orders, False)`` on 16/17 with
each order wrapped ``{"id": uid, "data": {...}}``, ``pos.order.sync_from_ui(orders)``
on 18+), one call per batch of ``--batch-size``, no storelink client in between. Its
set-up (store, products, an open POS session through one warm-up sale) goes
through the connector before timing starts.
Every run first records one untimed warm-up sale (the store's POS session is then
open, as the ceiling's client needs). Connector and ceiling runs are repeated
``--repeat`` times, interleaved, and their medians compared.
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

import httpx2
from rich.console import Console
from rich.table import Table

from storelink.config import load_settings
from storelink.config.sections import OdooSettings
from storelink.model import Payment, PaymentMethod, Product, Sale, SaleLine, StockPosition, Store
from storelink.odoo import OdooConnector, open_connector
from storelink.odoo.latency import LatencyModel, emulator_label, emulator_model
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


class MinimalRpc:
    """Plain JSON-RPC ``execute_kw`` over httpx2, positional args: the ceiling's whole client."""

    def __init__(self, http: httpx2.AsyncClient, database: str, password: str) -> None:
        self.http, self.database, self.password = http, database, password
        self.uid = 0
        self.calls = 0

    async def rpc(self, service: str, method: str, *args: Any) -> Any:
        self.calls += 1
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "params": {"service": service, "method": method, "args": list(args)},
            "id": self.calls,
        }
        response = await self.http.post("/jsonrpc", json=body)
        response.raise_for_status()
        answer = response.json()
        if "error" in answer:
            error = answer["error"]
            message = (error.get("data") or {}).get("message") or error.get("message")
            raise RuntimeError(f"Odoo refused {service}.{method}: {message}")
        return answer.get("result")

    async def execute(self, model: str, method: str, *args: Any) -> Any:
        return await self.rpc(
            "object",
            "execute_kw",
            self.database,
            self.uid,
            self.password,
            model,
            method,
            list(args),
        )


def ceiling_order(
    sale: Sale, major: int, uid: int, session_id: int, methods: tuple[int, int],
    products: dict[str, int],
) -> dict[str, Any]:  # fmt: skip
    """One sale as Odoo's POS sync method takes it (the values of ``StoreSales._order_values``)."""
    cash_method, other_method = methods
    when = sale.occurred_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    reference = f"storelink/{sale.store}/{sale.id}"
    total = sum((line.total for line in sale.lines), Decimal(0))
    paid = sum((p.amount for p in sale.payments), Decimal(0))
    lines = [
        [0, 0, {
            "product_id": products[line.sku],
            "qty": float(line.quantity),
            "price_unit": float(line.unit_price),
            "discount": 0.0,
            "price_subtotal": float(line.total),
            "price_subtotal_incl": float(line.total),
            "tax_ids": [[6, False, []]],
            "full_product_name": line.sku,
        }]
        for line in sale.lines
    ]  # fmt: skip
    payments = [
        [0, 0, {
            "amount": float(p.amount),
            "payment_method_id": cash_method if p.method is PaymentMethod.CASH else other_method,
            ("payment_date" if major >= 18 else "name"): when,
        }]
        for p in sale.payments
    ]  # fmt: skip
    values: dict[str, Any] = {
        "uuid": str(sale.id),
        ("session_id" if major >= 18 else "pos_session_id"): session_id,
        "user_id": uid,
        "partner_id": False,
        "pricelist_id": False,
        "fiscal_position_id": False,
        "to_invoice": False,
        "sequence_number": 0,
        "amount_total": float(total),
        "amount_paid": float(paid),
        "amount_tax": 0.0,
        "amount_return": 0.0,
        "lines": lines,
        ("payment_ids" if major >= 18 else "statement_ids"): payments,
    }
    if major >= 18:
        values.update(
            {"date_order": when, "state": "paid", "name": reference, "pos_reference": reference}
        )
        return values
    values.update(
        {"name": reference, "uid": str(sale.id), "creation_date": when, "date_order": when}
    )
    return {"id": str(sale.id), "data": values}


async def ceiling(settings: OdooSettings, sales: list[Sale], warmup: Sale) -> tuple[Figures, str]:
    """Odoo's own batched ceiling; returns its figures and Odoo's ``server_version``."""
    async with open_connector(settings) as odoo:
        await prepare(odoo)
        await odoo.record_store_sales([warmup])  # the store's POS session is now open
    secret = settings.password or settings.api_key
    password = secret.get_secret_value() if secret else ""
    async with httpx2.AsyncClient(base_url=str(settings.url).rstrip("/"), timeout=600) as http:
        client = MinimalRpc(http, settings.database or "", password)
        version = await client.rpc("common", "version")
        major = int(version["server_version_info"][0])
        client.uid = int(
            await client.rpc("common", "login", client.database, settings.user, password)
        )
        rows = await client.execute(
            "product.product", "search_read", [["default_code", "in", SKUS]], ["id", "default_code"]
        )
        products = {row["default_code"]: int(row["id"]) for row in rows}
        (config,) = await client.execute(
            "pos.config", "search_read", [["name", "=", STORE.code]], ["id", "payment_method_ids"]
        )
        (session,) = await client.execute(
            "pos.session", "search_read",
            [["config_id", "=", config["id"]], ["state", "=", "opened"]], ["id"],
        )  # fmt: skip
        methods = await client.execute(
            "pos.payment.method", "search_read",
            [["id", "in", config["payment_method_ids"]]], ["id", "is_cash_count"],
        )  # fmt: skip
        cash = [int(m["id"]) for m in methods if m["is_cash_count"]]
        other = [int(m["id"]) for m in methods if not m["is_cash_count"]]
        till = ((cash or other)[0], (other or cash)[0])
        method = "sync_from_ui" if major >= 18 else "create_from_ui"
        before, started = client.calls, time.perf_counter()
        for start in range(0, len(sales), settings.batch_size):
            orders = [
                ceiling_order(sale, major, client.uid, int(session["id"]), till, products)
                for sale in sales[start : start + settings.batch_size]
            ]
            if major >= 18:
                await client.execute("pos.order", method, orders)
            else:
                await client.execute("pos.order", method, orders, False)
        elapsed = time.perf_counter() - started
        trips = client.calls - before
        if major >= 18:
            key, values = "uuid", [str(sale.id) for sale in sales]
        else:
            key, values = "pos_reference", [f"storelink/{s.store}/{s.id}" for s in sales]
        written = await client.execute("pos.order", "search_count", [[key, "in", values]])
        assert written == len(sales), f"the minimal client wrote {written} of {len(sales)} sales"
    return _figures(len(sales), elapsed, trips), str(version["server_version"])


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
    emu = emulator.OdooEmulator(version=args.version, latency=latency_model(args))
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
            emulator_name(args),
        )


def latency_model(args: argparse.Namespace) -> LatencyModel | None:
    """The measured model the emulator answers with under ``--latency real``."""
    return emulator_model(args.version, args.latency, args.workers)


def emulator_name(args: argparse.Namespace) -> str:
    return emulator_label(args.version, latency_model(args))


async def measure(
    args: argparse.Namespace, method: str, sales: list[Sale], warmup: Sale
) -> tuple[Figures, str]:
    """One run on its own emulator (same starting state for each), or on the given Odoo.

    A warm-up sale goes first, untimed, so the store's POS session is open in every
    run (the ceiling's minimal client cannot open one): the runs time the same work.
    """
    async with odoo_settings(args) as (settings, target), open_connector(settings) as odoo:
        await prepare(odoo)
        await odoo.record_store_sales([warmup])
        figures = await (batched if method == "batched" else naive)(odoo, sales)
    return figures, target


async def measure_ceiling(
    args: argparse.Namespace, sales: list[Sale], warmup: Sale
) -> tuple[Figures, str]:
    """The ceiling on its own emulator (or the given Odoo); also which Odoo that was."""
    async with odoo_settings(args) as (settings, _):
        figures, server_version = await ceiling(settings, sales, warmup)
    odoo = f"real {server_version}" if args.odoo_url else emulator_name(args)
    return figures, odoo


def median(runs: list[Figures]) -> Figures:
    """The run of median throughput (the lower middle one of an even count)."""
    return sorted(runs, key=lambda f: f.sales_per_s)[(len(runs) - 1) // 2]


async def connector_and_ceiling(
    args: argparse.Namespace, rng: random.Random
) -> tuple[list[Figures], list[Figures], str]:
    """``--repeat`` rounds of connector and ceiling runs, interleaved, order alternating.

    A real server's speed drifts (its database grows, other load comes and goes);
    pairing the runs and alternating which goes first spreads that drift over both.
    """
    connector: list[Figures] = []
    top: list[Figures] = []
    odoo = ""
    for round_ in range(args.repeat):
        mine = make_sales(args.sales + 1, args.lines, rng)
        theirs = make_sales(args.sales + 1, args.lines, rng)
        for which in ("connector", "ceiling") if round_ % 2 == 0 else ("ceiling", "connector"):
            if which == "connector":
                figures, _ = await measure(args, "batched", mine[1:], mine[0])
                connector.append(figures)
            else:
                figures, odoo = await measure_ceiling(args, theirs[1:], theirs[0])
                top.append(figures)
    return connector, top, odoo


async def run(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    naive_sales = make_sales(args.sales + 1, args.lines, rng)
    baseline, target = await measure(args, "naive", naive_sales[1:], naive_sales[0])
    connector_runs, ceiling_runs, odoo = await connector_and_ceiling(args, rng)
    connector, top = median(connector_runs), median(ceiling_runs)
    speedup = round(connector.sales_per_s / baseline.sales_per_s, 2)
    fewer = round(baseline.round_trips / max(connector.round_trips, 1), 1)
    versus = round(connector.sales_per_s / top.sales_per_s, 2)
    table = Table(
        title=f"{args.sales} store sales x {args.lines} lines into Odoo ({odoo}); "
        f"connector and ceiling: median of {args.repeat}"
    )
    for column in ("run", "seconds", "sales/s", "round trips", "round trips/sale"):
        table.add_column(column, justify="right")
    rows = (
        [("naive (baseline)", baseline)]
        + [(f"connector #{n + 1}", f) for n, f in enumerate(connector_runs)]
        + [(f"Odoo ceiling #{n + 1}", f) for n, f in enumerate(ceiling_runs)]
    )
    for name, f in rows:
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
        f"sales/s ratio {speedup}x (target >= 5x); round trips {fewer}x fewer (target >= 10x); "
        f"connector at {versus} of Odoo's batched ceiling (target >= 0.8)"
    )
    print(
        json.dumps(
            {
                "odoo": odoo,
                "target": target,
                "sales": args.sales,
                "lines_per_sale": args.lines,
                "repeat": args.repeat,
                "baseline": asdict(baseline),
                "connector": asdict(connector),
                "sales_per_s_ratio": speedup,
                "round_trips_ratio": fewer,
                "ceiling": top.sales_per_s,
                "connector_vs_ceiling": versus,
                "ceiling_run": asdict(top),
                "connector_runs": [f.sales_per_s for f in connector_runs],
                "ceiling_runs": [f.sales_per_s for f in ceiling_runs],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sales", type=int, default=500)
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=200)
    parser.add_argument(
        "--repeat", type=int, default=3, help="connector and ceiling rounds (median is reported)"
    )
    parser.add_argument("--version", choices=["16", "17", "18", "19"], default="17")
    parser.add_argument("--odoo-url")
    parser.add_argument("--odoo-db")
    parser.add_argument("--odoo-user")
    parser.add_argument("--odoo-password")
    parser.add_argument("--odoo-api-key")
    parser.add_argument(
        "--latency",
        choices=["fast", "real"],
        default=load_settings().odoo.emulator_latency,
        help="without --odoo-url: the emulator as fast as it can, or as slow as the measured "
        "real Odoo of --version (default: odoo.emulator_latency)",
    )
    parser.add_argument(
        "--workers", type=int, default=load_settings().odoo.emulator_workers,
        help="with --latency real: calls the emulator answers at once",
    )  # fmt: skip
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
