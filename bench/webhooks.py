"""Webhook delivery: storelink's dispatcher against a bare signed httpx2 POST loop.

Run: ``.venv/bin/python bench/webhooks.py [--events N] [--postgres URL]``.

Ten loopback receivers (one separate process, a minimal keep-alive HTTP/1.1
server per port) answer 10% of requests with 500, at random. Every event goes
to all ten. Two phases per system, both measured in this run:

* throughput: a backlog of ``N`` events (``10 N`` deliveries) is drained;
  deliveries/s counts successful deliveries (failed attempts are retried).
  Baseline and storelink alternate for ``--rounds`` rounds; each side's best
  round is reported (the machine is shared; every round is in the JSON too).
* latency: events arrive paced (``--rate`` events/s); event-to-delivery
  latency is event time to the 2xx being recorded, p50/p99.

storelink: fan-out rows in SQLite (or PostgreSQL), the :class:`Dispatcher` with
``max_concurrency`` 10 per endpoint, Standard Webhooks signing, attempts logged,
retries scheduled in the database (schedule 0, 0, 0.05, 0.1, 0.5, 1, 5 s for the bench,
like the baseline that re-sends at once).
Baseline: the same signed POSTs with one pooled httpx2 client per receiver and the
same 100 requests in flight, failed ones re-sent at once, nothing recorded.
Targets: >= 1,000 deliveries/s and >= 50% of the baseline. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import random
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import httpx2
import psycopg
from sqlalchemy import func, make_url, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.config.sections import WebhookSettings
from storelink.db import create_engine, upgrade
from storelink.model import Event, EventType, Price, PriceScope, PriceScopeKind
from storelink.ops.pii import Cipher, decode_key, new_key
from storelink.webhooks import (
    Dispatcher,
    EndpointSpec,
    EndpointStore,
    SecretBox,
    URLPolicy,
    fanout,
)
from storelink.webhooks.signing import Signer, generate_secret
from storelink.webhooks.tables import webhook_deliveries

RECEIVERS = 10
FAILURE_RATE = 0.10
CONCURRENCY = 10  # per endpoint
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"
FAIL = b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 4\r\n\r\nnope"


# -- receivers (a separate process) -------------------------------------------------------


class _Receiver(asyncio.Protocol):
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            head_end = self.buffer.find(b"\r\n\r\n")
            if head_end < 0:
                return
            length = 0
            for line in self.buffer[:head_end].split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            end = head_end + 4 + length
            if len(self.buffer) < end:
                return
            self.buffer = self.buffer[end:]
            assert self.transport is not None
            self.transport.write(FAIL if self.rng.random() < FAILURE_RATE else OK)


def _serve_receivers(sockets: list[socket.socket], seed: int) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        rng = random.Random(seed)
        servers = [await loop.create_server(lambda: _Receiver(rng), sock=sock) for sock in sockets]
        await asyncio.gather(*(server.serve_forever() for server in servers))

    asyncio.run(main())


def start_receivers(seed: int = 42) -> tuple[multiprocessing.Process, list[str]]:
    sockets = []
    for _ in range(RECEIVERS):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        sockets.append(sock)
    urls = [f"http://127.0.0.1:{sock.getsockname()[1]}/hook" for sock in sockets]
    process = multiprocessing.get_context("fork").Process(
        target=_serve_receivers, args=(sockets, seed), daemon=True
    )
    process.start()
    for sock in sockets:
        sock.close()  # the child holds its own copies
    return process, urls


@contextlib.contextmanager
def scratch_postgres(url: str) -> Iterator[str]:
    """A throw-away database next to ``url``'s, dropped after the run: rows left in a
    shared database by earlier runs (endpoints at dead ports, backlogs) would skew it."""
    name = f"bench_webhooks_{uuid.uuid4().hex[:12]}"
    admin_url = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- events ----------------------------------------------------------------------------------


def make_event(n: int) -> Event:
    price = Price(
        sku=f"SKU{n % 5000}",
        scope=PriceScope(kind=PriceScopeKind.STORE, code="S001"),
        amount=Decimal("9.99"),
        currency="EUR",
        version=n + 1,
        valid_from=datetime(2026, 1, 1, tzinfo=UTC),
    )
    return Event.of(
        EventType.PRICE_CHANGED, price, source="/stores/S001", partitionkey=f"SKU{n % 5000}@S001"
    )


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# -- baseline: bare httpx2 POST loop with signing -----------------------------------------


async def baseline(
    urls: list[str], events: list[Event], *, rate: float | None
) -> tuple[float, list[float]]:
    """Deliveries/s (or latencies when paced) of signed POSTs, 100 in flight, retry at once."""
    signers = [Signer.of([generate_secret()]) for _ in urls]
    queue: asyncio.Queue[tuple[int, Event, str, float]] = asyncio.Queue()
    latencies: list[float] = []
    # one small pool per receiver, as storelink does (httpcore scans its pool per request)
    limits = httpx2.Limits(max_connections=CONCURRENCY)
    clients = [httpx2.AsyncClient(limits=limits, timeout=15) for _ in urls]
    try:

        async def worker() -> None:
            while True:
                index, event, body_text, emitted = await queue.get()
                body = body_text.encode()
                while True:
                    headers = signers[index].headers(event.id, int(time.time()), body)
                    headers["content-type"] = "application/json"
                    response = await clients[index].post(urls[index], content=body, headers=headers)
                    if 200 <= response.status_code < 300:
                        break
                latencies.append(time.time() - emitted)
                queue.task_done()

        workers = [asyncio.create_task(worker()) for _ in range(RECEIVERS * CONCURRENCY)]
        started = time.perf_counter()
        for n, event in enumerate(events):
            if rate is not None:
                await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            body_text = event.model_dump_json()
            emitted = time.time() if rate is not None else event.time.timestamp()
            for index in range(len(urls)):
                queue.put_nowait((index, event, body_text, emitted))
        await queue.join()
        elapsed = time.perf_counter() - started
        for task in workers:
            task.cancel()
    finally:
        for client in clients:
            await client.aclose()
    return len(events) * len(urls) / elapsed, latencies


# -- storelink ---------------------------------------------------------------------------------


async def storelink_setup(url: str, receivers: list[str]) -> tuple[AsyncEngine, Dispatcher]:
    settings = WebhookSettings(
        allow_http=True,
        allowed_hosts=["127.0.0.1"],
        retry_schedule_s=[0, 0, 0.05, 0.1, 0.5, 1, 5],
        max_concurrency=CONCURRENCY,
        poll_interval_s=0.05,
    )
    engine = create_engine(url)
    await upgrade(engine)
    box = SecretBox(Cipher(decode_key(new_key())))  # a throw-away vault key for the run
    store = EndpointStore(engine, box, policy=URLPolicy.from_settings(settings))
    for receiver in receivers:
        await store.add(EndpointSpec(url=receiver, max_concurrency=CONCURRENCY))
    return engine, Dispatcher(engine, settings=settings, secret_box=box)


async def _delivered(engine: AsyncEngine, event_ids: set[str]) -> list[tuple[datetime, datetime]]:
    d = webhook_deliveries
    async with engine.connect() as connection:
        rows = await connection.execute(
            select(d.c.event_id, d.c.event_time, d.c.delivered_at).where(d.c.status == "delivered")
        )
        return [(r.event_time, r.delivered_at) for r in rows if r.event_id in event_ids]


async def _count_delivered(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        count = await connection.scalar(
            select(func.count()).where(webhook_deliveries.c.status == "delivered")
        )
        return int(count or 0)


async def _wait_delivered(engine: AsyncEngine, expected: int) -> None:
    """The benchmark's own progress poll (a cheap count every 0.1 s)."""
    while True:
        if await _count_delivered(engine) >= expected:
            return
        await asyncio.sleep(0.1)


async def storelink_throughput(
    engine: AsyncEngine, dispatcher: Dispatcher, events: list[Event]
) -> float:
    expected = await _count_delivered(engine) + len(events) * RECEIVERS
    for start in range(0, len(events), 500):
        await fanout(engine, events[start : start + 500])
    stop = asyncio.Event()
    started = time.perf_counter()
    running = asyncio.create_task(dispatcher.run(stop))
    await _wait_delivered(engine, expected)
    elapsed = time.perf_counter() - started
    stop.set()
    await running
    return len(events) * RECEIVERS / elapsed


async def storelink_latency(
    engine: AsyncEngine, dispatcher: Dispatcher, events: list[Event], rate: float
) -> list[float]:
    already = await _count_delivered(engine)
    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    started = time.perf_counter()
    stamped: list[Event] = []
    for n, event in enumerate(events):
        await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
        fresh = event.model_copy(update={"time": datetime.now(UTC)})
        stamped.append(fresh)
        await fanout(engine, fresh)
        dispatcher.wake()
    ids = {e.id for e in stamped}
    await _wait_delivered(engine, already + len(events) * RECEIVERS)
    stop.set()
    await running
    done = await _delivered(engine, ids)
    return [(delivered - happened).total_seconds() for happened, delivered in done]


async def run(args: argparse.Namespace) -> dict[str, float]:
    process, urls = start_receivers()
    figures: dict[str, float] = {}
    base_rates: list[float] = []
    our_rates: list[float] = []
    try:
        with contextlib.ExitStack() as scratch:
            if args.postgres:
                db_url = scratch.enter_context(scratch_postgres(args.postgres))
            else:
                tmp = scratch.enter_context(tempfile.TemporaryDirectory())
                db_url = f"sqlite+aiosqlite:///{tmp}/hub.db"
            engine, dispatcher = await storelink_setup(db_url, urls)
            try:
                # alternate rounds: this machine is shared, so each side gets its best round
                for round_ in range(args.rounds):
                    first = round_ * (args.events + args.paced)
                    backlog = [make_event(first + n) for n in range(args.events)]
                    print(f"round {round_ + 1}: baseline throughput ...", file=sys.stderr)
                    base_rates.append((await baseline(urls, backlog, rate=None))[0])
                    print(f"round {round_ + 1}: storelink throughput ...", file=sys.stderr)
                    our_rates.append(await storelink_throughput(engine, dispatcher, backlog))
                paced = [make_event(10**9 + n) for n in range(args.paced)]
                print("baseline: paced latency ...", file=sys.stderr)
                _, base_lat = await baseline(urls, paced, rate=args.rate)
                print("storelink: paced latency ...", file=sys.stderr)
                lat = await storelink_latency(engine, dispatcher, paced, args.rate)
            finally:
                await dispatcher.aclose()
                await engine.dispose()
    finally:
        process.terminate()
        process.join(5)

    figures["baseline_deliveries_per_s"] = max(base_rates)
    figures["storelink_deliveries_per_s"] = max(our_rates)
    for n, (ours, theirs) in enumerate(zip(our_rates, base_rates, strict=True), start=1):
        figures[f"round{n}_storelink_deliveries_per_s"] = ours
        figures[f"round{n}_baseline_deliveries_per_s"] = theirs
    figures["baseline_p50_ms"] = quantile(base_lat, 0.5) * 1000
    figures["baseline_p99_ms"] = quantile(base_lat, 0.99) * 1000
    figures["storelink_p50_ms"] = quantile(lat, 0.5) * 1000
    figures["storelink_p99_ms"] = quantile(lat, 0.99) * 1000
    figures["storelink_mean_ms"] = statistics.fmean(lat) * 1000
    figures["throughput_ratio"] = (
        figures["storelink_deliveries_per_s"] / figures["baseline_deliveries_per_s"]
    )
    figures["p50_ratio"] = figures["storelink_p50_ms"] / figures["baseline_p50_ms"]
    figures["p99_ratio"] = figures["storelink_p99_ms"] / figures["baseline_p99_ms"]
    figures["events_per_round"] = args.events
    figures["deliveries"] = args.events * RECEIVERS
    figures["paced_events_per_s"] = args.rate
    figures["failure_rate"] = FAILURE_RATE
    figures["target_met"] = float(
        figures["storelink_deliveries_per_s"] >= 1000 and figures["throughput_ratio"] >= 0.5
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=500, help="backlog events (x10 deliveries)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating throughput rounds")
    parser.add_argument("--paced", type=int, default=200, help="events in the latency phase")
    parser.add_argument("--rate", type=float, default=10.0, help="paced events per second")
    parser.add_argument(
        "--postgres", default=None, help="postgresql+psycopg:// URL (a scratch database is made)"
    )
    args = parser.parse_args()
    figures = asyncio.run(run(args))
    print(f"{'measure':<34}{'storelink':>12}{'baseline':>12}{'ratio':>8}")
    rows = [
        (
            "deliveries/s (backlog)",
            "storelink_deliveries_per_s",
            "baseline_deliveries_per_s",
            "throughput_ratio",
        ),
        ("p50 event->delivery ms (paced)", "storelink_p50_ms", "baseline_p50_ms", "p50_ratio"),
        ("p99 event->delivery ms (paced)", "storelink_p99_ms", "baseline_p99_ms", "p99_ratio"),
    ]
    for label, ours, theirs, ratio in rows:
        print(f"{label:<34}{figures[ours]:>12,.1f}{figures[theirs]:>12,.1f}{figures[ratio]:>8.2f}")
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
