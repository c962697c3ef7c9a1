"""The agent counts every answer the hub gave it (and every call that got none), on disk."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from storelink.cli import main
from storelink.edge import Agent, AgentConfig, HttpHubClient, LocalDatabase, hub_responses
from storelink.edge.responses import FLUSH_AFTER_S, HubResponses
from storelink.errors import SyncError
from tests.edge.conftest import Clock, catalog_pages

SALE = {
    "lines": [{"sku": "SKU-1", "quantity": "1"}],
    "payments": [{"method": "card", "amount": "2.50"}],
}


async def until_on_disk(database: Path, expected: dict[str, int]) -> None:
    deadline = time.monotonic() + FLUSH_AFTER_S + 10
    while hub_responses(database) != expected:
        assert time.monotonic() < deadline, hub_responses(database)
        await asyncio.sleep(0.02)  # polling the file another thread commits to


def scripted_hub(answers: Iterator[int | None]) -> httpx2.MockTransport:
    """A hub that issues tokens, and answers uploads with the next status of ``answers``
    (``None``: the connection fails)."""

    def handle(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/v1/oauth/token":
            return httpx2.Response(200, json={"access_token": "t", "expires_in": 900})
        status = next(answers)
        if status is None:
            raise httpx2.ConnectError("connection refused", request=request)
        if status == 200:
            body = json.loads(request.content)
            uuids = [t["uuid"] for t in body["transactions"]]
            return httpx2.Response(200, json={"accepted": uuids, "duplicates": []})
        return httpx2.Response(status, headers={"retry-after": "1"}, json={"title": "busy"})

    return httpx2.MockTransport(handle)


async def test_every_status_and_every_failed_call_is_counted_and_shown_in_status(
    tmp_path: Path, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    config = AgentConfig(store="S1", hub_url="http://hub", database=tmp_path / "a.db")
    hub = HttpHubClient(
        config.hub_url,
        client_id="store-s1",
        client_secret="secret",
        transport=scripted_hub(iter([503, 429, None, 500, 200])),
    )
    agent = Agent(config, hub=hub, clock=clock)
    try:
        for page in catalog_pages(clock.now, {"SKU-1": 5}):
            await agent.replica.apply(page, clock.now)
        transport = httpx2.ASGITransport(app=agent.app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://agent") as pos:
            assert (await pos.post("/v1/sales", json=SALE)).status_code == 201
            for _ in range(4):
                with pytest.raises(SyncError):
                    await agent.uploader.run_once()
            assert await agent.uploader.run_once() == 1
            expected = {"200": 2, "429": 1, "500": 1, "503": 1, "error": 1}  # 200: token, upload
            await until_on_disk(config.database, expected)
            assert (await pos.get("/v1/status")).json()["hub_responses"] == expected
    finally:
        await agent.aclose()

    code = main(["agent", "status", "--store", "S1", "--database", str(config.database)])
    assert code == 0
    assert "hub answered          200: 2, 429: 1, 500: 1, 503: 1, error: 1" in (
        capsys.readouterr().out
    )


def test_counts_ride_with_the_agents_commits_and_survive_sigkill(tmp_path: Path) -> None:
    database = tmp_path / "agent.db"
    script = (
        "import asyncio, os, signal, sys\n"
        "from pathlib import Path\n"
        "from storelink.edge.database import LocalDatabase\n"
        "from storelink.edge.responses import HubResponses\n"
        "async def main():\n"
        "    database = LocalDatabase(Path(sys.argv[1]))\n"
        "    responses = HubResponses(database)\n"
        "    responses.saw(200); responses.saw(503); responses.failed()\n"
        "    # the agent's next write, whatever it is, carries them\n"
        "    sql = \"INSERT INTO agent_state VALUES ('k', 'v')\"\n"
        "    await database.write(lambda c: c.execute(sql))\n"
        "    responses.saw(429)  # counted after the last commit\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "asyncio.run(main())\n"
    )
    killed = subprocess.run([sys.executable, "-c", script, str(database)], check=False)
    assert killed.returncode == -9
    assert hub_responses(database) == {"200": 1, "503": 1, "error": 1}


async def test_without_another_write_counts_reach_the_disk_within_the_flush_delay(
    tmp_path: Path,
) -> None:
    database = LocalDatabase(tmp_path / "agent.db")
    responses = HubResponses(database)
    try:
        responses.saw(503)
        responses.saw(503)
        await until_on_disk(database.path, {"503": 2})
        responses.saw(200)  # and a clean stop writes what is still pending
        await responses.aclose()
        assert hub_responses(database.path) == {"200": 1, "503": 2}
    finally:
        database.close()


def test_a_database_from_before_the_counts_reads_as_none_yet(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    sqlite3.connect(path).close()
    assert hub_responses(path) == {}
