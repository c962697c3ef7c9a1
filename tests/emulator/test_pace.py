"""The emulator under a latency model: each call takes at least its modelled time, in turn.

Only lower bounds are asserted (a sleep never ends early), so a loaded machine
cannot make these fail.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from storelink.emulator import OdooEmulator
from storelink.odoo.latency import Cost, LatencyModel
from tests.emulator.support import Odoo, running

SLOW = 0.2  # seconds per search_read in the model below


def model(workers: int) -> LatencyModel:
    calls = {"res.partner.search_read": Cost(SLOW, 0.0), "res.partner.create": Cost(0.0, 0.05)}
    return LatencyModel("17", "17.0-test", calls, Cost(0.0), workers)


async def timed(odoo: Odoo, model_name: str, method: str, *args: Any) -> float:
    started = time.perf_counter()
    await odoo.execute(model_name, method, *args)
    return time.perf_counter() - started


async def test_a_call_takes_its_modelled_time_and_records_cost_per_record() -> None:
    async for odoo in running(OdooEmulator("17", latency=model(1))):
        assert await timed(odoo, "res.partner", "search_read", []) >= SLOW
        partners = [{"name": f"p{n}"} for n in range(10)]
        assert await timed(odoo, "res.partner", "create", partners) >= 10 * 0.05


async def test_one_worker_answers_one_call_at_a_time() -> None:
    async for odoo in running(OdooEmulator("17", latency=model(1))):
        started = time.perf_counter()
        await asyncio.gather(*(timed(odoo, "res.partner", "search_read", []) for _ in range(3)))
        assert time.perf_counter() - started >= 3 * SLOW


def test_without_a_model_nothing_is_paced() -> None:
    assert OdooEmulator("17").pace is None
