"""Webhook secrets at rest: the only code that reads or writes them.

HMAC needs the raw key, so secrets cannot be hashed; they are sealed with the
vault cipher of :mod:`storelink.ops.pii` (AES-GCM under ``security.vault_key``
or the generated ``<data_dir>/vault.key``). The associated data names the
owner (endpoint or source), so a sealed secret copied to another owner's row
does not open.

    box = SecretBox.from_settings(settings)
    await box.add_endpoint_secret(connection, endpoint_id, secret, now=now)
    active = (await box.endpoint_secrets(connection, endpoint_id)).active(now)

Endpoints and inbound sources rotate the same way: the owner's current secrets
get an end (``expires_at``, the overlap window) and a new current one is added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Table, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from storelink.config import Settings
from storelink.ops.pii import Cipher, load_vault_key
from storelink.webhooks.tables import inbound_source_secrets, inbound_sources, webhook_secrets


@dataclass(frozen=True, slots=True)
class SecretSet:
    """An endpoint's or a source's secrets, newest first, each with the end of its overlap
    window (None while current)."""

    secrets: tuple[tuple[str, datetime | None], ...]

    def active(self, now: datetime) -> list[str]:
        return [secret for secret, expires in self.secrets if expires is None or expires > now]


def _endpoint_record(endpoint_id: str) -> str:
    return f"webhook_secrets:{endpoint_id}"


def _source_record(name: str) -> str:
    # names the source, not the table: sealed values moved to inbound_source_secrets as they were
    return f"inbound_sources:{name}"


async def _retire(
    connection: AsyncConnection, table: Table, owner: Column[str], name: str, expires: datetime
) -> None:
    """End the owner's secrets at ``expires`` (those ending later or never)."""
    await connection.execute(
        update(table)
        .where(
            owner == name,
            or_(table.c.expires_at.is_(None), table.c.expires_at > expires),
        )
        .values(expires_at=expires)
    )


class SecretBox:
    """Seals secrets on the way into the database and opens them on the way out."""

    def __init__(self, cipher: Cipher) -> None:
        self._cipher = cipher

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        """The box under the same vault key the hub's PII vault uses."""
        return cls(Cipher(load_vault_key(settings)))

    async def add_endpoint_secret(
        self, connection: AsyncConnection, endpoint_id: str, secret: str, *, now: datetime
    ) -> None:
        sealed = self._cipher.seal(secret.encode(), _endpoint_record(endpoint_id))
        await connection.execute(
            insert(webhook_secrets).values(endpoint_id=endpoint_id, sealed=sealed, created_at=now)
        )

    async def endpoint_secrets(self, connection: AsyncConnection, endpoint_id: str) -> SecretSet:
        rows = await connection.execute(
            select(webhook_secrets.c.sealed, webhook_secrets.c.expires_at)
            .where(webhook_secrets.c.endpoint_id == endpoint_id)
            .order_by(webhook_secrets.c.id.desc())
        )
        record = _endpoint_record(endpoint_id)
        return SecretSet(
            tuple((self._cipher.open(row.sealed, record).decode(), row.expires_at) for row in rows)
        )

    async def rotate_endpoint_secret(
        self,
        connection: AsyncConnection,
        endpoint_id: str,
        secret: str,
        *,
        now: datetime,
        expires: datetime,
    ) -> None:
        """Make ``secret`` the endpoint's current one; the others sign until ``expires``."""
        await _retire(
            connection, webhook_secrets, webhook_secrets.c.endpoint_id, endpoint_id, expires
        )
        await self.add_endpoint_secret(connection, endpoint_id, secret, now=now)

    async def add_source(
        self, connection: AsyncConnection, name: str, secret: str, *, now: datetime
    ) -> None:
        await connection.execute(insert(inbound_sources).values(name=name, created_at=now))
        await self._add_source_secret(connection, name, secret, now=now)

    async def _add_source_secret(
        self, connection: AsyncConnection, name: str, secret: str, *, now: datetime
    ) -> None:
        sealed = self._cipher.seal(secret.encode(), _source_record(name))
        await connection.execute(
            insert(inbound_source_secrets).values(source=name, sealed=sealed, created_at=now)
        )

    async def rotate_source_secret(
        self,
        connection: AsyncConnection,
        name: str,
        secret: str,
        *,
        now: datetime,
        expires: datetime,
    ) -> None:
        """Make ``secret`` the source's current one; the others verify until ``expires``."""
        await _retire(
            connection, inbound_source_secrets, inbound_source_secrets.c.source, name, expires
        )
        await self._add_source_secret(connection, name, secret, now=now)

    async def source_secrets(self, connection: AsyncConnection, name: str) -> SecretSet | None:
        """The source's secrets, or None for an unknown source."""
        s = inbound_source_secrets
        # one round trip on the intake path: the source row, joined to its secrets
        rows = (
            await connection.execute(
                select(s.c.sealed, s.c.expires_at)
                .select_from(inbound_sources.outerjoin(s, s.c.source == inbound_sources.c.name))
                .where(inbound_sources.c.name == name)
                .order_by(s.c.id.desc())
            )
        ).all()
        if not rows:
            return None
        record = _source_record(name)
        return SecretSet(
            tuple(
                (self._cipher.open(row.sealed, record).decode(), row.expires_at)
                for row in rows
                if row.sealed is not None
            )
        )
