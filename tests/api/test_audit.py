"""Hash-chained audit log: appends chain, tampering is found and named by the CLI."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api import HubState, Role
from storelink.cli import main
from storelink.ops import audit
from storelink.ops.audit import audit_log
from tests.api.conftest import Minter


async def _append(engine: AsyncEngine, count: int) -> None:
    for i in range(count):
        async with engine.begin() as connection:
            await audit.append(connection, actor="admin-1", action="client.add", target=f"c{i}")


async def test_chain_links_rows(engine: AsyncEngine) -> None:
    await _append(engine, 3)
    async with engine.connect() as connection:
        rows = await audit.entries(connection)
        result = await audit.verify(connection)
    assert [row.seq for row in rows] == [1, 2, 3]
    assert rows[0].prev_hash == audit.GENESIS
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert result.ok and result.rows == 3


async def test_concurrent_appends_never_fork(engine: AsyncEngine) -> None:
    async def one(i: int) -> None:
        async with engine.begin() as connection:
            await audit.append(connection, actor=f"a{i}", action="x", target="t")

    await asyncio.gather(*(one(i) for i in range(10)))
    async with engine.connect() as connection:
        result = await audit.verify(connection)
    assert result.ok and result.rows == 10


@pytest.mark.parametrize(
    ("tamper", "bad_row"),
    [
        (update(audit_log).where(audit_log.c.seq == 2).values(target="someone-else"), 2),
        (update(audit_log).where(audit_log.c.seq == 3).values(actor="admin-2"), 3),
        (delete(audit_log).where(audit_log.c.seq == 2), 2),
        (delete(audit_log).where(audit_log.c.seq == 4), 4),
    ],
    ids=["edit-target", "edit-actor", "delete-middle", "delete-last"],
)
def test_cli_verify_names_tampered_row(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tamper: object,
    bad_row: int,
) -> None:
    from storelink.db import create_engine, upgrade

    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    monkeypatch.setenv("STORELINK_DATABASE_URL", url)
    monkeypatch.setenv("STORELINK_DATA_DIR", str(tmp_path / "data"))

    async def prepare(do_tamper: bool) -> None:
        engine = create_engine(url)
        try:
            await upgrade(engine)
            if do_tamper:
                async with engine.begin() as connection:
                    await connection.execute(tamper)  # type: ignore[call-overload]
            else:
                await _append(engine, 4)
        finally:
            await engine.dispose()

    asyncio.run(prepare(False))
    assert main(["audit", "verify"]) == 0
    assert "intact: 4 rows" in capsys.readouterr().out
    asyncio.run(prepare(True))
    assert main(["audit", "verify"]) == 1
    assert f"audit row {bad_row}:" in capsys.readouterr().err


async def test_admin_writes_through_the_api_are_audited_once(
    client: httpx2.AsyncClient, hub: HubState, auth: Minter
) -> None:
    admin = {**await auth(Role.ADMIN, client_id="admin-7"), "Idempotency-Key": "k"}
    created = await client.post("/v1/admin/clients", json={"role": "support"}, headers=admin)
    assert created.status_code == 201
    replay = await client.post("/v1/admin/clients", json={"role": "support"}, headers=admin)
    assert replay.headers["idempotent-replayed"] == "true"
    channel = {**await auth(Role.CHANNEL, channel="web"), "Idempotency-Key": "c"}
    assert (
        await client.post("/v1/customers", json={"name": "Ada"}, headers=channel)
    ).status_code == 201
    refused = await client.post("/v1/admin/clients", json={"role": "store"}, headers=admin)
    assert refused.status_code in (409, 422)  # not a success: not an action
    async with hub.engine.connect() as connection:
        entries = await audit.entries(connection)
        assert (await audit.verify(connection)).ok
    writes = [e for e in entries if e.action != "pii.read"]  # the channel's echo is a PII read
    assert [(e.actor, e.action) for e in writes] == [("admin-7", "POST /v1/admin/clients")]
    assert writes[0].detail["client_id"] == created.json()["client_id"]
    assert writes[0].detail["role"] == "support"
