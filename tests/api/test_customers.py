"""Customers: PII tokenized at rest, masked for support, clear reads audited, retention."""

from __future__ import annotations

from datetime import timedelta

import httpx2
from sqlalchemy import func, select, text

from storelink.api import HubState, Role
from storelink.api.customers import purge_customers
from storelink.api.tables import api_customers
from storelink.ops import audit
from storelink.ops.pii import pii_vault
from tests.api.conftest import FakeClock, Minter

ADA = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone": "+44 20 7946 0958",
    "address": {
        "street": "12 St James's Square",
        "city": "London",
        "postcode": "SW1Y 4JH",
        "country": "GB",
    },
    "marketing_consent": True,
}


async def _create(client: httpx2.AsyncClient, auth: Minter, key: str = "c1") -> dict[str, object]:
    headers = {**await auth(Role.CHANNEL, channel="web"), "Idempotency-Key": key}
    answer = await client.post("/v1/customers", json=ADA, headers=headers)
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


async def test_pii_is_tokenized_at_rest(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    created = await _create(client, auth)
    assert created["email"] == "ada@example.com" and created["masked"] is False
    async with hub.engine.connect() as connection:
        row = (await connection.execute(select(api_customers))).one()
        dumped = " ".join(str(v) for v in row)
        vault_dump = (await connection.execute(select(pii_vault.c.sealed))).scalars().all()
    for clear in ("Ada", "ada@example.com", "7946", "London"):
        assert clear not in dumped
        assert all(clear.encode() not in bytes(sealed) for sealed in vault_dump)
    assert row.name_token.startswith("pii_") and row.email_token.startswith("pii_")


async def test_support_sees_masked_admin_clear_and_audited(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    customer_id = (await _create(client, auth))["id"]
    async with hub.engine.connect() as connection:
        before = len(await audit.entries(connection))
    support = await client.get(f"/v1/customers/{customer_id}", headers=await auth(Role.SUPPORT))
    assert support.status_code == 200
    masked = support.json()
    assert masked["masked"] is True
    assert masked["name"] == "A*** L***" and masked["email"] == "a***@example.com"
    assert "7946" not in masked["phone"] and masked["address"]["postcode"] == "***"
    async with hub.engine.connect() as connection:
        assert len(await audit.entries(connection)) == before  # masked reads are not PII reads
    admin = await client.get(f"/v1/customers/{customer_id}", headers=await auth(Role.ADMIN))
    assert admin.json()["email"] == "ada@example.com"
    async with hub.engine.connect() as connection:
        entries = await audit.entries(connection)
        assert (await audit.verify(connection)).ok
    assert entries[-1].action == "pii.read" and entries[-1].target == f"customer:{customer_id}"


async def test_other_channel_gets_404_and_update_erases_old_values(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    customer_id = (await _create(client, auth))["id"]
    other = await client.get(
        f"/v1/customers/{customer_id}", headers=await auth(Role.CHANNEL, channel="shop")
    )
    assert other.status_code == 404
    async with hub.engine.connect() as connection:
        vault_before = (
            await connection.execute(select(func.count()).select_from(pii_vault))
        ).scalar()
    changed = await client.put(
        f"/v1/customers/{customer_id}",
        json={"name": "Augusta Ada King"},
        headers=await auth(Role.CHANNEL, channel="web"),
    )
    assert changed.status_code == 200 and changed.json()["name"] == "Augusta Ada King"
    assert changed.json()["email"] is None
    async with hub.engine.connect() as connection:
        vault_after = (
            await connection.execute(select(func.count()).select_from(pii_vault))
        ).scalar()
    assert vault_before == 4 and vault_after == 1


async def test_purge_applies_retention(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter, clock: FakeClock
) -> None:
    await _create(client, auth, "old")
    clock.advance(timedelta(days=400).total_seconds())
    await _create(client, auth, "new")
    purged = await purge_customers(
        hub.engine, hub.vault, older_than=timedelta(days=365), now=clock(), actor="cli:test"
    )
    assert purged == 1
    async with hub.engine.connect() as connection:
        left = (await connection.execute(select(func.count()).select_from(api_customers))).scalar()
        tokens = (await connection.execute(text("SELECT count(*) FROM pii_vault"))).scalar()
        entries = await audit.entries(connection)
    assert left == 1 and tokens == 4
    assert entries[-1].action == "customers.purge" and entries[-1].detail == {"deleted": 1}
