"""Hub lookups vs. asking Odoo directly: stock availability and effective price.

The hub (uvicorn on 127.0.0.1, SQLite read model) and the Odoo emulator
(JSON-RPC, version 17) hold the same catalogue. A second process drives the
same mix of lookups (half stock of a SKU across locations, half price of a SKU)
at a fixed rate with bounded concurrency, open loop: latency is measured from
each request's scheduled start, so a slow server cannot hide its queue.

    .venv/bin/python bench/api.py [--rate 200] [--seconds 10] [--concurrency 32]

Prints a table and, as the last line, one JSON object with every figure and the
ratios hub/Odoo. Targets (issue 7): hub p99 <= 10 ms at 200 lookups/s and a
p50 at least 5x lower than the direct-Odoo baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

SKUS = 200
LOCATIONS = 20


# -- the driver (second process) ---------------------------------------------------------------
class Connection:
    """A bare HTTP/1.1 keep-alive connection: the driver's own cost stays far below a
    general-purpose client's, so the figures describe the servers, not the driver."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        host, _, port = url.removeprefix("http://").partition(":")
        reader, writer = await asyncio.open_connection(host, int(port.strip("/")))
        return cls(reader, writer)

    async def request(
        self, method: str, path: str, headers: dict[str, str], body: bytes = b""
    ) -> tuple[int, bytes]:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)


async def drive(
    target: str, url: str, token: str, rate: float, seconds: float, limit: int, count: int
) -> None:
    """Open loop at ``rate`` per second for ``seconds``; or, with rate 0, ``count`` lookups
    back to back on ``limit`` connections (closed loop)."""
    latencies: list[float] = []
    errors = 0
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(limit):
        idle.put_nowait(await Connection.open(url))

    def hub_request(i: int) -> tuple[str, str, dict[str, str], bytes]:
        sku = f"SKU-{i % SKUS:04d}"
        headers = {"Authorization": f"Bearer {token}"}
        if i % 2:
            return "GET", f"/v1/stock/{sku}", headers, b""
        return "GET", f"/v1/prices/{sku}?store=S001", headers, b""

    def odoo_request(i: int) -> tuple[str, str, dict[str, str], bytes]:
        sku = f"SKU-{i % SKUS:04d}"
        if i % 2:
            call = ["stock.quant", "search_read", [[["product_id.default_code", "=", sku]]],
                    {"fields": ["quantity", "reserved_quantity", "location_id"]}]  # fmt: skip
        else:
            call = ["product.product", "search_read", [[["default_code", "=", sku]]],
                    {"fields": ["list_price"]}]  # fmt: skip
        body = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": i,
            "params": {
                "service": "object",
                "method": "execute_kw",
                "args": ["storelink", 2, "admin", *call],
            },
        }
        headers = {"Content-Type": "application/json"}
        return "POST", "/jsonrpc", headers, json.dumps(body).encode()

    build = hub_request if target == "hub" else odoo_request

    async def lookup(i: int) -> bool:
        connection = await idle.get()
        try:
            status, body = await connection.request(*build(i))
        finally:
            idle.put_nowait(connection)
        return status == 200 and (target == "hub" or b'"error"' not in body)

    for i in range(limit * 2):  # warm-up: connections, caches
        await lookup(i)

    async def one(i: int, scheduled: float) -> None:
        nonlocal errors
        ok = await lookup(i)
        latencies.append(time.perf_counter() - scheduled)
        if not ok:
            errors += 1

    started = time.perf_counter()
    if rate > 0:
        tasks = []
        for i in range(int(rate * seconds)):
            scheduled = started + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        await asyncio.gather(*tasks)
    else:
        pending = iter(range(count))

        async def worker() -> None:
            for i in pending:
                await one(i, time.perf_counter())

        await asyncio.gather(*(worker() for _ in range(limit)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def quantile_ms(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000

    print(
        json.dumps(
            {
                "requests": len(latencies),
                "errors": errors,
                "rps": len(latencies) / elapsed,
                "p50_ms": quantile_ms(0.5),
                # the tail's shape tells a slow server (p90 up too) from a stalled one
                "p90_ms": quantile_ms(0.9),
                "p99_ms": quantile_ms(0.99),
                "max_ms": latencies[-1] * 1000,
                "over_10ms_share": sum(1 for x in latencies if x > 0.010) / len(latencies),
            }
        )
    )


def run_driver(
    target: str, url: str, token: str, *, rate: float, seconds: float, concurrency: int, count: int
) -> dict[str, Any]:
    command = [sys.executable, __file__, "--drive", target, "--url", url, "--token", token,
               "--rate", str(rate), "--seconds", str(seconds),
               "--concurrency", str(concurrency), "--count", str(count)]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    # the driver's own cost (start-up included): it must stay well below the server's
    cpu_s = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    result["driver_cpu_ms_per_lookup"] = cpu_s * 1000 / max(1, result["requests"])
    return result


def run(main: Coroutine[Any, Any, Any]) -> Any:
    """Run on uvloop when installed: ``storelink hub serve`` (uvicorn's ``loop="auto"``)
    serves on it, so the in-process hub should too."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


# -- the two servers ---------------------------------------------------------------------------
async def seed_hub(engine: Any, now: Any) -> None:
    from sqlalchemy import insert

    from storelink.db.tables import locations, prices, products, stock_positions, stores

    async with engine.begin() as connection:
        await connection.execute(
            insert(stores),
            [{"code": "S001", "name": "Store 1", "location": "L00", "currency": "EUR",
              "timezone": "Europe/Berlin", "pricelist": "retail", "active": True,
              "updated_at": now}],
        )  # fmt: skip
        await connection.execute(
            insert(locations),
            [{"code": f"L{n:02d}", "name": f"L{n}", "kind": "store", "store": None}
             for n in range(LOCATIONS)],
        )  # fmt: skip
        await connection.execute(
            insert(products),
            [{"sku": f"SKU-{n:04d}", "name": f"Product {n}", "barcode": f"4{n:011d}",
              "uom": "Units", "tax_class": "standard", "category": "food", "active": True,
              "revision": n + 1, "updated_at": now} for n in range(SKUS)],
        )  # fmt: skip
        await connection.execute(
            insert(prices),
            [{"sku": f"SKU-{n:04d}", "scope_kind": "pricelist", "scope_code": "retail",
              "amount": Decimal("1.99") + n, "currency": "EUR", "version": 1,
              "valid_from": now - timedelta(days=1), "valid_to": None, "revision": n + 1}
             for n in range(SKUS)],
        )  # fmt: skip
        await connection.execute(
            insert(stock_positions),
            [{"sku": f"SKU-{n:04d}", "location": f"L{loc:02d}", "on_hand": Decimal(10 + loc),
              "reserved": Decimal(1), "as_of": now, "revision": n + 1}
             for n in range(SKUS) for loc in range(LOCATIONS)],
        )  # fmt: skip


def seed_odoo(emu: Any) -> None:
    internal = emu.call("stock.location", "search", [("usage", "=", "internal")])[0]
    places = [internal] + [
        emu.call("stock.location", "create", {"name": f"L{n:02d}", "usage": "internal"})
        for n in range(1, LOCATIONS)
    ]
    for n in range(SKUS):
        product = emu.call(
            "product.product",
            "create",
            {"name": f"Product {n}", "default_code": f"SKU-{n:04d}", "list_price": 1.99 + n},
        )
        quants = [
            emu.call(
                "stock.quant",
                "create",
                {"product_id": product, "location_id": place, "inventory_quantity": 10 + i},
                context={"inventory_mode": True},
            )
            for i, place in enumerate(places)
        ]
        emu.call("stock.quant", "action_apply_inventory", quants)


async def _started(server: Any) -> None:
    # uvicorn offers no start event; its ``started`` flag is set once it listens
    for _ in range(200):
        if server.started:
            return
        await asyncio.sleep(0.05)
    raise RuntimeError("the hub did not start")


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    import uvicorn
    from tests.services import free_port

    from storelink.api import Principal, Role, create_app
    from storelink.config import Settings
    from storelink.db import create_engine, upgrade
    from storelink.emulator import OdooEmulator, serve_emulator
    from storelink.model import utcnow

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/hub.db"
        settings = Settings(
            data_dir=Path(tmp) / "data",
            database_url=url,
            observability={"log_level": "warning"},
            api={"rate_limits": {"integration_admin": {"per_s": 100_000, "burst": 100_000}}},
        )
        engine = create_engine(url)
        await upgrade(engine)
        await seed_hub(engine, utcnow())
        app = create_app(settings, engine=engine, migrate=False)
        token = (await app.state.hub.tokens.mint(Principal("bench", Role.ADMIN))).access_token
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        )
        serving = asyncio.create_task(server.serve())
        await _started(server)
        hub_url = f"http://127.0.0.1:{port}"
        results["event_loop"] = type(asyncio.get_running_loop()).__module__
        # this process only serves the hub while the driver runs: its CPU time per lookup
        # is the hub's cost, whatever else the machine is busy with
        cpu_before = time.process_time()
        results["hub"] = await asyncio.to_thread(
            run_driver, "hub", hub_url, token, rate=args.rate, seconds=args.seconds,
            concurrency=args.concurrency, count=0,
        )  # fmt: skip
        cpu_ms = (time.process_time() - cpu_before) * 1000 / results["hub"]["requests"]
        results["hub"]["cpu_ms_per_lookup"] = cpu_ms
        results["hub_serial"] = await asyncio.to_thread(
            run_driver, "hub", hub_url, token, rate=0, seconds=0, concurrency=1,
            count=args.baseline_count,
        )  # fmt: skip
        server.should_exit = True
        await serving
        await engine.dispose()

    emu = OdooEmulator(version="17")
    seed_odoo(emu)
    async with serve_emulator(emu) as odoo_url:
        # one lookup at a time: Odoo's best case (the emulator cannot sustain the hub's rate)
        results["odoo"] = await asyncio.to_thread(
            run_driver, "odoo", odoo_url, "", rate=0, seconds=0, concurrency=1,
            count=args.baseline_count,
        )  # fmt: skip
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0, help="lookups per second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--baseline-count", type=int, default=300, help="serial lookups")
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--drive", choices=["hub", "odoo"], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        run(
            drive(
                args.drive, args.url, args.token, args.rate, args.seconds,
                args.concurrency, args.count,
            )
        )  # fmt: skip
        return
    os.environ.setdefault("STORELINK_OBSERVABILITY__LOG_LEVEL", "warning")
    results = run(measure(args))
    hub, serial, odoo = results["hub"], results["hub_serial"], results["odoo"]
    rows = (
        (f"hub {args.rate:g}/s c={args.concurrency}", hub),
        ("hub serial", serial),
        ("odoo serial (baseline)", odoo),
    )
    print(f"{'lookups (stock + price)':<26}{'requests':>9}{'errors':>7}{'req/s':>8}"
          f"{'p50 ms':>9}{'p99 ms':>9}")  # fmt: skip
    for name, row in rows:
        print(
            f"{name:<26}{row['requests']:>9}{row['errors']:>7}{row['rps']:>8.1f}"
            f"{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
        )
    figures = {
        "rate": args.rate,
        "seconds": args.seconds,
        "concurrency": args.concurrency,
        **{f"hub_{key}": value for key, value in hub.items()},
        **{f"hub_serial_{key}": value for key, value in serial.items()},
        **{f"odoo_{key}": value for key, value in odoo.items()},
        "p50_ratio_odoo_over_hub": odoo["p50_ms"] / hub["p50_ms"],
        "p50_ratio_odoo_over_hub_serial": odoo["p50_ms"] / serial["p50_ms"],
        "p99_ratio_odoo_over_hub": odoo["p99_ms"] / hub["p99_ms"],
        "rps_ratio_hub_over_odoo": hub["rps"] / odoo["rps"],
        "load_average_1m": os.getloadavg()[0],
        "event_loop": results["event_loop"],
        "target_hub_p99_ms": 10.0,
        "target_p50_ratio": 5.0,
    }
    print(
        f"hub CPU per lookup: {hub['cpu_ms_per_lookup']:.2f} ms (one core serves "
        f"{1000 / hub['cpu_ms_per_lookup']:.0f}/s); load average {os.getloadavg()[0]:.1f}"
    )
    print(
        f"driver CPU per lookup: {hub['driver_cpu_ms_per_lookup']:.2f} ms "
        f"(event loop: {results['event_loop']})"
    )
    print(f"p50: hub is {figures['p50_ratio_odoo_over_hub']:.1f}x lower than direct Odoo")
    print(json.dumps(figures))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
