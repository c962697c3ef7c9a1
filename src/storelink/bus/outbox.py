"""The transactional outbox: write events in the caller's transaction.

State and its events commit together or not at all (promise 3)::

    async with engine.begin() as connection:
        await connection.execute(insert(sales_table).values(...))
        await enqueue(connection, [Event.of(EventType.SALE_RECORDED, sale, ...)])

Nothing here publishes: the relay (:mod:`storelink.bus.relay`) moves committed
rows to the event log afterwards. On PostgreSQL each row also records its
transaction id, which lets the relay publish rows in the order their ids say
even when transactions commit in another order.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import BigInteger, Text, func, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from storelink.bus.tables import outbox
from storelink.model import Event, utcnow

#: this transaction's id as a number (``xid8`` has no direct cast to bigint)
CURRENT_TXID = func.pg_current_xact_id().cast(Text).cast(BigInteger)


async def enqueue(connection: AsyncConnection, events: Sequence[Event]) -> None:
    """Add ``events`` to the outbox inside the transaction open on ``connection``."""
    if not events:
        return
    now = utcnow()
    statement = insert(outbox)
    if connection.dialect.name == "postgresql":
        statement = statement.values(txid=CURRENT_TXID)
    await connection.execute(
        statement,
        [
            {
                "event_id": event.id,
                "type": event.type,
                "partitionkey": event.partitionkey,
                "envelope": event.model_dump_json(),
                "created_at": now,
            }
            for event in events
        ],
    )
