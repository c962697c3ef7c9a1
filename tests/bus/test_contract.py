"""The event log contract, run against every backend (embedded SQLite and NATS JetStream)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from storelink.bus import EventLog, Subscription
from storelink.errors import NotFoundError, ValidationError
from storelink.model import EventType
from storelink.ops.metrics import REGISTRY
from tests.bus.conftest import LogFactory
from tests.bus.events import order_event, product_changed, stock_moved
from tests.bus.helpers import collect, consume_all

STOCK = ("storelink.stock.*",)


async def test_group_reads_its_types_in_append_order(event_log: EventLog) -> None:
    await event_log.subscribe(Subscription("stock", STOCK))
    events = [stock_moved(f"K{i % 3}", i + 1) for i in range(9)]
    await event_log.append([events[0], product_changed("P1"), *events[1:]])

    got = await consume_all(event_log, "stock", 9)

    assert [d.event_id for d in got] == [e.id for e in events]
    assert all(d.attempt == 1 for d in got)
    assert got[0].event == events[0]
    assert await event_log.fetch("stock", batch=10, wait_s=0.2) == []


async def test_group_reads_only_the_types_it_names(event_log: EventLog) -> None:
    wanted = ("storelink.order.created.v1", "storelink.order.confirmed.v1")
    await event_log.subscribe(Subscription("orders", wanted))
    created = order_event(EventType.ORDER_CREATED, "o1")
    cancelled = order_event(EventType.ORDER_CANCELLED, "o2")
    confirmed = order_event(EventType.ORDER_CONFIRMED, "o1")
    await event_log.append([created, cancelled, confirmed, stock_moved("K")])

    got = await consume_all(event_log, "orders", 2)

    assert [d.event_id for d in got] == [created.id, confirmed.id]
    assert await event_log.fetch("orders", batch=10, wait_s=0.3) == []


async def test_each_group_gets_every_event(event_log: EventLog) -> None:
    for group in ("odoo", "webhooks"):
        await event_log.subscribe(Subscription(group, STOCK))
    events = [stock_moved(f"K{i}") for i in range(5)]
    await event_log.append(events)

    odoo = await consume_all(event_log, "odoo", 5)
    webhooks = await consume_all(event_log, "webhooks", 5)

    assert {d.event_id for d in odoo} == {d.event_id for d in webhooks} == {e.id for e in events}


async def test_failed_event_is_not_overtaken_by_its_key(event_log: EventLog) -> None:
    await event_log.subscribe(Subscription("stock", STOCK, ack_wait_s=30))
    a1, a2, b1, b2 = stock_moved("A"), stock_moved("A"), stock_moved("B"), stock_moved("B")
    await event_log.append([a1, a2, b1])

    first = await collect(event_log, "stock", 2)
    assert [d.event_id for d in first] == [a1.id, b1.id]  # one per key in flight
    failed = next(d for d in first if d.event_id == a1.id)
    await event_log.nack(failed, delay=0.5, error="Odoo down")
    await event_log.ack([d for d in first if d.event_id == b1.id])
    a3 = stock_moved("A")
    await event_log.append([a3, b2])  # arrives while A's first event waits

    # B keeps flowing while A waits; A's second event does not jump ahead.
    flowing = await collect(event_log, "stock", 1, within_s=0.3)
    assert [d.event_id for d in flowing] == [b2.id]
    await event_log.ack(flowing)

    again = await collect(event_log, "stock", 1, within_s=10)
    assert [(d.event_id, d.attempt) for d in again] == [(a1.id, 2)]
    await event_log.ack(again)
    rest = await consume_all(event_log, "stock", 2)
    assert [d.event_id for d in rest] == [a2.id, a3.id]


async def test_crash_mid_batch_redelivers_what_was_not_acked(open_log: LogFactory) -> None:
    log = await open_log()
    await log.subscribe(Subscription("stock", STOCK, ack_wait_s=1.0))
    events = [stock_moved(f"K{i}") for i in range(6)]
    await log.append(events)
    batch = await collect(log, "stock", 6)
    await log.ack(batch[:3])
    await log.close()  # the consumer dies with three deliveries un-acked

    restarted = await open_log()
    await restarted.subscribe(Subscription("stock", STOCK, ack_wait_s=1.0))
    redelivered = await collect(restarted, "stock", 3, within_s=10)

    assert [d.event_id for d in redelivered] == [e.id for e in events[3:]]
    assert all(d.attempt == 2 for d in redelivered)
    await restarted.ack(redelivered)
    assert await restarted.fetch("stock", batch=10, wait_s=1.5) == []


async def test_ack_timeout_and_in_progress(event_log: EventLog) -> None:
    await event_log.subscribe(Subscription("stock", STOCK, ack_wait_s=1.0))
    event = stock_moved("K")
    await event_log.append([event])
    (delivery,) = await collect(event_log, "stock", 1)

    started = time.monotonic()
    await event_log.in_progress(delivery)
    assert await event_log.fetch("stock", batch=1, wait_s=0.5) == []
    (again,) = await collect(event_log, "stock", 1, within_s=10)

    assert again.event_id == event.id
    assert again.attempt == 2
    assert time.monotonic() - started >= 0.8


async def test_nack_delay_holds_the_event_back(event_log: EventLog) -> None:
    await event_log.subscribe(Subscription("stock", STOCK))
    await event_log.append([stock_moved("K")])
    (delivery,) = await collect(event_log, "stock", 1)

    started = time.monotonic()
    await event_log.nack(delivery, delay=1.0, error="later")
    assert await event_log.fetch("stock", batch=1, wait_s=0.3) == []
    (again,) = await collect(event_log, "stock", 1, within_s=10)

    assert again.attempt == 2
    assert time.monotonic() - started >= 0.9


async def test_exhausted_deliveries_go_to_dead_letters_with_the_error(event_log: EventLog) -> None:
    await event_log.subscribe(Subscription("stock", STOCK, ack_wait_s=1.0, max_deliver=2))
    failing, timing_out, after = stock_moved("A"), stock_moved("B"), stock_moved("A")
    await event_log.append([failing, timing_out, after])

    for attempt in (1, 2):
        batch = await collect(event_log, "stock", 2 if attempt == 1 else 1, within_s=10)
        for delivery in batch:
            if delivery.event_id == failing.id:
                await event_log.nack(delivery, error=f"boom {attempt}")
    # A's next event flows once A is buried; B is still never acked.
    rest = await collect(event_log, "stock", 2, within_s=10)
    assert {(d.event_id, d.attempt) for d in rest} == {(after.id, 1), (timing_out.id, 2)}
    await event_log.ack([d for d in rest if d.event_id == after.id])
    # B's second delivery times out as well: a later fetch buries it instead of delivering it.
    deadline = time.monotonic() + 10
    while len(await event_log.dead_letters("stock")) < 2 and time.monotonic() < deadline:
        assert await event_log.fetch("stock", batch=5, wait_s=0.5) == []

    letters = await event_log.dead_letters("stock")
    by_event = {letter.event_id: letter for letter in letters}
    assert set(by_event) == {failing.id, timing_out.id}
    assert by_event[failing.id].error == "boom 2"
    assert by_event[failing.id].attempts == 2
    assert by_event[failing.id].event == failing
    assert "not acked" in by_event[timing_out.id].error
    assert (await event_log.stats()).groups[0].dead_letters == 2


async def test_dead_letters_can_be_edited_retried_and_dropped(event_log: EventLog) -> None:
    await event_log.subscribe(Subscription("stock", STOCK, max_deliver=1))
    await event_log.subscribe(Subscription("other", STOCK))
    bad, dropped = stock_moved("A", 5), stock_moved("B")
    await event_log.append([bad, dropped])
    for delivery in await collect(event_log, "stock", 2):
        await event_log.dead_letter(delivery, error="bad quantity")
    assert len(await consume_all(event_log, "other", 2)) == 2

    letter = next(d for d in await event_log.dead_letters() if d.event_id == bad.id)
    shown = await event_log.get_dead_letter(letter.id)
    assert shown.error == "bad quantity"
    assert shown.group == "stock"
    fixed = stock_moved("A", 7, event_id=bad.id)
    edited = await event_log.edit_dead_letter(letter.id, fixed)
    with pytest.raises(ValidationError):
        await event_log.edit_dead_letter(edited.id, stock_moved("A", 7))

    await event_log.retry_dead_letter(edited.id)
    (retried,) = await collect(event_log, "stock", 1)
    assert retried.event_id == bad.id  # the original id, so consumers dedupe
    assert retried.event == fixed
    await event_log.ack([retried])
    assert await event_log.fetch("other", batch=5, wait_s=0.3) == []  # only its group

    other = next(d for d in await event_log.dead_letters("stock") if d.event_id == dropped.id)
    await event_log.drop_dead_letter(other.id)
    assert await event_log.dead_letters("stock") == []
    with pytest.raises(NotFoundError):
        await event_log.get_dead_letter(other.id)


async def test_replay_from_position(event_log: EventLog) -> None:
    await event_log.subscribe(Subscription("stock", STOCK))
    events = [stock_moved(f"K{i}") for i in range(6)]
    await event_log.append(events)
    delivered = await consume_all(event_log, "stock", 6)

    await event_log.replay("stock", from_position=delivered[3].position)
    replayed = await consume_all(event_log, "stock", 3)

    assert [d.event_id for d in replayed] == [e.id for e in events[3:]]
    assert await event_log.fetch("stock", batch=5, wait_s=0.3) == []


async def test_replay_from_time(event_log: EventLog) -> None:
    await event_log.subscribe(Subscription("stock", STOCK))
    old = [stock_moved(f"K{i}") for i in range(3)]
    await event_log.append(old)
    await consume_all(event_log, "stock", 3)
    boundary = datetime.now(UTC)
    while datetime.now(UTC) <= boundary:  # make sure later appends are stamped after it
        pass
    new = [stock_moved(f"K{i}") for i in range(2)]
    await event_log.append(new)
    await consume_all(event_log, "stock", 2)

    await event_log.replay("stock", from_time=boundary)
    replayed = await consume_all(event_log, "stock", 2)

    assert [d.event_id for d in replayed] == [e.id for e in new]


async def test_republished_event_id_is_dropped(event_log: EventLog) -> None:
    await event_log.subscribe(Subscription("stock", STOCK))
    event = stock_moved("K")
    first = await event_log.append([event])
    again = await event_log.append([event, stock_moved("K")])

    assert first.duplicates == 0
    assert again.duplicates == 1
    assert again.positions[0] == first.positions[0]
    got = await consume_all(event_log, "stock", 2)
    assert len(got) == 2
    assert await event_log.fetch("stock", batch=5, wait_s=0.3) == []
    assert [e.event.id for e in await event_log.read()].count(event.id) == 1


async def test_retention_by_count_and_age(event_log: EventLog) -> None:
    events = [stock_moved(f"K{i}") for i in range(10)]
    await event_log.append(events)

    removed = await event_log.trim(max_events=4)
    assert removed == 6
    assert [e.event.id for e in await event_log.read(types=STOCK)] == [e.id for e in events[6:]]

    assert await event_log.trim(max_age_s=3600) == 0
    assert await event_log.trim(max_age_s=0) == 4
    assert await event_log.read() == []


async def test_stats_per_group(event_log: EventLog) -> None:
    await event_log.subscribe(Subscription("stock", STOCK))
    # K0's second event waits behind its first; the other keys' are all handed out
    # (so no backend can hold one back unseen, e.g. prefetched by a NATS consumer).
    await event_log.append([stock_moved("K0"), *(stock_moved(f"K{i}") for i in range(4))])
    batch = await collect(event_log, "stock", 4)
    await event_log.ack([d for d in batch if d.partitionkey == "K1"])

    stats = await event_log.stats()

    (group,) = stats.groups
    assert group.group == "stock"
    assert group.lag == 4
    assert group.in_flight == 3
    assert stats.events == 5
    assert REGISTRY.get_sample_value("storelink_bus_consumer_lag", {"group": "stock"}) == 4


async def test_tail_reads_by_type_and_key(event_log: EventLog) -> None:
    await event_log.append([stock_moved("A"), product_changed("A"), stock_moved("B")])

    by_key = await event_log.read(partitionkey="A")
    by_type = await event_log.read(types=("storelink.product.*",))

    assert sorted(e.event.type for e in by_key) == [
        "storelink.product.changed.v1",
        "storelink.stock.moved.v1",
    ]
    assert [e.event.partitionkey for e in by_type] == ["A"]


def test_group_names_must_be_usable_everywhere() -> None:
    with pytest.raises(ValidationError):
        Subscription("odoo.sync")
