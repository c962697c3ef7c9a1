"""Opening the configured event log."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus.backend import EventLog
from storelink.config import Settings


async def open_event_log(settings: Settings, engine: AsyncEngine | None = None) -> EventLog:
    """The event log ``settings.bus_url`` names.

    ``embedded`` is a SQLite log in its own file, ``settings.bus.path`` or
    ``<data_dir>/events.db``: the log's write load stays off the hub database
    and it works the same whether the hub runs on SQLite or PostgreSQL (so
    ``engine`` is not used by it). ``nats://…`` connects to NATS JetStream.
    """
    del engine  # kept in the signature for backends that live in the hub database
    if settings.bus_url == "embedded":
        from storelink.bus.backends.embedded import EmbeddedEventLog

        path = settings.bus.path or settings.data_dir / "events.db"
        return await EmbeddedEventLog.open(path, settings.bus)
    from storelink.bus.backends.nats import NatsEventLog

    return await NatsEventLog.open(settings.bus_url, settings.bus)
