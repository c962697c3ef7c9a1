"""A consumer process of one NATS consumer group, for the cross-process order tests.

Run as ``python -m tests.bus.keyed_consumer --url … --prefix … --group … --name …
--out records.jsonl``. It subscribes, creates ``<out>.ready``, then handles what
it fetches — each delivery after a random delay, some first attempts nacked
instead — and appends one JSON line per handled delivery *before* acking it:
``{"event": id, "process": name, "attempt": n, "at": monotonic seconds}``
(CLOCK_MONOTONIC is one clock for every process of the machine, so lines of
several processes merge into one timeline). It stops when ``<out>.stop`` exists.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from pathlib import Path
from typing import TextIO

from storelink.bus import Delivery, Subscription
from storelink.bus.backends.nats import NatsEventLog
from storelink.config.sections import BusSettings

STOCK = ("storelink.stock.*",)


async def handle(
    log: NatsEventLog, delivery: Delivery, args: argparse.Namespace, rng: random.Random, out: TextIO
) -> None:
    await asyncio.sleep(rng.uniform(0, args.max_delay_s))  # the work this handler does
    if delivery.attempt == 1 and rng.random() < args.nack_rate:
        await log.nack(delivery, error="simulated failure")
        return
    line = {
        "event": delivery.event_id,
        "process": args.name,
        "attempt": delivery.attempt,
        "at": time.monotonic(),
    }
    out.write(json.dumps(line) + "\n")  # line-buffered: on disk before the ack, even if killed
    await log.ack([delivery])


async def consume(args: argparse.Namespace, out: TextIO) -> None:
    log = await NatsEventLog.open(args.url, BusSettings(nats_prefix=args.prefix))
    subscription = Subscription(args.group, STOCK, ack_wait_s=args.ack_wait_s, max_deliver=100)
    await log.subscribe(subscription)
    rng = random.Random(args.seed)
    signal_file(args.out, "ready")
    while not signalled(args.out, "stop"):
        batch = await log.fetch(args.group, batch=20, wait_s=0.1)
        await asyncio.gather(*(handle(log, d, args, rng, out) for d in batch))
    await log.close()


def signal_file(out: str, name: str) -> None:
    Path(f"{out}.{name}").touch()


def signalled(out: str, name: str) -> bool:
    return Path(f"{out}.{name}").exists()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--prefix", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ack-wait-s", type=float, default=30.0)
    parser.add_argument("--max-delay-s", type=float, default=0.01)
    parser.add_argument("--nack-rate", type=float, default=0.1)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    with Path(arguments.out).open("a", buffering=1) as records:
        asyncio.run(consume(arguments, records))
