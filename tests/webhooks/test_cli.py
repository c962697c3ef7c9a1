"""``storelink webhooks …`` end to end through the real CLI entry point."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import update

from storelink.cli import main
from storelink.config import Settings
from storelink.db import create_engine
from storelink.webhooks import (
    EndpointSpec,
    EndpointStore,
    ManualClock,
    SecretBox,
    URLPolicy,
    deliveries,
    fanout,
)
from storelink.webhooks.tables import webhook_deliveries
from tests.services import free_port
from tests.webhooks.conftest import price_event


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STORELINK_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("COLUMNS", "300")  # rich wraps tables at the terminal width
    monkeypatch.setenv("STORELINK_WEBHOOKS__ALLOW_HTTP", "true")
    monkeypatch.setenv("STORELINK_WEBHOOKS__ALLOWED_HOSTS", '["127.0.0.1"]')
    assert main(["db", "upgrade"]) == 0
    return tmp_path


def _out(capsys: pytest.CaptureFixture[str]) -> str:
    return capsys.readouterr().out


def test_endpoint_lifecycle_and_dlq(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _out(capsys)
    assert main(["webhooks", "endpoints", "add", "http://127.0.0.1:9/h", "-e", "storelink.*"]) == 0
    added = _out(capsys)
    endpoint = re.search(r"endpoint (ep_\w+)", added)
    assert endpoint is not None and re.search(r"secret whsec_\S+", added)
    endpoint_id = endpoint.group(1)

    assert main(["webhooks", "endpoints", "disable", endpoint_id, "--reason", "partner asked"]) == 0
    assert main(["webhooks", "endpoints", "list"]) == 0
    listing = _out(capsys)
    assert endpoint_id in listing and "partner asked" in listing
    assert main(["webhooks", "endpoints", "enable", endpoint_id]) == 0
    assert main(["webhooks", "endpoints", "rotate-secret", endpoint_id]) == 0
    assert re.search(r"secret whsec_\S+", _out(capsys))
    assert main(["webhooks", "attempts", endpoint_id]) == 0
    assert main(["webhooks", "dlq", "list"]) == 0
    assert main(["webhooks", "dlq", "retry"]) == 0
    assert "requeued 0" in _out(capsys)
    assert (
        main(["webhooks", "replay", "--endpoint", endpoint_id, "--all", "--since", "2026-01-01"])
        == 0
    )
    assert main(["webhooks", "prune", "--before", "2020-01-01T00:00:00Z"]) == 0
    assert "pruned 0 delivered deliveries (0 attempts)" in _out(capsys)
    assert main(["webhooks", "sources", "add", "loyalty"]) == 0
    first = re.search(r"secret (whsec_\S+)", _out(capsys))
    assert main(["webhooks", "sources", "list"]) == 0
    assert "loyalty" in _out(capsys)
    assert main(["webhooks", "sources", "rotate-secret", "loyalty", "--overlap", "60"]) == 0
    rotated = re.search(r"secret (whsec_\S+)", _out(capsys))
    assert first is not None and rotated is not None and rotated.group(1) != first.group(1)


def test_bad_input_is_one_line_and_non_zero(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert main(["webhooks", "endpoints", "add", "ftp://example.com/x"]) == 1
    assert main(["webhooks", "endpoints", "enable", "ep_missing"]) == 1
    assert main(["webhooks", "replay", "--since", "yesterday"]) == 2
    assert main(["webhooks", "sources", "add", "Bad Name"]) == 1
    assert main(["webhooks", "sources", "rotate-secret", "nobody"]) == 1
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 5 and all(line.startswith("error: ") for line in errors)


async def test_worker_prunes_old_history_serves_probes_and_stops_on_sigterm(data_dir: Path) -> None:
    settings = Settings(data_dir=data_dir)
    engine = create_engine(settings.effective_database_url)
    store = EndpointStore(
        engine,
        SecretBox.from_settings(settings),
        policy=URLPolicy(allow_http=True, allowed_hosts=frozenset({"127.0.0.1"})),
    )
    endpoint, _ = await store.add(EndpointSpec(url="http://127.0.0.1:9/hooks"))
    long_ago = ManualClock(endpoint.created_at - timedelta(days=31))
    await fanout(engine, price_event(), clock=long_ago)
    async with engine.begin() as connection:
        await connection.execute(
            update(webhook_deliveries).values(status="delivered", delivered_at=long_ago.now())
        )
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "storelink.cli",
        "webhooks",
        "worker",
        env={**os.environ, "STORELINK_WEBHOOKS__WORKER_PORT": str(port)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        async with asyncio.timeout(60):
            assert b"webhooks worker running" in await process.stdout.readline()
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            health = await client.get("/healthz")
            assert health.status_code == 200 and health.json()["ready"] is True
            scraped = (await client.get("/metrics")).text
            assert "storelink_webhook_pruned_rows_total" in scraped
        # the worker's pruner runs a first pass at start; another process's work can
        # only be polled for
        for _ in range(600):
            if not await deliveries(engine):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the worker did not prune the 31-day-old delivered delivery")
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            _, err = await process.communicate()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await engine.dispose()
    assert process.returncode == 0, err.decode()
