"""The services a scale-out run stands on: PostgreSQL and NATS, set up and torn down.

``--database-url`` and ``--bus-url`` name ones to use; by default the run makes
a throw-away database on 127.0.0.1:5432 (dropped afterwards) and uses the NATS
on 127.0.0.1:4222 under stream names unique to the run (removed afterwards) —
or, when the schedule restarts the bus, a ``nats-server`` of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from storelink.bus.backends.nats import NatsEventLog
from storelink.config.sections import BusSettings
from storelink.ops import get_logger
from storelink.sandbox.bus_server import BusServer
from storelink.sandbox.faults import BusRestart, FaultSchedule
from storelink.sandbox.options import SandboxOptions
from storelink.sandbox.scratch_db import scratch_database

log = get_logger("storelink.sandbox.scaleout")

#: the shared NATS a scale-out run uses when not told otherwise
DEFAULT_BUS_URL = "nats://127.0.0.1:4222"


@dataclass(frozen=True)
class Services:
    database_url: str
    bus_url: str
    #: the run's own stream prefix
    bus: BusSettings
    #: the run's own nats-server (None when the bus is shared)
    bus_server: BusServer | None


@asynccontextmanager
async def scale_out_services(
    options: SandboxOptions, schedule: FaultSchedule, data_dir: Path
) -> AsyncIterator[Services]:
    async with AsyncExitStack() as stack:
        if options.database_url is not None:
            database_url = options.database_url
        else:
            database_url = await stack.enter_async_context(scratch_database())
        server: BusServer | None = None
        bus_url = options.bus_url or DEFAULT_BUS_URL
        if options.bus_url is None and any(isinstance(f, BusRestart) for f in schedule.faults):
            server = BusServer(data_dir / "nats")
            await server.start()
            stack.push_async_callback(server.stop)
            bus_url = server.url
        bus = BusSettings(nats_prefix=f"sandbox{secrets.token_hex(4)}")
        stack.push_async_callback(_remove_streams, bus_url, bus)
        yield Services(database_url, bus_url, bus, server)


async def _remove_streams(url: str, bus: BusSettings) -> None:
    """Delete the run's streams; a bus that cannot be reached is logged, never raised."""
    try:
        event_log = await NatsEventLog.open(url, bus)
    except Exception as exc:  # the run's verdict stands without this clean-up
        log.warning("sandbox.streams_left", prefix=bus.nats_prefix, error=str(exc))
        return
    try:
        await event_log.delete_all()
    finally:
        await event_log.close()
