"""A saturated hub answers 503 with Retry-After, never 500; agents wait at least that long."""

from __future__ import annotations

import sqlite3

import httpx2
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api import Role
from storelink.api.problems import is_saturation
from storelink.db.writers import queue_writers
from storelink.edge.hub import HttpHubClient
from storelink.edge.loop import retry_delay
from storelink.errors import HubUnreachableError
from storelink.sync.backoff import Backoff
from tests.api.conftest import Minter

ADA = {"name": "Ada Lovelace", "email": "ada@example.com"}


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_write_that_cannot_get_its_turn_is_answered_503_with_retry_after(
    client: httpx2.AsyncClient, engine: AsyncEngine, auth: Minter
) -> None:
    queue_writers(engine, timeout_s=10).timeout_s = 0.2  # the installed queue, shorter
    headers = await auth(Role.CHANNEL, channel="web")
    async with engine.connect() as holder:
        # another writer holds the turn (an open write transaction) past the wait
        await holder.begin()
        await holder.execute(text("DELETE FROM api_customers WHERE 1 = 0"))
        answer = await client.post(
            "/v1/customers", json=ADA, headers={**headers, "Idempotency-Key": "busy-1"}
        )
        await holder.rollback()
    again = await client.post(
        "/v1/customers", json=ADA, headers={**headers, "Idempotency-Key": "busy-2"}
    )
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["type"].endswith("/busy")
    assert again.status_code == 201, again.text  # the turn is free again: served


def test_an_exhausted_pool_is_saturation_and_other_database_errors_are_not() -> None:
    assert is_saturation(SQLAlchemyTimeoutError("QueuePool limit of size 5 overflow 10 reached"))
    locked = OperationalError("INSERT", {}, sqlite3.OperationalError("database is locked"))
    assert is_saturation(locked)
    broken = OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    assert not is_saturation(broken)


async def test_the_agent_keeps_the_hubs_retry_after() -> None:
    def busy(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/token"):
            return httpx2.Response(200, json={"access_token": "t", "expires_in": 900})
        return httpx2.Response(503, json={"title": "Hub busy"}, headers={"Retry-After": "7"})

    hub = HttpHubClient(
        "http://hub.test",
        client_id="c",
        client_secret="s",
        transport=httpx2.MockTransport(busy),
    )
    with pytest.raises(HubUnreachableError) as refused:
        await hub.upload("S001", [])
    await hub.aclose()
    assert refused.value.context["retry_after_s"] == 7.0
    # a backoff that would retry within a second waits the hub's seven
    assert retry_delay(refused.value, Backoff(base_s=0.1, cap_s=1.0)) >= 7.0
    assert retry_delay(HubUnreachableError("down"), Backoff(base_s=0.1, cap_s=1.0)) <= 1.0
