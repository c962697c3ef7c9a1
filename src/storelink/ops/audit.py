"""The audit log: append-only, hash-chained, verifiable.

Every row carries the hash of the row before it and its own hash over its
content; ``audit_head`` holds the sequence number and hash of the last row.
Editing a row breaks its hash, deleting one breaks the chain (or the head), so
:func:`verify` names the first row that does not hold.

Appending locks the head row first (``UPDATE … RETURNING``), which serialises
concurrent appenders on PostgreSQL and SQLite alike, so the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    String,
    Table,
    Text,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from storelink.db.metadata import metadata
from storelink.db.types import UtcDateTime
from storelink.errors import StorageError
from storelink.model import utcnow

GENESIS = "0" * 64

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UtcDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(256), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class Verification:
    ok: bool
    rows: int
    #: the first row that fails (its ``seq``), None when the chain holds
    bad_seq: int | None = None
    reason: str | None = None


def row_hash(
    seq: int, at: datetime, actor: str, action: str, target: str, detail: str, prev_hash: str
) -> str:
    content = json.dumps(
        [seq, at.isoformat(timespec="microseconds"), actor, action, target, detail, prev_hash],
        separators=(",", ":"),
    )
    return hashlib.sha256(content.encode()).hexdigest()


async def append(
    connection: AsyncConnection,
    *,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one entry inside the caller's transaction (it commits with the action)."""
    when = at or utcnow()
    head = (
        await connection.execute(
            update(audit_head)
            .where(audit_head.c.id == 1)
            .values(seq=audit_head.c.seq + 1)
            .returning(audit_head.c.seq, audit_head.c.hash)
        )
    ).first()
    if head is None:
        raise StorageError("audit_head row is missing; run `storelink db upgrade`")
    seq, prev = int(head.seq), str(head.hash)
    text = json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), default=str)
    digest = row_hash(seq, when, actor, action, target, text, prev)
    await connection.execute(
        insert(audit_log).values(
            seq=seq,
            at=when,
            actor=actor,
            action=action,
            target=target,
            detail=text,
            prev_hash=prev,
            hash=digest,
        )
    )
    await connection.execute(update(audit_head).where(audit_head.c.id == 1).values(hash=digest))
    return AuditEntry(seq, when, actor, action, target, detail or {}, prev, digest)


async def entries(
    connection: AsyncConnection, *, after: int = 0, limit: int = 100
) -> list[AuditEntry]:
    rows = await connection.execute(
        select(audit_log).where(audit_log.c.seq > after).order_by(audit_log.c.seq).limit(limit)
    )
    return [
        AuditEntry(
            row.seq,
            row.at,
            row.actor,
            row.action,
            row.target,
            json.loads(row.detail),
            row.prev_hash,
            row.hash,
        )
        for row in rows.all()
    ]


async def verify(connection: AsyncConnection) -> Verification:
    """Walk the chain; report the first edited, inserted or missing row."""
    expected_seq, prev, count = 1, GENESIS, 0
    result = await connection.stream(select(audit_log).order_by(audit_log.c.seq))
    async for row in result:
        count += 1
        if row.seq != expected_seq:
            return Verification(
                False, count, expected_seq, f"row {expected_seq} is missing (found {row.seq} next)"
            )
        if row.prev_hash != prev:
            return Verification(False, count, row.seq, "prev_hash does not match the row before")
        digest = row_hash(
            row.seq, row.at, row.actor, row.action, row.target, row.detail, row.prev_hash
        )
        if digest != row.hash:
            return Verification(False, count, row.seq, "content does not match its hash (edited)")
        prev, expected_seq = row.hash, expected_seq + 1
    head = (await connection.execute(select(audit_head).where(audit_head.c.id == 1))).first()
    if head is None:
        return Verification(False, count, None, "audit_head row is missing")
    if int(head.seq) != expected_seq - 1 or head.hash != prev:
        return Verification(
            False, count, expected_seq, f"rows after {expected_seq - 1} are missing (head)"
        )
    return Verification(True, count)
