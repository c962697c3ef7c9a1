"""Idempotency-Key claims are leases: a dead worker's claim is taken over, safely.

Claims are left in ``api_idempotency`` exactly as a worker killed mid-request
leaves them (``in_progress``, its lease no longer renewed); the SIGKILL of a real
hub process is in ``test_idempotency_kill.py``.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx2
from sqlalchemy import func, select

from storelink.api import HubState, Role
from storelink.api.idempotency.claims import Answer, Claim, Claims, Record
from storelink.api.tables import api_customers, api_idempotency, api_orders, api_returns
from storelink.bus.tables import outbox
from tests.api.conftest import FakeClock, Minter
from tests.api.dead_claims import CHANNEL_CLIENT, leave_claim

ORDER = {
    "external_ref": "WEB-2001",
    "currency": "EUR",
    "lines": [{"sku": "SKU-1", "quantity": "2", "unit_price": "4.50"}],
}


def _json(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


async def _count(hub: HubState, table: Any) -> int:
    async with hub.engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def _post(
    client: httpx2.AsyncClient, path: str, body: bytes, headers: dict[str, str], key: str
) -> httpx2.Response:
    return await client.post(
        path,
        content=body,
        headers={**headers, "Idempotency-Key": key, "Content-Type": "application/json"},
    )


async def test_a_live_claim_answers_409_until_its_lease_runs_out(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter, clock: FakeClock
) -> None:
    headers = await auth(Role.CHANNEL, channel="web")
    body = _json(ORDER)
    await leave_claim(
        hub, "/v1/orders", body, key="k-live", client_id=CHANNEL_CLIENT, lease_left_s=5
    )
    busy = await _post(client, "/v1/orders", body, headers, "k-live")
    assert busy.status_code == 409 and busy.json()["type"].endswith("/idempotency-key-in-progress")
    assert busy.headers["retry-after"] == "5"  # when a takeover becomes possible
    clock.advance(4.5)
    still = await _post(client, "/v1/orders", body, headers, "k-live")
    assert still.status_code == 409 and still.headers["retry-after"] == "1"
    assert await _count(hub, api_orders) == 0
    clock.advance(0.5)  # the lease ran out: the resend takes the claim over and runs
    taken = await _post(client, "/v1/orders", body, headers, "k-live")
    assert taken.status_code == 201, taken.text
    assert "idempotent-replayed" not in taken.headers
    assert (await _count(hub, api_orders), await _count(hub, outbox)) == (1, 1)


async def test_a_dead_claim_whose_order_exists_answers_that_order(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter, clock: FakeClock
) -> None:
    headers = await auth(Role.CHANNEL, channel="web")
    body = _json(ORDER)
    # the first attempt committed its order and event, then its worker died unanswered
    first = await _post(client, "/v1/orders", body, headers, "lost-with-the-worker")
    await leave_claim(hub, "/v1/orders", body, key="k-done", client_id=CHANNEL_CLIENT)
    clock.advance(1)
    resend = await _post(client, "/v1/orders", body, headers, "k-done")
    assert resend.status_code == 201, resend.text
    assert resend.headers["idempotent-replayed"] == "true"
    assert resend.headers["location"] == first.headers["location"]
    assert resend.json()["order"]["id"] == first.json()["order"]["id"]
    assert (await _count(hub, api_orders), await _count(hub, outbox)) == (1, 1)
    again = await _post(client, "/v1/orders", body, headers, "k-done")  # now a stored answer
    assert again.status_code == 201 and again.content == resend.content


async def test_another_order_under_the_same_number_is_not_taken_for_the_effect(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter, clock: FakeClock
) -> None:
    headers = await auth(Role.CHANNEL, channel="web")
    other = {**ORDER, "lines": [{"sku": "SKU-9", "quantity": "1", "unit_price": "1.00"}]}
    assert (await _post(client, "/v1/orders", _json(other), headers, "other")).status_code == 201
    body = _json(ORDER)
    await leave_claim(hub, "/v1/orders", body, key="k-clash", client_id=CHANNEL_CLIENT)
    clock.advance(1)
    resend = await _post(client, "/v1/orders", body, headers, "k-clash")
    # it runs again and meets the channel's unique order number, as it would have at first
    assert resend.status_code == 409 and resend.json()["type"].endswith("/conflict")
    assert await _count(hub, api_orders) == 1


async def test_a_dead_claim_whose_return_exists_answers_that_return(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter, clock: FakeClock
) -> None:
    headers = await auth(Role.STORE, store="S001")
    body = _json(
        {
            "id": str(uuid.uuid4()),
            "store": "S001",
            "occurred_at": "2026-03-02T08:55:00Z",
            "currency": "EUR",
            "lines": [{"sku": "SKU-1", "quantity": "1", "refund_amount": "4.50"}],
            "refunds": [{"method": "cash", "amount": "4.50"}],
        }
    )
    first = await _post(client, "/v1/returns", body, headers, "lost")
    assert first.status_code == 201, first.text
    await leave_claim(hub, "/v1/returns", body, key="k-ret", client_id="test-store-S001")
    clock.advance(1)
    resend = await _post(client, "/v1/returns", body, headers, "k-ret")
    assert resend.status_code == 201 and resend.headers["idempotent-replayed"] == "true"
    assert resend.json()["record"] == first.json()["record"]
    assert (await _count(hub, api_returns), await _count(hub, outbox)) == (1, 1)


async def test_a_dead_claim_on_a_route_without_an_effect_check_is_outcome_unknown(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter, clock: FakeClock
) -> None:
    headers = await auth(Role.CHANNEL, channel="web")
    body = _json({"name": "Ada Lovelace", "email": "ada@example.com"})
    await leave_claim(hub, "/v1/customers", body, key="k-cus", client_id=CHANNEL_CLIENT)
    clock.advance(1)
    answers = [await _post(client, "/v1/customers", body, headers, "k-cus") for _ in range(2)]
    for answer in answers:  # never run again: a second customer could be created
        assert answer.status_code == 409
        assert answer.json()["type"].endswith("/idempotency-outcome-unknown")
        assert "new Idempotency-Key" in answer.json()["detail"]
        assert "retry-after" not in answer.headers  # retrying the same key will not help
    assert await _count(hub, api_customers) == 0
    fresh = await _post(client, "/v1/customers", body, headers, "k-cus-2")
    assert fresh.status_code == 201


async def test_concurrent_resends_take_a_dead_claim_over_once(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter, clock: FakeClock
) -> None:
    headers = await auth(Role.CHANNEL, channel="web")
    body = _json(ORDER)
    await leave_claim(hub, "/v1/orders", body, key="k-race", client_id=CHANNEL_CLIENT)
    clock.advance(1)
    answers = await asyncio.gather(
        *(_post(client, "/v1/orders", body, headers, "k-race") for _ in range(6))
    )
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    assert {a.json()["order"]["id"] for a in answers if a.status_code == 201} == {
        answers[statuses.index(201)].json()["order"]["id"]
    }
    assert (await _count(hub, api_orders), await _count(hub, outbox)) == (1, 1)


async def test_a_worker_that_lost_its_claim_can_neither_renew_nor_answer(
    hub: HubState, clock: FakeClock
) -> None:
    paused = Claims(hub)
    other_worker = HubState(settings=hub.settings, engine=hub.engine, clock=clock, worker_id="w2")
    taker = Claims(other_worker)
    claim = await paused.claim("c", "k", "fp")
    assert isinstance(claim, Claim)
    clock.advance(hub.settings.api.idempotency_lease_s)  # paused past its lease
    record = await taker.claim("c", "k", "fp")
    assert isinstance(record, Record) and record.owner == hub.worker_id
    taken = await taker.take_over(record)
    assert isinstance(taken, Claim)
    assert await taker.take_over(record) is None  # a second taker loses the race
    # the paused worker resumes: every write it tries is fenced off by the token
    assert not await paused.renew(claim)
    assert not await paused.finish(claim, Answer(201, [], b"late"))
    await paused.release(claim)
    assert await taker.finish(taken, Answer(201, [], b"taker's"))
    async with hub.engine.connect() as connection:
        row = (await connection.execute(select(api_idempotency))).one()
    assert (row.state, row.owner) == ("done", "w2")
    replay = await paused.claim("c", "k", "fp")
    assert isinstance(replay, Record) and replay.answer == Answer(201, [], b"taker's")
    await other_worker.aclose()
