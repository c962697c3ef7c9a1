"""Webhook secrets are sealed at rest yet still sign and verify (``standardwebhooks``)."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from sqlalchemy import inspect, select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from storelink.db import create_engine, upgrade
from storelink.errors import StorageError
from storelink.ops.pii import Cipher
from storelink.webhooks import (
    Dispatcher,
    EndpointSpec,
    EndpointStore,
    Intake,
    ManualClock,
    SecretBox,
    fanout,
)
from storelink.webhooks.tables import inbound_source_secrets, inbound_sources, webhook_secrets
from tests.webhooks.conftest import price_event
from tests.webhooks.receiver import Receiver


def _forms(secret: str) -> list[bytes]:
    """Every way a secret could sit in a row: as given, its base64 body, its raw key."""
    body = secret.removeprefix("whsec_")
    return [secret.encode(), body.encode(), base64.b64decode(body)]


def _as_bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


async def _raw_rows(engine: AsyncEngine) -> list[bytes]:
    async with engine.connect() as connection:
        rows = [
            *(await connection.execute(select(webhook_secrets))).all(),
            *(await connection.execute(select(inbound_sources))).all(),
            *(await connection.execute(select(inbound_source_secrets))).all(),
        ]
    return [_as_bytes(value) for row in rows for value in row]


async def test_no_clear_secret_is_stored_and_signing_still_works_across_rotation(
    engine: AsyncEngine,
    endpoints: EndpointStore,
    dispatcher: Dispatcher,
    receiver: Receiver,
    clock: ManualClock,
    secret_box: SecretBox,
) -> None:
    endpoint, old = await endpoints.add(EndpointSpec(url=receiver.url("/r")))
    new = await endpoints.rotate_secret(endpoint.id, overlap_s=3600)
    intake = Intake(engine, clock=clock, secret_box=secret_box)
    inbound_old = await intake.add_source("loyalty")
    inbound = await intake.rotate_secret("loyalty", overlap_s=3600)

    async with engine.connect() as connection:
        columns = await connection.run_sync(
            lambda sync: {
                table: {c["name"] for c in inspect(sync).get_columns(table)}
                for table in ("webhook_secrets", "inbound_sources", "inbound_source_secrets")
            }
        )
    assert "secret" not in set.union(*columns.values())
    stored = await _raw_rows(engine)
    assert len(stored) > 0
    for secret in (old, new, inbound_old, inbound):
        for form in _forms(secret):
            assert not any(form in value for value in stored), "a clear secret is at rest"

    # outbound: both secrets sign during the overlap, only the new one after it
    receiver.secrets["/r"] = [old, new]
    await fanout(engine, price_event(version=1), clock=clock)
    assert await dispatcher.run_once() == 1
    assert receiver.hits[-1].verified == {old: True, new: True}
    clock.advance(3601)
    await fanout(engine, price_event(version=2), clock=clock)
    assert await dispatcher.run_once() == 1
    assert receiver.hits[-1].verified == {old: False, new: True}
    assert await endpoints.secrets(endpoint.id) == [new]

    # inbound: a payload signed by standardwebhooks with the source's secret is accepted
    event = price_event(version=3)
    body = event.model_dump_json()
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(clock.now().timestamp())),
        "webhook-signature": Webhook(inbound).sign("msg_1", clock.now(), body),
    }
    accepted = await intake.accept("loyalty", headers, body.encode())
    assert accepted.event.id == event.id


async def test_sealed_secret_opens_only_for_its_endpoint_and_key(
    engine: AsyncEngine, endpoints: EndpointStore, receiver: Receiver
) -> None:
    first, _ = await endpoints.add(EndpointSpec(url=receiver.url("/one")))
    second, _ = await endpoints.add(EndpointSpec(url=receiver.url("/two")))
    other_key = EndpointStore(
        engine, policy=endpoints.policy, secret_box=SecretBox(Cipher(os.urandom(32)))
    )
    with pytest.raises(StorageError):
        await other_key.secrets(first.id)

    # a sealed value copied onto another endpoint's row does not open there
    async with engine.begin() as connection:
        sealed = await connection.scalar(
            select(webhook_secrets.c.sealed).where(webhook_secrets.c.endpoint_id == first.id)
        )
        await connection.execute(
            update(webhook_secrets)
            .where(webhook_secrets.c.endpoint_id == second.id)
            .values(sealed=sealed)
        )
    with pytest.raises(StorageError):
        await endpoints.secrets(second.id)


async def test_migration_leaves_no_clear_secret_behind(database_url: str) -> None:
    """Rows written in clear by ``webhooks_0001`` do not survive ``webhooks_0002``."""
    engine = create_engine(database_url)
    try:
        await upgrade(engine, "webhooks_0001")
        clear = "whsec_" + base64.b64encode(os.urandom(32)).decode()
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO webhook_endpoints (id, url, description, event_types, sources,"
                    " max_concurrency, ordered, enabled, created_at, updated_at) VALUES"
                    " ('ep_1', 'https://x.example', '', '[\"*\"]', '[]', 1, false, true,"
                    " :now, :now)"
                ),
                {"now": price_event().time},
            )
            await connection.execute(
                text(
                    "INSERT INTO webhook_secrets (endpoint_id, secret, created_at)"
                    " VALUES ('ep_1', :s, :now)"
                ),
                {"s": clear, "now": price_event().time},
            )
            await connection.execute(
                text(
                    "INSERT INTO inbound_sources (name, secret, created_at)"
                    " VALUES ('shop', :s, :now)"
                ),
                {"s": clear, "now": price_event().time},
            )
        await upgrade(engine)
        stored = await _raw_rows(engine)
        assert not any(form in value for form in _forms(clear) for value in stored)
    finally:
        await engine.dispose()
