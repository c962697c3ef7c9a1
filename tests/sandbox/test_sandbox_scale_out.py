"""``storelink sandbox --scale-out``: hub workers and agents as OS processes, killed mid-run.

The short version of the chaos run: two hub worker processes on a throw-away
PostgreSQL database and the run's own nats-server, two agent processes, the
emulator in its own process; workers and an agent are SIGKILLed while the
tills post, the bus server is killed and restarted, one worker is cut off
from Odoo. Every check must still pass: nothing lost, nothing twice, no 5xx.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from storelink.sandbox.options import SandboxOptions
from storelink.sandbox.runner import run_sandbox
from tests.services import PG_ADMIN_URL, port_open, unavailable

SCHEDULE = """
[[fault]]
kind = "kill_worker"
at = 0.15
pause = 0.5

[[fault]]
kind = "kill_agent"
at = 0.3
store = "S001"

[[fault]]
kind = "odoo_partition"
start = 0.35
end = 0.6
worker = 0

[[fault]]
kind = "bus_restart"
at = 0.5
pause = 0.5

[[fault]]
kind = "kill_worker"
at = 0.65
worker = 1
pause = 0.5

[[fault]]
kind = "link_down"
store = "S002"
start = 0.7
end = 0.85

[[fault]]
kind = "kill_agent"
at = 0.8
store = "S002"
"""


@pytest.fixture
def services() -> None:
    if not port_open("127.0.0.1", 5432):
        unavailable("PostgreSQL")


async def test_scale_out_run_survives_sigkills_of_workers_agents_and_the_bus(
    tmp_path: Path, services: None
) -> None:
    schedule = tmp_path / "chaos.toml"
    schedule.write_text(SCHEDULE)
    options = SandboxOptions(
        stores=2,
        sales=300,
        seed=5,
        rate=40.0,
        faults=str(schedule),
        live=False,
        report=tmp_path / "report.json",
        data_dir=tmp_path / "data",
        converge_timeout_s=90.0,
        scale_out=True,
        hub_workers=2,
    )
    assert PG_ADMIN_URL.startswith("postgresql://")
    result = await run_sandbox(options, console=Console(file=io.StringIO()))
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["passed"] is True, report["failures"]
    assert report["kills"] == 5  # two workers, two agents, the bus server
    assert report["duplicates"] == 0 and report["missing"] == 0
    assert report["http_5xx"] == 0
    assert report["sales_recorded"] + result.stats.refused == 300
