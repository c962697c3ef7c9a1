"""Event log throughput: append and consume+ack on both backends, against raw baselines.

Run: ``.venv/bin/python bench/bus.py [--events N]``. Baselines measured in the same
run: raw SQLite inserts (stdlib sqlite3, WAL, synchronous=FULL, one transaction per
batch) and raw nats-py JetStream publish (same payloads, concurrent per batch).
Targets: embedded >= 20,000 events/s append and >= 10,000 events/s consume+ack;
NATS append >= 50% of raw nats-py. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from storelink.bus import EventLog, Subscription
from storelink.bus.backends.embedded import EmbeddedEventLog
from storelink.bus.backends.nats import NatsEventLog
from storelink.config.sections import BusSettings
from storelink.model import Event, EventType, MovementReason, StockMovement, stock_key, utcnow

NATS_URL = "nats://127.0.0.1:4222"
BATCH = 1000
FETCH = 500
KEYS = 10_000


def make_events(count: int) -> list[Event]:
    now = utcnow()
    events = []
    for i in range(count):
        movement = StockMovement(
            sku=f"SKU{i % KEYS}",
            location="S001",
            quantity=Decimal(-1),
            reason=MovementReason.SALE,
            occurred_at=now,
        )
        events.append(
            Event.of(
                EventType.STOCK_MOVED,
                movement,
                source="/bench",
                partitionkey=stock_key(movement.sku, movement.location),
            )
        )
    return events


async def append_rate(log: EventLog, events: list[Event]) -> float:
    started = time.perf_counter()
    for i in range(0, len(events), BATCH):
        await log.append(events[i : i + BATCH])
    return len(events) / (time.perf_counter() - started)


async def consume_rate(log: EventLog, group: str, count: int) -> float:
    await log.subscribe(Subscription(group, ("storelink.stock.*",)))
    started = time.perf_counter()
    done = 0
    while done < count:
        deliveries = await log.fetch(group, batch=FETCH, wait_s=1.0)
        if not deliveries:
            raise RuntimeError(f"consumer stalled after {done} of {count}")
        await log.ack(deliveries)
        done += len(deliveries)
    return count / (time.perf_counter() - started)


def raw_sqlite_rate(path: Path, payloads: list[tuple[str, str, str, bytes]]) -> float:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, event_id TEXT, key TEXT, body TEXT)")
    started = time.perf_counter()
    for i in range(0, len(payloads), BATCH):
        db.execute("BEGIN")
        db.executemany(
            "INSERT INTO raw (event_id, key, body) VALUES (?, ?, ?)",
            [(event_id, key, body.decode()) for event_id, _, key, body in payloads[i : i + BATCH]],
        )
        db.execute("COMMIT")
    rate = len(payloads) / (time.perf_counter() - started)
    db.close()
    return rate


async def raw_nats_rate(payloads: list[tuple[str, str, str, bytes]]) -> float:
    import nats

    client = await nats.connect(NATS_URL)
    js = client.jetstream()
    stream = f"RAW{uuid.uuid4().hex[:8].upper()}"
    subject = f"raw{stream.lower()}.stock.moved.v1"
    await js.add_stream(name=stream, subjects=[f"raw{stream.lower()}.>"])
    try:
        started = time.perf_counter()
        for i in range(0, len(payloads), BATCH):
            await asyncio.gather(
                *(
                    js.publish(subject, body, headers={"Nats-Msg-Id": event_id})
                    for event_id, _, _, body in payloads[i : i + BATCH]
                )
            )
        return len(payloads) / (time.perf_counter() - started)
    finally:
        await js.delete_stream(stream)
        await client.close()


async def main(count: int) -> dict[str, float | int | bool | str]:
    print(f"building {count} events ...", file=sys.stderr)
    events = make_events(count)
    payloads = [(e.id, e.type, e.partitionkey, e.model_dump_json().encode()) for e in events]
    figures: dict[str, float | int | bool | str] = {"events": count}
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        figures["raw_sqlite_insert_per_s"] = raw_sqlite_rate(root / "raw.db", payloads)
        log = await EmbeddedEventLog.open(root / "events.db", BusSettings())
        try:
            figures["embedded_append_per_s"] = await append_rate(log, events)
            figures["embedded_consume_ack_per_s"] = await consume_rate(log, "bench", count)
        finally:
            await log.close()
    try:
        figures["raw_nats_publish_per_s"] = await raw_nats_rate(payloads)
        nats_log = await NatsEventLog.open(
            NATS_URL, BusSettings(nats_prefix=f"bench{uuid.uuid4().hex[:8]}")
        )
        try:
            figures["nats_append_per_s"] = await append_rate(nats_log, events)
            figures["nats_consume_ack_per_s"] = await consume_rate(nats_log, "bench", count)
        finally:
            await nats_log.delete_all()
            await nats_log.close()
    except OSError as exc:
        figures["nats"] = f"skipped: {exc}"

    raw_sqlite = float(figures["raw_sqlite_insert_per_s"])
    figures["embedded_append_vs_raw_sqlite"] = float(figures["embedded_append_per_s"]) / raw_sqlite
    figures["embedded_consume_ack_vs_raw_sqlite"] = (
        float(figures["embedded_consume_ack_per_s"]) / raw_sqlite
    )
    figures["embedded_append_target_met"] = float(figures["embedded_append_per_s"]) >= 20_000
    figures["embedded_consume_ack_target_met"] = (
        float(figures["embedded_consume_ack_per_s"]) >= 10_000
    )
    if "nats_append_per_s" in figures:
        raw_nats = float(figures["raw_nats_publish_per_s"])
        figures["nats_append_vs_raw_nats"] = float(figures["nats_append_per_s"]) / raw_nats
        figures["nats_consume_ack_vs_raw_nats"] = (
            float(figures["nats_consume_ack_per_s"]) / raw_nats
        )
        figures["nats_append_target_met"] = float(figures["nats_append_vs_raw_nats"]) >= 0.5
    return figures


def report(figures: dict[str, float | int | bool | str]) -> None:
    rows = [
        ("raw SQLite insert (baseline)", "raw_sqlite_insert_per_s", None),
        ("embedded append", "embedded_append_per_s", "embedded_append_vs_raw_sqlite"),
        (
            "embedded consume+ack",
            "embedded_consume_ack_per_s",
            "embedded_consume_ack_vs_raw_sqlite",
        ),
        ("raw nats-py publish (baseline)", "raw_nats_publish_per_s", None),
        ("NATS append", "nats_append_per_s", "nats_append_vs_raw_nats"),
        ("NATS consume+ack", "nats_consume_ack_per_s", "nats_consume_ack_vs_raw_nats"),
    ]
    print(f"{'measure':<32}{'events/s':>12}{'vs baseline':>14}")
    for label, key, ratio in rows:
        if key not in figures:
            continue
        against = f"{float(figures[ratio]):.2f}x" if ratio and ratio in figures else "-"
        print(f"{label:<32}{float(figures[key]):>12,.0f}{against:>14}")
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    arguments = parser.parse_args()
    report(asyncio.run(main(arguments.events)))
