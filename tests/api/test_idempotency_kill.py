"""kill -9 of a hub worker in the middle of a keyed POST: the resend gets the real answer.

A real worker process (``tests/api/hub_worker.py``) on the test's database takes
``POST /v1/orders`` and is stopped for good either before its route ran or right
after the order committed, its answer never sent. While it lives its claim is
renewed: a resend to another worker (this test's in-process hub) gets 409. Then
it is SIGKILLed; once its lease ran out the resend takes the claim over and gets
the order — created once, with one event.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx2
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.api import HubState, Principal, Role, create_app
from storelink.api.tables import api_idempotency, api_orders
from storelink.bus.tables import outbox
from storelink.config import Settings
from storelink.model import utcnow
from tests.api.dead_claims import CHANNEL_CLIENT
from tests.services import free_port
from tests.sync.harness import wait_until

LEASE_S = 1.0
ORDER = {
    "external_ref": "WEB-KILL-1",
    "currency": "EUR",
    "lines": [{"sku": "SKU-1", "quantity": "1", "unit_price": "9.99"}],
}


class Worker:
    """The hub worker process; ``kill()`` is SIGKILL."""

    def __init__(self, tmp_path: Path, database_url: str, data_dir: Path, when: str) -> None:
        self.port = free_port()
        self.marker = tmp_path / "held"
        self.log = tmp_path / "worker.log"
        env = {
            **os.environ,
            "STORELINK_DATABASE_URL": database_url,
            "STORELINK_DATA_DIR": str(data_dir),  # the same vault key as the test's hub
            "STORELINK_API__IDEMPOTENCY_LEASE_S": str(LEASE_S),
            "STORELINK_OBSERVABILITY__LOG_LEVEL": "warning",
        }
        script = Path(__file__).with_name("hub_worker.py")
        command = [sys.executable, str(script), str(self.port), str(self.marker), when]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        self.url = f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        if self.process.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"hub worker exited with {self.process.returncode}:\n{tail}")
        return True

    async def up(self) -> bool:
        self.alive()
        try:
            async with httpx2.AsyncClient(base_url=self.url, timeout=1) as client:
                return (await client.get("/healthz")).status_code < 500
        except httpx2.TransportError:
            return False

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[list[Worker]]:
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill()


async def _counts(engine: AsyncEngine) -> tuple[int, int]:
    async with engine.connect() as connection:
        orders = (await connection.execute(select(func.count()).select_from(api_orders))).scalar()
        events = (await connection.execute(select(func.count()).select_from(outbox))).scalar()
    return int(orders or 0), int(events or 0)


# several hub workers share PostgreSQL (SQLite takeovers are covered in-process)
@pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_killed_workers_request_is_answered_once_by_the_next_worker(
    when: str,
    engine: AsyncEngine,
    hub_settings: Settings,
    tmp_path: Path,
    worker_factory: list[Worker],
) -> None:
    settings = hub_settings.model_copy(
        update={"api": hub_settings.api.model_copy(update={"idempotency_lease_s": LEASE_S})}
    )
    app = create_app(settings, engine=engine, migrate=False)  # the real clock
    hub: HubState = app.state.hub
    issued = await hub.tokens.mint(Principal(CHANNEL_CLIENT, Role.CHANNEL, channel="web"))
    headers = {
        "Authorization": f"Bearer {issued.access_token}",
        "Idempotency-Key": f"kill-{when}",
        "Content-Type": "application/json",
    }
    body = json.dumps(ORDER).encode()
    url = engine.url.render_as_string(hide_password=False)
    worker = Worker(tmp_path, url, settings.data_dir, when)
    worker_factory.append(worker)
    await wait_until(worker.up, within=30)

    async with (
        httpx2.AsyncClient(base_url=worker.url, timeout=30) as to_worker,
        httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://hub.test"
        ) as to_hub,
    ):
        first = asyncio.create_task(to_worker.post("/v1/orders", content=body, headers=headers))
        await wait_until(lambda: worker.alive() and worker.marker.exists(), within=20)
        async with engine.connect() as connection:
            first_expiry = (
                await connection.execute(select(api_idempotency.c.lease_expires_at))
            ).scalar_one()
        assert first_expiry is not None
        # the live worker renews its claim: past its first lease, a resend still waits
        await wait_until(lambda: utcnow() > first_expiry + timedelta(seconds=LEASE_S), within=5)
        busy = await to_hub.post("/v1/orders", content=body, headers=headers)
        assert busy.status_code == 409, busy.text
        assert busy.json()["type"].endswith("/idempotency-key-in-progress")

        worker.kill()
        with pytest.raises(httpx2.TransportError):
            await first  # the client never got an answer

        answers: list[httpx2.Response] = []

        async def answered() -> bool:
            answers.append(await to_hub.post("/v1/orders", content=body, headers=headers))
            return answers[-1].status_code != 409

        await wait_until(answered, within=10, interval=0.1)
        resend = answers[-1]
        assert resend.status_code == 201, resend.text
        # "after": the dead worker's order, found; "before": nothing was done, run now
        assert (resend.headers.get("idempotent-replayed") == "true") == (when == "after")
        assert resend.json()["order"]["external_ref"] == ORDER["external_ref"]
        assert await _counts(engine) == (1, 1)
        again = await to_hub.post("/v1/orders", content=body, headers=headers)
        assert again.status_code == 201 and again.json() == resend.json()
        assert again.headers["idempotent-replayed"] == "true"
    await hub.aclose()
