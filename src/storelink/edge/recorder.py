"""Recording till transactions durably: the queue row, its stock movements, one commit.

Every write answers only after its commit reached the disk. A transaction
uuid already in the queue returns the first answer (same request) or is
refused (a different request under the same uuid). A sale that takes local
stock below zero is recorded anyway and flagged for review: the till never
refuses a customer.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

from pydantic import ValidationError as PydanticValidationError

from storelink.edge.catalog import current_price, stamp
from storelink.edge.database import LocalDatabase
from storelink.edge.requests import (
    AdjustmentRequest,
    CountRequest,
    PosRequest,
    ReturnRequest,
    SaleRequest,
)
from storelink.edge.schema import from_units, to_units
from storelink.errors import IdempotencyConflictError, ValidationError
from storelink.model import (
    MovementReason,
    Return,
    ReturnLine,
    Sale,
    SaleLine,
    StockMovement,
    StockPosition,
    utcnow,
)
from storelink.sync.wire import StoreTransaction, TransactionKind


@dataclass(frozen=True, slots=True)
class Recorded:
    """The answer to a write: ``body`` is what the till gets; ``replayed`` for a repeat."""

    uuid: UUID
    body: dict[str, Any]
    replayed: bool = False


def request_hash(request: PosRequest) -> str:
    canonical = json.dumps(request.model_dump(mode="json", exclude={"uuid"}), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(connection: sqlite3.Connection, uuid: UUID, digest: str) -> Recorded | None:
    row = connection.execute(
        "SELECT request_hash, response FROM upload_queue WHERE uuid = ?", (str(uuid),)
    ).fetchone()
    if row is None:
        return None
    if row["request_hash"] != digest:
        raise IdempotencyConflictError(
            "this transaction uuid was already used for a different request", field="uuid"
        )
    return Recorded(uuid=uuid, body=json.loads(row["response"]), replayed=True)


def _model_error(exc: PydanticValidationError, prefix: str = "") -> ValidationError:
    """The first problem of a canonical model built from a request, naming its field.

    Whole-model rules (payments or refunds not adding up) have no location of their
    own; their message says which list is wrong.
    """
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if not location:
        location = next((name for name in ("payments", "refunds") if name in message), "")
    field = ".".join(part for part in (prefix, location) if part) or None
    return ValidationError(message, field=field)


@dataclass(frozen=True, slots=True)
class _Line:
    sku: str
    quantity: Decimal


class Recorder:
    """Turns POS requests into queued store transactions; see the module docstring."""

    def __init__(
        self,
        database: LocalDatabase,
        store: str,
        *,
        location: Callable[[], str],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.store = store
        self.location = location
        self.clock = clock

    def _known(self, skus: Sequence[tuple[str, str]]) -> None:
        for field, sku in skus:
            row = self.database.read.execute(
                "SELECT 1 FROM products WHERE sku = ?", (sku,)
            ).fetchone()
            if row is None:
                raise ValidationError(f"unknown sku {sku!r}", field=field)

    async def record_sale(self, request: SaleRequest) -> Recorded:
        uuid, digest = request.uuid or uuid4(), request_hash(request)
        replay = _replay(self.database.read, uuid, digest)
        if replay is not None:
            return replay
        self._known([(f"lines.{i}.sku", line.sku) for i, line in enumerate(request.lines)])
        now = self.clock()
        lines: list[SaleLine] = []
        currency = request.currency
        for index, line in enumerate(request.lines):
            unit_price = line.unit_price
            if unit_price is None:
                price = current_price(self.database.read, line.sku, now)
                if price is None:
                    raise ValidationError(
                        f"no price is valid now for {line.sku!r}; send unit_price",
                        field=f"lines.{index}.unit_price",
                    )
                unit_price, currency = price.amount, currency or price.currency
            try:
                lines.append(
                    SaleLine(
                        sku=line.sku,
                        quantity=line.quantity,
                        unit_price=unit_price,
                        discount=line.discount,
                    )
                )
            except PydanticValidationError as exc:
                raise _model_error(exc, f"lines.{index}") from exc
        try:
            sale = Sale(
                id=uuid,
                store=self.store,
                till=request.till,
                occurred_at=request.occurred_at or now,
                currency=currency or "EUR",
                lines=lines,
                payments=request.payments,
                customer_id=request.customer_id,
            )
        except PydanticValidationError as exc:
            raise _model_error(exc) from exc
        moves = [_Line(line.sku, -line.quantity) for line in sale.lines]
        return await self._commit(
            uuid,
            digest,
            TransactionKind.SALE,
            moves,
            now,
            {"sale": sale},
            extra={"total": format(sale.total, "f")},
        )

    async def record_return(self, request: ReturnRequest) -> Recorded:
        uuid, digest = request.uuid or uuid4(), request_hash(request)
        replay = _replay(self.database.read, uuid, digest)
        if replay is not None:
            return replay
        self._known([(f"lines.{i}.sku", line.sku) for i, line in enumerate(request.lines)])
        now = self.clock()
        currency = request.currency
        if currency is None:
            price = current_price(self.database.read, request.lines[0].sku, now)
            currency = price.currency if price else "EUR"
        try:
            ret = Return(
                id=uuid,
                store=self.store,
                occurred_at=request.occurred_at or now,
                currency=currency,
                lines=[ReturnLine(**line.model_dump()) for line in request.lines],
                refunds=request.refunds,
                original_sale_id=request.original_sale_id,
                reason=request.reason,
            )
        except PydanticValidationError as exc:
            raise _model_error(exc) from exc
        moves = [_Line(line.sku, line.quantity) for line in ret.lines if line.restock]
        return await self._commit(
            uuid,
            digest,
            TransactionKind.RETURN,
            moves,
            now,
            {"return": ret},
            extra={"total": format(ret.total, "f")},
        )

    async def record_adjustment(self, request: AdjustmentRequest) -> Recorded:
        uuid, digest = request.uuid or uuid4(), request_hash(request)
        replay = _replay(self.database.read, uuid, digest)
        if replay is not None:
            return replay
        self._known([("sku", request.sku)])
        now = self.clock()
        movement = StockMovement(
            id=uuid,
            sku=request.sku,
            location=self.location(),
            quantity=request.quantity,
            reason=MovementReason.ADJUSTMENT,
            occurred_at=now,
            reference=request.note,
        )
        return await self._commit(
            uuid,
            digest,
            TransactionKind.ADJUSTMENT,
            [_Line(request.sku, request.quantity)],
            now,
            {"adjustment": movement},
        )

    async def record_count(self, request: CountRequest) -> Recorded:
        uuid, digest = request.uuid or uuid4(), request_hash(request)
        replay = _replay(self.database.read, uuid, digest)
        if replay is not None:
            return replay
        self._known([("sku", request.sku)])
        now = self.clock()
        count = StockPosition(
            sku=request.sku, location=self.location(), on_hand=request.counted, as_of=now
        )
        # the movement is "counted minus what we believed": computed in the commit,
        # against the stock as it is at that instant
        return await self._commit(
            uuid,
            digest,
            TransactionKind.COUNT,
            [],
            now,
            {"count": count},
            counted=(request.sku, request.counted),
        )

    async def _commit(
        self,
        uuid: UUID,
        digest: str,
        kind: TransactionKind,
        moves: list[_Line],
        now: datetime,
        payload: dict[str, Any],
        *,
        extra: dict[str, Any] | None = None,
        counted: tuple[str, Decimal] | None = None,
    ) -> Recorded:
        # built here, not in the writer thread, which should spend its time on SQLite
        wire = StoreTransaction.model_validate(
            {"uuid": uuid, "kind": kind, "recorded_at": now, **payload}
        ).wire()

        def work(connection: sqlite3.Connection) -> Recorded:
            replay = _replay(connection, uuid, digest)
            if replay is not None:
                return replay
            lines = list(moves)
            if counted is not None:
                believed = _on_hand(connection, counted[0])
                if counted[1] != believed:
                    lines.append(_Line(counted[0], counted[1] - believed))
            available: dict[str, Decimal] = {}
            for index, line in enumerate(lines):
                connection.execute(
                    "INSERT INTO local_stock (sku, pending) VALUES (?, ?) "
                    "ON CONFLICT (sku) DO UPDATE SET pending = pending + excluded.pending",
                    (line.sku, to_units(line.quantity)),
                )
                connection.execute(
                    "INSERT INTO movements (uuid, line, sku, quantity) VALUES (?, ?, ?, ?)",
                    (str(uuid), index, line.sku, to_units(line.quantity)),
                )
                available[line.sku] = _available(connection, line.sku)
            flagged = kind is TransactionKind.SALE and any(v < 0 for v in available.values())
            body: dict[str, Any] = {
                "uuid": str(uuid),
                "kind": kind.value,
                "recorded_at": now.isoformat(),
                "flagged": flagged,
                **(extra or {}),
                "stock": [
                    {"sku": sku, "available": format(value, "f")}
                    for sku, value in available.items()
                ],
            }
            connection.execute(
                "INSERT INTO upload_queue (uuid, kind, request_hash, body, response, flagged, "
                "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    str(uuid),
                    kind.value,
                    digest,
                    json.dumps({**wire, "flagged": flagged}),
                    json.dumps(body),
                    int(flagged),
                    stamp(now),
                ),
            )
            return Recorded(uuid=uuid, body=body)

        return await self.database.write(work)


def _available(connection: sqlite3.Connection, sku: str) -> Decimal:
    row = connection.execute(
        "SELECT on_hand - reserved + pending FROM local_stock WHERE sku = ?", (sku,)
    ).fetchone()
    return from_units(row[0] if row else 0)


def _on_hand(connection: sqlite3.Connection, sku: str) -> Decimal:
    row = connection.execute(
        "SELECT on_hand + pending FROM local_stock WHERE sku = ?", (sku,)
    ).fetchone()
    return from_units(row[0] if row else 0)
