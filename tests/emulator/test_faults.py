"""Odoo emulator: injected faults and round-trip counting, seen from a real HTTP client."""

from __future__ import annotations

import time
import xmlrpc.client

import httpx2
import pytest

from storelink.emulator import Faults, OdooEmulator
from tests.emulator.support import DB, Odoo, RpcError, odoo, running

__all__ = ["odoo"]


async def test_round_trips_are_counted_and_reset(odoo: Odoo) -> None:
    odoo.emulator.stats.reset()
    await odoo.jsonrpc("common", "version")
    await odoo.execute("res.partner", "create", [{"name": "A"}, {"name": "B"}])
    await odoo.xmlrpc("common", "version")
    assert odoo.emulator.stats.round_trips == 3
    assert odoo.emulator.stats.calls["res.partner.create"] == 1
    odoo.emulator.stats.reset()
    assert odoo.emulator.stats.round_trips == 0 and not odoo.emulator.stats.calls


@pytest.mark.parametrize("status", ["502", "503", "504"])
async def test_proxy_errors_reach_no_odoo_code(status: str) -> None:
    async for served in running(OdooEmulator(version="17")):
        served.emulator.faults.fail_next(2, kind=status)
        for _ in range(2):
            response = await served.http.post("/jsonrpc", json={"params": {}})
            assert response.status_code == int(status)
            assert response.headers["content-type"].startswith("text/html")
        assert served.emulator.stats.round_trips == 2 and not served.emulator.stats.calls
        assert await served.jsonrpc("common", "version")


async def test_serialization_failure_rolls_back_and_escapes(odoo: Odoo) -> None:
    odoo.emulator.faults.fail_next(1, kind="serialization")
    # common calls do not consume it: only a model call runs a transaction that can clash
    assert await odoo.jsonrpc("common", "version")
    with pytest.raises(RpcError) as caught:
        await odoo.execute("res.partner", "create", {"name": "Lost"})
    assert caught.value.name == "psycopg2.errors.SerializationFailure"
    assert caught.value.message == "could not serialize access due to concurrent update\n"
    assert await odoo.execute("res.partner", "search_count", [("name", "=", "Lost")]) == 0
    odoo.emulator.faults.fail_next(1, kind="serialization")
    with pytest.raises(xmlrpc.client.Fault) as fault:
        await odoo.xexecute("res.partner", "create", {"name": "Lost"})
    assert fault.value.faultCode == 1
    assert "psycopg2.errors.SerializationFailure" in fault.value.faultString
    created = await odoo.execute("res.partner", "create", {"name": "Kept"})
    assert await odoo.execute("res.partner", "search", [("name", "in", ["Lost", "Kept"])]) == [
        created
    ]


async def test_serialization_failure_over_json2() -> None:
    async for served in running(OdooEmulator(version="19")):
        served.emulator.faults.fail_next(1, kind="serialization")
        response = await served.json2("res.partner", "create", vals_list=[{"name": "Lost"}])
        assert response.status_code == 500
        assert response.json()["name"] == "psycopg2.errors.SerializationFailure"


async def test_timeout_commits_then_answers_too_late() -> None:
    faults = Faults(hang_s=1.0)
    async for served in running(OdooEmulator(version="17", faults=faults)):
        faults.fail_next(1, kind="timeout")
        payload = {
            "jsonrpc": "2.0",
            "method": "call",
            "id": 1,
            "params": {
                "service": "object",
                "method": "execute_kw",
                "args": [DB, 2, "admin", "res.partner", "create", [{"name": "Ghost"}], {}],
            },
        }
        with pytest.raises(httpx2.TimeoutException):
            await served.http.post("/jsonrpc", json=payload, timeout=0.3)
        # the client gave up, but the partner exists: a retry must not create it twice
        assert await served.execute("res.partner", "search_count", [("name", "=", "Ghost")]) == 1


async def test_latency_and_outage() -> None:
    async for served in running(OdooEmulator(version="18")):
        served.emulator.faults.latency_s = 0.2
        started = time.perf_counter()
        await served.jsonrpc("common", "version")
        assert time.perf_counter() - started >= 0.2
        served.emulator.faults.latency_s = 0.0
        served.emulator.faults.outage = True
        response = await served.http.post("/jsonrpc", json={})
        assert response.status_code == 503
        served.emulator.faults.outage = False
        assert (await served.jsonrpc("common", "version"))["server_version"] == "18.0"


def test_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Faults().fail_next(1, kind="gremlins")
