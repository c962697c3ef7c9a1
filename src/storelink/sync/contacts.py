"""Each store's last contact with the hub, and the metrics built from it."""

from __future__ import annotations

import weakref
from datetime import datetime
from typing import Literal

from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from storelink.ops.metrics import REGISTRY
from storelink.sync.dialect import upsert_insert
from storelink.sync.tables import store_contacts

LAST_CONTACT = Gauge(
    "storelink_store_last_contact_timestamp_seconds",
    "When each store's agent last reached the hub (Unix time)",
    ["store"],
    registry=REGISTRY,
)
SYNC_LAG = Gauge(
    "storelink_store_sync_lag_seconds",
    "Age of each store's oldest uploaded transaction not yet written to Odoo (0 when none)",
    ["store"],
    registry=REGISTRY,
)
BACKLOG = Gauge(
    "storelink_store_sync_backlog",
    "Uploaded store transactions waiting to be written to Odoo",
    ["store"],
    registry=REGISTRY,
)


#: a store's downloads are written as contacts at most this often: an estate's agents poll
#: every few seconds, and a write transaction (an fsync on SQLite) per poll buys nothing
#: that a status to within this many seconds does not give
DOWNLOAD_CONTACT_RESOLUTION_S = 15.0

_downloads_written: weakref.WeakKeyDictionary[AsyncEngine, dict[str, datetime]] = (
    weakref.WeakKeyDictionary()
)


def download_contact_due(engine: AsyncEngine, store: str, now: datetime) -> bool:
    """Whether a download by ``store`` at ``now`` should be written (see the resolution above);
    the contact gauge moves either way (:func:`touch` moves it when written)."""
    written = _downloads_written.setdefault(engine, {})
    last = written.get(store)
    if last is not None and (now - last).total_seconds() < DOWNLOAD_CONTACT_RESOLUTION_S:
        LAST_CONTACT.labels(store).set(now.timestamp())
        return False
    written[store] = now
    return True


async def touch(
    connection: AsyncConnection, store: str, now: datetime, *, what: Literal["upload", "download"]
) -> None:
    """Record that ``store`` reached the hub at ``now`` (inside the caller's transaction)."""
    column = "last_upload_at" if what == "upload" else "last_download_at"
    statement = upsert_insert(connection, store_contacts).values(
        store=store, last_contact_at=now, **{column: now}
    )
    statement = statement.on_conflict_do_update(
        index_elements=[store_contacts.c.store],
        set_={"last_contact_at": now, column: now},
    )
    await connection.execute(statement)
    LAST_CONTACT.labels(store).set(now.timestamp())
