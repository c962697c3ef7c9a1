"""Recording a store's uploaded batch: durable, with its events, once per transaction uuid."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from storelink.bus.outbox import enqueue
from storelink.errors import ConflictError, ValidationError
from storelink.model import CommandType, Event, EventType, sale_key, stock_key, utcnow
from storelink.sync.contacts import touch
from storelink.sync.tables import sync_transactions
from storelink.sync.wire import StoreTransaction, UploadResult

#: status of an uploaded transaction until the drain has written it to Odoo
RECORDED = "recorded"
WRITTEN = "written"
FAILED = "failed"


def event_id(store: str, uuid: UUID) -> str:
    """The recorded-event id of a store transaction: stable, so a replay is the same event."""
    return str(uuid5(NAMESPACE_URL, f"storelink:store-transaction:{store}:{uuid}"))


def recorded_event(store: str, transaction: StoreTransaction) -> Event:
    """The event announcing that the hub holds ``transaction``."""
    source = f"/stores/{store}"
    ident = event_id(store, transaction.uuid)
    if transaction.sale is not None:
        return Event.of(
            EventType.SALE_RECORDED,
            transaction.sale,
            source=source,
            partitionkey=sale_key(store, transaction.uuid),
            id=ident,
        )
    if transaction.return_ is not None:
        return Event.of(
            EventType.RETURN_RECORDED,
            transaction.return_,
            source=source,
            partitionkey=sale_key(store, transaction.uuid),
            id=ident,
        )
    if transaction.adjustment is not None:
        movement = transaction.adjustment
        return Event.of(
            EventType.STOCK_MOVED,
            movement,
            source=source,
            partitionkey=stock_key(movement.sku, movement.location),
            id=ident,
        )
    assert transaction.count is not None  # guaranteed by StoreTransaction's validator
    count = transaction.count
    return Event.of(
        CommandType.APPLY_STOCK_COUNT,
        count,
        source=source,
        partitionkey=stock_key(count.sku, count.location),
        id=ident,
    )


def _check_store(store: str, index: int, transaction: StoreTransaction) -> None:
    field = f"transactions[{index}]"
    payload_store: str | None = None
    if transaction.sale is not None:
        payload_store, field = transaction.sale.store, f"{field}.sale.store"
        if transaction.sale.id != transaction.uuid:
            raise ValidationError("sale id must equal the transaction uuid", field=f"{field}")
    elif transaction.return_ is not None:
        payload_store, field = transaction.return_.store, f"{field}.return.store"
        if transaction.return_.id != transaction.uuid:
            raise ValidationError("return id must equal the transaction uuid", field=f"{field}")
    if payload_store is not None and payload_store != store:
        raise ValidationError(
            f"transaction belongs to store {payload_store!r}, not {store!r}", field=field
        )


async def record_upload(
    engine: AsyncEngine,
    store: str,
    transactions: Sequence[StoreTransaction],
    *,
    now: datetime | None = None,
) -> UploadResult:
    """Commit the new transactions of a batch with their events; skip those already held.

    Returns only after the commit, so an answered upload survives a hub crash.
    Two racing copies of one batch cannot both insert: the loser's unique
    violation rolls back its whole batch and it is told to retry (409), after
    which it finds every transaction a duplicate.
    """
    for index, transaction in enumerate(transactions):
        _check_store(store, index, transaction)
    received_at = now or utcnow()
    uuids = [str(t.uuid) for t in transactions]
    try:
        async with engine.begin() as connection:
            # Write first: on SQLite (WAL) a transaction that reads and then writes fails at
            # once with "database is locked" if another writer committed in between; one
            # that starts by writing waits its turn.
            await touch(connection, store, received_at, what="upload")
            held = set(
                (
                    await connection.execute(
                        select(sync_transactions.c.uuid).where(
                            sync_transactions.c.store == store,
                            sync_transactions.c.uuid.in_(uuids),
                        )
                    )
                ).scalars()
            )
            fresh: list[StoreTransaction] = []
            seen: set[str] = set(held)
            for transaction in transactions:
                if str(transaction.uuid) not in seen:
                    seen.add(str(transaction.uuid))
                    fresh.append(transaction)
            if fresh:
                await connection.execute(
                    insert(sync_transactions),
                    [
                        {
                            "store": store,
                            "uuid": str(t.uuid),
                            "kind": t.kind.value,
                            "payload": t.model_dump_json(by_alias=True, exclude_none=True),
                            "flagged": t.flagged,
                            "recorded_at": t.recorded_at,
                            "received_at": received_at,
                            "status": RECORDED,
                            "attempts": 0,
                        }
                        for t in fresh
                    ],
                )
                await enqueue(connection, [recorded_event(store, t) for t in fresh])
    except IntegrityError as exc:
        raise ConflictError(
            "the same transactions are being uploaded concurrently; retry", store=store
        ) from exc
    fresh_ids = {t.uuid for t in fresh}
    return UploadResult(
        accepted=[t.uuid for t in fresh],
        duplicates=[t.uuid for t in transactions if t.uuid not in fresh_ids],
    )
