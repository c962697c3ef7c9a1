"""The upload queue: recorded transactions waiting for the hub, oldest first."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from storelink.edge.catalog import stamp
from storelink.edge.database import LocalDatabase
from storelink.sync.wire import StoreTransaction


@dataclass(frozen=True, slots=True)
class QueuedTransaction:
    """A queued transaction: its uuid and its wire JSON exactly as recorded.

    The JSON is sent as it is, never parsed again on the agent: an agent draining a
    long backlog must not spend the till's CPU re-validating what it validated once.
    """

    uuid: UUID
    wire: str

    @classmethod
    def of(cls, transaction: StoreTransaction) -> QueuedTransaction:
        return cls(transaction.uuid, json.dumps(transaction.wire()))


class UploadQueue:
    def __init__(self, database: LocalDatabase) -> None:
        self.database = database

    def oldest(self, limit: int) -> list[QueuedTransaction]:
        """Up to ``limit`` unsent transactions in the order they were recorded."""
        rows = self.database.read.execute(
            "SELECT uuid, body FROM upload_queue WHERE sent_at IS NULL ORDER BY seq LIMIT ?",
            (limit,),
        ).fetchall()
        return [QueuedTransaction(UUID(row["uuid"]), row["body"]) for row in rows]

    async def mark_sent(self, uuids: Sequence[UUID], now: datetime) -> None:
        """Record that the hub holds ``uuids`` (it answered their upload)."""
        moment = stamp(now)

        def work(connection: sqlite3.Connection) -> None:
            connection.executemany(
                "UPDATE upload_queue SET sent_at = ? WHERE uuid = ? AND sent_at IS NULL",
                [(moment, str(uuid)) for uuid in uuids],
            )

        await self.database.write(work)

    def depth(self) -> int:
        row = self.database.read.execute(
            "SELECT count(*) FROM upload_queue WHERE sent_at IS NULL"
        ).fetchone()
        return int(row[0])
