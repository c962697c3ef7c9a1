"""Webhook secrets at rest: the only code that reads or writes them.

HMAC needs the raw key, so secrets cannot be hashed; they are sealed with the
vault cipher of :mod:`storelink.ops.pii` (AES-GCM under ``security.vault_key``
or the generated ``<data_dir>/vault.key``). The associated data names the
owner (endpoint or source), so a sealed secret copied to another owner's row
does not open.

    box = SecretBox.from_settings(settings)
    await box.add_endpoint_secret(connection, endpoint_id, secret, now=now)
    active = (await box.endpoint_secrets(connection, endpoint_id)).active(now)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from storelink.config import Settings
from storelink.ops.pii import Cipher, load_vault_key
from storelink.webhooks.tables import inbound_sources, webhook_secrets


@dataclass(frozen=True, slots=True)
class SecretSet:
    """An endpoint's secrets, newest first, each with the end of its overlap window."""

    secrets: tuple[tuple[str, datetime | None], ...]

    def active(self, now: datetime) -> list[str]:
        return [secret for secret, expires in self.secrets if expires is None or expires > now]


def _endpoint_record(endpoint_id: str) -> str:
    return f"webhook_secrets:{endpoint_id}"


def _source_record(name: str) -> str:
    return f"inbound_sources:{name}"


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

    async def add_source(
        self, connection: AsyncConnection, name: str, secret: str, *, now: datetime
    ) -> None:
        sealed = self._cipher.seal(secret.encode(), _source_record(name))
        await connection.execute(
            insert(inbound_sources).values(name=name, sealed=sealed, created_at=now)
        )

    async def source_secret(self, connection: AsyncConnection, name: str) -> str | None:
        """The source's secret, or None for an unknown source."""
        sealed = await connection.scalar(
            select(inbound_sources.c.sealed).where(inbound_sources.c.name == name)
        )
        if sealed is None:
            return None
        return self._cipher.open(sealed, _source_record(name)).decode()
