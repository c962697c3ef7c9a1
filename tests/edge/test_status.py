"""``storelink agent status`` reads the agent's own database, running or not."""

from __future__ import annotations

import json

import httpx2
import pytest

from storelink.cli import main
from storelink.edge import Agent
from tests.edge.conftest import Clock


async def test_status_shows_queue_age_flags_and_sync_times(
    agent: Agent, pos: httpx2.AsyncClient, clock: Clock, capsys: pytest.CaptureFixture[str]
) -> None:
    for sku in ("SKU-1", "SKU-2"):
        answer = await pos.post(
            "/v1/sales",
            json={
                "lines": [{"sku": sku, "quantity": "1"}],
                "payments": [{"method": "card", "amount": "2.50"}],
            },
        )
        assert answer.status_code == 201
    clock.advance(90)
    status = (await pos.get("/v1/status")).json()
    assert status["queue_depth"] == 2 and status["oldest_unsent_age_s"] == 90
    assert status["flagged_for_review"] == 1  # SKU-2 had no stock
    assert status["online"] is False  # never reached the hub
    assert all(status["last_sync"].values())  # the seeded pages count as syncs
    code = main(
        ["agent", "status", "--store", "S1", "--database", str(agent.config.database), "--json"]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["queue_depth"] == 2 and printed["flagged_for_review"] == 1


def test_status_of_a_missing_database_is_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["agent", "status", "--store", "S9", "--database", "/nonexistent/agent.db"])
    assert code == 1
    assert capsys.readouterr().err.strip().startswith("error: no agent database")
